import { CapacityConflictError } from '../allocation/placement-error.js';
import type { Writer } from '../context.js';
import type { VolumeResult, VolumeSpec } from '../driver/storage-spec.js';
import type { DiskFormat, DiskSpec } from '../driver/vm-spec.js';
import { InsufficientCapacityError, InvalidParameterError, InvalidStateError, NotFoundError } from '../errors.js';
import type { StorageType } from '../model/enums.js';
import type { Ref } from '../model/ref.js';
import { hostRepo } from '../resources/hosts.js';
import { diskOfferingRepo } from '../resources/offerings.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { volumeRefs } from '../resources/ref-tables.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import { diskFormatOf } from './disk-format.js';
import { getHostRef, type HostInfo } from './host-info.js';
import { getPoolRow, hostReachesPool, hostsReaching } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import { VolumeCrud } from './volume-crud.js';
import { getVolume, type VolumeRecord } from './volume-record.js';

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
 * Physical creation of an Allocated volume on a pool in three phases (plan, book, finish), its undoing, and
 * the disk a VM start hands the driver. A layer of {@link VolumeService}.
 */
export class VolumeCreationSteps extends VolumeCrud {
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
  protected async templateOf(templateId: number): Promise<{ uuid: string; format: string; isIso: boolean }> {
    const { rows } = await runStatement(this.ctx.db, volumeTemplate, { templateId });
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
  async createForHost(volumeId: Ref, hostId: Ref, options: CreateOptions = {}): Promise<VolumeRecord> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    hostId = await hostRepo.resolve(this.ctx.db, hostId, 'hostId');
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

  /**
   * Undoes a failed start's volume creation: the volume is deleted from its pool, its allocation
   * released, and it is `Allocated` again with no pool (Ready → Destroy → Allocated), so the next
   * attempt may place it elsewhere and the store is as it was before the attempt.
   */
  async uncreate(volumeId: Ref): Promise<void> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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
}

const volumeTemplate = statement('volume.template', (q, p: { templateId: number }) =>
  q.selectFrom('templates').select(['uuid', 'format', 'isIso']).where('id', '=', p.templateId),
);
