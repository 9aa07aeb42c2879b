import type { PoolRef, SecondaryStoreRef } from '../driver/storage-spec.js';

/** The driver's reference to a primary storage pool. */
export const poolRef = (p: { uuid: string; poolType: string }): PoolRef => ({ uuid: p.uuid, type: p.poolType });

/** The driver's reference to a secondary (image) store. */
export const storeRef = (s: { uuid: string; url: string }): SecondaryStoreRef => ({ uuid: s.uuid, url: s.url });
