/**
 * The core types and helpers the allocator uses, in one place. Core's public index does not yet
 * re-export its `allocation/` and `capacity/` folders; once it does (see the lead's wiring), this
 * file becomes `export * from '@stratus/core'` restricted to these names.
 */
export * from '../../core/src/allocation/index.js';
export * from '../../core/src/capacity/index.js';
export { InsufficientCapacityError, InvalidParameterError } from '../../core/src/errors.js';
