import { InvalidParameterError, InvalidStateError, ResourceUnavailableError } from '../errors.js';
import type { Ref } from '../model/ref.js';
import { volumeStateMachine } from '../model/state-machines/index.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { snapshotRefs } from '../resources/ref-tables.js';
import { storagePoolRepo } from '../resources/storage-pools.js';
import { newUuid } from '../store/uuid.js';
import { diskFormatOf } from './disk-format.js';
import type { SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import {
  firstImageStore,
  insertPrivateTemplate,
  requireTemplateName,
  writePrivateTemplate,
} from './private-template.js';
import { SnapshotLifecycle } from './snapshot-lifecycle.js';
import type { SnapshotRecord } from './snapshot-records.js';
import { poolRef, storeRef } from './storage-refs.js';
import { checkVolumeLimits } from './volume-limits.js';
import { decodeVolume, getVolume, type VolumeRecord } from './volume-record.js';

/** What a backed-up snapshot restores to: a new DATADISK volume, or a private template. A layer of {@link SnapshotService}. */
export class SnapshotRestore extends SnapshotLifecycle {
  // ── Restore ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A new DATADISK volume from a backed-up snapshot, as a job (storage.md §5.4): recorded, then
   * created on the snapshot's pool (or another Up pool of the zone); on failure the new record is
   * removed and the pool allocation released.
   */
  async createVolumeFromSnapshot(
    snapshotId: Ref,
    volume: { name: string; poolId?: Ref },
  ): Promise<SubmittedJob<VolumeRecord>> {
    snapshotId = await resolveRef(this.ctx.db, snapshotRefs, snapshotId, 'snapshotId');
    const input = await resolveRefs(this.ctx.db, volume, { poolId: storagePoolRepo });
    const snap = await this.get(snapshotId);
    await requireAccess(this.ctx.db, this.ctx.caller, snap, 'restore a snapshot');
    if (snap.state !== 'BackedUp')
      throw new InvalidStateError(`snapshot ${snap.name} is ${snap.state}; BackedUp required`, {
        field: 'snapshotId',
        value: snapshotId,
      });
    if (typeof input.name !== 'string' || input.name.trim() === '')
      throw new InvalidParameterError('name', input.name, 'a volume name is required');
    return this.jobs.submit(
      {
        cmd: 'createVolume',
        info: { snapshotId, name: input.name },
        instance: { type: 'Snapshot', id: snap.id, uuid: snap.uuid },
        eventType: 'VOLUME.CREATE',
        description: `volume ${input.name} from snapshot ${snap.name}`,
      },
      async (job) => {
        const poolId = input.poolId ?? (await this.restorePool(snap));
        const pool = await getPoolRow(this.ctx.db, poolId, 'poolId');
        const host = (await hostsReaching(this.ctx.db, poolId))[0];
        if (!host)
          throw new ResourceUnavailableError(`no Up host reaches pool ${pool.name}`, {
            field: 'poolId',
            value: poolId,
          });
        const volume = await this.ctx.write(async (w) => {
          await checkVolumeLimits(w, this.settings, snap.accountId, { volumes: 1, bytes: snap.size });
          const row = await w.db
            .insertInto('volumes')
            .values({
              uuid: newUuid(),
              name: input.name.trim(),
              volumeType: 'DATADISK',
              size: snap.size,
              zoneId: snap.zoneId,
              podId: pool.podId,
              poolId,
              instanceId: null,
              deviceId: null,
              diskOfferingId: null,
              templateId: null,
              accountId: snap.accountId,
              domainId: snap.domainId,
              format: diskFormatOf(null, host.hypervisorType),
              path: null,
              state: 'Creating',
              hypervisorType: host.hypervisorType,
              created: w.now,
              removed: null,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
          const v = decodeVolume(row);
          await this.capacity.allocateStorage(w, { volumeId: v.id, poolId, accountId: v.accountId, bytes: v.size });
          return v;
        });
        try {
          const result = await this.snapshotDriver(host.hypervisorType).createVolumeFromSnapshot(
            host.ref,
            await this.refOf(snap),
            {
              uuid: volume.uuid,
              name: volume.name,
              type: 'DATADISK',
              sizeBytes: volume.size,
              format: diskFormatOf(null, host.hypervisorType),
              pool: poolRef(pool),
            },
            { signal: job.signal },
          );
          return await this.ctx.write(async (w) => {
            await w.transition({
              table: 'volumes',
              id: volume.id,
              machine: volumeStateMachine,
              event: 'OperationSucceeded',
              set: { path: result.path, lastPoolId: poolId },
              resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
              eventPrefix: 'VOLUME',
            });
            await w.event({
              type: 'VOLUME.CREATE',
              description: `volume ${volume.name} created from snapshot ${snap.name}`,
              resourceType: 'Volume',
              resourceId: volume.id,
              resourceUuid: volume.uuid,
              accountId: volume.accountId,
              domainId: volume.domainId,
              parameters: { snapshotId, size: volume.size },
            });
            return getVolume(w.db, volume.id);
          });
        } catch (error) {
          await this.ctx.write(async (w) => {
            await this.capacity.releaseStorage(w, volume.id);
            await w.db
              .updateTable('volumes')
              .set({ removed: w.now, state: 'Expunged' })
              .where('id', '=', volume.id)
              .execute();
          });
          throw error;
        }
      },
    );
  }

  protected async restorePool(snap: SnapshotRecord): Promise<number> {
    if (snap.poolId !== null) {
      const p = await this.ctx.db
        .selectFrom('storagePools')
        .select(['status'])
        .where('id', '=', snap.poolId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (p?.status === 'Up') return snap.poolId;
    }
    const p = await this.ctx.db
      .selectFrom('storagePools')
      .select('id')
      .where('zoneId', '=', snap.zoneId)
      .where('status', '=', 'Up')
      .where('scope', '!=', 'HOST')
      .where('removed', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (!p)
      throw new ResourceUnavailableError(`zone ${snap.zoneId} has no Up shared pool`, {
        field: 'snapshotId',
        value: snap.id,
      });
    return Number(p.id);
  }

  /**
   * A private template (owned by the caller) from a backed-up snapshot, written to an image store of
   * the snapshot's zone, as a job; on failure the template record is removed.
   */
  async createTemplateFromSnapshot(
    snapshotId: Ref,
    input: { name: string; displayText?: string; osType?: string },
  ): Promise<SubmittedJob<{ templateId: number }>> {
    snapshotId = await resolveRef(this.ctx.db, snapshotRefs, snapshotId, 'snapshotId');
    const snap = await this.get(snapshotId);
    await requireAccess(this.ctx.db, this.ctx.caller, snap, 'create a template from a snapshot');
    if (snap.state !== 'BackedUp')
      throw new InvalidStateError(`snapshot ${snap.name} is ${snap.state}; BackedUp required`, {
        field: 'snapshotId',
        value: snapshotId,
      });
    requireTemplateName(input);
    const store = await firstImageStore(this.ctx.db, snap.zoneId, 'snapshotId', snapshotId);
    return this.jobs.submit(
      {
        cmd: 'createTemplate',
        info: { snapshotId, name: input.name },
        instance: { type: 'Snapshot', id: snap.id, uuid: snap.uuid },
        eventType: 'TEMPLATE.CREATE',
        description: `template ${input.name} from snapshot ${snap.name}`,
      },
      async (job) => {
        const host = await this.hostFor(snap);
        const format = diskFormatOf(null, snap.hypervisorType);
        const caller = this.ctx.caller;
        const template = await this.ctx.write((w) =>
          insertPrivateTemplate(w, input, {
            zoneId: snap.zoneId,
            storeId: Number(store.id),
            hypervisorType: snap.hypervisorType,
            format,
            caller,
          }),
        );
        return writePrivateTemplate(
          this.ctx,
          template,
          { name: input.name, description: `snapshot ${snap.name}`, parameters: { snapshotId } },
          async () =>
            this.snapshotDriver(host.hypervisorType).createTemplateFromSnapshot(
              host.ref,
              await this.refOf(snap),
              { uuid: template.uuid, name: input.name, store: storeRef(store), format },
              { signal: job.signal },
            ),
        );
      },
    );
  }
}
