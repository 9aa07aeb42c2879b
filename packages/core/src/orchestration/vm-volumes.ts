import type { DeployDestination, DiskProfile } from '../allocation/deployment-plan.js';
import type { Writer } from '../context.js';
import type { DiskSpec } from '../driver/vm-spec.js';
import { InvalidStateError } from '../errors.js';
import type { Host, Template, VirtualMachine, Volume } from '../model/records.js';
import { diskOfferingRepo, serviceOfferingRepo } from '../resources/offerings.js';
import type { Db } from '../store/store.js';
import { decodeVolume } from './storage-common.js';
import type { TemplateStorageService } from './templates-storage.js';
import type { VmStorage } from './vm-storage.js';
import type { VolumeService } from './volumes.js';

const GiB = 1024 ** 3;

/** The VM orchestrator's storage, on the volume and template services. */
export class VmVolumes implements VmStorage {
  constructor(
    private readonly volumes: VolumeService,
    private readonly templates: TemplateStorageService,
  ) {}

  async allocate(
    w: Writer,
    vm: VirtualMachine,
    input: { template: Template; rootSizeBytes?: number; dataDisk?: { diskOfferingId: number; sizeBytes?: number } },
  ): Promise<Volume[]> {
    const owner = { id: vm.id, zoneId: vm.zoneId, accountId: vm.accountId, domainId: vm.domainId };
    const out: Volume[] = [];
    if (input.template.isIso) {
      // An ISO boots onto a blank root disk sized by the disk offering.
      const disk = await diskOfferingRepo.get(w.db, input.dataDisk!.diskOfferingId, 'diskOfferingId');
      const sizeBytes = input.dataDisk?.sizeBytes ?? disk.diskSize ?? 0;
      out.push(
        await this.volumes.allocateRootVolume(w, owner, { templateId: null, sizeBytes, diskOfferingId: disk.id }),
      );
      return out;
    }
    // The zone's Ready copy both proves the template deployable and gives the root disk's size.
    const copy = await this.templates.checkDeployable(w, input.template.id, vm.zoneId, input.template);
    const sizeBytes = input.rootSizeBytes ?? copy.size;
    out.push(await this.volumes.allocateRootVolume(w, owner, { templateId: input.template.id, sizeBytes }));
    if (input.dataDisk) {
      const size = input.dataDisk.sizeBytes === undefined ? undefined : input.dataDisk.sizeBytes / GiB;
      out.push(
        await this.volumes.allocateDataVolume(w, owner, {
          diskOfferingId: input.dataDisk.diskOfferingId,
          ...(size !== undefined ? { size } : {}),
        }),
      );
    }
    return out;
  }

  async diskProfiles(db: Db, vm: VirtualMachine): Promise<DiskProfile[]> {
    const offering = await serviceOfferingRepo.get(db, vm.serviceOfferingId);
    const rows = await db
      .selectFrom('volumes')
      .selectAll()
      .where('instanceId', '=', vm.id)
      .where('removed', 'is', null)
      .orderBy('deviceId')
      .execute();
    const out: DiskProfile[] = [];
    for (const volume of rows.map((r) => decodeVolume(r))) {
      const disk = volume.diskOfferingId === null ? null : await diskOfferingRepo.find(db, volume.diskOfferingId);
      const root = volume.volumeType === 'ROOT';
      out.push({
        id: volume.id,
        size: volume.size,
        tags: root ? offering.tags : (disk?.tags ?? []),
        storageType: root ? offering.storageType : (disk?.storageType ?? 'shared'),
        poolId: volume.state === 'Allocated' ? null : volume.poolId,
      });
    }
    return out;
  }

  async prepare(
    vm: VirtualMachine,
    destination: DeployDestination,
    host: Host,
  ): Promise<{ disks: DiskSpec[]; created: number[] }> {
    const rows = await this.volumes.list({ instanceId: vm.id });
    const disks: DiskSpec[] = [];
    const created: number[] = [];
    try {
      for (let volume of rows.sort((a, b) => (a.deviceId ?? 0) - (b.deviceId ?? 0))) {
        if (volume.state === 'Allocated') {
          const poolId = destination.pools.get(volume.id);
          if (poolId === undefined)
            throw new InvalidStateError(`no pool was planned for volume ${volume.name}`, {
              field: 'volumeId',
              value: volume.id,
            });
          volume = await this.volumes.createOnPool(volume.id, { hostId: host.id, poolId });
          created.push(volume.id);
        }
        if (volume.state !== 'Ready')
          throw new InvalidStateError(`volume ${volume.name} is ${volume.state}`, {
            field: 'volumeId',
            value: volume.id,
          });
        disks.push(await this.volumes.diskSpec(volume, host.hypervisorType));
      }
    } catch (error) {
      await this.undoPrepare(vm, created);
      throw error;
    }
    return { disks: disks.sort((a, b) => a.deviceId - b.deviceId), created };
  }

  async diskSpecs(vm: VirtualMachine, host: Host): Promise<DiskSpec[]> {
    const disks: DiskSpec[] = [];
    for (const volume of await this.volumes.list({ instanceId: vm.id })) {
      if (volume.state === 'Ready') disks.push(await this.volumes.diskSpec(volume, host.hypervisorType));
    }
    return disks.sort((a, b) => a.deviceId - b.deviceId);
  }

  async undoPrepare(_vm: VirtualMachine, created: readonly number[]): Promise<void> {
    for (const id of [...created].reverse()) await this.volumes.uncreate(id);
  }

  destroy(w: Writer, vm: VirtualMachine): Promise<void> {
    return this.volumes.destroyVmVolumes(w, vm.id);
  }

  recover(w: Writer, vm: VirtualMachine): Promise<void> {
    return this.volumes.recoverVmVolumes(w, vm.id);
  }

  async expunge(vm: VirtualMachine): Promise<void> {
    await this.volumes.releaseVmVolumes(vm.id);
  }
}
