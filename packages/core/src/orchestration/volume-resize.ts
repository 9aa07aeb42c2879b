import type { Writer } from '../context.js';
import { InvalidParameterError, InvalidStateError, ResourceUnavailableError, UnsupportedError } from '../errors.js';
import type { Ref } from '../model/ref.js';
import { GiB } from '../model/units.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { volumeRefs } from '../resources/ref-tables.js';
import type { SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { VolumeAttachment } from './volume-attachment.js';
import { checkVolumeLimits } from './volume-limits.js';
import { getVolume, type VolumeRecord } from './volume-record.js';

/** Grow-only volume resize as a job, behind the driver's `volumeResize` capability. A layer of {@link VolumeService}. */
export class VolumeResize extends VolumeAttachment {
  // ── Resize / migrate ─────────────────────────────────────────────────────────────────────────────────

  /** Grows a volume (Ready → Resizing → Ready) as a job; behind the driver's `volumeResize` capability. */
  async resize(volumeId: Ref, newSizeGiB: number): Promise<SubmittedJob<VolumeRecord>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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
}
