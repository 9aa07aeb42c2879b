import { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityConflictError } from '../allocation/placement-error.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import type { CloudContext, Writer } from '../context.js';
import { DriverError } from '../driver/driver-error.js';
import type { VolumeResult, VolumeSpec } from '../driver/storage-spec.js';
import type { DiskFormat, DiskSpec } from '../driver/vm-spec.js';
import {
  InsufficientCapacityError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
  ResourceInUseError,
  ResourceUnavailableError,
  UnsupportedError,
} from '../errors.js';
import type { StorageType } from '../model/enums.js';
import { type VolumeEvent, type VolumeState, volumeStateMachine } from '../model/state-machines/index.js';
import { capabilityFor } from '../resources/capabilities.js';
import { diskOfferingRepo } from '../resources/offerings.js';
import { requireAccess } from '../resources/permissions.js';
import { accountRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import { SettingsService } from '../settings/settings-service.js';
import { executeCached, insertRow } from '../store/compiled-queries.js';
import type { JobService, SubmittedJob } from './jobs.js';
import type { PrivateTemplateInput } from './private-template.js';
import {
  checkVolumeLimits,
  decodeVolume,
  defaultPoolChooser,
  diskFormatOf,
  GiB,
  getHostRef,
  getPoolRow,
  getVm,
  getVolume,
  type HostInfo,
  hostReachesPool,
  hostsReaching,
  newUuid,
  poolRef,
  type StoragePoolChooser,
  type VmRow,
  type VolumeRecord,
  vmVolumes,
} from './storage-common.js';
import { createTemplateFromVolume } from './template-from-volume.js';
import type { TemplateStorageService } from './templates-storage.js';

/** Input of {@link VolumeService.create}. */
export interface CreateVolumeInput {
  name: string;
  zoneId: number;
  diskOfferingId: number;
  /** GiB; required (and only allowed) for a customized disk offering. */
  size?: number;
  /** Owner; default the caller's account. */
  accountId?: number;
}

/** Owner and place of a VM the orchestrator is deploying. */
export interface VmVolumeOwner {
  id: number;
  accountId: number;
  domainId: number;
  zoneId: number;
}

/** Options of {@link VolumeService}. */
export interface VolumeServiceOptions {
  /** Picks pools for deferred volumes; default {@link defaultPoolChooser} without an allocator. */
  chooser?: StoragePoolChooser;
}

const DEVICE_CDROM = 3;
const LIVE_STATES: VolumeState[] = [
  'Allocated',
  'Creating',
  'Ready',
  'Resizing',
  'Snapshotting',
  'RevertSnapshotting',
  'Migrating',
  'Attaching',
  'Copying',
];

/** Options of {@link VolumeService.createOnPool}. */
export interface CreateOptions {
  signal?: AbortSignal;
  onProgress?: (percent: number, message?: string) => void;
  afterCreate?: (result: VolumeResult, volume: VolumeRecord) => Promise<void>;
  attach?: { vmId: number; deviceId: number };
}

/** A checked creation of an Allocated volume on a pool ({@link VolumeService.planCreate}). */
export interface VolumeCreation {
  volume: VolumeRecord;
  host: HostInfo;
  pool: Awaited<ReturnType<typeof getPoolRow>>;
  target: { hostId: number; poolId: number };
  /** The template copy on the pool a ROOT volume is cloned from. */
  template: { uuid: string; path: string; format: string } | undefined;
  format: DiskFormat;
  /** The columns booking sets. */
  set: Record<string, unknown>;
}

/**
 * Volumes (spec/storage.md §4): create writes a record only (Allocated, no pool); the volume is
 * created physically at first attach on a pool the VM's host reaches; attach/detach with device ids
 * from 1 (3 is the CD-ROM) up to the hypervisor's `maxDataVolumesLimit`, hot-plug on a running VM
 * and a definition edit on a stopped one; grow-only resize; migration between pools; delete →
 * Destroy (recoverable) → expunge by the storage GC. Every driver call runs outside a transaction
 * and a failure puts records and pool allocations back exactly as they were.
 */
export class VolumeService {
  private readonly settings: SettingsService;
  private readonly chooser: StoragePoolChooser;

  constructor(
    private readonly ctx: CloudContext,
    private readonly jobs: JobService,
    private readonly templates: TemplateStorageService,
    private readonly capacity: CapacityService,
    options: VolumeServiceOptions = {},
  ) {
    this.settings = new SettingsService(ctx);
    this.chooser = options.chooser ?? defaultPoolChooser(undefined, () => new ExcludeList());
  }

  get(id: number): Promise<VolumeRecord> {
    return getVolume(this.ctx.db, id, 'id');
  }

  /**
   * A private template from a Ready volume whose VM is stopped (CloudStack `createTemplate` with a volume), written
   * to the zone's image store by the driver; see `createTemplateFromVolume`.
   */
  createTemplate(volumeId: number, input: PrivateTemplateInput): Promise<SubmittedJob<{ templateId: number }>> {
    return createTemplateFromVolume(this.ctx, this.jobs, volumeId, input);
  }

  async list(
    filter: { accountId?: number; instanceId?: number; poolId?: number; state?: VolumeState } = {},
  ): Promise<VolumeRecord[]> {
    let q = this.ctx.db.selectFrom('volumes').selectAll().where('removed', 'is', null);
    if (filter.accountId !== undefined) q = q.where('accountId', '=', filter.accountId);
    if (filter.instanceId !== undefined) q = q.where('instanceId', '=', filter.instanceId);
    if (filter.poolId !== undefined) q = q.where('poolId', '=', filter.poolId);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    const rows = await q.orderBy('id').execute();
    return rows.map((r) => decodeVolume(r));
  }

  /** A VM's live volumes, by device id. */
  ofVm(vmId: number): Promise<VolumeRecord[]> {
    return vmVolumes(this.ctx.db, vmId);
  }

  // ── Records ──────────────────────────────────────────────────────────────────────────────────────────

  /** Creates a DATADISK record (Allocated, no pool): nothing touches storage until first attach. */
  create(input: CreateVolumeInput): Promise<VolumeRecord> {
    return this.ctx.write(async (w) => {
      const name = typeof input.name === 'string' && input.name.trim() !== '' ? input.name.trim() : undefined;
      if (!name) throw new InvalidParameterError('name', input.name, 'a volume name is required');
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      const offering = await diskOfferingRepo.get(w.db, input.diskOfferingId, 'diskOfferingId');
      if (offering.state !== 'Active')
        throw new InvalidParameterError('diskOfferingId', input.diskOfferingId, 'the disk offering is inactive');
      const bytes = await this.sizeFor(w, offering, input.size);
      const owner = await accountRepo.get(w.db, input.accountId ?? w.caller.accountId, 'accountId');
      await requireAccess(w.db, w.caller, { accountId: owner.id, domainId: owner.domainId }, 'create a volume');
      return this.insertVolume(w, {
        name,
        type: 'DATADISK',
        zoneId: zone.id,
        accountId: owner.id,
        domainId: owner.domainId,
        sizeBytes: bytes,
        diskOfferingId: offering.id,
        templateId: null,
        instanceId: null,
        deviceId: null,
      });
    });
  }

  /** Deploy step 4 (record): the VM's ROOT volume, Allocated, device 0, sized from the template (or the disk offering for ISO boot). */
  allocateRootVolume(
    w: Writer,
    vm: VmVolumeOwner,
    input: { templateId?: number | null; sizeBytes: number; diskOfferingId?: number | null; name?: string },
  ): Promise<VolumeRecord> {
    return this.insertVolume(w, {
      name: input.name ?? `ROOT-${vm.id}`,
      type: 'ROOT',
      zoneId: vm.zoneId,
      accountId: vm.accountId,
      domainId: vm.domainId,
      sizeBytes: input.sizeBytes,
      diskOfferingId: input.diskOfferingId ?? null,
      templateId: input.templateId ?? null,
      instanceId: vm.id,
      deviceId: 0,
    });
  }

  /** Deploy step 4 (record): a DATADISK chosen at deploy, Allocated, attached to the VM at the next free device. */
  async allocateDataVolume(
    w: Writer,
    vm: VmVolumeOwner,
    input: { diskOfferingId: number; size?: number; name?: string },
  ): Promise<VolumeRecord> {
    const offering = await diskOfferingRepo.get(w.db, input.diskOfferingId, 'diskOfferingId');
    const bytes = await this.sizeFor(w, offering, input.size);
    const used = await this.usedDevices(w, vm.id);
    return this.insertVolume(w, {
      name: input.name ?? `DATA-${vm.id}`,
      type: 'DATADISK',
      zoneId: vm.zoneId,
      accountId: vm.accountId,
      domainId: vm.domainId,
      sizeBytes: bytes,
      diskOfferingId: offering.id,
      templateId: null,
      instanceId: vm.id,
      deviceId: nextDevice(used, Number.POSITIVE_INFINITY),
    });
  }

  private async sizeFor(
    w: Writer,
    offering: { customized: boolean; diskSize: number | null; id: number },
    sizeGiB: number | undefined,
  ): Promise<number> {
    let bytes: number;
    if (offering.customized) {
      if (sizeGiB === undefined || !Number.isSafeInteger(sizeGiB) || sizeGiB < 1)
        throw new InvalidParameterError('size', sizeGiB, 'a customized disk offering needs a size in GiB (≥ 1)');
      bytes = sizeGiB * GiB;
    } else {
      if (sizeGiB !== undefined) throw new InvalidParameterError('size', sizeGiB, 'the disk offering has a fixed size');
      bytes = offering.diskSize ?? 0;
    }
    const maxGiB = await this.settings.get('storage.max.volume.size', {}, w.db);
    if (bytes > maxGiB * GiB)
      throw new InvalidParameterError('size', bytes / GiB, `exceeds storage.max.volume.size (${maxGiB} GiB)`);
    return bytes;
  }

  private async insertVolume(
    w: Writer,
    v: {
      name: string;
      type: 'ROOT' | 'DATADISK';
      zoneId: number;
      accountId: number;
      domainId: number;
      sizeBytes: number;
      diskOfferingId: number | null;
      templateId: number | null;
      instanceId: number | null;
      deviceId: number | null;
    },
  ): Promise<VolumeRecord> {
    await checkVolumeLimits(w, this.settings, v.accountId, { volumes: 1, bytes: v.sizeBytes });
    const values = {
      uuid: newUuid(),
      name: v.name,
      volumeType: v.type,
      size: v.sizeBytes,
      zoneId: v.zoneId,
      podId: null,
      poolId: null,
      instanceId: v.instanceId,
      deviceId: v.deviceId,
      diskOfferingId: v.diskOfferingId,
      templateId: v.templateId,
      accountId: v.accountId,
      domainId: v.domainId,
      format: null,
      path: null,
      state: 'Allocated',
      hypervisorType: null,
      destroyedAt: null,
      lastPoolId: null,
      updatedCount: 0,
      created: w.now,
      removed: null,
    };
    const { id } = await insertRow<'volumes', { id: number }>(w.db, 'volumes', values, ['id']);
    // The row as this transaction wrote it (every column but the id given; no RETURNING *).
    const volume = decodeVolume({ id: Number(id), ...values });
    await volumeUsage(w, 'VOLUME.CREATE', volume);
    await w.event({
      type: 'VOLUME.CREATE',
      description: `volume ${v.name} (${v.type}, ${v.sizeBytes} bytes) allocated`,
      resourceType: 'Volume',
      resourceId: volume.id,
      resourceUuid: volume.uuid,
      accountId: v.accountId,
      domainId: v.domainId,
      parameters: { size: v.sizeBytes, diskOfferingId: v.diskOfferingId, templateId: v.templateId, zoneId: v.zoneId },
    });
    return volume;
  }

  private async usedDevices(w: Writer | CloudContext, vmId: number): Promise<number[]> {
    const rows = await w.db
      .selectFrom('volumes')
      .select('deviceId')
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .execute();
    return rows.map((r) => Number(r.deviceId)).filter((d) => Number.isFinite(d));
  }

  private async transition(
    w: Writer,
    volume: VolumeRecord,
    event: VolumeEvent,
    set?: Record<string, unknown>,
    expect = true,
  ) {
    return w.transition({
      table: 'volumes',
      id: volume.id,
      machine: volumeStateMachine,
      event,
      ...(expect ? { expect: { state: volume.state, version: volume.updatedCount } } : {}),
      ...(set ? { set } : {}),
      resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
      eventPrefix: 'VOLUME',
    });
  }

  // ── Physical creation ────────────────────────────────────────────────────────────────────────────────

  /**
   * Creates an Allocated volume on `poolId` through `hostId` (deploy step 4 / start step d, and first
   * attach). A ROOT volume with a template is cloned from the template's copy on the pool, staged
   * first if needed. Allocated → Creating (pool allocation booked) → Ready; on any failure the
   * volume is Allocated again with no pool and the allocation released. `afterCreate` runs while
   * the volume is still Creating (e.g. the attach); if it throws, the new volume is deleted again.
   * The three phases ({@link planCreate}, {@link bookCreate}, {@link finishCreate}) are public so a
   * VM start can book its volumes in the transaction that books its host.
   */
  async createOnPool(
    volumeId: number,
    target: { hostId: number; poolId: number },
    options: CreateOptions = {},
  ): Promise<VolumeRecord> {
    const plan = await this.planCreate(volumeId, target, options);
    const mark = this.ctx.tracer.mark();
    const creating = await this.ctx.write((w) => this.bookCreate(w, plan));
    this.ctx.tracer.step('volume.book', mark);
    return this.finishCreate(plan, creating, options);
  }

  /**
   * Creation's first phase, outside any transaction: the volume must be Allocated and the pool Up
   * and reachable from the host; a ROOT volume's template is staged on the pool (a cached copy,
   * reused by later volumes).
   */
  async planCreate(
    volumeOrId: number | VolumeRecord,
    target: { hostId: number; poolId: number },
    options: {
      signal?: AbortSignal;
      attach?: { vmId: number; deviceId: number };
      /** The host `target.hostId` names, when the caller has just read it. */
      host?: HostInfo;
      /** The volume's template, when the caller holds its record. */
      template?: { id: number; uuid: string; format: string; isIso: boolean } | null;
    } = {},
  ): Promise<VolumeCreation> {
    const volume = typeof volumeOrId === 'number' ? await getVolume(this.ctx.db, volumeOrId) : volumeOrId;
    const volumeId = volume.id;
    if (volume.state !== 'Allocated')
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}, not Allocated`, {
        field: 'volumeId',
        value: volumeId,
      });
    const host = options.host ?? (await getHostRef(this.ctx.db, target.hostId));
    const pool = await getPoolRow(this.ctx.db, target.poolId);
    if (
      !hostReachesPool(
        { id: target.hostId, clusterId: host.clusterId, zoneId: host.zoneId, hypervisorType: host.hypervisorType },
        {
          scope: pool.scope,
          clusterId: pool.clusterId === null ? null : Number(pool.clusterId),
          zoneId: Number(pool.zoneId),
          hostId: pool.hostId === null ? null : Number(pool.hostId),
          hypervisorType: pool.hypervisorType,
        },
      )
    )
      throw new InvalidParameterError('poolId', target.poolId, `host ${target.hostId} cannot reach pool ${pool.name}`);
    if (pool.status !== 'Up')
      throw new InvalidStateError(`pool ${pool.name} is ${pool.status}`, { field: 'poolId', value: target.poolId });
    const mark = this.ctx.tracer.mark();
    let template: VolumeCreation['template'];
    if (volume.templateId !== null && volume.volumeType === 'ROOT') {
      // Removed or not, the template the volume was allocated from.
      const templateId = volume.templateId;
      const t = options.template?.id === templateId ? options.template : await this.templateOf(templateId);
      if (!t.isIso) {
        const staged = await this.templates.stageOnPool(volume.templateId, target.poolId, {
          hostId: target.hostId,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        template = { uuid: t.uuid, path: staged.installPath ?? t.uuid, format: t.format };
      }
    }
    this.ctx.tracer.step('volume.stage', mark);
    const format = diskFormatOf(template ? template.format : null, host.hypervisorType);
    const set = {
      poolId: target.poolId,
      podId: pool.podId === null ? null : Number(pool.podId),
      hypervisorType: host.hypervisorType,
      format,
      ...(options.attach ? { instanceId: options.attach.vmId, deviceId: options.attach.deviceId } : {}),
    };
    return { volume, host, pool, target, template, format, set };
  }

  /** What creation needs of a volume's template, removed or not. */
  private async templateOf(templateId: number): Promise<{ uuid: string; format: string; isIso: boolean }> {
    const { rows } = await executeCached<{ uuid: string; format: string; isIso: number }>(
      this.ctx.db,
      'volume.template',
      [templateId],
      (q) => q.selectFrom('templates').select(['uuid', 'format', 'isIso']).where('id', '=', templateId),
    );
    const t = rows[0];
    if (t === undefined) throw new NotFoundError('Template', 'templateId', templateId);
    return { uuid: t.uuid, format: t.format, isIso: t.isIso === 1 };
  }

  /** Creation's second phase, in the caller's transaction: `Allocated → Creating`, the pool's space booked. */
  async bookCreate(w: Writer, plan: VolumeCreation): Promise<VolumeRecord> {
    const { volume, target, set } = plan;
    const moved = await this.transition(w, volume, 'CreateRequested', set);
    await this.capacity.allocateStorage(w, {
      volumeId: volume.id,
      poolId: target.poolId,
      accountId: volume.accountId,
      bytes: volume.size,
    });
    // The row as this transaction left it (no re-read).
    return { ...volume, ...set, state: moved.to, updatedCount: moved.version };
  }

  /** Gives back a booked volume that will not be created: `Creating → Allocated`, its space released. */
  cancelCreate(plan: VolumeCreation): Promise<void> {
    const { volume } = plan;
    return this.ctx.write(async (w) => {
      const current = await getVolume(w.db, volume.id);
      await this.capacity.releaseStorage(w, volume.id);
      await this.transition(w, current, 'OperationFailed', {
        poolId: volume.poolId,
        podId: volume.podId,
        hypervisorType: volume.hypervisorType,
        format: volume.format,
        instanceId: volume.instanceId,
        deviceId: volume.deviceId,
      });
    });
  }

  /** Creation's last phase: the driver creates the booked volume, then `Creating → Ready` (or back to Allocated). */
  async finishCreate(plan: VolumeCreation, creating: VolumeRecord, options: CreateOptions = {}): Promise<VolumeRecord> {
    const { volume, host, pool, target, template, format } = plan;
    const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
    const spec: VolumeSpec = {
      uuid: volume.uuid,
      name: volume.name,
      type: volume.volumeType === 'ROOT' ? 'ROOT' : 'DATADISK',
      sizeBytes: volume.size,
      format,
      pool: poolRef(pool),
    };
    let result: VolumeResult;
    const mark = this.ctx.tracer.mark();
    try {
      result = await driver.createVolume(host.ref, spec, {
        ...(template ? { fromTemplate: { templateUuid: template.uuid, path: template.path } } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    } catch (error) {
      await this.cancelCreate(plan);
      throw error;
    }
    this.ctx.tracer.step('volume.driver', mark);
    if (options.afterCreate) {
      try {
        await options.afterCreate(result, creating);
      } catch (error) {
        await driver
          .deleteVolume(host.ref, { uuid: volume.uuid, pool: poolRef(pool), path: result.path })
          .catch((e: unknown) =>
            this.ctx.logger.warn({ err: e, volume: volume.uuid }, 'could not delete a volume after a failed attach'),
          );
        await this.cancelCreate(plan);
        throw error;
      }
    }
    return this.ctx.write(async (w): Promise<VolumeRecord> => {
      const set = { path: result.path, size: Math.max(creating.size, result.sizeBytes), lastPoolId: target.poolId };
      const moved = await this.transition(w, creating, 'OperationSucceeded', set);
      if (result.sizeBytes > creating.size) {
        await this.capacity.releaseStorage(w, volume.id);
        await this.capacity.allocateStorage(w, {
          volumeId: volume.id,
          poolId: target.poolId,
          accountId: creating.accountId,
          bytes: result.sizeBytes,
          checkThresholds: false,
        });
      }
      return { ...creating, ...set, state: moved.to, updatedCount: moved.version };
    });
  }

  /**
   * Places and creates an Allocated volume for a VM's host: asks the pool chooser for candidates and
   * books the first that still has room (the booking re-checks space in its transaction).
   */
  async createForHost(volumeId: number, hostId: number, options: CreateOptions = {}): Promise<VolumeRecord> {
    const volume = await getVolume(this.ctx.db, volumeId);
    const offering =
      volume.diskOfferingId === null ? undefined : await diskOfferingRepo.find(this.ctx.db, volume.diskOfferingId);
    const candidates = await this.chooser.choose(this.ctx.db, {
      zoneId: volume.zoneId,
      hostId,
      sizeBytes: volume.size,
      tags: offering?.tags ?? [],
      storageType: (offering?.storageType ?? 'shared') as StorageType,
      accountId: volume.accountId,
      domainId: volume.domainId,
    });
    for (const poolId of candidates) {
      try {
        return await this.createOnPool(volumeId, { hostId, poolId }, options);
      } catch (error) {
        if (error instanceof CapacityConflictError) continue;
        throw error;
      }
    }
    throw new InsufficientCapacityError(
      `no primary storage reachable from host ${hostId} can hold volume ${volume.name} (${volume.size} bytes)`,
      { field: 'volumeId', value: volumeId },
    );
  }

  // ── Attach / detach ──────────────────────────────────────────────────────────────────────────────────

  private async checkAttach(volumeId: number, vmId: number, deviceId?: number) {
    const volume = await getVolume(this.ctx.db, volumeId);
    const vm = await getVm(this.ctx.db, vmId);
    await requireAccess(this.ctx.db, this.ctx.caller, volume, 'attach a volume');
    await requireAccess(this.ctx.db, this.ctx.caller, vm, 'attach a volume to a VM');
    if (volume.volumeType !== 'DATADISK')
      throw new InvalidParameterError('volumeId', volumeId, 'only DATADISK volumes can be attached');
    if (volume.state !== 'Allocated' && volume.state !== 'Ready')
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}; Allocated or Ready required`, {
        field: 'volumeId',
        value: volumeId,
      });
    if (volume.instanceId !== null)
      throw new ResourceInUseError(`volume ${volume.name} is attached to VM ${volume.instanceId}`, {
        field: 'volumeId',
        value: volumeId,
      });
    if (vm.state !== 'Running' && vm.state !== 'Stopped')
      throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; Running or Stopped required`, {
        field: 'vmId',
        value: vmId,
      });
    if (volume.zoneId !== vm.zoneId)
      throw new InvalidParameterError(
        'vmId',
        vmId,
        `the VM is in zone ${vm.zoneId}, the volume in zone ${volume.zoneId}`,
      );
    if (volume.hypervisorType !== null && vm.hypervisorType !== null && volume.hypervisorType !== vm.hypervisorType)
      throw new InvalidParameterError(
        'vmId',
        vmId,
        `a ${volume.hypervisorType} volume cannot be attached to a ${vm.hypervisorType} VM`,
      );
    const hostId = vm.state === 'Running' ? vm.hostId : vm.lastHostId;
    const host = hostId === null ? undefined : await getHostRef(this.ctx.db, hostId);
    const hypervisor = host?.hypervisorType ?? vm.hypervisorType;
    if (hypervisor !== null && vm.state === 'Running') {
      const caps = this.ctx.drivers.hypervisor(hypervisor).capabilities();
      if (!caps.hotPlugDisk)
        throw new UnsupportedError(`${hypervisor} cannot hot-plug a disk; stop VM ${vm.instanceName} first`, {
          field: 'vmId',
          value: vmId,
        });
    }
    const limit =
      hypervisor === null
        ? Number.POSITIVE_INFINITY
        : (await capabilityFor(this.ctx.db, hypervisor, host?.hypervisorVersion ?? null)).maxDataVolumesLimit;
    const attached = await this.ctx.db
      .selectFrom('volumes')
      .select(['deviceId', 'volumeType'])
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .execute();
    const dataDisks = attached.filter((r) => r.volumeType === 'DATADISK').length;
    if (dataDisks >= limit)
      throw new InvalidStateError(
        `VM ${vm.instanceName} already has ${dataDisks} data disks (maxDataVolumesLimit ${limit})`,
        { field: 'vmId', value: vmId },
      );
    const used = attached.map((r) => Number(r.deviceId)).filter((d) => Number.isFinite(d));
    let device: number;
    if (deviceId !== undefined) {
      if (!Number.isSafeInteger(deviceId) || deviceId < 1)
        throw new InvalidParameterError('deviceId', deviceId, 'device ids of data disks start at 1');
      if (deviceId === DEVICE_CDROM)
        throw new InvalidParameterError('deviceId', deviceId, 'device 3 is reserved for the CD-ROM');
      if (used.includes(deviceId))
        throw new InvalidParameterError(
          'deviceId',
          deviceId,
          `VM ${vm.instanceName} already has a disk at device ${deviceId}`,
        );
      device = deviceId;
    } else device = nextDevice(used, Number.POSITIVE_INFINITY);
    if (volume.state === 'Ready' && host && volume.poolId !== null && hostId !== null) {
      const pool = await getPoolRow(this.ctx.db, volume.poolId);
      const h = await this.ctx.db
        .selectFrom('hosts')
        .select(['zoneId'])
        .where('id', '=', hostId)
        .executeTakeFirstOrThrow();
      if (
        !hostReachesPool(
          { id: hostId, clusterId: host.clusterId, zoneId: Number(h.zoneId), hypervisorType: host.hypervisorType },
          {
            scope: pool.scope,
            clusterId: pool.clusterId === null ? null : Number(pool.clusterId),
            zoneId: Number(pool.zoneId),
            hostId: pool.hostId === null ? null : Number(pool.hostId),
            hypervisorType: pool.hypervisorType,
          },
        )
      )
        throw new InvalidParameterError(
          'volumeId',
          volumeId,
          `pool ${pool.name} is not reachable from the VM's host; migrate the volume into its cluster first`,
        );
    }
    return { volume, vm, hostId, host, device };
  }

  /** Attaches a DATADISK to a VM as a job (VOLUME.ATTACH); creates an Allocated volume first on a pool the VM's host reaches. */
  async attach(
    volumeId: number,
    vmId: number,
    options: { deviceId?: number } = {},
  ): Promise<SubmittedJob<VolumeRecord>> {
    const checked = await this.checkAttach(volumeId, vmId, options.deviceId);
    return this.jobs.submit(
      {
        cmd: 'attachVolume',
        info: { volumeId, vmId, deviceId: checked.device },
        instance: { type: 'Volume', id: volumeId, uuid: checked.volume.uuid },
        eventType: 'VOLUME.ATTACH',
        description: `attach volume ${checked.volume.name} to VM ${checked.vm.instanceName}`,
      },
      async (job) => {
        const { volume, vm, hostId, host, device } = await this.checkAttach(volumeId, vmId, checked.device);
        const attachEvent = (w: Writer) =>
          w.event({
            type: 'VOLUME.ATTACH',
            description: `volume ${volume.name} attached to VM ${vm.instanceName} at device ${device}`,
            resourceType: 'Volume',
            resourceId: volume.id,
            resourceUuid: volume.uuid,
            accountId: volume.accountId,
            domainId: volume.domainId,
            parameters: { vmId, deviceId: device },
          });
        const diskOf = (
          v: { uuid: string; path: string | null; format: string | null; size: number },
          pool: { uuid: string; poolType: string },
        ): DiskSpec => ({
          volumeUuid: v.uuid,
          type: 'DATADISK',
          deviceId: device,
          poolRef: poolRef(pool),
          path: v.path ?? v.uuid,
          format: diskFormatOf(v.format, host?.hypervisorType),
          sizeBytes: v.size,
          readOnly: false,
        });
        const plug = async (disk: DiskSpec) => {
          if (!host) return;
          try {
            await this.ctx.drivers
              .hypervisor(host.hypervisorType)
              .attachVolume(host.ref, vm.instanceName, disk, { signal: job.signal });
          } catch (error) {
            // A stopped VM whose definition is gone gets the disk at its next start.
            if (vm.state === 'Stopped' && DriverError.is(error, 'NotFound')) return;
            throw error;
          }
        };
        if (volume.state === 'Allocated' && hostId !== null) {
          await this.createForHost(volumeId, hostId, {
            signal: job.signal,
            attach: { vmId, deviceId: device },
            afterCreate: async (result, creating) => {
              const pool = await getPoolRow(this.ctx.db, Number(creating.poolId));
              await plug(
                diskOf({ uuid: volume.uuid, path: result.path, format: result.format, size: result.sizeBytes }, pool),
              );
            },
          });
          await this.ctx.write(attachEvent);
          return getVolume(this.ctx.db, volumeId);
        }
        if (volume.state === 'Allocated' || hostId === null) {
          // The VM never started: record the attachment; the disk is created when the VM starts.
          return this.ctx.write(async (w) => {
            await this.transition(w, volume, 'OperationSucceeded', { instanceId: vmId, deviceId: device });
            await attachEvent(w);
            return getVolume(w.db, volumeId);
          });
        }
        await this.ctx.write((w) =>
          this.transition(w, volume, 'AttachRequested', { instanceId: vmId, deviceId: device }),
        );
        try {
          const pool = await getPoolRow(this.ctx.db, Number(volume.poolId));
          await plug(diskOf(volume, pool));
        } catch (error) {
          await this.ctx.write(async (w) =>
            this.transition(w, await getVolume(w.db, volumeId), 'OperationFailed', {
              instanceId: null,
              deviceId: null,
            }),
          );
          throw error;
        }
        return this.ctx.write(async (w) => {
          await this.transition(w, await getVolume(w.db, volumeId), 'OperationSucceeded');
          await attachEvent(w);
          return getVolume(w.db, volumeId);
        });
      },
    );
  }

  /** Detaches a DATADISK from its VM (Running or Stopped) as a job (VOLUME.DETACH); the volume keeps its pool and data. */
  async detach(volumeId: number): Promise<SubmittedJob<VolumeRecord>> {
    const volume = await getVolume(this.ctx.db, volumeId);
    await requireAccess(this.ctx.db, this.ctx.caller, volume, 'detach a volume');
    if (volume.volumeType !== 'DATADISK')
      throw new InvalidParameterError('volumeId', volumeId, 'a ROOT volume stays with its VM');
    if (volume.instanceId === null)
      throw new InvalidStateError(`volume ${volume.name} is not attached`, { field: 'volumeId', value: volumeId });
    if (volume.state !== 'Ready' && volume.state !== 'Allocated')
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}`, { field: 'volumeId', value: volumeId });
    const vm = await getVm(this.ctx.db, volume.instanceId);
    if (vm.state !== 'Running' && vm.state !== 'Stopped')
      throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; Running or Stopped required`, {
        field: 'volumeId',
        value: volumeId,
      });
    return this.jobs.submit(
      {
        cmd: 'detachVolume',
        info: { volumeId },
        instance: { type: 'Volume', id: volumeId, uuid: volume.uuid },
        eventType: 'VOLUME.DETACH',
        description: `detach volume ${volume.name} from VM ${vm.instanceName}`,
      },
      async (job) => {
        const current = await getVolume(this.ctx.db, volumeId);
        const hostId = vm.state === 'Running' ? vm.hostId : vm.lastHostId;
        if (current.state === 'Ready' && hostId !== null && current.poolId !== null) {
          const host = await getHostRef(this.ctx.db, hostId);
          const pool = await getPoolRow(this.ctx.db, current.poolId);
          const disk: DiskSpec = {
            volumeUuid: current.uuid,
            type: 'DATADISK',
            deviceId: Number(current.deviceId),
            poolRef: poolRef(pool),
            path: current.path ?? current.uuid,
            format: diskFormatOf(current.format, host.hypervisorType),
            sizeBytes: current.size,
            readOnly: false,
          };
          try {
            await this.ctx.drivers
              .hypervisor(host.hypervisorType)
              .detachVolume(host.ref, vm.instanceName, disk, { signal: job.signal });
          } catch (error) {
            if (!(vm.state === 'Stopped' && DriverError.is(error, 'NotFound'))) throw error;
          }
        }
        return this.ctx.write(async (w) => {
          await this.detachRecord(w, current, vm);
          return getVolume(w.db, volumeId);
        });
      },
    );
  }

  private async detachRecord(w: Writer, volume: VolumeRecord, vm: Pick<VmRow, 'instanceName' | 'id'>): Promise<void> {
    await this.transition(w, volume, 'OperationSucceeded', { instanceId: null, deviceId: null });
    await w.event({
      type: 'VOLUME.DETACH',
      description: `volume ${volume.name} detached from VM ${vm.instanceName}`,
      resourceType: 'Volume',
      resourceId: volume.id,
      resourceUuid: volume.uuid,
      accountId: volume.accountId,
      domainId: volume.domainId,
      parameters: { vmId: vm.id },
    });
  }

  // ── Orchestrator hooks (inside the VM's own flow) ──────────────────────────────────────────────────

  /**
   * VM destroy (operations.md §2.6), in the VM's transaction: ROOT Ready → Destroy (its pool
   * allocation released; physically removed at expunge); DATADISK volumes detached and kept.
   * The hypervisor forgets the disks with the VM definition (`destroyVm`).
   */
  async destroyVmVolumes(w: Writer, vmId: number): Promise<void> {
    const vm = await getVm(w.db, vmId);
    const rows = await w.db
      .selectFrom('volumes')
      .selectAll()
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .execute();
    for (const row of rows.map((r) => decodeVolume(r))) {
      if (row.volumeType === 'ROOT') {
        if (row.state === 'Destroy') continue;
        await this.transition(w, row, 'DestroyRequested', { destroyedAt: w.now });
        await this.capacity.releaseStorage(w, row.id);
        await volumeUsage(w, 'VOLUME.DELETE', row);
        await w.event({
          type: 'VOLUME.DELETE',
          description: `root volume ${row.name} of VM ${vm.instanceName} destroyed`,
          resourceType: 'Volume',
          resourceId: row.id,
          resourceUuid: row.uuid,
          accountId: row.accountId,
          domainId: row.domainId,
        });
      } else if (row.state === 'Ready' || row.state === 'Allocated') {
        await this.detachRecord(w, row, vm);
      }
    }
  }

  /** VM recover (operations.md §2.7), in the VM's transaction: ROOT Destroy → Ready, allocation re-booked. */
  async recoverVmVolumes(w: Writer, vmId: number): Promise<void> {
    const rows = await w.db
      .selectFrom('volumes')
      .selectAll()
      .where('instanceId', '=', vmId)
      .where('volumeType', '=', 'ROOT')
      .where('state', '=', 'Destroy')
      .where('removed', 'is', null)
      .execute();
    for (const row of rows.map((r) => decodeVolume(r))) await this.recoverRecord(w, row);
  }

  /** VM expunge (operations.md §2.8): physically deletes the VM's destroyed ROOT volume(s). */
  async expungeVmVolumes(vmId: number): Promise<void> {
    const rows = await this.ctx.db
      .selectFrom('volumes')
      .select('id')
      .where('instanceId', '=', vmId)
      .where('volumeType', '=', 'ROOT')
      .where('removed', 'is', null)
      .execute();
    for (const r of rows) {
      const v = await getVolume(this.ctx.db, Number(r.id));
      if (v.state === 'Allocated') await this.ctx.write((w) => this.removeAllocated(w, v));
      else if (v.state === 'Destroy') await this.expunge(v.id);
      else if (v.state === 'Ready') {
        await this.ctx.write((w) => this.destroyRecord(w, v));
        await this.expunge(v.id);
      }
    }
  }

  /**
   * Undoes a failed start's volume creation: the volume is deleted from its pool, its allocation
   * released, and it is `Allocated` again with no pool (Ready → Destroy → Allocated), so the next
   * attempt may place it elsewhere and the store is as it was before the attempt.
   */
  async uncreate(volumeId: number): Promise<void> {
    const volume = await getVolume(this.ctx.db, volumeId);
    if (volume.state !== 'Ready') return;
    if (volume.poolId !== null) {
      const pool = await getPoolRow(this.ctx.db, volume.poolId);
      const host = (await hostsReaching(this.ctx.db, volume.poolId))[0];
      if (host) {
        await this.ctx.drivers.hypervisor(host.hypervisorType).deleteVolume(host.ref, {
          uuid: volume.uuid,
          pool: poolRef(pool),
          ...(volume.path ? { path: volume.path } : {}),
        });
      }
    }
    await this.ctx.write(async (w) => {
      const current = await getVolume(w.db, volumeId);
      await this.transition(w, current, 'DestroyRequested');
      await this.capacity.releaseStorage(w, volumeId);
      await this.transition(w, await getVolume(w.db, volumeId), 'OperationRetryFromError', {
        poolId: null,
        podId: null,
        path: null,
        format: null,
        destroyedAt: null,
      });
    });
  }

  /**
   * A VM whose first start failed gives its volumes back: every volume created on storage is
   * expunged, and the never-created ones (root and data) are deleted records.
   */
  async releaseVmVolumes(vmId: number): Promise<void> {
    await this.expungeVmVolumes(vmId);
    const rows = await this.ctx.db
      .selectFrom('volumes')
      .select('id')
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .execute();
    for (const r of rows) {
      const v = await getVolume(this.ctx.db, Number(r.id));
      if (v.state === 'Allocated') await this.ctx.write((w) => this.removeAllocated(w, v));
      else if (v.state === 'Ready') {
        await this.ctx.write((w) => this.destroyRecord(w, v));
        await this.expunge(v.id);
      }
    }
  }

  /** How a created volume is handed to a driver at VM start. */
  async diskSpec(
    volume: VolumeRecord,
    hypervisorType: string,
    knownPool?: { id: number | string; uuid: string; poolType: string },
  ): Promise<DiskSpec> {
    if (volume.poolId === null)
      throw new InvalidStateError(`volume ${volume.name} has no pool yet`, { field: 'volumeId', value: volume.id });
    const pool =
      knownPool !== undefined && Number(knownPool.id) === volume.poolId
        ? knownPool
        : await getPoolRow(this.ctx.db, volume.poolId);
    return {
      volumeUuid: volume.uuid,
      type: volume.volumeType === 'ROOT' ? 'ROOT' : 'DATADISK',
      deviceId: volume.deviceId ?? 0,
      poolRef: poolRef(pool),
      path: volume.path ?? volume.uuid,
      format: diskFormatOf(volume.format, hypervisorType),
      sizeBytes: volume.size,
      readOnly: false,
    };
  }

  // ── Resize / migrate ─────────────────────────────────────────────────────────────────────────────────

  /** Grows a volume (Ready → Resizing → Ready) as a job; behind the driver's `volumeResize` capability. */
  async resize(volumeId: number, newSizeGiB: number): Promise<SubmittedJob<VolumeRecord>> {
    const volume = await getVolume(this.ctx.db, volumeId);
    await requireAccess(this.ctx.db, this.ctx.caller, volume, 'resize a volume');
    if (!Number.isSafeInteger(newSizeGiB) || newSizeGiB < 1)
      throw new InvalidParameterError('size', newSizeGiB, 'a size in GiB (≥ 1) is required');
    const bytes = newSizeGiB * GiB;
    if (bytes <= volume.size)
      throw new InvalidParameterError('size', newSizeGiB, `volumes only grow (now ${volume.size / GiB} GiB)`);
    const maxGiB = await this.settings.get('storage.max.volume.size', {}, this.ctx.db);
    if (newSizeGiB > maxGiB)
      throw new InvalidParameterError('size', newSizeGiB, `exceeds storage.max.volume.size (${maxGiB} GiB)`);
    if (volume.state !== 'Allocated' && volume.state !== 'Ready')
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}`, { field: 'volumeId', value: volumeId });
    if (
      volume.state === 'Ready' &&
      !this.ctx.drivers.hypervisor(volume.hypervisorType ?? '').capabilities().volumeResize
    )
      throw new UnsupportedError(`${volume.hypervisorType} volumes cannot be resized`, {
        field: 'volumeId',
        value: volumeId,
      });
    return this.jobs.submit(
      {
        cmd: 'resizeVolume',
        info: { volumeId, size: newSizeGiB },
        instance: { type: 'Volume', id: volumeId, uuid: volume.uuid },
        eventType: 'VOLUME.RESIZE',
        description: `resize volume ${volume.name} to ${newSizeGiB} GiB`,
      },
      async (job) => {
        const current = await getVolume(this.ctx.db, volumeId);
        const resizedEvent = (w: Writer) =>
          w.event({
            type: 'VOLUME.RESIZE',
            description: `volume ${current.name} resized to ${bytes} bytes`,
            resourceType: 'Volume',
            resourceId: current.id,
            resourceUuid: current.uuid,
            accountId: current.accountId,
            domainId: current.domainId,
            parameters: { from: current.size, to: bytes },
          });
        if (current.state === 'Allocated') {
          return this.ctx.write(async (w) => {
            await checkVolumeLimits(w, this.settings, current.accountId, { volumes: 0, bytes: bytes - current.size });
            await this.transition(w, current, 'OperationSucceeded', { size: bytes });
            await resizedEvent(w);
            return getVolume(w.db, volumeId);
          });
        }
        const poolId = Number(current.poolId);
        await this.ctx.write(async (w) => {
          await checkVolumeLimits(w, this.settings, current.accountId, { volumes: 0, bytes: bytes - current.size });
          await this.transition(w, current, 'ResizeRequested');
          await this.capacity.releaseStorage(w, volumeId);
          await this.capacity.allocateStorage(w, { volumeId, poolId, accountId: current.accountId, bytes });
        });
        try {
          const host = (await hostsReaching(this.ctx.db, poolId))[0];
          if (!host)
            throw new ResourceUnavailableError(`no Up host reaches pool ${poolId}`, {
              field: 'volumeId',
              value: volumeId,
            });
          const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
          if (!driver.resizeVolume) throw new UnsupportedError(`${host.hypervisorType} cannot resize volumes`);
          const pool = await getPoolRow(this.ctx.db, poolId);
          const vm = current.instanceId === null ? undefined : await getVm(this.ctx.db, current.instanceId);
          await driver.resizeVolume(
            host.ref,
            { uuid: current.uuid, pool: poolRef(pool), ...(current.path ? { path: current.path } : {}) },
            bytes,
            { signal: job.signal, ...(vm?.state === 'Running' ? { vmName: vm.instanceName } : {}) },
          );
        } catch (error) {
          await this.ctx.write(async (w) => {
            await this.capacity.releaseStorage(w, volumeId);
            await this.capacity.allocateStorage(w, {
              volumeId,
              poolId,
              accountId: current.accountId,
              bytes: current.size,
              checkThresholds: false,
            });
            await this.transition(w, await getVolume(w.db, volumeId), 'OperationFailed');
          });
          throw error;
        }
        return this.ctx.write(async (w) => {
          await this.transition(w, await getVolume(w.db, volumeId), 'OperationSucceeded', { size: bytes });
          await resizedEvent(w);
          return getVolume(w.db, volumeId);
        });
      },
    );
  }

  /**
   * Moves a Ready volume to another pool of its zone as a job (Ready → Migrating → Ready,
   * storage.md §4.5): detached, or attached to a stopped VM. A host must reach both pools (same
   * cluster, or a zone-wide pool); the allocation moves with the volume.
   */
  async migrate(volumeId: number, poolId: number): Promise<SubmittedJob<VolumeRecord>> {
    const volume = await getVolume(this.ctx.db, volumeId);
    await requireAccess(this.ctx.db, this.ctx.caller, volume, 'migrate a volume');
    if (volume.state !== 'Ready' || volume.poolId === null)
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}; only Ready volumes migrate`, {
        field: 'volumeId',
        value: volumeId,
      });
    const migrating = volume.hypervisorType === null ? undefined : this.ctx.drivers.hypervisor(volume.hypervisorType);
    if (migrating !== undefined && (migrating.capabilities().volumeMigration !== true || !migrating.migrateVolume))
      throw new UnsupportedError(`${volume.hypervisorType} volumes cannot be migrated between pools`, {
        field: 'volumeId',
        value: volumeId,
      });
    if (volume.poolId === poolId)
      throw new InvalidParameterError('poolId', poolId, 'the volume is already on this pool');
    const target = await getPoolRow(this.ctx.db, poolId);
    if (Number(target.zoneId) !== volume.zoneId)
      throw new InvalidParameterError('poolId', poolId, 'the pool is in another zone');
    if (target.status !== 'Up')
      throw new InvalidStateError(`pool ${target.name} is ${target.status}`, { field: 'poolId', value: poolId });
    if (volume.instanceId !== null) {
      const vm = await getVm(this.ctx.db, volume.instanceId);
      if (vm.state !== 'Stopped')
        throw new InvalidStateError(
          `volume ${volume.name} belongs to ${vm.state} VM ${vm.instanceName}; stop it first`,
          { field: 'volumeId', value: volumeId },
        );
    }
    const source = volume.poolId;
    const both = await hostsReaching(this.ctx.db, source);
    const reachTarget = new Set((await hostsReaching(this.ctx.db, poolId)).map((h) => h.id));
    const host = both.find((h) => reachTarget.has(h.id));
    if (!host)
      throw new InvalidParameterError(
        'poolId',
        poolId,
        'no Up host reaches both pools (cross-cluster copies through secondary storage are not supported)',
      );
    return this.jobs.submit(
      {
        cmd: 'migrateVolume',
        info: { volumeId, poolId },
        instance: { type: 'Volume', id: volumeId, uuid: volume.uuid },
        eventType: 'VOLUME.MIGRATE',
        description: `migrate volume ${volume.name} to pool ${target.name}`,
      },
      async (job) => {
        await this.ctx.write(async (w) => {
          await this.transition(w, await getVolume(w.db, volumeId), 'MigrationRequested');
          await this.capacity.allocateStorage(w, { volumeId, poolId, accountId: volume.accountId, bytes: volume.size });
        });
        let result: VolumeResult;
        try {
          const from = await getPoolRow(this.ctx.db, source);
          const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
          if (!driver.migrateVolume) throw new UnsupportedError(`${host.hypervisorType} cannot migrate volumes`);
          result = await driver.migrateVolume(
            host.ref,
            { uuid: volume.uuid, pool: poolRef(from), ...(volume.path ? { path: volume.path } : {}) },
            poolRef(target),
            { signal: job.signal },
          );
        } catch (error) {
          await this.ctx.write(async (w) => {
            await this.capacity.allocateStorage(w, {
              volumeId,
              poolId: source,
              accountId: volume.accountId,
              bytes: volume.size,
              checkThresholds: false,
            });
            await this.transition(w, await getVolume(w.db, volumeId), 'OperationFailed');
          });
          throw error;
        }
        return this.ctx.write(async (w) => {
          await this.transition(w, await getVolume(w.db, volumeId), 'OperationSucceeded', {
            poolId,
            podId: target.podId,
            path: result.path,
            lastPoolId: poolId,
          });
          await w.event({
            type: 'VOLUME.MIGRATE',
            description: `volume ${volume.name} moved to pool ${target.name}`,
            resourceType: 'Volume',
            resourceId: volume.id,
            resourceUuid: volume.uuid,
            accountId: volume.accountId,
            domainId: volume.domainId,
            parameters: { from: source, to: poolId },
          });
          return getVolume(w.db, volumeId);
        });
      },
    );
  }

  // ── Delete / recover / expunge ───────────────────────────────────────────────────────────────────────

  /**
   * Deletes a detached volume (storage.md §4.4): Allocated → removed at once; Ready → Destroy
   * (counts and pool allocation released, recoverable until the storage GC expunges it). Its
   * snapshot policies go; its snapshots stay.
   */
  delete(volumeId: number): Promise<VolumeRecord> {
    return this.ctx.write(async (w) => {
      const volume = await getVolume(w.db, volumeId);
      await requireAccess(w.db, w.caller, volume, 'delete a volume');
      if (volume.instanceId !== null)
        throw new ResourceInUseError(`volume ${volume.name} is attached to VM ${volume.instanceId}; detach it first`, {
          field: 'volumeId',
          value: volumeId,
        });
      if (volume.state === 'Allocated') return this.removeAllocated(w, volume);
      if (volume.state !== 'Ready')
        throw new InvalidStateError(`volume ${volume.name} is ${volume.state}`, { field: 'volumeId', value: volumeId });
      return this.destroyRecord(w, volume);
    });
  }

  private async removeAllocated(w: Writer, volume: VolumeRecord): Promise<VolumeRecord> {
    await this.transition(w, volume, 'DestroyRequested', {
      removed: w.now,
      destroyedAt: w.now,
      instanceId: null,
      deviceId: null,
    });
    await this.dropPolicies(w, volume.id);
    await volumeUsage(w, 'VOLUME.DELETE', volume);
    await w.event({
      type: 'VOLUME.DELETE',
      description: `volume ${volume.name} deleted (never created on storage)`,
      resourceType: 'Volume',
      resourceId: volume.id,
      resourceUuid: volume.uuid,
      accountId: volume.accountId,
      domainId: volume.domainId,
    });
    const row = await w.db.selectFrom('volumes').selectAll().where('id', '=', volume.id).executeTakeFirstOrThrow();
    return decodeVolume(row);
  }

  private async destroyRecord(w: Writer, volume: VolumeRecord): Promise<VolumeRecord> {
    await this.transition(w, volume, 'DestroyRequested', { destroyedAt: w.now });
    await this.capacity.releaseStorage(w, volume.id);
    await this.dropPolicies(w, volume.id);
    await volumeUsage(w, 'VOLUME.DELETE', volume);
    await w.event({
      type: 'VOLUME.DELETE',
      description: `volume ${volume.name} destroyed`,
      resourceType: 'Volume',
      resourceId: volume.id,
      resourceUuid: volume.uuid,
      accountId: volume.accountId,
      domainId: volume.domainId,
    });
    return getVolume(w.db, volume.id);
  }

  private async dropPolicies(w: Writer, volumeId: number): Promise<void> {
    const policies = await w.db
      .selectFrom('snapshotPolicies')
      .select(['id', 'uuid'])
      .where('volumeId', '=', volumeId)
      .where('removed', 'is', null)
      .execute();
    for (const p of policies) {
      await w.db
        .updateTable('snapshotPolicies')
        .set({ removed: w.now, active: 0 })
        .where('id', '=', Number(p.id))
        .execute();
      await w.event({
        type: 'SNAPSHOTPOLICY.DELETE',
        description: `snapshot policy ${p.uuid} removed with its volume`,
        resourceType: 'Volume',
        resourceId: volumeId,
        parameters: { policyId: Number(p.id) },
      });
    }
  }

  /** Recovers a destroyed volume (Destroy → Ready) before the storage GC expunges it. */
  recover(volumeId: number): Promise<VolumeRecord> {
    return this.ctx.write(async (w) => {
      const volume = await getVolume(w.db, volumeId);
      await requireAccess(w.db, w.caller, volume, 'recover a volume');
      if (volume.state !== 'Destroy')
        throw new InvalidStateError(`volume ${volume.name} is ${volume.state}, not Destroy`, {
          field: 'volumeId',
          value: volumeId,
        });
      await this.recoverRecord(w, volume);
      return getVolume(w.db, volumeId);
    });
  }

  private async recoverRecord(w: Writer, volume: VolumeRecord): Promise<void> {
    await checkVolumeLimits(w, this.settings, volume.accountId, { volumes: 1, bytes: volume.size });
    await this.transition(w, volume, 'RecoverRequested', { destroyedAt: null });
    if (volume.poolId !== null)
      await this.capacity.allocateStorage(w, {
        volumeId: volume.id,
        poolId: volume.poolId,
        accountId: volume.accountId,
        bytes: volume.size,
        checkThresholds: false,
      });
    await w.event({
      type: 'VOLUME.RECOVER',
      description: `volume ${volume.name} recovered`,
      resourceType: 'Volume',
      resourceId: volume.id,
      resourceUuid: volume.uuid,
      accountId: volume.accountId,
      domainId: volume.domainId,
    });
  }

  /** Physically deletes a destroyed volume (Destroy → Expunging → Expunged); a failure returns it to Destroy. */
  async expunge(volumeId: number): Promise<void> {
    const volume = await getVolume(this.ctx.db, volumeId);
    if (volume.state !== 'Destroy')
      throw new InvalidStateError(`volume ${volume.name} is ${volume.state}, not Destroy`, {
        field: 'volumeId',
        value: volumeId,
      });
    await this.ctx.write((w) => this.transition(w, volume, 'ExpungingRequested'));
    try {
      if (volume.poolId !== null) {
        const pool = await getPoolRow(this.ctx.db, volume.poolId);
        const host = (await hostsReaching(this.ctx.db, volume.poolId))[0];
        if (!host)
          throw new ResourceUnavailableError(`no Up host reaches pool ${pool.name}`, {
            field: 'volumeId',
            value: volumeId,
          });
        await this.ctx.drivers.hypervisor(host.hypervisorType).deleteVolume(host.ref, {
          uuid: volume.uuid,
          pool: poolRef(pool),
          ...(volume.path ? { path: volume.path } : {}),
        });
      }
    } catch (error) {
      await this.ctx.write(async (w) => this.transition(w, await getVolume(w.db, volumeId), 'OperationFailed'));
      throw error;
    }
    await this.ctx.write(async (w) => {
      await this.transition(w, await getVolume(w.db, volumeId), 'OperationSucceeded', {
        removed: w.now,
        instanceId: null,
        deviceId: null,
        poolId: null,
      });
      await w.event({
        type: 'VOLUME.EXPUNGE',
        description: `volume ${volume.name} expunged`,
        resourceType: 'Volume',
        resourceId: volume.id,
        resourceUuid: volume.uuid,
        accountId: volume.accountId,
        domainId: volume.domainId,
      });
    });
  }

  /**
   * The storage garbage collector (storage.md §4.4, §6.4): expunges volumes destroyed at least
   * `storage.cleanup.delay` seconds ago and, with `storage.template.cleanup.enabled`, removes unused
   * pool copies of templates. Run it every `storage.cleanup.interval`. Returns what it removed.
   */
  async runStorageCleanup(): Promise<{ volumes: number; templateCopies: number }> {
    if (!(await this.settings.get('storage.cleanup.enabled', {}, this.ctx.db)))
      return { volumes: 0, templateCopies: 0 };
    const delay = await this.settings.get('storage.cleanup.delay', {}, this.ctx.db);
    const cutoff = this.ctx.clock.now() - delay * 1000;
    const due = await this.ctx.db
      .selectFrom('volumes')
      .select('id')
      .where('state', '=', 'Destroy')
      .where('removed', 'is', null)
      .where('destroyedAt', '<=', cutoff)
      .orderBy('id')
      .execute();
    let volumes = 0;
    for (const row of due) {
      try {
        await this.expunge(Number(row.id));
        volumes++;
      } catch (error) {
        this.ctx.logger.warn(
          { err: error, volumeId: Number(row.id) },
          'volume expunge failed; retried at the next run',
        );
      }
    }
    const templateCopies = (await this.settings.get('storage.template.cleanup.enabled', {}, this.ctx.db))
      ? await this.templates.cleanupUnusedPoolCopies()
      : 0;
    return { volumes, templateCopies };
  }
}

/** The next free device id from 1, skipping the CD-ROM slot 3. */
export function nextDevice(used: readonly number[], limit: number): number {
  const taken = new Set(used);
  for (let d = 1; d < 1000 && d <= limit + 1; d++) {
    if (d === DEVICE_CDROM || taken.has(d)) continue;
    return d;
  }
  throw new InvalidStateError('no free device id');
}

/** Volume states in which a volume counts as live (not destroyed). */
export const LIVE_VOLUME_STATES: readonly VolumeState[] = LIVE_STATES;

/** Not found helper for callers holding only a uuid. */
export async function volumeByUuid(ctx: CloudContext, uuid: string): Promise<VolumeRecord> {
  const row = await ctx.db
    .selectFrom('volumes')
    .select('id')
    .where('uuid', '=', uuid)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Volume', 'uuid', uuid);
  return getVolume(ctx.db, Number(row.id));
}

/** Records a volume usage event (VOLUME.CREATE at allocation, VOLUME.DELETE at destroy or delete). */
function volumeUsage(w: Writer, type: 'VOLUME.CREATE' | 'VOLUME.DELETE', volume: VolumeRecord): Promise<void> {
  return w.usage({
    type,
    accountId: volume.accountId,
    domainId: volume.domainId,
    zoneId: volume.zoneId,
    resourceId: volume.id,
    resourceName: volume.name,
    offeringId: volume.diskOfferingId,
    templateId: volume.templateId,
    size: volume.size,
  });
}
