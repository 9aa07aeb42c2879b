import type { ClusterState, HostState, PlacementState, PoolState } from '../capacity/placement-state.js';
import type { DeployDestination, DeploymentPlan, DiskProfile, VmProfile } from './deployment-plan.js';
import type { ExcludeList } from './exclude-list.js';
import type { PlacementExplanation } from './placement-explanation.js';

/**
 * Orders clusters; never picks hosts (spec/allocation.md §5.1). May add to `avoid`; the caller
 * removes planner-added entries between planner rounds.
 */
export interface DeploymentPlanner {
  readonly name: string;
  canHandle(state: PlacementState, vm: VmProfile, plan: DeploymentPlan, avoid: ExcludeList): boolean;
  orderClusters(state: PlacementState, vm: VmProfile, plan: DeploymentPlan, avoid: ExcludeList): number[];
  resourceUsage(state: PlacementState, vm: VmProfile, plan: DeploymentPlan, avoid: ExcludeList): 'Shared' | 'Dedicated';
  /**
   * Optional fast path: the same order as `orderClusters`, checked lazily. `clusters` holds the
   * candidates in final order before the eligibility checks; `check(i)` runs the checks for
   * `clusters[i]` and returns why it is rejected (it reads `avoid` but never adds to it: planner-added
   * entries are local to a planner round anyway). A pipeline that finds a host early then never
   * checks the clusters after it. `null` = use `orderClusters`.
   */
  clusterSequence?(
    state: PlacementState,
    vm: VmProfile,
    plan: DeploymentPlan,
    avoid: ExcludeList,
  ): ClusterSequence | null;
}

/** See {@link DeploymentPlanner.clusterSequence}. */
export interface ClusterSequence {
  readonly clusters: readonly ClusterState[];
  /** The rejection reason of `clusters[i]`, or null when it is eligible. */
  check(i: number): string | null;
  /** Optional: the index of a cluster in `clusters` (undefined when it is not a candidate). */
  indexOf?(clusterId: number): number | undefined;
}

/**
 * Returns suitable hosts of the plan's cluster in preference order. Coverage contract (§11.1):
 * every candidate (Up and Enabled host of the plan's scope) that is not returned is added to
 * `avoid` with a reason; with `returnUpTo = -1` nothing is left out.
 */
export interface HostAllocator {
  readonly name: string;
  allocateTo(
    state: PlacementState,
    vm: VmProfile,
    plan: DeploymentPlan,
    avoid: ExcludeList,
    returnUpTo: number,
  ): HostState[];
}

/** Returns suitable pools for one disk in preference order, under the same coverage contract. */
export interface StoragePoolAllocator {
  readonly name: string;
  allocateToPool(
    state: PlacementState,
    disk: DiskProfile,
    vm: VmProfile,
    plan: DeploymentPlan,
    avoid: ExcludeList,
    returnUpTo: number,
  ): PoolState[];
}

/** A successful placement and why. */
export interface Placement {
  destination: DeployDestination;
  explanation: PlacementExplanation;
}

/**
 * What `createCloud({ allocator })` takes: the whole planning flow of §4.2 for one attempt.
 * `place` only reads `state`; booking capacity is the caller's job (in the VM-state transaction).
 * It throws `PlacementError` (an InsufficientCapacityError) when nothing fits.
 */
export interface Allocator {
  readonly name: string;
  place(state: PlacementState, vm: VmProfile, plan: DeploymentPlan): Placement;
  readonly hostAllocator: HostAllocator;
  readonly storagePoolAllocator: StoragePoolAllocator;
  readonly planner: DeploymentPlanner;
}
