import {
  type DeploymentPlan,
  type DiskProfile,
  type ExcludeList,
  type HostState,
  type PlacementState,
  type PoolState,
  poolFit,
  type ReasonCode,
  type StoragePoolAllocator,
  tagsSubset,
  type VmProfile,
} from '@stratus/core';
import type { PlacementContext } from './filters.js';
import { type Rng, shuffle } from './rng.js';

/** How pools are ordered for one disk (§6.3 "Pools" column). */
export type PoolOrder = 'random' | 'firstfit' | 'leastconsumed';

/** Can `host` use `pool`: shared cluster pool → same cluster; zone-wide → same zone; local → that host (§7.3). */
export function reachable(host: HostState, pool: PoolState): boolean {
  if (pool.scope === 'HOST') return pool.hostId === host.id;
  if (pool.scope === 'CLUSTER') return pool.clusterId === host.clusterId;
  return (
    pool.zoneId === host.zoneId &&
    (pool.hypervisorType === null ||
      (pool.hypervisorType as string) === 'Any' ||
      pool.hypervisorType === host.hypervisorType)
  );
}

/** Why a pool cannot take `asking` more bytes of this disk, or null (§7.2 common filter, §2.4, §8). */
export function poolRejection(
  avoid: ExcludeList,
  pool: PoolState,
  disk: DiskProfile,
  asking: number,
): ReasonCode | null {
  if (avoid.isPoolAvoided(pool)) return 'AVOIDED_AFTER_FAILURE';
  if (pool.status !== 'Up') return 'POOL_MAINTENANCE';
  if (!tagsSubset(disk.tags, pool.tags)) return 'POOL_TAG_MISMATCH';
  return poolFit(pool, asking, disk.minIops ?? 0);
}

const byPoolId = (a: PoolState, b: PoolState) => a.id - b.id;
const freeFraction = (p: PoolState) => 1 - p.allocatedBytes / Math.max(1, p.capacityBytes * p.factor);
const mostFreeFirst = (a: PoolState, b: PoolState) => freeFraction(b) - freeFraction(a) || a.id - b.id;
const largestFirst = (a: DiskProfile, b: DiskProfile) => b.size - a.size;

function orderPools(pools: PoolState[], order: PoolOrder, rng: Rng): PoolState[] {
  if (order === 'leastconsumed') return pools.sort(mostFreeFirst);
  pools.sort(byPoolId);
  if (order === 'random') return shuffle(pools, rng);
  return pools;
}

/**
 * Candidate pools for a disk on a host, in allocator order (LocalStorage, then cluster scope, then
 * zone-wide; first non-empty group wins, §7.1).
 */
export function candidatePools(state: PlacementState, host: HostState, disk: DiskProfile): PoolState[][] {
  const cluster = state.clusters.get(host.clusterId);
  const zone = state.zones.get(host.zoneId);
  const local: PoolState[] = [];
  const shared: PoolState[] = [];
  for (const id of cluster?.poolIds ?? []) {
    const p = state.pools.get(id);
    if (!p || !reachable(host, p)) continue;
    (p.scope === 'HOST' ? local : shared).push(p);
  }
  const zoneWide: PoolState[] = [];
  for (const id of zone?.poolIds ?? []) {
    const p = state.pools.get(id);
    if (p && reachable(host, p)) zoneWide.push(p);
  }
  return disk.storageType === 'local' ? [local] : [shared, zoneWide];
}

/** Pool statistics gathered while pairing, for the explanation. */
export interface PoolTally {
  seen: Set<number>;
  reasons: Map<number, ReasonCode>;
}

/**
 * Picks a pool for every disk, largest first, that `host` reaches; checks are cumulative when several
 * disks land on one pool. Ready disks stay on their pool if usable. Returns null when some disk has none.
 */
export function pairPools(
  ctx: PlacementContext,
  host: HostState,
  disks: readonly DiskProfile[],
  order: PoolOrder,
  tally?: PoolTally,
): Map<number, number> | null {
  const out = new Map<number, number>();
  const asking = new Map<number, number>();
  const sorted = disks.length > 1 ? [...disks].sort(largestFirst) : disks;
  for (const disk of sorted) {
    if (disk.poolId !== undefined && disk.poolId !== null) {
      const p = ctx.state.pools.get(disk.poolId);
      if (!p || !reachable(host, p) || p.status !== 'Up' || ctx.avoid.isPoolAvoided(p)) return null;
      out.set(disk.id, p.id);
      continue;
    }
    let chosen: PoolState | undefined;
    for (const group of candidatePools(ctx.state, host, disk)) {
      const ordered = orderPools([...group], order, ctx.rng);
      for (const p of ordered) {
        const extra = (asking.get(p.id) ?? 0) + disk.size;
        const reason = poolRejection(ctx.avoid, p, disk, extra);
        tally?.seen.add(p.id);
        if (reason) {
          tally?.reasons.set(p.id, reason);
          continue;
        }
        tally?.reasons.delete(p.id);
        chosen = p;
        break;
      }
      if (chosen) break;
    }
    if (!chosen) return null;
    asking.set(chosen.id, (asking.get(chosen.id) ?? 0) + disk.size);
    out.set(disk.id, chosen.id);
  }
  return out;
}

/**
 * The storage-pool allocator (§7): pools of the plan's scope for one disk, suitable ones returned
 * in order, every other candidate added to `avoid` with its reason (coverage contract).
 */
export function scopedStoragePoolAllocator(order: PoolOrder, rngOf: () => Rng): StoragePoolAllocator {
  return {
    name: `StoragePoolAllocator(${order})`,
    allocateToPool(
      state: PlacementState,
      disk: DiskProfile,
      _vm: VmProfile,
      plan: DeploymentPlan,
      avoid: ExcludeList,
      returnUpTo: number,
    ): PoolState[] {
      const candidates: PoolState[] = [];
      for (const p of state.pools.values()) {
        if (p.zoneId !== plan.zoneId) continue;
        if (disk.storageType === 'local') {
          if (p.scope !== 'HOST') continue;
          const h = p.hostId !== null ? state.hosts.get(p.hostId) : undefined;
          if (!h) continue;
          if (plan.hostId !== undefined && h.id !== plan.hostId) continue;
          if (plan.clusterId !== undefined && h.clusterId !== plan.clusterId) continue;
          if (plan.podId !== undefined && h.podId !== plan.podId) continue;
        } else {
          if (p.scope === 'HOST') continue;
          if (p.scope === 'CLUSTER') {
            if (plan.clusterId !== undefined && p.clusterId !== plan.clusterId) continue;
            if (plan.podId !== undefined && p.podId !== plan.podId) continue;
          }
        }
        candidates.push(p);
      }
      const ordered = orderPools(candidates, order, rngOf());
      const out: PoolState[] = [];
      for (const p of ordered) {
        if (returnUpTo >= 0 && out.length >= returnUpTo) break;
        if (avoid.pools.has(p.id)) continue;
        const reason = poolRejection(avoid, p, disk, disk.size);
        if (reason) avoid.addPool(p.id, reason);
        else out.push(p);
      }
      return out;
    },
  };
}
