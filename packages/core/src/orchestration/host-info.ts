import type { Selectable } from 'kysely';
import type { HostRef } from '../driver/operation-context.js';
import { NotFoundError } from '../errors.js';
import { hostRef } from '../resources/hosts.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Database } from '../store/schema.js';
import type { Db } from '../store/store.js';

/** What storage work needs of a host: its driver reference and where it is. */
export interface HostInfo {
  ref: HostRef;
  hypervisorType: string;
  clusterId: number;
  zoneId: number;
  status: string;
  hypervisorVersion: string | null;
}

/** {@link HostInfo} of a host record (or its stored row). */
export function hostInfo(h: {
  guid: string;
  name: string;
  privateIp: string | null;
  url: string;
  hypervisorType: string;
  clusterId: number | bigint;
  zoneId: number | bigint;
  status: string;
  hypervisorVersion: string | null;
}): HostInfo {
  return {
    ref: hostRef(h),
    hypervisorType: h.hypervisorType,
    clusterId: Number(h.clusterId),
    zoneId: Number(h.zoneId),
    status: h.status,
    hypervisorVersion: h.hypervisorVersion,
  };
}

/** {@link HostInfo} of a live (not removed) host. */
export async function getHostRef(db: Db, hostId: number): Promise<HostInfo> {
  const { rows } = await executeCached<Selectable<Database['hosts']>>(db, 'storage.hostRow', [hostId], (q) =>
    q.selectFrom('hosts').selectAll().where('id', '=', hostId).where('removed', 'is', null),
  );
  const h = rows[0];
  if (!h) throw new NotFoundError('Host', 'hostId', hostId);
  return hostInfo(h);
}
