import type { DiskSpec } from '../driver/vm-spec.js';
import { templateRepo } from '../resources/templates.js';
import type { Db } from '../store/store.js';

/**
 * The CD-ROM of a VM deployed from an ISO (CloudStack's `DiskTO` of type ISO, device 3): the ISO read straight
 * from secondary storage, at the image store's URL joined with the path of its Ready copy in the VM's zone (e.g.
 * `nfs://10.0.0.6/export/secondary/template/tmpl/<uuid>/<uuid>.iso`); the driver mounts or stages it. Undefined
 * when the ISO has no Ready copy in the zone any more (the VM then starts without it).
 */
export async function isoDiskSpec(
  db: Db,
  iso: { id: number; uuid: string },
  zoneId: number,
): Promise<DiskSpec | undefined> {
  const row = await db
    .selectFrom('templateStoreRefs as r')
    .innerJoin('imageStores as s', 's.id', 'r.storeId')
    .select(['s.url', 'r.installPath', 'r.size'])
    .where('r.templateId', '=', iso.id)
    .where('r.zoneId', '=', zoneId)
    .where('r.state', '=', 'Ready')
    .where('r.removed', 'is', null)
    .where('s.removed', 'is', null)
    .orderBy('r.id')
    .executeTakeFirst();
  if (row === undefined || row.installPath === null) return undefined;
  return {
    volumeUuid: iso.uuid,
    type: 'ISO',
    deviceId: 3,
    path: `${row.url.replace(/\/$/, '')}/${row.installPath}`,
    format: 'iso',
    sizeBytes: Number(row.size),
    readOnly: true,
  };
}

/**
 * The CD-ROM of `vm`: the ISO in its `isoId` (the one it was deployed from, or one attached since),
 * as {@link isoDiskSpec} describes it; undefined when none. `template` is the VM's template when
 * the caller holds it (not read again when it is the ISO).
 */
export async function attachedIsoSpec(
  db: Db,
  vm: { isoId: number | null; zoneId: number },
  template?: { id: number; uuid: string } | null,
): Promise<DiskSpec | undefined> {
  if (vm.isoId === null) return undefined;
  const iso = template?.id === vm.isoId ? template : await templateRepo.find(db, vm.isoId);
  return iso ? isoDiskSpec(db, iso, vm.zoneId) : undefined;
}
