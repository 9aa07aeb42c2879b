import { randomBytes } from 'node:crypto';
import { CapacityConflictError } from '../allocation/placement-error.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import { demandOf } from '../capacity/demand.js';
import type { Caller, CloudContext, Writer } from '../context.js';
import type { HypervisorDriver } from '../driver/hypervisor-driver.js';
import { InvalidParameterError, InvalidStateError, PermissionDeniedError, UnsupportedError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Account, Host, ServiceOffering, Template, VirtualMachine, Zone } from '../model/records.js';
import type { Ref, Resolved } from '../model/ref.js';
import type { VmEvent } from '../model/state-machines/index.js';
import { GiB } from '../model/units.js';
import { requireHostName, requireInteger } from '../model/validate.js';
import type { GuestNetworkService } from '../network/guest-networks.js';
import type { NetworkOfferingService } from '../network/network-offerings.js';
import type { Network, Nic } from '../network/records.js';
import { networkRepo, securityGroupRepo } from '../network/records.js';
import type { SecurityGroupService } from '../network/security-groups.js';
import { hostRef, hostRepo } from '../resources/hosts.js';
import {
  diskOfferingRepo,
  offeringHostTags,
  offeringImplicitDedication,
  serviceOfferingRepo,
} from '../resources/offerings.js';
import { isInSubtree, isRootAdmin, requireAccess } from '../resources/permissions.js';
import { resolveRefs } from '../resources/ref-resolution.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { templateRepo } from '../resources/templates.js';
import { accountRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import type { SettingsService } from '../settings/settings-service.js';
import { json } from '../store/codec.js';
import { insertRow } from '../store/insert-row.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import {
  affinityGroupRepo,
  joinAffinityGroups,
  leaveAffinityGroups,
  permitAffinity,
  resolveAffinityGroups,
  type VmAffinity,
  vmAffinity,
} from './affinity-groups.js';
import { dedicationConflict } from './dedications.js';
import { isoDiskSpec } from './iso-disk-spec.js';
import type { JobService, SubmittedJob } from './jobs.js';
import { sshKeyPairRepo } from './ssh-keypairs.js';
import type { PlacementIndex } from './vm-placement.js';
import { instanceName, type VmDetails, vmRepo, vmUsage } from './vm-records.js';
import { type StartedVm, VmStarter } from './vm-starter.js';
import type { VmStorage } from './vm-storage.js';
import { transitionVm } from './vm-transition.js';
import type { VolumeRecord } from './volume-record.js';

/** CloudStack accepts user data up to 32 KiB of base64 (POST). */
const MAX_USER_DATA = 32_768;

/** A submitted deployment: the job, and the id of the VM it deploys (known before the job ends). */
export interface DeployJob extends SubmittedJob<StartedVm> {
  vmId: number;
}

/**
 * A VM to deploy (CloudStack's deployVirtualMachine): zone, service offering, template or ISO, networks,
 * disk offering, key pair, user data, affinity groups and owner.
 */
export interface DeployVmInput {
  zoneId: Ref;
  serviceOfferingId: Ref;
  /** A template, or a bootable ISO (then `diskOfferingId` is required for the root disk). */
  templateId: Ref;
  diskOfferingId?: Ref;
  /** GB, for a customized disk offering. */
  dataDiskSizeGb?: number;
  /** Advanced zones: the guest networks; default: the owner's default isolated network (created if absent). */
  networkIds?: Ref[];
  /** Which of `networkIds` is the default; default the first. */
  defaultNetworkId?: Ref;
  /** RFC 1123 label, unique on each network; default the instance name. */
  hostName?: string;
  displayName?: string;
  group?: string;
  /** Name of the owner's SSH key pair. */
  keypair?: string;
  /** base64. */
  userData?: string;
  /** Security groups (zones with security groups); default: the owner's default group. Fixed for life. */
  securityGroupIds?: Ref[];
  /** Deploy on behalf of this account (admins). */
  accountId?: Ref;
  /** Default true. */
  startVm?: boolean;
  /** Root admin: this host, no fallback. */
  hostId?: Ref;
  /**
   * Affinity groups the VM joins (the owner's own): `host anti-affinity`, `host affinity`, and the
   * owner's `ExplicitDedication` group, which keeps the VM on resources dedicated to its owner only.
   */
  affinityGroupIds?: Ref[];
}

/**
 * Virtual machines (spec/operations.md §2): deploy, start, stop, reboot, destroy, recover,
 * expunge, live migration, change of service offering, password reset and user data. Long
 * operations are jobs; each moves the VM through its state machine by compare-and-set, and
 * capacity, NICs and volumes move with the state in the same transactions.
 */
export class VirtualMachineService {
  private readonly starter: VmStarter;

  constructor(
    private readonly ctx: CloudContext,
    private readonly jobs: JobService,
    private readonly placement: PlacementIndex,
    private readonly capacity: CapacityService,
    private readonly networks: GuestNetworkService,
    private readonly networkOfferings: NetworkOfferingService,
    private readonly securityGroups: SecurityGroupService,
    private readonly storage: VmStorage,
    private readonly settings: SettingsService,
  ) {
    this.starter = new VmStarter(ctx, placement, capacity, networks, storage, settings);
  }

  async get(id: Ref): Promise<VirtualMachine> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return vmRepo.get(this.ctx.db, id);
  }

  /** The caller's VMs (every VM for a root admin), optionally filtered. */
  list(
    filter: { zoneId?: Ref; hostId?: Ref; state?: string; accountId?: Ref } & ListOptions = {},
  ): Promise<VirtualMachine[]> {
    const db = this.ctx.db;
    const accountId = isRootAdmin(this.ctx.caller) ? filter.accountId : this.ctx.caller.accountId;
    return vmRepo.listFor(
      this.ctx,
      { ...filter, accountId },
      { zoneId: zoneRepo, hostId: hostRepo, accountId: accountRepo },
      db,
    );
  }

  /**
   * Deploys a VM: validates and records it (Stopped, NICs and volumes Allocated) in one
   * transaction, then starts it as a job unless `startVm` is false. A first start that fails
   * leaves the VM in Error with everything it took released.
   */
  async deploy(input: DeployVmInput): Promise<DeployJob> {
    return this.deployResolved(
      await resolveRefs(this.ctx.db, input, {
        zoneId: zoneRepo,
        serviceOfferingId: serviceOfferingRepo,
        templateId: templateRepo,
        diskOfferingId: diskOfferingRepo,
        networkIds: networkRepo,
        defaultNetworkId: networkRepo,
        securityGroupIds: securityGroupRepo,
        accountId: accountRepo,
        hostId: hostRepo,
        affinityGroupIds: affinityGroupRepo,
      }),
    );
  }

  /** {@link deploy} with the input's references resolved to numeric ids. */
  private async deployResolved(input: Resolved<DeployVmInput>): Promise<DeployJob> {
    const mark = this.ctx.tracer.mark();
    let vmId = 0;
    // The VM, its NICs and volumes, and the job that starts it commit together.
    const submitted = await this.ctx.write(async (w) => {
      const created = await this.create(w, input);
      const { vm } = created;
      vmId = vm.id;
      if (input.startVm === false) {
        return this.jobs.submitIn(
          w,
          {
            cmd: 'deployVirtualMachine',
            info: { ...input },
            instance: this.instance(vm),
            eventType: 'VM.CREATE',
            description: `deploy VM ${vm.instanceName}`,
          },
          async () => vm,
        );
      }
      return this.jobs.submitIn(
        w,
        {
          cmd: 'deployVirtualMachine',
          info: { ...input, userData: undefined },
          instance: this.instance(vm),
          eventType: 'VM.START',
          description: `deploy VM ${vm.instanceName}`,
        },
        async (job) => {
          try {
            return await this.starter.start(vm.id, {
              // As this transaction wrote them: the job runs right after it commits.
              known: created,
              firstStart: true,
              job,
              completeJob: true,
              ...(input.hostId !== undefined ? { hostId: input.hostId } : {}),
            });
          } catch (error) {
            await this.releaseFailedDeploy(vm.id);
            throw error;
          }
        },
      );
    });
    this.ctx.tracer.step('deploy.create', mark);
    return { ...submitted, vmId };
  }

  /** Deploys and waits: the started VM, or the start's typed error. */
  async deployAndWait(input: DeployVmInput): Promise<StartedVm> {
    return (await this.deploy(input)).result;
  }

  private async create(
    w: Writer,
    input: Resolved<DeployVmInput>,
  ): Promise<{
    vm: VirtualMachine;
    offering: ServiceOffering;
    template: Template;
    volumes: VolumeRecord[];
    nics: Nic[];
    zone: Zone;
    affinity: VmAffinity;
  }> {
    const owner = await accountRepo.get(w.db, input.accountId ?? w.caller.accountId, 'accountId');
    await requireAccess(w.db, w.caller, { accountId: owner.id, domainId: owner.domainId }, 'deploy a VM');
    if (owner.state !== 'enabled')
      throw new InvalidStateError(`account ${owner.accountName} is ${owner.state}`, {
        field: 'accountId',
        value: owner.id,
      });
    const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
    if (zone.allocationState !== 'Enabled' && !isRootAdmin(w.caller))
      throw new InvalidStateError(`zone ${zone.name} is disabled`, { field: 'zoneId', value: zone.id });
    if (zone.dedicatedDomainId !== null && !(await isInSubtree(w.db, zone.dedicatedDomainId, owner.domainId))) {
      throw new PermissionDeniedError(`zone ${zone.name} is dedicated to another domain`, {
        field: 'zoneId',
        value: zone.id,
      });
    }
    const offering = await serviceOfferingRepo.get(w.db, input.serviceOfferingId, 'serviceOfferingId');
    if (offering.state !== 'Active' || offering.isSystem)
      throw new InvalidParameterError('serviceOfferingId', offering.id, 'the offering is not available for new VMs');
    if (offering.domainId !== null && !(await isInSubtree(w.db, offering.domainId, owner.domainId))) {
      throw new InvalidParameterError('serviceOfferingId', offering.id, 'the offering is not visible to the owner');
    }
    const template = await templateRepo.get(w.db, input.templateId, 'templateId');
    if (!(await templateVisible(w.db, w.caller, template, owner.id))) {
      throw new InvalidParameterError('templateId', template.id, 'the template is not visible to the owner');
    }
    if (template.templateType === 'SYSTEM')
      throw new InvalidParameterError('templateId', template.id, 'system-VM templates are not for user VMs');
    if (!template.crossZones && template.zoneId !== zone.id)
      throw new InvalidParameterError('templateId', template.id, `the template is not registered in zone ${zone.name}`);
    if (template.isIso && !template.bootable)
      throw new InvalidParameterError('templateId', template.id, 'the ISO is not bootable');
    if (template.isIso && input.diskOfferingId === undefined)
      throw new InvalidParameterError(
        'diskOfferingId',
        undefined,
        'an ISO deployment needs a disk offering for its root disk',
      );
    const hypervisorType = template.hypervisorType;
    if (hypervisorType) {
      const { rows: clusters } = await runStatement(w.db, vmDeployClusterOfHypervisor, {
        zoneId: zone.id,
        hypervisorType,
      });
      if (clusters.length === 0)
        throw new InvalidParameterError(
          'templateId',
          template.id,
          `zone ${zone.name} has no ${hypervisorType} cluster`,
        );
    }
    let dataDisk: { diskOfferingId: number; sizeBytes?: number } | undefined;
    if (input.diskOfferingId !== undefined) {
      const disk = await diskOfferingRepo.get(w.db, input.diskOfferingId, 'diskOfferingId');
      if (disk.state !== 'Active')
        throw new InvalidParameterError('diskOfferingId', disk.id, 'the disk offering is not available');
      if (disk.customized && input.dataDiskSizeGb === undefined)
        throw new InvalidParameterError('dataDiskSizeGb', undefined, 'the disk offering is customized: give a size');
      if (!disk.customized && input.dataDiskSizeGb !== undefined)
        throw new InvalidParameterError('dataDiskSizeGb', input.dataDiskSizeGb, 'the disk offering has a fixed size');
      dataDisk = {
        diskOfferingId: disk.id,
        ...(disk.customized
          ? { sizeBytes: requireInteger('dataDiskSizeGb', input.dataDiskSizeGb, { min: 1 }) * GiB }
          : {}),
      };
    }
    if (input.hostId !== undefined && !isRootAdmin(w.caller))
      throw new PermissionDeniedError('only a root admin may choose the host', {
        field: 'hostId',
        value: input.hostId,
      });
    if (
      input.keypair !== undefined &&
      (await sshKeyPairRepo.count(w.db, { accountId: owner.id, name: input.keypair })) === 0
    ) {
      throw new InvalidParameterError(
        'keypair',
        input.keypair,
        `account ${owner.accountName} has no SSH key pair of that name`,
      );
    }
    if (input.userData !== undefined) checkUserData(input.userData);
    const affinityGroups = await resolveAffinityGroups(w.db, owner, input.affinityGroupIds);
    if (input.hostName !== undefined) requireHostName('hostName', input.hostName);
    await checkResourceLimits(w, this.settings, owner.id, {
      user_vm: 1,
      cpu: offering.cpuNumber,
      memory: offering.memory,
    });
    const networks = await this.networksFor(w, zone, owner, input);
    const networkIds = networks.map((n) => n.id);

    const suffix = await this.settings.get('instance.name', {}, w.db);
    const details: VmDetails = {
      ...(input.group ? { displayGroup: input.group } : {}),
      ...(input.keypair ? { keypair: input.keypair } : {}),
      ...(input.userData ? { userData: input.userData } : {}),
    };
    const values = {
      uuid: newUuid(),
      instanceName: `pending-${newUuid()}`,
      hostName: input.hostName ?? '',
      displayName: input.displayName ?? '',
      type: 'User',
      accountId: owner.id,
      domainId: owner.domainId,
      zoneId: zone.id,
      serviceOfferingId: offering.id,
      templateId: template.id,
      isoId: template.isIso ? template.id : null,
      hypervisorType,
      hostId: null,
      lastHostId: null,
      podIdToDeployIn: null,
      haEnabled: offering.offerHa ? 1 : 0,
      state: 'Stopped',
      powerState: 'PowerOff',
      details: json(details),
      created: w.now,
      removed: null,
    };
    const id = Number((await insertRow<'vmInstances', { id: number }>(w.db, 'vmInstances', values, ['id'])).id);
    const name = instanceName(owner.id, id, suffix);
    const named = { instanceName: name, hostName: input.hostName ?? name, displayName: input.displayName ?? name };
    await runStatement(w.db, vmDeploySetName, { ...named, id });
    // The row as this transaction left it (every column written here; no re-read).
    const vm = vmRepo.decode({ id, ...values, ...named, updatedCount: 0 });
    const defaultId = input.defaultNetworkId ?? networkIds[0]!;
    if (!networkIds.includes(defaultId))
      throw new InvalidParameterError('defaultNetworkId', defaultId, 'must be one of networkIds');
    const nics: Nic[] = [];
    for (const [i, { id: networkId, network }] of networks.entries()) {
      nics.push(
        await this.networks.allocateNic(w, {
          vmId: id,
          networkId,
          isDefault: networkId === defaultId,
          deviceId: i,
          vm,
          vmNics: nics,
          ...(network ? { network } : {}),
        }),
      );
    }
    const volumes = await this.storage.allocate(w, vm, { template, ...(dataDisk ? { dataDisk } : {}) });
    await joinAffinityGroups(w, id, affinityGroups);
    const affinity: VmAffinity =
      affinityGroups.length > 0 ? await vmAffinity(w.db, id) : { rules: [], strictDedication: false };
    if (zone.securityGroupEnabled) await this.securityGroups.joinAtDeploy(w, id, input.securityGroupIds);
    else if (input.securityGroupIds !== undefined) {
      throw new InvalidParameterError(
        'securityGroupIds',
        input.securityGroupIds,
        `zone ${zone.name} has no security groups`,
      );
    }
    await vmUsage(w, 'VM.CREATE', vm);
    await w.event({
      type: 'VM.CREATE',
      description: `VM ${name} created`,
      resourceType: 'VirtualMachine',
      resourceId: id,
      resourceUuid: vm.uuid,
      accountId: owner.id,
      domainId: owner.domainId,
      parameters: { serviceOfferingId: offering.id, templateId: template.id, zoneId: zone.id },
    });
    return { vm, offering, template, volumes, nics, zone, affinity };
  }

  /**
   * The networks a new VM joins, with their records where read here (NIC allocation then does not
   * read them again); an advanced zone's owner gets a default isolated network if none is given.
   */
  private async networksFor(
    w: Writer,
    zone: Zone,
    owner: Account,
    input: Resolved<DeployVmInput>,
  ): Promise<Array<{ id: number; network?: Network }>> {
    const zoneId = zone.id;
    if (input.networkIds && input.networkIds.length > 0) {
      const unique = [...new Set(input.networkIds)];
      if (unique.length !== input.networkIds.length)
        throw new InvalidParameterError('networkIds', input.networkIds, 'a network is listed twice');
      const out: Array<{ id: number; network: Network }> = [];
      for (const id of unique) {
        const net = await networkRepo.get(w.db, id, 'networkIds');
        out.push({ id, network: net });
        if (net.zoneId !== zoneId)
          throw new InvalidParameterError('networkIds', id, `network ${net.name} is in another zone`);
        if (net.aclType === 'Account' && net.accountId !== owner.id)
          throw new InvalidParameterError('networkIds', id, `network ${net.name} belongs to another account`);
      }
      return out;
    }
    if (zone.networkType === 'Basic') {
      const shared = await w.db
        .selectFrom('networks')
        .selectAll()
        .where('zoneId', '=', zoneId)
        .where('guestType', '=', 'Shared')
        .where('removed', 'is', null)
        .orderBy('id')
        .executeTakeFirst();
      if (!shared)
        throw new InvalidStateError(`basic zone ${zone.name} has no shared guest network yet`, {
          field: 'zoneId',
          value: zoneId,
        });
      const network = networkRepo.decode(shared);
      return [{ id: network.id, network }];
    }
    const { rows: ownNetworks } = await runStatement(w.db, vmDeployDefaultIsolatedNetwork, {
      zoneId,
      ownerId: owner.id,
    });
    const existing = ownNetworks[0];
    if (existing) {
      const network = networkRepo.decode(existing);
      return [{ id: network.id, network }];
    }
    const offering = await this.networkOfferings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService', w.db);
    const net = await this.networks.design(w, {
      zoneId,
      name: `${owner.accountName}-network`,
      networkOfferingId: offering.id,
      accountId: owner.id,
    });
    return [{ id: net.id }];
  }

  /** A first start failed: the VM stays in Error and gives back its NICs' addresses and its volumes. */
  private async releaseFailedDeploy(vmId: number): Promise<void> {
    const vm = await vmRepo.get(this.ctx.db, vmId);
    await this.ctx.write(async (w) => {
      for (const nic of await this.networks.listNics({ vmId })) await this.networks.deallocateNic(w, nic.id);
      const deltas = await this.capacity.releaseVm(w, vmId);
      w.afterCommit(() => this.placement.apply(deltas));
    });
    await this.storage.expunge(vm);
  }

  /** Starts a stopped VM (last host first), as a job. */
  /** Starts a Stopped VM; the result carries the explanation of the placement (`placement`). */
  async start(id: Ref, options: { hostId?: Ref } = {}): Promise<SubmittedJob<StartedVm>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    const { hostId } = await resolveRefs(this.ctx.db, options, { hostId: hostRepo });
    return this.runJob(id, 'startVirtualMachine', 'VM.START', 'start', async (vm, job) => {
      if (vm.state === 'Running') return vm;
      if (vm.state !== 'Stopped')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}`, { field: 'id', value: id });
      if (options.hostId !== undefined && !isRootAdmin(this.ctx.caller))
        throw new PermissionDeniedError('only a root admin may choose the host', {
          field: 'hostId',
          value: options.hostId,
        });
      return this.starter.start(id, { job, hostId });
    });
  }

  /**
   * Stops a VM: the driver shuts the guest down and powers it off if it does not stop in time;
   * capacity moves from used to reserved on the host; NIC reservations are released.
   * `forced` (root admin) marks it Stopped even when the host cannot be reached.
   */
  async stop(id: Ref, options: { forced?: boolean } = {}): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.runJob(id, 'stopVirtualMachine', 'VM.STOP', 'stop', async (vm) => {
      if (options.forced && !isRootAdmin(this.ctx.caller))
        throw new PermissionDeniedError('only a root admin may force a stop', { field: 'forced', value: true });
      return this.stopVm(vm, options.forced === true);
    });
  }

  private async stopVm(vm: VirtualMachine, forced: boolean): Promise<VirtualMachine> {
    if (vm.state === 'Stopped') return vm;
    if (vm.state !== 'Running' && vm.state !== 'Stopping')
      throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}`, { field: 'id', value: vm.id });
    const stopping = await this.ctx.write(async (w) => {
      await transitionVm(w, vm, 'StopRequested', {});
      return vmRepo.get(w.db, vm.id);
    });
    const host = await hostRepo.get(this.ctx.db, vm.hostId!);
    try {
      // Graceful first; the driver powers the VM off when the guest does not stop in its timeout.
      await this.ctx.drivers.hypervisor(host.hypervisorType).stopVm(hostRef(host), vm.instanceName, { force: false });
    } catch (error) {
      if (!forced) {
        await this.ctx.write((w) => transitionVm(w, stopping, 'OperationFailed', {}));
        throw error;
      }
      this.ctx.logger.warn(
        { err: error, vm: vm.uuid },
        'forced stop: marking the VM stopped without reaching its host',
      );
    }
    return this.markStopped(stopping, 'OperationSucceeded');
  }

  /**
   * The VM is off on its host (a stop completed, or the host reported it powered off): Stopped,
   * capacity used → reserved, NIC reservations released, event VM.STOP with usage.
   */
  async markStopped(vm: VirtualMachine, event: VmEvent): Promise<VirtualMachine> {
    for (const nic of await this.networks.listNics({ vmId: vm.id })) {
      if (nic.state === 'Reserved') await this.networks.stopNic(nic.id);
    }
    return this.ctx.write(async (w) => {
      const current = await vmRepo.get(w.db, vm.id);
      const deltas = await this.capacity.stopToReserved(w, vm.id);
      await transitionVm(w, current, event, { hostId: null, powerState: 'PowerOff' });
      await vmUsage(w, 'VM.STOP', current);
      await w.event({
        type: 'VM.STOP',
        description: `VM ${vm.instanceName} stopped`,
        resourceType: 'VirtualMachine',
        resourceId: vm.id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
        parameters: { via: event },
      });
      w.afterCommit(() => this.placement.apply(deltas));
      return vmRepo.get(w.db, vm.id);
    });
  }

  /** Reboots in place: same host, no capacity change. */
  async reboot(id: Ref): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.runJob(id, 'rebootVirtualMachine', 'VM.REBOOT', 'reboot', async (vm) => {
      if (vm.state !== 'Running')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; only a Running VM reboots`, {
          field: 'id',
          value: id,
        });
      const host = await hostRepo.get(this.ctx.db, vm.hostId!);
      await this.ctx.drivers.hypervisor(host.hypervisorType).rebootVm(hostRef(host), vm.instanceName);
      return vm;
    });
  }

  /**
   * Destroys a VM: a running one is stopped hard first; Destroyed keeps its NICs, addresses and
   * rules for recovery; the ROOT volume is marked Destroy, data volumes are detached and kept;
   * the reservation on the last host is released. `expunge` (root admin) goes on to expunge.
   */
  async destroy(id: Ref, options: { expunge?: boolean } = {}): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.runJob(id, 'destroyVirtualMachine', 'VM.DESTROY', 'destroy', async (vm) => {
      if (
        options.expunge &&
        !isRootAdmin(this.ctx.caller) &&
        !(await this.settings.get('allow.user.expunge.recover.vm'))
      ) {
        throw new PermissionDeniedError('only a root admin may expunge', { field: 'expunge', value: true });
      }
      let current = vm;
      if (current.state === 'Running' || current.state === 'Stopping') current = await this.stopVm(current, true);
      if (current.state === 'Error') return options.expunge ? this.expungeVm(current) : current;
      if (current.state !== 'Stopped')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${current.state}`, { field: 'id', value: id });
      const destroyed = await this.ctx.write(async (w) => {
        const deltas = await this.capacity.releaseVm(w, id);
        await transitionVm(w, current, 'DestroyRequested', { hostId: null });
        await this.storage.destroy(w, current);
        await vmUsage(w, 'VM.DESTROY', current);
        await w.event({
          type: 'VM.DESTROY',
          description: `VM ${vm.instanceName} destroyed`,
          resourceType: 'VirtualMachine',
          resourceId: id,
          resourceUuid: vm.uuid,
          accountId: vm.accountId,
          domainId: vm.domainId,
        });
        w.afterCommit(() => this.placement.apply(deltas));
        return vmRepo.get(w.db, id);
      });
      return options.expunge ? this.expungeVm(destroyed) : destroyed;
    });
  }

  /** Undoes a destroy before expunge: Destroyed → Stopped, ROOT volume Ready again (limits re-checked). */
  async recover(id: Ref): Promise<VirtualMachine> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const vm = await vmRepo.get(w.db, id);
      if (!isRootAdmin(w.caller) && !(await this.settings.get('allow.user.expunge.recover.vm', {}, w.db))) {
        throw new PermissionDeniedError('only a root admin may recover a VM', { field: 'id', value: id });
      }
      await requireAccess(w.db, w.caller, vm, 'recover a VM');
      if (vm.state !== 'Destroyed')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; only a Destroyed VM can be recovered`, {
          field: 'id',
          value: id,
        });
      const offering = await serviceOfferingRepo.get(w.db, vm.serviceOfferingId);
      await checkResourceLimits(w, this.settings, vm.accountId, {
        user_vm: 1,
        cpu: offering.cpuNumber,
        memory: offering.memory,
      });
      await transitionVm(w, vm, 'RecoveryRequested', {});
      await this.storage.recover(w, vm);
      await vmUsage(w, 'VM.CREATE', vm);
      await w.event({
        type: 'VM.RECOVER',
        description: `VM ${vm.instanceName} recovered`,
        resourceType: 'VirtualMachine',
        resourceId: id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
      });
      return vmRepo.get(w.db, id);
    });
  }

  /** Expunges a Destroyed or Error VM now (root admin, or users when allowed). */
  async expunge(id: Ref): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.runJob(id, 'expungeVirtualMachine', 'VM.EXPUNGE', 'expunge', async (vm) => {
      if (!isRootAdmin(this.ctx.caller) && !(await this.settings.get('allow.user.expunge.recover.vm'))) {
        throw new PermissionDeniedError('only a root admin may expunge', { field: 'id', value: id });
      }
      return this.expungeVm(vm);
    });
  }

  /**
   * Expunges what waited long enough: Destroyed VMs older than `expunge.delay` and VMs in Error.
   * Call it every `expunge.interval`. A VM whose expunge fails stays Expunging and is retried.
   */
  async expungeDue(): Promise<VirtualMachine[]> {
    const delayMs = (await this.settings.get('expunge.delay')) * 1000;
    const cutoff = this.ctx.clock.now() - delayMs;
    const due = await this.ctx.db
      .selectFrom('vmInstances')
      .innerJoin('events', (join) =>
        join
          .onRef('events.resourceId', '=', 'vmInstances.id')
          .on('events.resourceType', '=', 'VirtualMachine')
          .on('events.type', '=', 'VM.DESTROY'),
      )
      .select('vmInstances.id')
      .where('vmInstances.state', '=', 'Destroyed')
      .where('vmInstances.removed', 'is', null)
      .where('events.created', '<=', cutoff)
      .execute();
    const errored = await this.ctx.db
      .selectFrom('vmInstances')
      .select('id')
      .where('state', 'in', ['Error', 'Expunging'])
      .where('removed', 'is', null)
      .execute();
    const out: VirtualMachine[] = [];
    for (const id of new Set([...due, ...errored].map((r) => Number(r.id)))) {
      try {
        out.push(await this.expungeVm(await vmRepo.get(this.ctx.db, id)));
      } catch (error) {
        this.ctx.logger.warn({ err: error, vm: id }, 'expunge failed; it is retried on the next run');
      }
    }
    return out;
  }

  private async expungeVm(vm: VirtualMachine): Promise<VirtualMachine> {
    if (!['Destroyed', 'Error', 'Expunging', 'Stopped'].includes(vm.state)) {
      throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; destroy it first`, {
        field: 'id',
        value: vm.id,
      });
    }
    const expunging = await this.ctx.write(async (w) => {
      const current = await vmRepo.get(w.db, vm.id);
      await transitionVm(w, current, 'ExpungeOperation', {});
      return vmRepo.get(w.db, vm.id);
    });
    if (vm.lastHostId !== null) {
      const host = await hostRepo.find(this.ctx.db, vm.lastHostId);
      if (host && this.ctx.drivers.hasHypervisor(host.hypervisorType)) {
        await this.ctx.drivers.hypervisor(host.hypervisorType).destroyVm(hostRef(host), vm.instanceName);
      }
    }
    await this.storage.expunge(expunging);
    return this.ctx.write(async (w) => {
      for (const nic of await this.networks.listNics({ vmId: vm.id })) await this.networks.deallocateNic(w, nic.id);
      const deltas = await this.capacity.releaseVm(w, vm.id);
      await leaveAffinityGroups(w, vm.id);
      await w.db.updateTable('vmInstances').set({ removed: w.now }).where('id', '=', vm.id).execute();
      await w.event({
        type: 'VM.EXPUNGE',
        description: `VM ${vm.instanceName} expunged`,
        resourceType: 'VirtualMachine',
        resourceId: vm.id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
      });
      w.afterCommit(() => this.placement.apply(deltas));
      return { ...expunging, removed: new Date(w.now) };
    });
  }

  /**
   * Inserts an ISO into the VM's virtual CD-ROM (CloudStack's `attachIso`): a Running VM gets it at
   * once through its driver, a Stopped one at its next start. The ISO must be visible to the VM's
   * owner and Ready in the VM's zone; a VM holds one ISO at a time.
   */
  async attachIso(id: Ref, isoId: Ref): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    isoId = await templateRepo.resolve(this.ctx.db, isoId, 'isoId');
    return this.runJob(id, 'attachIso', 'ISO.ATTACH', 'attach an ISO to', async (vm) => {
      const iso = await templateRepo.get(this.ctx.db, isoId, 'isoId');
      if (!iso.isIso) throw new InvalidParameterError('isoId', isoId, 'not an ISO');
      if (!(await templateVisible(this.ctx.db, this.ctx.caller, iso, vm.accountId)))
        throw new InvalidParameterError('isoId', isoId, 'the ISO is not visible to the VM owner');
      if (vm.state !== 'Running' && vm.state !== 'Stopped')
        throw new InvalidStateError(
          `VM ${vm.instanceName} is ${vm.state}; an ISO is attached to a Running or Stopped VM`,
          {
            field: 'id',
            value: id,
          },
        );
      if (vm.isoId === iso.id) return vm;
      if (vm.isoId !== null)
        throw new InvalidStateError(`VM ${vm.instanceName} already has an ISO attached; detach it first`, {
          field: 'id',
          value: id,
        });
      const spec = await isoDiskSpec(this.ctx.db, iso, vm.zoneId);
      if (spec === undefined)
        throw new InvalidParameterError('isoId', isoId, 'the ISO is not Ready on secondary storage in the VM zone');
      if (vm.state === 'Running') {
        const host = await hostRepo.get(this.ctx.db, vm.hostId!);
        await this.liveCdrom(host, vm).attachIso(hostRef(host), vm.instanceName, spec);
      }
      return this.setIso(vm, iso, 'ISO.ATTACH');
    });
  }

  /** Ejects the VM's ISO (CloudStack's `detachIso`); a VM without one is left as it is. */
  async detachIso(id: Ref): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.runJob(id, 'detachIso', 'ISO.DETACH', 'detach the ISO of', async (vm) => {
      if (vm.isoId === null) return vm;
      if (vm.state !== 'Running' && vm.state !== 'Stopped')
        throw new InvalidStateError(
          `VM ${vm.instanceName} is ${vm.state}; an ISO is detached from a Running or Stopped VM`,
          {
            field: 'id',
            value: id,
          },
        );
      const iso = await templateRepo.get(this.ctx.db, vm.isoId);
      if (vm.state === 'Running') {
        const host = await hostRepo.get(this.ctx.db, vm.hostId!);
        const spec = (await isoDiskSpec(this.ctx.db, iso, vm.zoneId)) ?? {
          volumeUuid: iso.uuid,
          type: 'ISO' as const,
          deviceId: 3,
          path: '',
          format: 'iso' as const,
          sizeBytes: 0,
          readOnly: true,
        };
        await this.liveCdrom(host, vm).detachIso(hostRef(host), vm.instanceName, spec);
      }
      return this.setIso(vm, null, 'ISO.DETACH', iso);
    });
  }

  /** The driver that changes a running VM's CD-ROM, when it can (`hotPlugDisk`; else UnsupportedError). */
  private liveCdrom(host: Host, vm: VirtualMachine): HypervisorDriver {
    const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
    if (!driver.capabilities().hotPlugDisk)
      throw new UnsupportedError(
        `${host.hypervisorType} cannot change a running VM's CD-ROM; stop VM ${vm.instanceName} first`,
        {
          field: 'id',
          value: vm.id,
        },
      );
    return driver;
  }

  private setIso(
    vm: VirtualMachine,
    iso: Template | null,
    type: 'ISO.ATTACH' | 'ISO.DETACH',
    previous?: Template,
  ): Promise<VirtualMachine> {
    return this.ctx.write(async (w) => {
      await w.db
        .updateTable('vmInstances')
        .set({ isoId: iso?.id ?? null })
        .where('id', '=', vm.id)
        .execute();
      const named = iso ?? previous!;
      await w.event({
        type,
        description: `ISO ${named.name} ${iso ? 'attached to' : 'detached from'} VM ${vm.instanceName}`,
        resourceType: 'VirtualMachine',
        resourceId: vm.id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
        parameters: { isoId: named.id },
      });
      return vmRepo.get(w.db, vm.id);
    });
  }

  /**
   * Live-migrates a running VM to another Up and Enabled host of its cluster (root admin): the
   * destination's capacity is booked first; success releases the source, failure the destination. A driver that
   * does not declare `liveMigration` is refused with `UnsupportedError` before anything changes.
   */
  async migrate(id: Ref, destHostId: Ref): Promise<SubmittedJob<VirtualMachine>> {
    id = await vmRepo.resolve(this.ctx.db, id);
    destHostId = await hostRepo.resolve(this.ctx.db, destHostId, 'destHostId');
    return this.runJob(id, 'migrateVirtualMachine', 'VM.MIGRATE', 'migrate', async (vm) => {
      if (!isRootAdmin(this.ctx.caller))
        throw new PermissionDeniedError('only a root admin may migrate VMs', { field: 'id', value: id });
      if (vm.state !== 'Running')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; only a Running VM migrates`, {
          field: 'id',
          value: id,
        });
      const source = await hostRepo.get(this.ctx.db, vm.hostId!);
      if (!this.ctx.drivers.hypervisor(source.hypervisorType).capabilities().liveMigration)
        throw new UnsupportedError(`the ${source.hypervisorType} driver does not live-migrate VMs`, {
          field: 'id',
          value: id,
        });
      const dest = await hostRepo.get(this.ctx.db, destHostId, 'hostId');
      const offering = await serviceOfferingRepo.get(this.ctx.db, vm.serviceOfferingId);
      this.checkMigrationTarget(source, dest, offeringHostTags(offering));
      const conflict = await dedicationConflict(this.ctx.db, dest, vm);
      if (conflict !== null) throw new InvalidParameterError('hostId', dest.id, conflict);
      const affinity = await vmAffinity(this.ctx.db, vm.id);
      const windowMs = (await this.settings.get('capacity.skipcounting.hours')) * 1000;
      const migrating = await this.ctx.write(async (w) => {
        // The VM's host (anti-)affinity groups, checked against the store with the groups locked.
        await permitAffinity(w, vm.id, affinity.rules, dest.id, windowMs).catch((error: unknown) => {
          if (error instanceof CapacityConflictError) throw new InvalidParameterError('hostId', dest.id, error.message);
          throw error;
        });
        const deltas = await this.capacity.bookMigration(w, {
          vmId: vm.id,
          accountId: vm.accountId,
          destHostId: dest.id,
          demand: demandOf(offering),
          implicitMode: offeringImplicitDedication(offering),
        });
        await transitionVm(w, vm, 'MigrationRequested', {});
        w.afterCommit(() => this.placement.apply(deltas));
        return vmRepo.get(w.db, vm.id);
      });
      const driver = this.ctx.drivers.hypervisor(source.hypervisorType);
      let succeeded = false;
      try {
        await driver.prepareMigration(hostRef(dest), await this.starter.runningSpec(migrating, dest));
        await driver.migrateVm(hostRef(source), vm.instanceName, hostRef(dest), { live: true });
        succeeded = true;
      } finally {
        await this.ctx.write(async (w) => {
          const current = await vmRepo.get(w.db, vm.id);
          const deltas = await this.capacity.finishMigration(w, vm.id, {
            sourceHostId: source.id,
            destHostId: dest.id,
            succeeded,
          });
          await transitionVm(
            w,
            current,
            succeeded ? 'OperationSucceeded' : 'OperationFailed',
            succeeded ? { hostId: dest.id, lastHostId: dest.id } : {},
          );
          if (succeeded)
            await w.event({
              type: 'VM.MIGRATE',
              description: `VM ${vm.instanceName} migrated from ${source.name} to ${dest.name}`,
              resourceType: 'VirtualMachine',
              resourceId: vm.id,
              resourceUuid: vm.uuid,
              accountId: vm.accountId,
              domainId: vm.domainId,
              parameters: { from: source.id, to: dest.id },
            });
          w.afterCommit(() => this.placement.apply(deltas));
        });
      }
      return vmRepo.get(this.ctx.db, vm.id);
    });
  }

  private checkMigrationTarget(source: Host, dest: Host, hostTags: readonly string[]): void {
    if (dest.id === source.id) throw new InvalidParameterError('hostId', dest.id, 'the VM already runs there');
    if (dest.clusterId !== source.clusterId)
      throw new InvalidParameterError('hostId', dest.id, 'live migration stays inside the cluster');
    if (dest.status !== 'Up' || dest.resourceState !== 'Enabled')
      throw new InvalidParameterError('hostId', dest.id, `host ${dest.name} is ${dest.status}/${dest.resourceState}`);
    const missing = hostTags.filter((t) => !dest.hostTags.includes(t));
    if (missing.length > 0)
      throw new InvalidParameterError(
        'hostId',
        dest.id,
        `host ${dest.name} lacks the offering's host tag(s) ${missing.join(', ')}`,
      );
  }

  /** Changes the service offering of a Stopped VM (same storage type, not a system offering). */
  async changeServiceOffering(id: Ref, serviceOfferingId: Ref): Promise<VirtualMachine> {
    id = await vmRepo.resolve(this.ctx.db, id);
    serviceOfferingId = await serviceOfferingRepo.resolve(this.ctx.db, serviceOfferingId, 'serviceOfferingId');
    return this.ctx.write(async (w) => {
      const vm = await vmRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, vm, 'change a VM');
      if (vm.state !== 'Stopped')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; stop it first`, { field: 'id', value: id });
      const current = await serviceOfferingRepo.get(w.db, vm.serviceOfferingId);
      const next = await serviceOfferingRepo.get(w.db, serviceOfferingId, 'serviceOfferingId');
      if (next.state !== 'Active' || next.isSystem)
        throw new InvalidParameterError('serviceOfferingId', serviceOfferingId, 'the offering is not available');
      if (next.storageType !== current.storageType)
        throw new InvalidParameterError(
          'serviceOfferingId',
          serviceOfferingId,
          `the VM uses ${current.storageType} storage; the offering ${next.storageType}`,
        );
      await checkResourceLimits(w, this.settings, vm.accountId, {
        cpu: next.cpuNumber - current.cpuNumber,
        memory: next.memory - current.memory,
      });
      await w.db
        .updateTable('vmInstances')
        .set({ serviceOfferingId: next.id, haEnabled: next.offerHa ? 1 : 0 })
        .where('id', '=', id)
        .execute();
      await vmUsage(w, 'VM.UPGRADE', { ...vm, serviceOfferingId: next.id });
      await w.event({
        type: 'VM.UPGRADE',
        description: `VM ${vm.instanceName} now uses ${next.name}`,
        resourceType: 'VirtualMachine',
        resourceId: id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
        parameters: { from: current.id, to: next.id },
      });
      return vmRepo.get(w.db, id);
    });
  }

  /**
   * Resets the password of a Stopped VM whose template is password-enabled. The new password is
   * returned once and never stored; the VM learns it from its router at the next boot.
   */
  async resetPassword(id: Ref): Promise<{ vm: VirtualMachine; password: string }> {
    id = await vmRepo.resolve(this.ctx.db, id);
    const password = randomBytes(9).toString('base64url');
    const vm = await this.ctx.write(async (w) => {
      const vm = await vmRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, vm, 'reset a VM password');
      if (vm.state !== 'Stopped')
        throw new InvalidStateError(`VM ${vm.instanceName} is ${vm.state}; stop it first`, { field: 'id', value: id });
      const template = vm.templateId === null ? undefined : await templateRepo.find(w.db, vm.templateId);
      if (!template?.passwordEnabled)
        throw new InvalidParameterError('id', id, "the VM's template is not password-enabled");
      const details: VmDetails = { ...(vm.details as VmDetails), passwordPending: true };
      await w.db
        .updateTable('vmInstances')
        .set({ details: json(details) })
        .where('id', '=', id)
        .execute();
      await w.event({
        type: 'VM.RESETPASSWORD',
        description: `password of VM ${vm.instanceName} reset`,
        resourceType: 'VirtualMachine',
        resourceId: id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
      });
      return vmRepo.get(w.db, id);
    });
    return { vm, password };
  }

  /** Replaces the VM's user data (base64); the router serves it at `/latest/user-data`. */
  async updateUserData(id: Ref, userData: string): Promise<VirtualMachine> {
    id = await vmRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const vm = await vmRepo.get(w.db, id);
      await requireAccess(w.db, w.caller, vm, 'update user data');
      checkUserData(userData);
      await w.db
        .updateTable('vmInstances')
        .set({ details: json({ ...(vm.details as VmDetails), userData }) })
        .where('id', '=', id)
        .execute();
      await w.event({
        type: 'VM.UPDATE',
        description: `user data of VM ${vm.instanceName} updated`,
        resourceType: 'VirtualMachine',
        resourceId: id,
        resourceUuid: vm.uuid,
        accountId: vm.accountId,
        domainId: vm.domainId,
      });
      return vmRepo.get(w.db, id);
    });
  }

  /** Runs `body` as a job on the VM, for its owner or an admin over it. */
  private async runJob<R extends VirtualMachine = VirtualMachine>(
    id: number,
    cmd: string,
    eventType: string,
    verb: string,
    body: (vm: VirtualMachine, job: Parameters<Parameters<JobService['submit']>[1]>[0]) => Promise<R>,
  ): Promise<SubmittedJob<R>> {
    const vm = await vmRepo.get(this.ctx.db, id);
    await requireAccess(this.ctx.db, this.ctx.caller, vm, `${verb} a VM`);
    return this.jobs.submit(
      { cmd, info: { id }, instance: this.instance(vm), eventType, description: `${verb} VM ${vm.instanceName}` },
      async (job) => body(await vmRepo.get(this.ctx.db, id), job),
    );
  }

  private instance(vm: VirtualMachine) {
    return { type: 'VirtualMachine' as const, id: vm.id, uuid: vm.uuid };
  }
}

function checkUserData(value: unknown): void {
  if (
    typeof value !== 'string' ||
    value.length > MAX_USER_DATA ||
    !/^[A-Za-z0-9+/]*={0,2}$/.test(value) ||
    value.length % 4 !== 0
  ) {
    throw new InvalidParameterError(
      'userData',
      typeof value === 'string' ? `${value.slice(0, 32)}…` : value,
      `must be base64, at most ${MAX_USER_DATA} characters`,
    );
  }
}

/** Public, featured, own, or (read only then) shared with the owner; a root admin sees every template. */
async function templateVisible(
  db: Db,
  caller: Caller,
  template: Pick<Template, 'id' | 'isPublic' | 'isFeatured' | 'accountId'>,
  ownerId: number,
): Promise<boolean> {
  if (template.isPublic || template.isFeatured || template.accountId === ownerId || isRootAdmin(caller)) return true;
  const { rows } = await runStatement(db, vmDeployTemplatePermission, { templateId: template.id, ownerId });
  return rows.length > 0;
}

const vmDeployClusterOfHypervisor = statement(
  'vm.deploy.clusterOfHypervisor',
  (q, p: { zoneId: number; hypervisorType: string }) =>
    q
      .selectFrom('clusters')
      .select('id')
      .where('zoneId', '=', p.zoneId)
      .where('hypervisorType', '=', p.hypervisorType)
      .where('removed', 'is', null),
);

const vmDeployDefaultIsolatedNetwork = statement(
  'vm.deploy.defaultIsolatedNetwork',
  (q, p: { zoneId: number; ownerId: number }) =>
    q
      .selectFrom('networks')
      .selectAll()
      .where('zoneId', '=', p.zoneId)
      .where('accountId', '=', p.ownerId)
      .where('guestType', '=', 'Isolated')
      .where('vpcId', 'is', null)
      .where('removed', 'is', null)
      .orderBy('id'),
);

const vmDeployTemplatePermission = statement(
  'vm.deploy.templatePermission',
  (q, p: { templateId: number; ownerId: number }) =>
    q
      .selectFrom('templatePermissions')
      .select('accountId')
      .where('templateId', '=', p.templateId)
      .where('accountId', '=', p.ownerId),
);

/** Names a VM just recorded (its instance name needs its id). */
const vmDeploySetName = statement(
  'vm.deploy.setName',
  (q, p: { instanceName: string; hostName: string; displayName: string; id: number }) =>
    q
      .updateTable('vmInstances')
      .set({ instanceName: p.instanceName, hostName: p.hostName, displayName: p.displayName })
      .where('id', '=', p.id),
);
