import type { CapacityService } from '../capacity/capacity-service.js';
import type { CloudContext, Writer } from '../context.js';
import type { VolumeSnapshotOperations } from '../driver/hypervisor-driver.js';
import type { SnapshotRef } from '../driver/storage-spec.js';
import { volumeSnapshotOperations } from '../driver/volume-snapshot-operations.js';
import {
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
  ResourceUnavailableError,
  UnsupportedError,
} from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref } from '../model/ref.js';
import {
  type SnapshotEvent,
  type SnapshotState,
  snapshotStateMachine,
  volumeStateMachine,
} from '../model/state-machines/index.js';
import { hostRef } from '../resources/hosts.js';
import { applyPaging, listPaging } from '../resources/list-paging.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveOptionalRef, resolveRef } from '../resources/ref-resolution.js';
import { snapshotPolicyRefs, snapshotRefs, volumeRefs } from '../resources/ref-tables.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { SettingsService } from '../settings/settings-service.js';
import { casTransition } from '../store/cas.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import type { JobService, SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { recordTransition } from './record-transition.js';
import { decodeSnapshot, type SnapshotRecord } from './snapshot-records.js';
import type { SnapshotInterval } from './snapshots-schedule.js';
import { poolRef, storeRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { getVolume, type VolumeRecord } from './volume-record.js';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

const gmtStamp = (t: number) => {
  const d = new Date(t);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
};

/**
 * A volume snapshot's own life (spec/storage.md §5): taken on primary storage as a job, backed up to
 * secondary, read, and deleted; with the checks and driver lookups every snapshot operation shares. The
 * first layer of {@link SnapshotService}.
 */
export class SnapshotLifecycle {
  protected readonly settings: SettingsService;

  constructor(
    protected readonly ctx: CloudContext,
    protected readonly jobs: JobService,
    protected readonly capacity: CapacityService,
  ) {
    this.settings = new SettingsService(ctx);
  }

  async get(id: Ref): Promise<SnapshotRecord> {
    id = await resolveRef(this.ctx.db, snapshotRefs, id, 'id');
    const row = await this.ctx.db
      .selectFrom('snapshots')
      .selectAll()
      .where('id', '=', id)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Snapshot', 'snapshotId', id);
    return decodeSnapshot(row);
  }

  /** Snapshots oldest first, filtered; a page of them with `page`/`pageSize`, matching `keyword` by name. */
  async list(
    filter: { volumeId?: Ref; policyId?: Ref; state?: SnapshotState } & ListOptions = {},
  ): Promise<SnapshotRecord[]> {
    const db = this.ctx.db;
    const paging = await listPaging(this.ctx, filter);
    const volumeId = await resolveOptionalRef(db, volumeRefs, filter.volumeId, 'volumeId');
    const policyId = await resolveOptionalRef(db, snapshotPolicyRefs, filter.policyId, 'policyId');
    let q = db.selectFrom('snapshots').selectAll().where('removed', 'is', null);
    if (volumeId !== undefined) q = q.where('volumeId', '=', volumeId);
    if (policyId !== undefined) q = q.where('policyId', '=', policyId);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    return (await applyPaging(q.orderBy('created').orderBy('id'), paging, ['name']).execute()).map((r) =>
      decodeSnapshot(r),
    );
  }

  /** Takes a manual snapshot of a volume as a job (SNAPSHOT.CREATE); the volume's activity does not matter. */
  async create(volumeId: Ref, options: { name?: string } = {}): Promise<SubmittedJob<SnapshotRecord>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    const volume = await getVolume(this.ctx.db, volumeId);
    await requireAccess(this.ctx.db, this.ctx.caller, volume, 'snapshot a volume');
    await this.precheck(volume);
    return this.jobs.submit(
      {
        cmd: 'createSnapshot',
        info: { volumeId },
        instance: { type: 'Volume', id: volumeId, uuid: volume.uuid },
        eventType: 'SNAPSHOT.CREATE',
        description: `snapshot volume ${volume.name}`,
      },
      (job) =>
        this.take(volumeId, {
          type: 'MANUAL',
          policyId: null,
          ...(options.name ? { name: options.name } : {}),
          signal: job.signal,
        }),
    );
  }

  protected async precheck(volume: VolumeRecord): Promise<void> {
    if (volume.state !== 'Ready' || volume.poolId === null)
      throw new InvalidStateError(
        `volume ${volume.name} is ${volume.state}${volume.poolId === null ? ' with no pool' : ''}; only created volumes can be snapshotted`,
        { field: 'volumeId', value: volume.id },
      );
    if (volume.instanceId !== null) {
      const vm = await getVm(this.ctx.db, volume.instanceId);
      if (vm.type !== 'User')
        throw new InvalidParameterError('volumeId', volume.id, `volumes of ${vm.type} VMs are not snapshotted`);
    }
    if ((volume.hypervisorType ?? '').toLowerCase() === 'ovm')
      throw new UnsupportedError('OVM does not support volume snapshots', { field: 'volumeId', value: volume.id });
    this.requireSnapshots(volume);
  }

  /**
   * Refuses a volume whose hypervisor's driver does not declare `volumeSnapshots`, before any driver call
   * (drivers.md §1: capabilities are checked up front, not discovered by failure).
   */
  protected requireSnapshots(volume: VolumeRecord): void {
    const type = volume.hypervisorType;
    if (type === null || !this.ctx.drivers.hasHypervisor(type)) return;
    volumeSnapshotOperations(this.ctx.drivers.hypervisor(type), 'volumeId', volume.id);
  }

  /** The snapshot operations of a host's driver; `UnsupportedError` when it has none. */
  protected snapshotDriver(hypervisorType: string): VolumeSnapshotOperations {
    return volumeSnapshotOperations(this.ctx.drivers.hypervisor(hypervisorType));
  }

  protected checkSnapshotLimit(w: Writer, accountId: number): Promise<void> {
    return checkResourceLimits(w, this.settings, accountId, { snapshot: 1 });
  }

  protected async move(
    w: Writer,
    snap: { id: number; uuid: string; accountId: number; domainId: number },
    event: SnapshotEvent,
    set?: Record<string, unknown>,
  ) {
    const r = await casTransition(w.db, {
      table: 'snapshots',
      id: snap.id,
      machine: snapshotStateMachine,
      event,
      ...(set ? { set } : {}),
    });
    await recordTransition(
      w,
      {
        type: 'Snapshot',
        id: snap.id,
        uuid: snap.uuid,
        accountId: snap.accountId,
        domainId: snap.domainId,
        prefix: 'SNAPSHOT',
        machine: snapshotStateMachine.name,
        event,
      },
      r,
    );
    return r;
  }

  /** Whether a volume is active: attached to a Running VM (storage.md §5.3 rule 2). */
  protected async isActive(db: Db, volume: VolumeRecord): Promise<boolean> {
    if (volume.instanceId === null) return false;
    const vm = await db
      .selectFrom('vmInstances')
      .select('state')
      .where('id', '=', volume.instanceId)
      .executeTakeFirst();
    return vm?.state === 'Running';
  }

  /** Snapshot on primary, then backup to secondary (storage.md §5.2). */
  protected async take(
    volumeId: number,
    opts: { type: 'MANUAL' | SnapshotInterval; policyId: number | null; name?: string; signal?: AbortSignal },
  ): Promise<SnapshotRecord> {
    const volume = await getVolume(this.ctx.db, volumeId);
    await this.precheck(volume);
    const poolId = Number(volume.poolId);
    const pool = await getPoolRow(this.ctx.db, poolId);
    const host = (await hostsReaching(this.ctx.db, poolId))[0];
    if (!host)
      throw new ResourceUnavailableError(`no Up host reaches pool ${pool.name}`, {
        field: 'volumeId',
        value: volumeId,
      });
    const vm = volume.instanceId === null ? undefined : await getVm(this.ctx.db, volume.instanceId);
    const active = await this.isActive(this.ctx.db, volume);
    const name = opts.name ?? `${vm?.hostName ?? 'detached'}_${volume.name}_${gmtStamp(this.ctx.clock.now())}`;
    const uuid = newUuid();
    const snap = await this.ctx.write(async (w) => {
      await this.checkSnapshotLimit(w, volume.accountId);
      const row = await w.db
        .insertInto('snapshots')
        .values({
          uuid,
          name,
          volumeId,
          volumeType: volume.volumeType,
          zoneId: volume.zoneId,
          poolId,
          accountId: volume.accountId,
          domainId: volume.domainId,
          hypervisorType: volume.hypervisorType,
          snapshotType: opts.type,
          policyId: opts.policyId,
          size: volume.size,
          physicalSize: 0,
          volumeActive: active ? 1 : 0,
          primaryPath: null,
          parentUuid: null,
          backupStoreId: null,
          backupPath: null,
          state: 'Allocated',
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const s = decodeSnapshot(row);
      await this.move(w, s, 'CreateRequested');
      await w.transition({
        table: 'volumes',
        id: volumeId,
        machine: volumeStateMachine,
        event: 'SnapshotRequested',
        expect: { state: volume.state, version: volume.updatedCount },
        resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
        eventPrefix: 'VOLUME',
      });
      return s;
    });
    const driver = this.snapshotDriver(host.hypervisorType);
    const volumeRef = { uuid: volume.uuid, pool: poolRef(pool), ...(volume.path ? { path: volume.path } : {}) };
    let created: Awaited<ReturnType<typeof driver.createSnapshot>>;
    try {
      created = await driver.createSnapshot(
        host.ref,
        { uuid, name, volume: volumeRef, ...(vm?.state === 'Running' ? { vmName: vm.instanceName } : {}) },
        opts.signal ? { signal: opts.signal } : {},
      );
    } catch (error) {
      await this.ctx.write(async (w) => {
        await this.move(w, snap, 'OperationFailed');
        await w.transition({
          table: 'volumes',
          id: volumeId,
          machine: volumeStateMachine,
          event: 'OperationFailed',
          resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
          eventPrefix: 'VOLUME',
        });
      });
      throw error;
    }
    await this.ctx.write(async (w) => {
      await this.move(w, snap, 'OperationSucceeded', {
        primaryPath: created.path,
        physicalSize: created.physicalSizeBytes,
        parentUuid: created.parentUuid ?? null,
      });
      await w.transition({
        table: 'volumes',
        id: volumeId,
        machine: volumeStateMachine,
        event: 'OperationSucceeded',
        resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
        eventPrefix: 'VOLUME',
      });
    });
    return this.backup(snap.id, opts.signal);
  }

  /** Backs a CreatedOnPrimary snapshot up to an image store of its zone (retryable after a failure). */
  async backup(snapshotId: Ref, signal?: AbortSignal): Promise<SnapshotRecord> {
    snapshotId = await resolveRef(this.ctx.db, snapshotRefs, snapshotId, 'snapshotId');
    const snap = await this.get(snapshotId);
    if (snap.state !== 'CreatedOnPrimary')
      throw new InvalidStateError(`snapshot ${snap.name} is ${snap.state}`, { field: 'snapshotId', value: snapshotId });
    const store = await this.ctx.db
      .selectFrom('imageStores')
      .selectAll()
      .where('zoneId', '=', snap.zoneId)
      .where('removed', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (!store)
      throw new ResourceUnavailableError(
        `zone ${snap.zoneId} has no secondary storage to back snapshot ${snap.name} up to`,
        { field: 'snapshotId', value: snapshotId },
      );
    const ref = await this.refOf(snap);
    const host = await this.hostFor(snap);
    await this.ctx.write((w) => this.move(w, snap, 'BackupToSecondary'));
    try {
      const result = await this.snapshotDriver(host.hypervisorType).backupSnapshot(
        host.ref,
        ref,
        storeRef(store),
        signal ? { signal } : {},
      );
      return await this.ctx.write(async (w) => {
        await this.move(w, snap, 'OperationSucceeded', {
          backupStoreId: Number(store.id),
          backupPath: result.path,
          physicalSize: result.physicalSizeBytes,
          ...(result.removedFromPrimary ? { primaryPath: null } : {}),
        });
        await w.event({
          type: 'SNAPSHOT.CREATE',
          description: `snapshot ${snap.name} of volume ${snap.volumeId} backed up to ${store.url}`,
          resourceType: 'Snapshot',
          resourceId: snap.id,
          resourceUuid: snap.uuid,
          accountId: snap.accountId,
          domainId: snap.domainId,
          parameters: { volumeId: snap.volumeId, type: snap.snapshotType, size: snap.size },
        });
        const row = await w.db.selectFrom('snapshots').selectAll().where('id', '=', snap.id).executeTakeFirstOrThrow();
        return decodeSnapshot(row);
      });
    } catch (error) {
      await this.ctx.write((w) => this.move(w, snap, 'OperationFailed'));
      throw error;
    }
  }

  protected async refOf(snap: SnapshotRecord): Promise<SnapshotRef> {
    const vol = await this.ctx.db
      .selectFrom('volumes')
      .selectAll()
      .where('id', '=', snap.volumeId)
      .executeTakeFirstOrThrow();
    const pool =
      snap.poolId === null
        ? undefined
        : await this.ctx.db.selectFrom('storagePools').selectAll().where('id', '=', snap.poolId).executeTakeFirst();
    const row = await this.ctx.db
      .selectFrom('snapshots')
      .select(['primaryPath', 'backupPath', 'backupStoreId'])
      .where('id', '=', snap.id)
      .executeTakeFirstOrThrow();
    const store =
      row.backupStoreId === null
        ? undefined
        : await this.ctx.db
            .selectFrom('imageStores')
            .selectAll()
            .where('id', '=', Number(row.backupStoreId))
            .executeTakeFirst();
    return {
      uuid: snap.uuid,
      volume: {
        uuid: vol.uuid,
        pool: pool ? poolRef(pool) : { uuid: '', type: 'NetworkFilesystem' },
        ...(vol.path ? { path: vol.path } : {}),
      },
      ...(row.primaryPath ? { primaryPath: row.primaryPath } : {}),
      ...(store && row.backupPath ? { backup: { store: storeRef(store), path: row.backupPath } } : {}),
    };
  }

  /** A host to run a snapshot command on: one reaching the snapshot's pool, else any Up host of the zone with its hypervisor. */
  protected async hostFor(snap: SnapshotRecord, poolId: number | null = snap.poolId) {
    if (poolId !== null) {
      const hosts = await hostsReaching(this.ctx.db, poolId).catch(() => []);
      if (hosts[0]) return hosts[0];
    }
    const row = await this.ctx.db
      .selectFrom('hosts')
      .selectAll()
      .where('zoneId', '=', snap.zoneId)
      .where('status', '=', 'Up')
      .where('removed', 'is', null)
      .where('hypervisorType', '=', snap.hypervisorType ?? '')
      .orderBy('id')
      .executeTakeFirst();
    if (!row)
      throw new ResourceUnavailableError(`no Up ${snap.hypervisorType} host in zone ${snap.zoneId}`, {
        field: 'snapshotId',
        value: snap.id,
      });
    return {
      id: Number(row.id),
      ref: hostRef({ guid: row.guid, name: row.name, privateIp: row.privateIp, url: row.url }),
      hypervisorType: row.hypervisorType,
      clusterId: Number(row.clusterId),
    };
  }

  /** Deletes a snapshot as a job (SNAPSHOT.DELETE): BackedUp → Destroying → Destroyed; Error snapshots are just removed. */
  async delete(snapshotId: Ref): Promise<SubmittedJob<void>> {
    snapshotId = await resolveRef(this.ctx.db, snapshotRefs, snapshotId, 'snapshotId');
    const snap = await this.get(snapshotId);
    await requireAccess(this.ctx.db, this.ctx.caller, snap, 'delete a snapshot');
    if (snap.state !== 'BackedUp' && snap.state !== 'Error')
      throw new InvalidStateError(`snapshot ${snap.name} is ${snap.state}`, { field: 'snapshotId', value: snapshotId });
    return this.jobs.submit(
      {
        cmd: 'deleteSnapshot',
        info: { snapshotId },
        instance: { type: 'Snapshot', id: snap.id, uuid: snap.uuid },
        eventType: 'SNAPSHOT.DELETE',
        description: `delete snapshot ${snap.name}`,
      },
      () => this.deleteNow(snapshotId),
    );
  }

  protected async deleteNow(snapshotId: number): Promise<void> {
    const snap = await this.get(snapshotId);
    const deleted = (w: Writer) =>
      w.event({
        type: 'SNAPSHOT.DELETE',
        description: `snapshot ${snap.name} deleted`,
        resourceType: 'Snapshot',
        resourceId: snap.id,
        resourceUuid: snap.uuid,
        accountId: snap.accountId,
        domainId: snap.domainId,
        parameters: { volumeId: snap.volumeId },
      });
    if (snap.state === 'Error') {
      await this.ctx.write(async (w) => {
        await w.db.updateTable('snapshots').set({ removed: w.now }).where('id', '=', snap.id).execute();
        await deleted(w);
      });
      return;
    }
    await this.ctx.write((w) => this.move(w, snap, 'DestroyRequested'));
    try {
      const host = await this.hostFor(snap);
      await this.snapshotDriver(host.hypervisorType).deleteSnapshot(host.ref, await this.refOf(snap));
    } catch (error) {
      await this.ctx.write((w) => this.move(w, snap, 'OperationFailed'));
      throw error;
    }
    await this.ctx.write(async (w) => {
      await this.move(w, snap, 'OperationSucceeded', { removed: w.now });
      await deleted(w);
    });
  }
}
