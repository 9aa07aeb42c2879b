import type { Writer } from '../context.js';
import { DriverError } from '../driver/driver-error.js';
import type { DiskSpec } from '../driver/vm-spec.js';
import { InvalidParameterError, InvalidStateError, ResourceInUseError, UnsupportedError } from '../errors.js';
import type { Ref } from '../model/ref.js';
import { capabilityFor } from '../resources/capabilities.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { vmRefs, volumeRefs } from '../resources/ref-tables.js';
import { diskFormatOf } from './disk-format.js';
import { getHostRef } from './host-info.js';
import type { SubmittedJob } from './jobs.js';
import { getPoolRow, hostReachesPool } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import { getVm, type VmRow } from './vm-row.js';
import { VolumeCreationSteps } from './volume-creation.js';
import { DEVICE_CDROM, nextDevice } from './volume-crud.js';
import { getVolume, type VolumeRecord } from './volume-record.js';

/**
 * Attaching a DATADISK to a VM (created first on a pool the VM's host reaches when still Allocated) and
 * detaching it, as jobs. A layer of {@link VolumeService}.
 */
export class VolumeAttachment extends VolumeCreationSteps {
  // ── Attach / detach ──────────────────────────────────────────────────────────────────────────────────

  protected async checkAttach(volumeId: number, vmId: number, deviceId?: number) {
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
  async attach(volumeId: Ref, vmId: Ref, options: { deviceId?: number } = {}): Promise<SubmittedJob<VolumeRecord>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    vmId = await resolveRef(this.ctx.db, vmRefs, vmId, 'vmId');
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
  async detach(volumeId: Ref): Promise<SubmittedJob<VolumeRecord>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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

  protected async detachRecord(w: Writer, volume: VolumeRecord, vm: Pick<VmRow, 'instanceName' | 'id'>): Promise<void> {
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
}
