import { NotFoundError } from '../errors.js';
import type { Db } from '../store/store.js';

/** The VM columns storage operations read. */
export interface VmRow {
  id: number;
  uuid: string;
  instanceName: string;
  hostName: string;
  state: string;
  zoneId: number;
  accountId: number;
  domainId: number;
  hypervisorType: string | null;
  hostId: number | null;
  lastHostId: number | null;
  type: string;
}

/** A live (not removed) VM's {@link VmRow}; `NotFoundError` naming `field` otherwise. */
export async function getVm(db: Db, id: number, field = 'vmId'): Promise<VmRow> {
  const row = await db
    .selectFrom('vmInstances')
    .selectAll()
    .where('id', '=', id)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('VirtualMachine', field, id);
  return {
    id: Number(row.id),
    uuid: row.uuid,
    instanceName: row.instanceName,
    hostName: row.hostName,
    state: row.state,
    zoneId: Number(row.zoneId),
    accountId: Number(row.accountId),
    domainId: Number(row.domainId),
    hypervisorType: row.hypervisorType,
    hostId: row.hostId === null ? null : Number(row.hostId),
    lastHostId: row.lastHostId === null ? null : Number(row.lastHostId),
    type: row.type,
  };
}
