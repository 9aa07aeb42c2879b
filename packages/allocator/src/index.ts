/**
 * `@stratus/allocator`: CloudStack's planners and allocators as a composable filter → score → pick
 * pipeline, with placement explanations and what-if capacity queries.
 *
 * Every name exported here is public API, locked by the API report in `packages/allocator/api/`.
 *
 * @packageDocumentation
 * @module @stratus/allocator
 */

export {
  affinityFilter,
  availabilityFilter,
  avoidFilter,
  capacityFilter,
  cpuCapabilityFilter,
  dedicatedToOwner,
  dedicationAllows,
  dedicationFilter,
  type HostFilter,
  haTagFilter,
  hostFilter,
  hostTagFilter,
  hvmFilter,
  implicitDedicationFilter,
  maxGuestsFilter,
  type PlacementContext,
  standardHostFilters,
  strictDedicationMet,
} from './filters.js';
export {
  applyScorers,
  binpackScorer,
  firstFitOrdering,
  type HostOrdering,
  type HostScorer,
  horizontalOrdering,
  prioritise,
  randomOrdering,
  spreadScorer,
  userDispersingOrdering,
  verticalOrdering,
} from './orderings.js';
export { PipelineAllocator, type PipelineOptions } from './pipeline.js';
export {
  type FirstFitOptions,
  firstFitPlanner,
  userConcentratedPodPlanner,
  userDispersingPlanner,
} from './planners.js';
export { type Rng, seededRng } from './rng.js';
export { type PoolOrder, scopedStoragePoolAllocator } from './storage.js';
export {
  ALLOCATOR_NAMES,
  allocatorByName,
  firstFitAllocator,
  horizontalAllocator,
  implicitDedicationAllocator,
  randomAllocator,
  type StrategyOptions,
  userConcentratedPodAllocator,
  userDispersingAllocator,
  verticalAllocator,
} from './strategies.js';
export { type WhatIfQuery, type WhatIfResult, whatIf } from './what-if.js';
