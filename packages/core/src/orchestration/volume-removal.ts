import type { Writer } from '../context.js';
import { InvalidStateError, ResourceInUseError, ResourceUnavailableError } from '../errors.js';
import type { Ref } from '../model/ref.js';
import { requireAccess } from '../resources/permissions.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { vmRefs, volumeRefs } from '../resources/ref-tables.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import { getVm } from './vm-row.js';
import { volumeUsage } from './volume-crud.js';
import { checkVolumeLimits } from './volume-limits.js';
import { VolumeMigration } from './volume-migration.js';
import { decodeVolume, getVolume, type VolumeRecord } from './volume-record.js';

/**
 * The end of a volume's life and the VM hooks around it: delete → Destroy (recoverable) → expunge, a VM's
 * volumes destroyed, recovered, expunged or released with it, and the storage GC. A layer of {@link VolumeService}.
 */
export class VolumeRemoval extends VolumeMigration {
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
  async expungeVmVolumes(vmId: Ref): Promise<void> {
    vmId = await resolveRef(this.ctx.db, vmRefs, vmId, 'vmId');
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
   * A VM whose first start failed gives its volumes back: every volume created on storage is
   * expunged, and the never-created ones (root and data) are deleted records.
   */
  async releaseVmVolumes(vmId: Ref): Promise<void> {
    vmId = await resolveRef(this.ctx.db, vmRefs, vmId, 'vmId');
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

  // ── Delete / recover / expunge ───────────────────────────────────────────────────────────────────────

  /**
   * Deletes a detached volume (storage.md §4.4): Allocated → removed at once; Ready → Destroy
   * (counts and pool allocation released, recoverable until the storage GC expunges it). Its
   * snapshot policies go; its snapshots stay.
   */
  async delete(volumeId: Ref): Promise<VolumeRecord> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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

  protected async removeAllocated(w: Writer, volume: VolumeRecord): Promise<VolumeRecord> {
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

  protected async destroyRecord(w: Writer, volume: VolumeRecord): Promise<VolumeRecord> {
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

  protected async dropPolicies(w: Writer, volumeId: number): Promise<void> {
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
  async recover(volumeId: Ref): Promise<VolumeRecord> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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

  protected async recoverRecord(w: Writer, volume: VolumeRecord): Promise<void> {
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
  async expunge(volumeId: Ref): Promise<void> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
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
