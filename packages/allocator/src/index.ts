/**
 * @stratus/allocator: CloudStack's planners and allocators as a composable filter → score → pick
 * pipeline, with placement explanations and what-if capacity queries.
 */
export * from './filters.js';
export * from './orderings.js';
export * from './pipeline.js';
export * from './planners.js';
export * from './rng.js';
export * from './storage.js';
export * from './strategies.js';
export * from './what-if.js';
