import type { StoragePoolAllocator } from '../allocation/allocator-contract.js';
import type { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityIndex } from '../capacity/capacity-index.js';
import { tagsSubset } from '../capacity/host-fit.js';
import type { HostState, PoolState } from '../capacity/placement-state.js';
import { poolFit } from '../capacity/pool-fit.js';
import { NotFoundError } from '../errors.js';
import type { StorageType } from '../model/enums.js';
import type { Db } from '../store/store.js';
import { hostReachesPool } from './pool-reach.js';

/** What a pool must offer one disk. */
export interface PoolRequest {
  zoneId: number;
  /** The host that must reach the pool. */
  hostId: number;
  sizeBytes: number;
  tags: readonly string[];
  storageType: StorageType;
  accountId: number;
  domainId: number;
  /** Pools not to use. */
  avoidPoolIds?: readonly number[];
}

/**
 * Picks candidate pools for one disk (spec/storage.md §4.2), best first. Booking happens later in
 * the caller's transaction (CapacityService.allocateStorage re-checks the space), so a chooser only
 * reads. The default one uses the allocation layer's StoragePoolAllocator when given.
 */
export interface StoragePoolChooser {
  choose(db: Db, request: PoolRequest): Promise<number[]>;
}

/**
 * The default chooser: loads the placement state and asks `allocator` (the allocation layer's
 * StoragePoolAllocator) for the pools of the host's scope; without one, filters reachable Up pools
 * by tags (subset, no fallback) and space (allocation.md §2.4), least allocated first.
 */
export function defaultPoolChooser(
  allocator?: StoragePoolAllocator,
  makeAvoid?: () => ExcludeList,
): StoragePoolChooser {
  return {
    async choose(db: Db, req: PoolRequest): Promise<number[]> {
      const state = await CapacityIndex.load(db);
      const host = state.hosts.get(req.hostId);
      if (!host) throw new NotFoundError('Host', 'hostId', req.hostId);
      const avoid = new Set(req.avoidPoolIds ?? []);
      if (allocator && makeAvoid) {
        const exclude = makeAvoid();
        for (const id of avoid) exclude.addPool(id, 'AVOIDED_AFTER_FAILURE');
        const disk = { id: 0, size: req.sizeBytes, tags: req.tags, storageType: req.storageType };
        const vm = {
          accountId: req.accountId,
          domainId: req.domainId,
          demand: { cpu: 1, memory: 1, cores: 1, speed: 1 },
          hostTags: [],
          hypervisorType: host.hypervisorType,
          disks: [disk],
        };
        const pools = allocator.allocateToPool(
          state,
          disk,
          vm,
          { zoneId: req.zoneId, podId: host.podId, clusterId: host.clusterId, hostId: host.id, avoid: exclude },
          exclude,
          -1,
        );
        return pools.map((p) => p.id);
      }
      const candidates: PoolState[] = [];
      for (const pool of state.pools.values()) {
        if (avoid.has(pool.id) || !reachableState(host, pool)) continue;
        if ((req.storageType === 'local') !== (pool.scope === 'HOST')) continue;
        if (pool.status !== 'Up') continue;
        if (!tagsSubset(req.tags, pool.tags)) continue;
        if (poolFit(pool, req.sizeBytes) !== null) continue;
        candidates.push(pool);
      }
      const scopeRank = (p: PoolState) => (p.scope === 'HOST' ? 0 : p.scope === 'CLUSTER' ? 1 : 2);
      candidates.sort(
        (a, b) =>
          scopeRank(a) - scopeRank(b) ||
          a.allocatedBytes / Math.max(1, a.capacityBytes) - b.allocatedBytes / Math.max(1, b.capacityBytes) ||
          a.id - b.id,
      );
      return candidates.map((p) => p.id);
    },
  };
}

function reachableState(host: HostState, pool: PoolState): boolean {
  return hostReachesPool(
    { id: host.id, clusterId: host.clusterId, zoneId: host.zoneId, hypervisorType: host.hypervisorType },
    {
      scope: pool.scope,
      clusterId: pool.clusterId,
      zoneId: pool.zoneId,
      hostId: pool.hostId,
      hypervisorType: pool.hypervisorType,
    },
  );
}
