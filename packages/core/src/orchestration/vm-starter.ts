import { randomBytes } from 'node:crypto';
import type { DeployDestination, VmProfile } from '../allocation/deployment-plan.js';
import { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityConflictError, PlacementError } from '../allocation/placement-error.js';
import type { PlacementExplanation } from '../allocation/placement-explanation.js';
import type { CapacityService } from '../capacity/capacity-service.js';
import { demandOf } from '../capacity/demand.js';
import type { CloudContext, Writer } from '../context.js';
import { DriverError } from '../driver/driver-error.js';
import type { NicSpec, VmSpec } from '../driver/vm-spec.js';
import { ConcurrentModificationError, InsufficientCapacityError, StratusError, UnsupportedError } from '../errors.js';
import type { Host, ServiceOffering, Template, VirtualMachine, Zone } from '../model/records.js';
import type { VmEvent } from '../model/state-machines/index.js';
import type { GuestNetworkService } from '../network/guest-networks.js';
import { type Network, type Nic, networkRepo } from '../network/records.js';
import { hostRef, hostRepo } from '../resources/hosts.js';
import { offeringHostTags, offeringImplicitDedication, serviceOfferingRepo } from '../resources/offerings.js';
import { templateRepo } from '../resources/templates.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { CasResult } from '../store/cas.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Db } from '../store/store.js';
import { permitAffinity, type VmAffinity, vmAffinity } from './affinity-groups.js';
import { attachedIsoSpec } from './iso-disk-spec.js';
import type { JobHandle } from './jobs.js';
import type { PlacementIndex } from './vm-placement.js';
import { vmRepo, vmSpec, vmUsage } from './vm-records.js';
import type { VmStorage, VolumeStartPlan } from './vm-storage.js';
import { transitionVm } from './vm-transition.js';
import type { VolumeRecord } from './volume-record.js';

/** A started VM, with the explanation of the placement that chose its host (when this start placed it). */
export type StartedVm = VirtualMachine & { placement?: PlacementExplanation };

/** The path of a domain (`/`, `/sales/`), read once per start for domain dedications. */
async function domainPathOf(db: Db, domainId: number): Promise<string | null> {
  const { rows } = await executeCached<{ path: string }>(db, 'vm.start.domainPath', [domainId], (q) =>
    q.selectFrom('domains').select('path').where('id', '=', domainId),
  );
  return rows[0]?.path ?? null;
}

/** What one start attempt took, so a failure can give exactly that back. */
interface Attempt {
  destination: DeployDestination;
  host: Host;
  nicsStarted: number[];
  /** The volumes booked for creation (those not yet created are given back). */
  volumes: VolumeStartPlan;
  volumesCreated: number[];
}

export interface StartOptions {
  /**
   * The VM and its offering and template as the caller just read or wrote them (not read again);
   * the deploy that created the VM also knows its volumes and NICs (not read for the first attempt).
   */
  known?: {
    vm: VirtualMachine;
    offering: ServiceOffering;
    template: Template | null;
    volumes?: VolumeRecord[];
    nics?: Nic[];
    zone?: Zone;
    /** The VM's affinity groups as the deploy resolved them (not read again). */
    affinity?: VmAffinity;
  };
  /** Root admin: this host and no other. */
  hostId?: number;
  /** The first start of a new VM: when it fails the VM ends in Error with everything released. */
  firstStart?: boolean;
  job?: JobHandle;
  /**
   * The job's result is the started VM: record the job's success in the Running transaction (one
   * commit instead of two). Only for a job whose body returns what {@link VmStarter.start} returns.
   */
  completeJob?: boolean;
}

/**
 * Starting a VM (spec/operations.md §2.3), in CloudStack's order: plan → reserve capacity →
 * prepare networks (implementing an isolated network at its first VM) → create volumes → start on
 * the host. A failed step gives back what the attempt took, avoids the failing host (or pool,
 * cluster) and plans again, up to `start.retry` attempts with one shared avoid set.
 */
export class VmStarter {
  constructor(
    private readonly ctx: CloudContext,
    private readonly placement: PlacementIndex,
    private readonly capacity: CapacityService,
    private readonly networks: GuestNetworkService,
    private readonly storage: VmStorage,
    private readonly settings: SettingsService,
  ) {}

  async start(vmId: number, options: StartOptions = {}): Promise<StartedVm> {
    const tracer = this.ctx.tracer;
    const loadMark = tracer.mark();
    let vm = options.known?.vm ?? (await vmRepo.get(this.ctx.db, vmId));
    if (vm.state === 'Running') return vm;
    const retries = await this.settings.get('start.retry');
    const offering = options.known?.offering ?? (await serviceOfferingRepo.get(this.ctx.db, vm.serviceOfferingId));
    const template =
      options.known !== undefined
        ? options.known.template
        : vm.templateId === null
          ? null
          : ((await templateRepo.find(this.ctx.db, vm.templateId)) ?? null);
    // What the caller knows serves the first attempt; a failed attempt changes them.
    let knownVolumes = options.known?.volumes;
    let knownNics = options.known?.nics;
    const avoid = new ExcludeList();
    // Affinity groups and explicit dedication: the owner's domain path and the VM's groups.
    const affinity = options.known?.affinity ?? (await vmAffinity(this.ctx.db, vm.id));
    const domainPath = await domainPathOf(this.ctx.db, vm.domainId);
    const affinityWindowMs =
      affinity.rules.length > 0 ? (await this.settings.get('capacity.skipcounting.hours')) * 1000 : 0;
    tracer.step('start.load', loadMark);
    let lastError: unknown;
    // Bookings lost to another process's commit: re-planned without spending an attempt (bounded).
    let lostRaces = 0;
    let explanation: PlacementExplanation | undefined;
    // Why the last attempt that reached a host failed (not a capacity refusal): reported with the
    // final placement failure, whose explanation only says the host was avoided.
    let attemptFailure: unknown;

    for (let attempt = 1; attempt <= retries; attempt++) {
      if (options.job?.signal.aborted) {
        this.placement.forget(vm.id);
        throw options.job.signal.reason;
      }
      await options.job?.progress(((attempt - 1) * 100) / retries, `attempt ${attempt}: planning`);
      let mark = tracer.mark();
      // Read once per attempt (a failed attempt gives volumes back): for placement and staging.
      const vmVolumes = knownVolumes ?? (await this.storage.volumesOf(vm));
      knownVolumes = undefined;
      const profile: VmProfile = {
        id: vm.id,
        accountId: vm.accountId,
        domainId: vm.domainId,
        type: vm.type,
        demand: demandOf(offering),
        hostTags: offeringHostTags(offering),
        implicitDedication: offeringImplicitDedication(offering),
        hypervisorType: vm.hypervisorType,
        osCategory: template?.osCategory ?? null,
        requiresHvm: template?.requiresHvm ?? true,
        lastHostId: vm.lastHostId,
        disks: await this.storage.diskProfiles(this.ctx.db, vm, offering, vmVolumes),
        ...(domainPath !== null ? { domainPath } : {}),
        ...(affinity.strictDedication ? { strictDedication: true } : {}),
        ...(affinity.rules.length > 0 ? { affinity: affinity.rules } : {}),
      };
      let destination: DeployDestination;
      try {
        const placed = await this.placement.place(profile, {
          zoneId: vm.zoneId,
          avoid,
          ...(options.hostId !== undefined ? { hostId: options.hostId } : {}),
        });
        destination = placed.destination;
        explanation = placed.explanation;
      } catch (error) {
        lastError =
          attemptFailure !== undefined && error instanceof PlacementError
            ? new PlacementError(error.explanation, error.scope, undefined, attemptFailure)
            : error;
        break; // nothing fits: more attempts would plan the same
      }
      tracer.step('start.placement', mark);

      // Storage checks and template staging, outside any transaction (staging may copy the template).
      mark = tracer.mark();
      let volumes: VolumeStartPlan;
      let host: Host;
      try {
        host = await hostRepo.get(this.ctx.db, destination.hostId);
        volumes = await this.storage.plan(vm, destination, { host, volumes: vmVolumes, template });
      } catch (error) {
        lastError = attemptFailure = error;
        if (isUnsupported(error)) break; // no other host or pool of this hypervisor can do it either
        avoidScope(avoid, error, destination);
        if (options.job?.signal.aborted) break;
        continue;
      }
      tracer.step('start.stage', mark);

      // Book the host's capacity with the state change, and reserve the NICs of implemented
      // networks and book the volumes' space: one transaction, all or nothing.
      mark = tracer.mark();
      const nics = knownNics ?? (await this.networks.listNics({ vmId: vm.id }));
      knownNics = undefined;
      let booked: { vm: VirtualMachine; reserved: Map<number, { nic: Nic; network: Network }> };
      try {
        booked = await this.ctx.write(async (w) => {
          const deltas = await this.capacity.bookStart(w, {
            vmId: vm.id,
            accountId: vm.accountId,
            hostId: destination.hostId,
            demand: profile.demand,
            implicitMode: profile.implicitDedication ?? null,
          });
          // Affinity re-checked against the store, the VM's groups locked (CloudStack's finalize check).
          if (affinity.rules.length > 0)
            await permitAffinity(w, vm.id, affinity.rules, destination.hostId, affinityWindowMs);
          const set = { hostId: destination.hostId, podIdToDeployIn: destination.podId };
          const moved = await this.transitionLatest(
            w,
            vm,
            (state) => (state === 'Starting' ? 'OperationRetry' : 'StartRequested'),
            set,
          );
          w.afterCommit(() => {
            this.placement.forget(vm.id);
            this.placement.apply(deltas);
          });
          const reserved = new Map<number, { nic: Nic; network: Network }>();
          for (const nic of nics) {
            const r = await this.networks.reserveNicIfImplemented(w, nic, { podId: host.podId });
            if (r !== null) reserved.set(nic.id, r);
          }
          await this.storage.book(w, volumes);
          // Inside the transaction (the job handle writes through ctx.db): one commit, not two.
          await options.job?.progress(
            ((attempt - 1) * 100 + 30) / retries,
            `attempt ${attempt}: networks on ${host.name}`,
          );
          return { vm: moved, reserved };
        });
      } catch (error) {
        // Nothing was booked. Out of room (host, pool, addresses): try elsewhere; anything else ends the start.
        this.placement.forget(vm.id);
        if (!(error instanceof InsufficientCapacityError)) throw error;
        lastError = error;
        if (error instanceof CapacityConflictError && error.resource === 'host') {
          // The store refused what this process's index believed: another process took the
          // host's capacity since, or the host became ineligible (the placement epoch makes the
          // next plan see that). Re-read the host and plan again without spending an attempt; a
          // host that still fits may be chosen again, an ineligible one is avoided.
          await this.placement.refreshHost(destination.hostId);
          if (!LOST_CAPACITY.has(error.reason)) avoidScope(avoid, error, destination);
          if (options.job?.signal.aborted) break;
          if (++lostRaces <= MAX_LOST_RACES) attempt--;
          continue;
        }
        avoidScope(avoid, error, destination);
        if (options.job?.signal.aborted) break;
        continue;
      }
      vm = booked.vm;
      tracer.step('start.capacity', mark);

      const taken: Attempt = {
        destination,
        host,
        nicsStarted: [...booked.reserved.keys()],
        volumes,
        volumesCreated: [],
      };
      try {
        mark = tracer.mark();
        const nicSpecs = await this.prepareNetworks(vm, nics, booked.reserved, host, taken, options.known?.zone);
        tracer.step('start.network', mark);
        await options.job?.progress(((attempt - 1) * 100 + 60) / retries, `attempt ${attempt}: volumes`);
        mark = tracer.mark();
        const { disks, created } = await this.storage.create(volumes, host);
        taken.volumesCreated = created;
        const iso = await attachedIsoSpec(this.ctx.db, vm, template);
        if (iso !== undefined) disks.push(iso);
        tracer.step('start.volumes', mark);
        await options.job?.progress(
          ((attempt - 1) * 100 + 80) / retries,
          `attempt ${attempt}: starting on ${host.name}`,
        );
        const driver = this.ctx.drivers.hypervisor(host.hypervisorType);
        const vnc = randomBytes(6).toString('base64url');
        mark = tracer.mark();
        await driver.startVm(
          hostRef(host),
          vmSpec(vm, offering, template, disks, nicSpecs, vnc),
          options.job ? { signal: options.job.signal } : {},
        );
        tracer.step('start.driver', mark);
        mark = tracer.mark();
        const running = await this.ctx.write(async (w) => {
          const set = { lastHostId: host.id, powerState: 'PowerOn' as const };
          const started = await this.transitionLatest(w, vm, () => 'OperationSucceeded', set);
          await vmUsage(w, 'VM.START', started);
          await w.event({
            type: 'VM.START',
            description: `VM ${vm.instanceName} started on ${host.name}`,
            resourceType: 'VirtualMachine',
            resourceId: vm.id,
            resourceUuid: vm.uuid,
            accountId: vm.accountId,
            domainId: vm.domainId,
            parameters: { hostId: host.id },
          });
          const result: StartedVm = explanation ? { ...started, placement: explanation } : started;
          if (options.completeJob) await options.job?.succeedIn?.(w, result);
          return result;
        });
        tracer.step('start.running', mark);
        return running;
      } catch (error) {
        lastError = attemptFailure = error;
        this.ctx.logger.warn(
          { err: error, vm: vm.uuid, host: host.uuid, attempt },
          'start attempt failed; releasing and re-planning',
        );
        await this.giveBack(vm, taken);
        vm = await vmRepo.get(this.ctx.db, vm.id);
        if (isUnsupported(error)) break; // reported as itself, never as insufficient capacity
        avoidScope(avoid, error, destination);
        if (options.job?.signal.aborted) break;
      }
    }
    return this.failed(vm, lastError, options);
  }

  /**
   * The NICs' network part of a start: a NIC reserved in the booking transaction is handed to its
   * network's elements; any other first has its network implemented (its first VM) and is reserved.
   * Describes them for the driver.
   */
  private async prepareNetworks(
    vm: VirtualMachine,
    nics: readonly Nic[],
    reserved: ReadonlyMap<number, { nic: Nic; network: Network }>,
    host: Host,
    taken: Attempt,
    zone: Zone | undefined,
  ): Promise<NicSpec[]> {
    const specs: NicSpec[] = [];
    for (const nic of nics) {
      const done = reserved.get(nic.id);
      if (done !== undefined) {
        await this.networks.prepareReservedNic(done.nic, done.network, vm.hostName, zone);
        specs.push(await this.nicSpec(done.nic, host, done.network));
      } else {
        taken.nicsStarted.push(nic.id);
        specs.push(await this.nicSpec(await this.networks.startNic(nic.id, { podId: host.podId }), host));
      }
    }
    return specs.sort((a, b) => a.deviceId - b.deviceId);
  }

  /**
   * The start spec of a VM that already runs (its NICs reserved, its volumes created), as the
   * destination of a live migration needs it.
   */
  async runningSpec(vm: VirtualMachine, host: Host): Promise<VmSpec> {
    const offering = await serviceOfferingRepo.get(this.ctx.db, vm.serviceOfferingId);
    const template = vm.templateId === null ? null : ((await templateRepo.find(this.ctx.db, vm.templateId)) ?? null);
    const nics: NicSpec[] = [];
    for (const nic of await this.networks.listNics({ vmId: vm.id })) nics.push(await this.nicSpec(nic, host));
    const disks = await this.storage.diskSpecs(vm, host);
    const iso = await attachedIsoSpec(this.ctx.db, vm, template);
    if (iso !== undefined) disks.push(iso);
    return vmSpec(
      vm,
      offering,
      template,
      disks,
      nics.sort((a, b) => a.deviceId - b.deviceId),
      '',
    );
  }

  private async nicSpec(nic: Nic, host: Host, network?: Network): Promise<NicSpec> {
    const net = network ?? (await networkRepo.get(this.ctx.db, nic.networkId));
    return {
      deviceId: nic.deviceId,
      mac: nic.macAddress,
      ...(nic.ip4Address ? { ip: nic.ip4Address } : {}),
      ...(nic.netmask ? { netmask: nic.netmask } : {}),
      ...(nic.gateway ? { gateway: nic.gateway } : {}),
      isDefault: nic.isDefault,
      trafficType: 'Guest',
      trafficLabel: await this.trafficLabel(net.physicalNetworkId, host.hypervisorType),
      broadcastUri: nic.broadcastUri ?? 'vlan://untagged',
      ...(nic.isolationUri ? { isolationUri: nic.isolationUri } : {}),
    };
  }

  private async trafficLabel(physicalNetworkId: number, hypervisor: string): Promise<string> {
    const { rows } = await executeCached<{ labels: string }>(
      this.ctx.db,
      'vm.start.trafficLabel',
      [physicalNetworkId, 'Guest'],
      (q) =>
        q
          .selectFrom('physicalNetworkTrafficTypes')
          .select('labels')
          .where('physicalNetworkId', '=', physicalNetworkId)
          .where('trafficType', '=', 'Guest'),
    );
    const row = rows[0];
    const labels = row ? (JSON.parse(row.labels) as Record<string, string>) : {};
    return labels[hypervisor] ?? '';
  }

  /** Gives back what a failed attempt took: the host's VM, its volumes, NIC reservations, capacity. */
  private async giveBack(vm: VirtualMachine, taken: Attempt): Promise<void> {
    const driver = this.ctx.drivers.hypervisor(taken.host.hypervisorType);
    await driver.destroyVm(hostRef(taken.host), vm.instanceName).catch((error: unknown) => {
      this.ctx.logger.warn({ err: error, vm: vm.uuid }, 'could not remove a half-started VM from its host');
    });
    await this.storage.cancel(taken.volumes);
    if (taken.volumesCreated.length > 0) await this.storage.undoPrepare(taken.volumesCreated);
    for (const nicId of taken.nicsStarted.reverse()) {
      await this.networks.stopNic(nicId).catch(async (error: unknown) => {
        // A NIC whose reservation never completed is still Allocated: nothing to release.
        if (!(error instanceof StratusError && error.code === 'NO_TRANSITION')) throw error;
      });
    }
    await this.ctx.write(async (w) => {
      const deltas = await this.capacity.releaseFailedStart(w, vm.id, taken.host.id);
      w.afterCommit(() => this.placement.apply(deltas));
    });
  }

  /** Retries exhausted (or nothing fits): Starting → Stopped, or a new VM → Error with everything released. */
  private async failed(vm: VirtualMachine, error: unknown, options: StartOptions): Promise<never> {
    this.placement.forget(vm.id);
    await this.ctx.write(async (w) => {
      const current = await vmRepo.get(w.db, vm.id);
      if (current.state === 'Starting')
        await transitionVm(w, current, 'OperationFailed', { hostId: null, powerState: 'PowerOff' });
      if (options.firstStart) {
        const stopped = await vmRepo.get(w.db, vm.id);
        await transitionVm(w, stopped, 'OperationFailedToError', {});
      }
    });
    if (error instanceof StratusError) throw error;
    throw new InsufficientCapacityError(
      `could not start VM ${vm.instanceName}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  /**
   * Moves the VM as this start last wrote it, without reading it again; if it has changed since
   * (another writer touched the row), moves the row as it is now, read in `w`'s transaction.
   * Returns the VM as the transition left it.
   */
  private async transitionLatest(
    w: Writer,
    vm: VirtualMachine,
    eventOf: (state: VirtualMachine['state']) => VmEvent,
    set: Partial<VirtualMachine>,
  ): Promise<VirtualMachine> {
    let current = vm;
    let moved: CasResult<VirtualMachine['state']>;
    try {
      moved = await transitionVm(w, current, eventOf(current.state), set);
    } catch (error) {
      if (!(error instanceof ConcurrentModificationError)) throw error;
      current = await vmRepo.get(w.db, vm.id);
      moved = await transitionVm(w, current, eventOf(current.state), set);
    }
    return { ...current, ...set, state: moved.to, updatedCount: moved.version };
  }
}

/**
 * Whether a failure says the hypervisor cannot do this at all (`DriverError` `Unsupported`, `UnsupportedError`):
 * re-planning onto another host of the same hypervisor would fail the same way, and the caller must hear the
 * real reason (drivers.md §1), not insufficient capacity.
 */
function isUnsupported(error: unknown): boolean {
  return DriverError.is(error, 'Unsupported') || error instanceof UnsupportedError;
}

/** A booking refused for these reasons lost a race for capacity; the host is re-read, not avoided. */
const LOST_CAPACITY: ReadonlySet<string> = new Set(['INSUFFICIENT_CPU', 'INSUFFICIENT_MEMORY']);

/**
 * How many bookings one start may lose to other processes before they count as attempts: each one
 * means another start made progress, so this bounds the loop, not the throughput.
 */
const MAX_LOST_RACES = 64;

/** Puts the scope a failure blames into the avoid set: the pool, cluster or host; by default the host. */
function avoidScope(avoid: ExcludeList, error: unknown, destination: DeployDestination): void {
  if (error instanceof CapacityConflictError) {
    // A booking that found the host, pool or cluster full: that one, for the reason it gave.
    const { resource, resourceId, reason } = error;
    if (resource === 'host') avoid.addHost(resourceId, reason);
    else if (resource === 'pool') avoid.addPool(resourceId, reason);
    else avoid.addCluster(resourceId, reason);
    return;
  }
  const kind = error instanceof DriverError ? error.scope?.kind : undefined;
  if (kind === 'pool') {
    for (const poolId of destination.pools.values()) avoid.addPool(poolId, 'AVOIDED_AFTER_FAILURE');
    return;
  }
  if (kind === 'cluster') {
    avoid.addCluster(destination.clusterId, 'AVOIDED_AFTER_FAILURE');
    return;
  }
  if (error instanceof PlacementError) return;
  avoid.addHost(destination.hostId, 'AVOIDED_AFTER_FAILURE');
}
