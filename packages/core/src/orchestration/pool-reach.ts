import type { Selectable } from 'kysely';
import type { HostRef } from '../driver/operation-context.js';
import { NotFoundError } from '../errors.js';
import { hostRef } from '../resources/hosts.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Database } from '../store/schema.js';
import type { Db } from '../store/store.js';

/** A live (not removed) storage pool's row. */
export async function getPoolRow(db: Db, poolId: number, field = 'poolId') {
  const { rows } = await executeCached<Selectable<Database['storagePools']>>(db, 'storage.poolRow', [poolId], (q) =>
    q.selectFrom('storagePools').selectAll().where('id', '=', poolId).where('removed', 'is', null),
  );
  const p = rows[0];
  if (!p) throw new NotFoundError('StoragePool', field, poolId);
  return p;
}

/** Whether a host (by cluster/zone/id) can use a pool: cluster pools → same cluster; zone-wide → same zone and hypervisor; local → that host. */
export function hostReachesPool(
  host: { id: number; clusterId: number; zoneId: number; hypervisorType: string },
  pool: {
    scope: string;
    clusterId: number | null;
    zoneId: number;
    hostId: number | null;
    hypervisorType: string | null;
  },
): boolean {
  if (pool.scope === 'HOST') return pool.hostId === host.id;
  if (pool.scope === 'CLUSTER') return pool.clusterId === host.clusterId;
  return (
    pool.zoneId === host.zoneId &&
    (pool.hypervisorType === null || pool.hypervisorType === 'Any' || pool.hypervisorType === host.hypervisorType)
  );
}

/** Up hosts that reach a pool, most recently pinged first. */
export async function hostsReaching(
  db: Db,
  poolId: number,
): Promise<Array<{ id: number; ref: HostRef; hypervisorType: string; clusterId: number }>> {
  const pool = await getPoolRow(db, poolId);
  const hosts = await db
    .selectFrom('hosts')
    .selectAll()
    .where('zoneId', '=', Number(pool.zoneId))
    .where('removed', 'is', null)
    .where('status', '=', 'Up')
    .where('type', '=', 'Routing')
    .orderBy('id')
    .execute();
  return hosts
    .filter((h) =>
      hostReachesPool(
        {
          id: Number(h.id),
          clusterId: Number(h.clusterId),
          zoneId: Number(h.zoneId),
          hypervisorType: h.hypervisorType,
        },
        {
          scope: pool.scope,
          clusterId: pool.clusterId === null ? null : Number(pool.clusterId),
          zoneId: Number(pool.zoneId),
          hostId: pool.hostId === null ? null : Number(pool.hostId),
          hypervisorType: pool.hypervisorType,
        },
      ),
    )
    .map((h) => ({
      id: Number(h.id),
      ref: hostRef({ guid: h.guid, name: h.name, privateIp: h.privateIp, url: h.url }),
      hypervisorType: h.hypervisorType,
      clusterId: Number(h.clusterId),
    }));
}
