import type { CapacityService } from '../capacity/capacity-service.js';
import type { CloudContext, Writer } from '../context.js';
import type { VolumeSnapshotOperations } from '../driver/hypervisor-driver.js';
import type { SnapshotRef } from '../driver/storage-spec.js';
import { volumeSnapshotOperations } from '../driver/volume-snapshot-operations.js';
import {
  ConcurrentModificationError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
  ResourceUnavailableError,
  UnsupportedError,
} from '../errors.js';
import {
  type SnapshotEvent,
  type SnapshotState,
  snapshotStateMachine,
  volumeStateMachine,
} from '../model/state-machines/index.js';
import { hostRef } from '../resources/hosts.js';
import { isRootAdmin, requireAccess } from '../resources/permissions.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { SettingsService } from '../settings/settings-service.js';
import { casTransition } from '../store/cas.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { diskFormatOf } from './disk-format.js';
import type { JobService, SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import {
  firstImageStore,
  insertPrivateTemplate,
  requireTemplateName,
  writePrivateTemplate,
} from './private-template.js';
import { recordTransition } from './record-transition.js';
import {
  nextSnapshotRun,
  parseSnapshotSchedule,
  requireTimezone,
  SNAPSHOT_INTERVALS,
  type SnapshotInterval,
} from './snapshots-schedule.js';
import { poolRef, storeRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { checkVolumeLimits } from './volume-limits.js';
import { decodeVolume, getVolume, type VolumeRecord } from './volume-record.js';

/** A volume snapshot. */
export interface SnapshotRecord {
  id: number;
  uuid: string;
  name: string;
  volumeId: number;
  volumeType: string;
  zoneId: number;
  poolId: number | null;
  accountId: number;
  domainId: number;
  hypervisorType: string | null;
  snapshotType: 'MANUAL' | SnapshotInterval;
  policyId: number | null;
  size: number;
  physicalSize: number;
  volumeActive: boolean;
  backupStoreId: number | null;
  backupPath: string | null;
  state: SnapshotState;
  created: Date;
  removed: Date | null;
}

/** A recurring snapshot policy. */
export interface SnapshotPolicy {
  id: number;
  uuid: string;
  volumeId: number;
  intervalType: SnapshotInterval;
  schedule: string;
  timezone: string;
  maxSnaps: number;
  active: boolean;
  nextRun: Date;
  lastRun: Date | null;
}

const decodeSnapshot = (r: Record<string, unknown>): SnapshotRecord => ({
  id: Number(r.id),
  uuid: String(r.uuid),
  name: String(r.name),
  volumeId: Number(r.volumeId),
  volumeType: String(r.volumeType),
  zoneId: Number(r.zoneId),
  poolId: r.poolId === null ? null : Number(r.poolId),
  accountId: Number(r.accountId),
  domainId: Number(r.domainId),
  hypervisorType: (r.hypervisorType as string | null) ?? null,
  snapshotType: r.snapshotType as SnapshotRecord['snapshotType'],
  policyId: r.policyId === null ? null : Number(r.policyId),
  size: Number(r.size),
  physicalSize: Number(r.physicalSize),
  volumeActive: Number(r.volumeActive) === 1,
  backupStoreId: r.backupStoreId === null ? null : Number(r.backupStoreId),
  backupPath: (r.backupPath as string | null) ?? null,
  state: r.state as SnapshotState,
  created: new Date(Number(r.created)),
  removed: r.removed === null ? null : new Date(Number(r.removed)),
});

const decodePolicy = (r: Record<string, unknown>): SnapshotPolicy => ({
  id: Number(r.id),
  uuid: String(r.uuid),
  volumeId: Number(r.volumeId),
  intervalType: r.intervalType as SnapshotInterval,
  schedule: String(r.schedule),
  timezone: String(r.timezone),
  maxSnaps: Number(r.maxSnaps),
  active: Number(r.active) === 1,
  nextRun: new Date(Number(r.nextRun)),
  lastRun: r.lastRun === null ? null : new Date(Number(r.lastRun)),
});

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const gmtStamp = (t: number) => {
  const d = new Date(t);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
};

/** Outcome of one {@link SnapshotService.runDueSnapshotPolicies} pass. */
export interface PolicyRunReport {
  taken: number[];
  skippedInactive: number[];
  failed: Array<{ policyId: number; error: string }>;
  deletedByRetention: number[];
}

/**
 * Volume snapshots (spec/storage.md §5): manual snapshots as jobs (hypervisor snapshot on primary,
 * then backup to secondary, snapshot state machine), recurring policies with schedules evaluated in
 * their time zone, `maxSnaps` retention and the inactive-volume rule, restore to a new DATADISK or a
 * template, and deletion.
 */
export class SnapshotService {
  private readonly settings: SettingsService;

  constructor(
    private readonly ctx: CloudContext,
    private readonly jobs: JobService,
    private readonly capacity: CapacityService,
  ) {
    this.settings = new SettingsService(ctx);
  }

  async get(id: number): Promise<SnapshotRecord> {
    const row = await this.ctx.db
      .selectFrom('snapshots')
      .selectAll()
      .where('id', '=', id)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Snapshot', 'snapshotId', id);
    return decodeSnapshot(row);
  }

  async list(filter: { volumeId?: number; policyId?: number; state?: SnapshotState } = {}): Promise<SnapshotRecord[]> {
    let q = this.ctx.db.selectFrom('snapshots').selectAll().where('removed', 'is', null);
    if (filter.volumeId !== undefined) q = q.where('volumeId', '=', filter.volumeId);
    if (filter.policyId !== undefined) q = q.where('policyId', '=', filter.policyId);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    return (await q.orderBy('created').orderBy('id').execute()).map((r) => decodeSnapshot(r));
  }

  /** Takes a manual snapshot of a volume as a job (SNAPSHOT.CREATE); the volume's activity does not matter. */
  async create(volumeId: number, options: { name?: string } = {}): Promise<SubmittedJob<SnapshotRecord>> {
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

  private async precheck(volume: VolumeRecord): Promise<void> {
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
  private requireSnapshots(volume: VolumeRecord): void {
    const type = volume.hypervisorType;
    if (type === null || !this.ctx.drivers.hasHypervisor(type)) return;
    volumeSnapshotOperations(this.ctx.drivers.hypervisor(type), 'volumeId', volume.id);
  }

  /** The snapshot operations of a host's driver; `UnsupportedError` when it has none. */
  private snapshotDriver(hypervisorType: string): VolumeSnapshotOperations {
    return volumeSnapshotOperations(this.ctx.drivers.hypervisor(hypervisorType));
  }

  private checkSnapshotLimit(w: Writer, accountId: number): Promise<void> {
    return checkResourceLimits(w, this.settings, accountId, { snapshot: 1 });
  }

  private async move(
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
  private async isActive(db: Db, volume: VolumeRecord): Promise<boolean> {
    if (volume.instanceId === null) return false;
    const vm = await db
      .selectFrom('vmInstances')
      .select('state')
      .where('id', '=', volume.instanceId)
      .executeTakeFirst();
    return vm?.state === 'Running';
  }

  /** Snapshot on primary, then backup to secondary (storage.md §5.2). */
  private async take(
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
  async backup(snapshotId: number, signal?: AbortSignal): Promise<SnapshotRecord> {
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

  private async refOf(snap: SnapshotRecord): Promise<SnapshotRef> {
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
  private async hostFor(snap: SnapshotRecord, poolId: number | null = snap.poolId) {
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
  async delete(snapshotId: number): Promise<SubmittedJob<void>> {
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

  private async deleteNow(snapshotId: number): Promise<void> {
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

  // ── Restore ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * A new DATADISK volume from a backed-up snapshot, as a job (storage.md §5.4): recorded, then
   * created on the snapshot's pool (or another Up pool of the zone); on failure the new record is
   * removed and the pool allocation released.
   */
  async createVolumeFromSnapshot(
    snapshotId: number,
    input: { name: string; poolId?: number },
  ): Promise<SubmittedJob<VolumeRecord>> {
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

  private async restorePool(snap: SnapshotRecord): Promise<number> {
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
    snapshotId: number,
    input: { name: string; displayText?: string; osType?: string },
  ): Promise<SubmittedJob<{ templateId: number }>> {
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

  // ── Recurring policies ───────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a recurring policy, or updates the volume's policy of the same interval (one per
   * interval, storage.md §5.3, §10). `maxSnaps` ≤ `snapshot.max.<interval>` and, for non-admin
   * owners, ≤ the account's snapshot limit.
   */
  createPolicy(input: {
    volumeId: number;
    intervalType: SnapshotInterval;
    schedule: string;
    timezone: string;
    maxSnaps: number;
  }): Promise<SnapshotPolicy> {
    return this.ctx.write(async (w) => {
      const volume = await getVolume(w.db, input.volumeId);
      await requireAccess(w.db, w.caller, volume, 'create a snapshot policy');
      this.requireSnapshots(volume);
      if (!SNAPSHOT_INTERVALS.includes(input.intervalType))
        throw new InvalidParameterError('intervalType', input.intervalType, `one of ${SNAPSHOT_INTERVALS.join(', ')}`);
      const parsed = parseSnapshotSchedule(input.intervalType, input.schedule);
      const timezone = requireTimezone(input.timezone);
      const cap = await this.settings.get(
        `snapshot.max.${input.intervalType.toLowerCase() as 'hourly' | 'daily' | 'weekly' | 'monthly'}`,
        {},
        w.db,
      );
      if (!Number.isSafeInteger(input.maxSnaps) || input.maxSnaps < 1 || input.maxSnaps > cap)
        throw new InvalidParameterError(
          'maxSnaps',
          input.maxSnaps,
          `must be 1–${cap} (snapshot.max.${input.intervalType.toLowerCase()})`,
        );
      if (!isRootAdmin(w.caller)) {
        const limit = await this.settings.get('max.account.snapshots', { accountId: volume.accountId }, w.db);
        if (limit >= 0 && input.maxSnaps > limit)
          throw new InvalidParameterError('maxSnaps', input.maxSnaps, `exceeds the account's snapshot limit ${limit}`);
      }
      const nextRun = nextSnapshotRun(input.intervalType, parsed, timezone, w.now);
      const existing = await w.db
        .selectFrom('snapshotPolicies')
        .selectAll()
        .where('volumeId', '=', volume.id)
        .where('intervalType', '=', input.intervalType)
        .where('removed', 'is', null)
        .executeTakeFirst();
      let id: number;
      if (existing) {
        id = Number(existing.id);
        await w.db
          .updateTable('snapshotPolicies')
          .set((eb) => ({
            schedule: input.schedule,
            timezone,
            maxSnaps: input.maxSnaps,
            active: 1,
            nextRun,
            updatedCount: eb('updatedCount', '+', 1),
          }))
          .where('id', '=', id)
          .execute();
      } else {
        const row = await w.db
          .insertInto('snapshotPolicies')
          .values({
            uuid: newUuid(),
            volumeId: volume.id,
            intervalType: input.intervalType,
            schedule: input.schedule,
            timezone,
            maxSnaps: input.maxSnaps,
            active: 1,
            accountId: volume.accountId,
            domainId: volume.domainId,
            nextRun,
            lastRun: null,
            created: w.now,
            removed: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = Number(row.id);
      }
      await w.event({
        type: existing ? 'SNAPSHOTPOLICY.UPDATE' : 'SNAPSHOTPOLICY.CREATE',
        description: `${input.intervalType} snapshot policy ${input.schedule} (${timezone}, keep ${input.maxSnaps}) on volume ${volume.name}`,
        resourceType: 'Volume',
        resourceId: volume.id,
        resourceUuid: volume.uuid,
        accountId: volume.accountId,
        domainId: volume.domainId,
        parameters: { policyId: id, nextRun },
      });
      return decodePolicy(
        await w.db.selectFrom('snapshotPolicies').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
      );
    });
  }

  async listPolicies(volumeId: number): Promise<SnapshotPolicy[]> {
    const rows = await this.ctx.db
      .selectFrom('snapshotPolicies')
      .selectAll()
      .where('volumeId', '=', volumeId)
      .where('removed', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => decodePolicy(r));
  }

  /** Deletes a policy and its future schedule; its snapshots stay. */
  deletePolicy(policyId: number): Promise<void> {
    return this.ctx.write(async (w) => {
      const p = await w.db
        .selectFrom('snapshotPolicies')
        .selectAll()
        .where('id', '=', policyId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!p) throw new NotFoundError('SnapshotPolicy', 'policyId', policyId);
      await requireAccess(
        w.db,
        w.caller,
        { accountId: Number(p.accountId), domainId: Number(p.domainId) },
        'delete a snapshot policy',
      );
      await w.db
        .updateTable('snapshotPolicies')
        .set({ removed: w.now, active: 0 })
        .where('id', '=', policyId)
        .execute();
      await w.event({
        type: 'SNAPSHOTPOLICY.DELETE',
        description: `snapshot policy ${p.uuid} deleted`,
        resourceType: 'Volume',
        resourceId: Number(p.volumeId),
        accountId: Number(p.accountId),
        domainId: Number(p.domainId),
        parameters: { policyId },
      });
    });
  }

  /**
   * Runs every policy whose next run is due by the context's clock (call it on a timer, every
   * `snapshot.poll.interval`). Each due policy is claimed by compare-and-set on its schedule row
   * (so two processes never both run one interval), rescheduled, then: skipped when its volume has
   * been inactive since its last snapshot; otherwise snapshotted (a job), after which the policy's
   * snapshots beyond `maxSnaps` are deleted oldest first.
   */
  async runDueSnapshotPolicies(): Promise<PolicyRunReport> {
    const now = this.ctx.clock.now();
    const report: PolicyRunReport = { taken: [], skippedInactive: [], failed: [], deletedByRetention: [] };
    const due = await this.ctx.db
      .selectFrom('snapshotPolicies')
      .selectAll()
      .where('removed', 'is', null)
      .where('active', '=', 1)
      .where('nextRun', '<=', now)
      .orderBy('nextRun')
      .execute();
    for (const row of due) {
      const policy = decodePolicy(row);
      const next = nextSnapshotRun(
        policy.intervalType,
        parseSnapshotSchedule(policy.intervalType, policy.schedule),
        policy.timezone,
        now,
      );
      const claim = await this.ctx.db
        .updateTable('snapshotPolicies')
        .set({ nextRun: next, lastRun: now, updatedCount: Number(row.updatedCount) + 1 })
        .where('id', '=', policy.id)
        .where('updatedCount', '=', Number(row.updatedCount))
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) continue;
      try {
        const volume = await getVolume(this.ctx.db, policy.volumeId);
        const active = await this.isActive(this.ctx.db, volume);
        if (!active) {
          const last = await this.ctx.db
            .selectFrom('snapshots')
            .select(['volumeActive'])
            .where('volumeId', '=', volume.id)
            .where('removed', 'is', null)
            .where('state', 'not in', ['Error', 'Destroyed'])
            .orderBy('created', 'desc')
            .orderBy('id', 'desc')
            .executeTakeFirst();
          if (last && Number(last.volumeActive) === 0) {
            report.skippedInactive.push(policy.id);
            continue;
          }
        }
        const job = await this.jobs.submit(
          {
            cmd: 'createSnapshot',
            info: { volumeId: volume.id, policyId: policy.id },
            instance: { type: 'Volume', id: volume.id, uuid: volume.uuid },
            eventType: 'SNAPSHOT.CREATE',
            description: `${policy.intervalType} snapshot of volume ${volume.name}`,
          },
          (h) => this.take(volume.id, { type: policy.intervalType, policyId: policy.id, signal: h.signal }),
        );
        const snap = await job.result;
        report.taken.push(snap.id);
        const kept = await this.list({ policyId: policy.id, state: 'BackedUp' });
        for (const old of kept.slice(0, Math.max(0, kept.length - policy.maxSnaps))) {
          await this.deleteNow(old.id);
          report.deletedByRetention.push(old.id);
        }
      } catch (error) {
        if (error instanceof ConcurrentModificationError) continue;
        report.failed.push({ policyId: policy.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return report;
  }
}
