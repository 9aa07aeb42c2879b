import { type Allocator, type CapacityIndex, type DeploymentPlan, PlacementError, type VmProfile } from '@stratus/core';

/** Input of {@link whatIf}. */
export interface WhatIfQuery {
  /** The VM shape to repeat (its `id` and `lastHostId` are ignored). */
  vm: VmProfile;
  zoneId: number;
  podId?: number;
  clusterId?: number;
  /** Stop counting here (default 100000). */
  limit?: number;
}

/** Result of {@link whatIf}. */
export interface WhatIfResult {
  /** How many more VMs of this shape fit. */
  fits: number;
  /** Hosts chosen, in order. */
  hosts: number[];
  /** Why the next one did not fit (absent when `limit` was reached). */
  stoppedBy?: PlacementError;
}

/**
 * How many more VMs of one offering fit in a zone, pod or cluster under `allocator`, by placing
 * them one after another on a copy of the index. The index itself never changes.
 */
export function whatIf(allocator: Allocator, index: CapacityIndex, query: WhatIfQuery): WhatIfResult {
  const sim = index.clone();
  const limit = query.limit ?? 100_000;
  const plan: DeploymentPlan = {
    zoneId: query.zoneId,
    ...(query.podId !== undefined ? { podId: query.podId } : {}),
    ...(query.clusterId !== undefined ? { clusterId: query.clusterId } : {}),
  };
  const hosts: number[] = [];
  let nextVm = -1;
  let nextVolume = -1;
  while (hosts.length < limit) {
    const vmId = nextVm--;
    const disks = query.vm.disks.map((d) => ({ ...d, id: nextVolume--, poolId: null }));
    const vm: VmProfile = { ...query.vm, id: vmId, lastHostId: null, disks };
    try {
      const { destination } = allocator.place(sim, vm, plan);
      sim.bookStart(vmId, vm.accountId, destination.hostId, vm.demand, vm.implicitDedication ?? null);
      for (const d of disks) {
        const poolId = destination.pools.get(d.id);
        if (poolId !== undefined) sim.allocateStorage(d.id, poolId, d.size, d.minIops ?? 0);
      }
      hosts.push(destination.hostId);
    } catch (e) {
      if (e instanceof PlacementError) return { fits: hosts.length, hosts, stoppedBy: e };
      throw e;
    }
  }
  return { fits: hosts.length, hosts };
}
