import type { DeployDestination, DiskProfile } from '../allocation/deployment-plan.js';
import type { Writer } from '../context.js';
import type { DiskSpec } from '../driver/vm-spec.js';
import { InvalidStateError } from '../errors.js';
import type { Host, ServiceOffering, Template, VirtualMachine } from '../model/records.js';
import { GiB } from '../model/units.js';
import { diskOfferingRepo, serviceOfferingRepo } from '../resources/offerings.js';
import type { Db } from '../store/store.js';
import { hostInfo } from './host-info.js';
import type { TemplateStorageService } from './templates-storage.js';
import type { VmStorage, VolumeStartPlan } from './vm-storage.js';
import { type VolumeRecord, vmVolumes } from './volume-record.js';
import type { VolumeCreation, VolumeService } from './volumes.js';

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
  ): Promise<VolumeRecord[]> {
    const owner = { id: vm.id, zoneId: vm.zoneId, accountId: vm.accountId, domainId: vm.domainId };
    const out: VolumeRecord[] = [];
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

  volumesOf(vm: VirtualMachine): Promise<VolumeRecord[]> {
    return this.volumes.ofVm(vm.id);
  }

  async diskProfiles(
    db: Db,
    vm: VirtualMachine,
    offering?: ServiceOffering,
    volumes?: readonly VolumeRecord[],
  ): Promise<DiskProfile[]> {
    offering ??= await serviceOfferingRepo.get(db, vm.serviceOfferingId);
    const out: DiskProfile[] = [];
    for (const volume of volumes ?? (await vmVolumes(db, vm.id))) {
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

  async plan(
    vm: VirtualMachine,
    destination: DeployDestination,
    known: { host?: Host; volumes?: readonly VolumeRecord[]; template?: Template | null } = {},
  ): Promise<VolumeStartPlan> {
    const volumes = known.volumes ? [...known.volumes] : await this.volumes.ofVm(vm.id);
    const host = known.host?.id === destination.hostId ? hostInfo(known.host) : undefined;
    const creations: VolumeCreation[] = [];
    for (const volume of volumes) {
      if (volume.state !== 'Allocated') continue;
      const poolId = destination.pools.get(volume.id);
      if (poolId === undefined)
        throw new InvalidStateError(`no pool was planned for volume ${volume.name}`, {
          field: 'volumeId',
          value: volume.id,
        });
      creations.push(
        await this.volumes.planCreate(
          volume,
          { hostId: destination.hostId, poolId },
          {
            ...(host ? { host } : {}),
            ...(known.template ? { template: known.template } : {}),
          },
        ),
      );
    }
    return { volumes, creations, booked: new Map() };
  }

  async book(w: Writer, plan: VolumeStartPlan): Promise<void> {
    for (const creation of plan.creations) {
      const creating = await this.volumes.bookCreate(w, creation);
      plan.booked.set(creation.volume.id, creating);
      w.afterRollback(() => plan.booked.delete(creation.volume.id));
    }
  }

  async cancel(plan: VolumeStartPlan): Promise<void> {
    for (const creation of plan.creations) {
      if (!plan.booked.delete(creation.volume.id)) continue;
      await this.volumes.cancelCreate(creation);
    }
  }

  async create(plan: VolumeStartPlan, host: Host): Promise<{ disks: DiskSpec[]; created: number[] }> {
    const disks: DiskSpec[] = [];
    const created: number[] = [];
    try {
      for (let volume of plan.volumes) {
        const creation = plan.creations.find((c) => c.volume.id === volume.id);
        if (creation !== undefined) {
          const creating = plan.booked.get(volume.id);
          if (creating === undefined)
            throw new InvalidStateError(`volume ${volume.name} was not booked`, {
              field: 'volumeId',
              value: volume.id,
            });
          // Booked → created, or (on failure) given back: either way no longer booked.
          plan.booked.delete(volume.id);
          volume = await this.volumes.finishCreate(creation, creating);
          created.push(volume.id);
        }
        if (volume.state !== 'Ready')
          throw new InvalidStateError(`volume ${volume.name} is ${volume.state}`, {
            field: 'volumeId',
            value: volume.id,
          });
        disks.push(await this.volumes.diskSpec(volume, host.hypervisorType, creation?.pool));
      }
    } catch (error) {
      await this.cancel(plan);
      await this.undoPrepare(created);
      throw error;
    }
    return { disks, created };
  }

  async diskSpecs(vm: VirtualMachine, host: Host): Promise<DiskSpec[]> {
    const disks: DiskSpec[] = [];
    for (const volume of await this.volumes.list({ instanceId: vm.id })) {
      if (volume.state === 'Ready') disks.push(await this.volumes.diskSpec(volume, host.hypervisorType));
    }
    return disks.sort((a, b) => a.deviceId - b.deviceId);
  }

  async undoPrepare(created: readonly number[]): Promise<void> {
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
