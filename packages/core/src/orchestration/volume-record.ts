import { NotFoundError } from '../errors.js';
import type { Volume } from '../model/records.js';
import { decoder } from '../store/codec.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Db } from '../store/store.js';

/** A volume with the columns storage orchestration adds. */
export interface VolumeRecord extends Volume {
  hypervisorType: string | null;
  destroyedAt: Date | null;
  lastPoolId: number | null;
}

/** Turns a stored volume row into a {@link VolumeRecord}. */
export const decodeVolume = decoder<VolumeRecord>({ date: ['destroyedAt'] });

/** A live (not removed) volume; `NotFoundError` naming `field` otherwise. */
export async function getVolume(db: Db, id: number, field = 'volumeId'): Promise<VolumeRecord> {
  const row = await db
    .selectFrom('volumes')
    .selectAll()
    .where('id', '=', id)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Volume', field, id);
  return decodeVolume(row);
}

/** A VM's live volumes, by device id. */
export async function vmVolumes(db: Db, vmId: number): Promise<VolumeRecord[]> {
  const { rows } = await executeCached<object>(db, 'storage.vmVolumes', [vmId], (q) =>
    q.selectFrom('volumes').selectAll().where('instanceId', '=', vmId).where('removed', 'is', null).orderBy('deviceId'),
  );
  return rows.map((r) => decodeVolume(r));
}
