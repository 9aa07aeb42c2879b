import { ExcludeList } from '../allocation/exclude-list.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, InvalidStateError, NotFoundError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { type VolumeEvent, type VolumeState, volumeStateMachine } from '../model/state-machines/index.js';
import { GiB } from '../model/units.js';
import { applyPaging, listPaging } from '../resources/list-paging.js';
import { diskOfferingRepo } from '../resources/offerings.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveOptionalRef, resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { vmRefs, volumeRefs } from '../resources/ref-tables.js';
import { storagePoolRepo } from '../resources/storage-pools.js';
import { accountRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import { SettingsService } from '../settings/settings-service.js';
import { insertRow } from '../store/insert-row.js';
import { newUuid } from '../store/uuid.js';
import type { JobService, SubmittedJob } from './jobs.js';
import type { PrivateTemplateInput } from './private-template.js';
import { defaultPoolChooser, type StoragePoolChooser } from './storage-pool-chooser.js';
import { createTemplateFromVolume } from './template-from-volume.js';
import type { TemplateStorageService } from './templates-storage.js';
import { checkVolumeLimits } from './volume-limits.js';
import { decodeVolume, getVolume, type VolumeRecord, vmVolumes } from './volume-record.js';

/** Input of {@link VolumeService.create}. */
export interface CreateVolumeInput {
  name: string;
  zoneId: Ref;
  diskOfferingId: Ref;
  /** GiB; required (and only allowed) for a customized disk offering. */
  size?: number;
  /** Owner; default the caller's account. */
  accountId?: Ref;
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

/** The CD-ROM's device id, never given to a data volume. */
export const DEVICE_CDROM = 3;

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

/**
 * The volume service's records (spec/storage.md §4): reading volumes, and writing the record of a new one
 * (Allocated, no pool) with its usage event and limits checked. The first layer of {@link VolumeService}.
 */
export class VolumeCrud {
  protected readonly settings: SettingsService;
  protected readonly chooser: StoragePoolChooser;

  constructor(
    protected readonly ctx: CloudContext,
    protected readonly jobs: JobService,
    protected readonly templates: TemplateStorageService,
    protected readonly capacity: CapacityService,
    options: VolumeServiceOptions = {},
  ) {
    this.settings = new SettingsService(ctx);
    this.chooser = options.chooser ?? defaultPoolChooser(undefined, () => new ExcludeList());
  }

  async get(id: Ref): Promise<VolumeRecord> {
    id = await resolveRef(this.ctx.db, volumeRefs, id, 'id');
    return getVolume(this.ctx.db, id, 'id');
  }

  /**
   * A private template from a Ready volume whose VM is stopped (CloudStack `createTemplate` with a volume), written
   * to the zone's image store by the driver; see `createTemplateFromVolume`.
   */
  async createTemplate(volumeId: Ref, input: PrivateTemplateInput): Promise<SubmittedJob<{ templateId: number }>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    return createTemplateFromVolume(this.ctx, this.jobs, volumeId, input);
  }

  async list(
    filter: { accountId?: Ref; instanceId?: Ref; poolId?: Ref; state?: VolumeState } & ListOptions = {},
  ): Promise<VolumeRecord[]> {
    const db = this.ctx.db;
    const paging = await listPaging(this.ctx, filter);
    const accountId = await resolveOptionalRef(db, accountRepo, filter.accountId, 'accountId');
    const instanceId = await resolveOptionalRef(db, vmRefs, filter.instanceId, 'instanceId');
    const poolId = await resolveOptionalRef(db, storagePoolRepo, filter.poolId, 'poolId');
    let q = db.selectFrom('volumes').selectAll().where('removed', 'is', null);
    if (accountId !== undefined) q = q.where('accountId', '=', accountId);
    if (instanceId !== undefined) q = q.where('instanceId', '=', instanceId);
    if (poolId !== undefined) q = q.where('poolId', '=', poolId);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    const rows = await applyPaging(q.orderBy('id'), paging, ['name']).execute();
    return rows.map((r) => decodeVolume(r));
  }

  /** A VM's live volumes, by device id. */
  async ofVm(vmId: Ref): Promise<VolumeRecord[]> {
    vmId = await resolveRef(this.ctx.db, vmRefs, vmId, 'vmId');
    return vmVolumes(this.ctx.db, vmId);
  }

  // ── Records ──────────────────────────────────────────────────────────────────────────────────────────

  /** Creates a DATADISK record (Allocated, no pool): nothing touches storage until first attach. */
  async create(input: CreateVolumeInput): Promise<VolumeRecord> {
    return this.createResolved(
      await resolveRefs(this.ctx.db, input, {
        zoneId: zoneRepo,
        diskOfferingId: diskOfferingRepo,
        accountId: accountRepo,
      }),
    );
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(input: Resolved<CreateVolumeInput>): Promise<VolumeRecord> {
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

  protected async sizeFor(
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

  protected async insertVolume(
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

  protected async usedDevices(w: Writer | CloudContext, vmId: number): Promise<number[]> {
    const rows = await w.db
      .selectFrom('volumes')
      .select('deviceId')
      .where('instanceId', '=', vmId)
      .where('removed', 'is', null)
      .execute();
    return rows.map((r) => Number(r.deviceId)).filter((d) => Number.isFinite(d));
  }

  protected async transition(
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
/** Records a volume's usage event (created or deleted) in `w`'s transaction. */
export function volumeUsage(w: Writer, type: 'VOLUME.CREATE' | 'VOLUME.DELETE', volume: VolumeRecord): Promise<void> {
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
