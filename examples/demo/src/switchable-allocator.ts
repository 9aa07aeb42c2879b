import type {
  Allocator,
  DeploymentPlan,
  DeploymentPlanner,
  HostAllocator,
  Placement,
  PlacementState,
  StoragePoolAllocator,
  VmProfile,
} from '@stratus/core';

/**
 * An allocator that delegates to the strategy currently selected with {@link use}: the demo
 * deploys one wave with `verticalAllocator()` and the next with `horizontalAllocator()` on ONE
 * cloud, the way a CloudStack operator changes `vm.allocation.algorithm` on a running management
 * server and the next deployment follows it.
 *
 * Why not two `Cloud` objects over the same store, one per allocator? `createCloud` gives each
 * cloud its own runtime: a management-server identity with its heartbeat, a job service with its
 * per-VM queues, an in-memory placement index and the IPAM/VLAN indexes. The store stays the
 * authority, so two clouds would work, but the first cloud's placement index would be stale as soon
 * as the second deployed (its later placements start from wrong counters and recover only through
 * conflicts and refreshes), VMs would be queued by two job services, and `close()` on either
 * closes the shared store. The allocator is the one thing that differs, and `Allocator` is an
 * interface the SDK invites you to implement, so swapping the strategy behind it is the smaller,
 * cleaner change.
 *
 * `createCloud` reads `storagePoolAllocator` once, for volumes created outside a VM start; a VM's
 * own disks are placed by {@link place}, i.e. by the current strategy.
 */
export class SwitchableAllocator implements Allocator {
  constructor(private current: Allocator) {}

  /** Selects the strategy for the next placements. */
  use(allocator: Allocator): void {
    this.current = allocator;
  }

  get name(): string {
    return this.current.name;
  }

  get hostAllocator(): HostAllocator {
    return this.current.hostAllocator;
  }

  get storagePoolAllocator(): StoragePoolAllocator {
    return this.current.storagePoolAllocator;
  }

  get planner(): DeploymentPlanner {
    return this.current.planner;
  }

  place(state: PlacementState, vm: VmProfile, plan: DeploymentPlan): Placement {
    return this.current.place(state, vm, plan);
  }
}
