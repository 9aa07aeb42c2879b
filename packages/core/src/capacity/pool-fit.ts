import type { ReasonCode } from '../allocation/reason-codes.js';
import { OVERPROVISIONED_POOL_TYPES, type StoragePoolType, type StorageScope } from '../model/enums.js';
import type { PoolState } from './placement-state.js';

/**
 * The storage factor that applies to a pool: `storage.overprovisioning.factor` only for pool types
 * that support over-provisioning, never for local (host-scope) pools (spec/allocation.md §2.4, pitfall 4).
 */
export function effectiveStorageFactor(poolType: StoragePoolType, scope: StorageScope, factor: number): number {
  if (scope === 'HOST') return 1;
  return OVERPROVISIONED_POOL_TYPES.includes(poolType) ? factor : 1;
}

/** Over-provisioned capacity in whole bytes. */
export function poolCapacityLimit(pool: Pick<PoolState, 'capacityBytes' | 'factor'>): number {
  return Math.floor(pool.capacityBytes * pool.factor + 1e-6);
}

/**
 * Space and IOPS check for `asking` more bytes on the pool (§2.4), in order:
 * 1. physical fill `used / capacity < pool.storage.capacity.disablethreshold`;
 * 2. `(allocated + asking) / overProvisioned ≤ pool.storage.allocated.capacity.disablethreshold`;
 * 3. `allocated + asking ≤ overProvisioned`;
 * 4. pools with IOPS capacity: `usedIops + asked ≤ capacityIops`.
 */
export function poolFit(pool: PoolState, asking: number, askingIops = 0): ReasonCode | null {
  if (pool.capacityBytes <= 0 || pool.usedBytes / pool.capacityBytes >= pool.usedThreshold)
    return 'POOL_USED_THRESHOLD';
  const limit = poolCapacityLimit(pool);
  if ((pool.allocatedBytes + asking) / limit > pool.allocatedThreshold) return 'POOL_ALLOCATED_THRESHOLD';
  if (pool.allocatedBytes + asking > limit) return 'POOL_SPACE';
  if (pool.capacityIops !== null && askingIops > 0 && pool.usedIops + askingIops > pool.capacityIops)
    return 'POOL_IOPS';
  return null;
}
