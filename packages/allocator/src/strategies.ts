import { InvalidParameterError } from '@stratus/core';
import type { HostFilter } from './filters.js';
import {
  firstFitOrdering,
  horizontalOrdering,
  randomOrdering,
  userDispersingOrdering,
  verticalOrdering,
} from './orderings.js';
import { PipelineAllocator, type PipelineOptions } from './pipeline.js';
import { firstFitPlanner, userConcentratedPodPlanner, userDispersingPlanner } from './planners.js';

/** Options every named strategy takes. */
export interface StrategyOptions {
  /** Seed of the injected RNG (random orderings and random pool order). */
  seed?: number;
  /** Filters appended to the standard ones. */
  extraFilters?: readonly HostFilter[];
  /** Further pipeline overrides (planner, scorers, pool order…). */
  pipeline?: Partial<PipelineOptions>;
}

const build = (name: string, base: Omit<PipelineOptions, 'name'>, o: StrategyOptions = {}) =>
  new PipelineAllocator({
    name,
    ...base,
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.extraFilters ? { extraFilters: o.extraFilters } : {}),
    ...o.pipeline,
  });

/**
 * `vertical` (CloudStack alias `firstfit`): fill one host before the next to save power. Hosts
 * already running VMs come before empty hosts across every eligible cluster; `packClusters` also
 * orders clusters most-utilised first.
 */
export function verticalAllocator(options: StrategyOptions & { packClusters?: boolean } = {}): PipelineAllocator {
  return build(
    'vertical',
    { ordering: verticalOrdering, planner: firstFitPlanner({ packClusters: options.packClusters ?? false }) },
    options,
  );
}

/** `horizontal` (CloudStack alias `firstfitleastconsumed`): spread, least consumed host first. */
export function horizontalAllocator(options: StrategyOptions = {}): PipelineAllocator {
  return build('horizontal', { ordering: horizontalOrdering, poolOrder: 'leastconsumed' }, options);
}

/** `random` (CloudStack's default `vm.allocation.algorithm`): seeded shuffle, full filter pipeline. */
export function randomAllocator(options: StrategyOptions = {}): PipelineAllocator {
  return build('random', { ordering: randomOrdering, poolOrder: 'random' }, options);
}

/** Plain `firstfit` ordering (stable host order, no used-first grouping). */
export function firstFitAllocator(options: StrategyOptions = {}): PipelineAllocator {
  return build('firstfit', { ordering: firstFitOrdering }, options);
}

/** `userdispersing`: UserDispersingPlanner + fewest-of-this-account's-VMs host order. */
export function userDispersingAllocator(options: StrategyOptions = {}): PipelineAllocator {
  return build('userDispersing', { ordering: userDispersingOrdering, planner: userDispersingPlanner() }, options);
}

/** `userconcentratedpod_random` / `_firstfit`: UserConcentratedPodPlanner. */
export function userConcentratedPodAllocator(options: StrategyOptions & { random?: boolean } = {}): PipelineAllocator {
  return build(
    options.random ? 'userConcentratedPod_random' : 'userConcentratedPod_firstfit',
    {
      ordering: options.random ? randomOrdering : firstFitOrdering,
      planner: userConcentratedPodPlanner(),
      ...(options.random ? { poolOrder: 'random' as const } : {}),
    },
    options,
  );
}

/**
 * Implicit dedication (§5.5): VMs get hosts of their own account only. `Strict` fails when no own or
 * empty host fits; `Preferred` then falls back to shared hosts.
 */
export function implicitDedicationAllocator(
  options: StrategyOptions & { mode?: 'Strict' | 'Preferred' } = {},
): PipelineAllocator {
  return build(
    `implicitDedication_${options.mode ?? 'Strict'}`,
    { ordering: firstFitOrdering, implicitDedication: options.mode ?? 'Strict' },
    options,
  );
}

/** Every name {@link allocatorByName} accepts: CloudStack's `vm.allocation.algorithm` values and the SDK names. */
export const ALLOCATOR_NAMES = [
  'random',
  'firstfit',
  'firstfitleastconsumed',
  'userdispersing',
  'userconcentratedpod_random',
  'userconcentratedpod_firstfit',
  'vertical',
  'horizontal',
  'userDispersing',
  'userConcentratedPod',
  'implicitDedicationStrict',
  'implicitDedicationPreferred',
] as const;

/**
 * An allocator from a `vm.allocation.algorithm` value (`random`, `firstfit` → vertical,
 * `firstfitleastconsumed` → horizontal, `userdispersing`, `userconcentratedpod_*`) or an SDK name.
 */
export function allocatorByName(name: string, options: StrategyOptions = {}): PipelineAllocator {
  switch (name) {
    case 'random':
      return randomAllocator(options);
    case 'firstfit':
    case 'vertical':
      return verticalAllocator(options);
    case 'firstfitleastconsumed':
    case 'horizontal':
      return horizontalAllocator(options);
    case 'userdispersing':
    case 'userDispersing':
      return userDispersingAllocator(options);
    case 'userconcentratedpod_random':
      return userConcentratedPodAllocator({ ...options, random: true });
    case 'userconcentratedpod_firstfit':
    case 'userConcentratedPod':
      return userConcentratedPodAllocator(options);
    case 'implicitDedicationStrict':
      return implicitDedicationAllocator({ ...options, mode: 'Strict' });
    case 'implicitDedicationPreferred':
      return implicitDedicationAllocator({ ...options, mode: 'Preferred' });
    default:
      throw new InvalidParameterError(
        'vm.allocation.algorithm',
        name,
        `unknown allocator; one of ${ALLOCATOR_NAMES.join(', ')}`,
      );
  }
}
