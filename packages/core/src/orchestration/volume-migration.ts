import type { VolumeResult } from '../driver/storage-spec.js';
import { InvalidParameterError, InvalidStateError, UnsupportedError } from '../errors.js';
import type { Ref } from '../model/ref.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { volumeRefs } from '../resources/ref-tables.js';
import { storagePoolRepo } from '../resources/storage-pools.js';
import type { SubmittedJob } from './jobs.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { getVolume, type VolumeRecord } from './volume-record.js';
import { VolumeResize } from './volume-resize.js';

/** Migrating a volume between pools as a job, behind the driver's `volumeMigration` capability. A layer of {@link VolumeService}. */
export class VolumeMigration extends VolumeResize {
  /**
   * Moves a Ready volume to another pool of its zone as a job (Ready → Migrating → Ready,
   * storage.md §4.5): detached, or attached to a stopped VM. A host must reach both pools (same
   * cluster, or a zone-wide pool); the allocation moves with the volume.
   */
  async migrate(volumeId: Ref, poolId: Ref): Promise<SubmittedJob<VolumeRecord>> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    poolId = await storagePoolRepo.resolve(this.ctx.db, poolId, 'poolId');
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
}
