import type { CapacityService } from '../capacity/capacity-service.js';
import { demandOf } from '../capacity/demand.js';
import type { CloudContext, Writer } from '../context.js';
import type { VmRuntimeState } from '../driver/vm-operations.js';
import { StratusError } from '../errors.js';
import type { Host, VirtualMachine } from '../model/records.js';
import {
  dataObjectInStoreStateMachine,
  networkStateMachine,
  nicStateMachine,
  type VmEvent,
  volumeStateMachine,
} from '../model/state-machines/index.js';
import type { NetworkLayer } from '../network/network-layer.js';
import { type Network, networkRepo } from '../network/records.js';
import { hostRef, hostRepo } from '../resources/hosts.js';
import { offeringImplicitDedication, serviceOfferingRepo } from '../resources/offerings.js';
import { casTransition } from '../store/cas.js';
import type { JobService } from './jobs.js';
import type { ManagementServer } from './management-server.js';
import { getPoolRow, hostsReaching } from './pool-reach.js';
import { poolRef } from './storage-refs.js';
import type { VirtualMachineService } from './virtual-machines.js';
import type { PlacementIndex } from './vm-placement.js';
import { vmRepo } from './vm-records.js';
import { transitionVm } from './vm-transition.js';
import { decodeVolume, type VolumeRecord } from './volume-record.js';
import type { VolumeService } from './volumes.js';

/** Options of {@link Recovery.run}. */
export interface RecoveryOptions {
  /**
   * Treat every other management server as gone, so that all their IN_PROGRESS jobs are orphans
   * (a single-writer deployment, e.g. SQLite, restarting after its only process died). Without it
   * only servers marked Down or silent for `staleAfterMs` count as dead.
   */
  assumeOthersDead?: boolean;
  /** Heartbeat silence after which a server counts as dead (default 60 s). */
  staleAfterMs?: number;
}

/** What one recovery pass did; `unresolved` lists what it could not settle (e.g. an unreachable host). */
export interface RecoveryReport {
  jobsFailed: number;
  vms: Array<{ vmId: number; from: string; to: string; reason: string }>;
  volumes: Array<{ volumeId: number; from: string; to: string }>;
  nics: Array<{ nicId: number; from: string; to: string }>;
  networks: Array<{ networkId: number; from: string; to: string }>;
  templateCopies: number;
  bookingsDropped: number;
  unresolved: Array<{ type: string; id: number; reason: string }>;
}

/** Everything recovery acts through: the services of one cloud. */
export interface RecoveryDeps {
  ctx: CloudContext;
  server: ManagementServer;
  jobs: JobService;
  vms: VirtualMachineService;
  network: NetworkLayer;
  volumes: VolumeService;
  capacity: CapacityService;
  placement: PlacementIndex;
}

/** VM states that hold a `used` booking on their host. */
const USED_STATES = new Set(['Starting', 'Running', 'Stopping', 'Migrating']);
/** Volume states that are mid-operation on a Ready volume and fall back to Ready. */
const VOLUME_BUSY_STATES = ['Resizing', 'Snapshotting', 'RevertSnapshotting', 'Migrating', 'Attaching'];

/**
 * Crash recovery: after a management server died in the middle of operations, brings every entity
 * it touched back to a stable state, asking the hypervisors what is really running, and rebuilds
 * the capacity counters from the bookings of the VMs that hold them — so capacity, IP and VLAN
 * accounting again equal what the VMs hold. Idempotent; run it at start-up (`cloud.recover()`).
 *
 * Order: orphaned jobs failed → VMs in Starting/Stopping/Migrating/Expunging finished or undone (and
 * Running VMs the host reports off marked Stopped) → leftovers of failed deploys (Error VMs)
 * released → volumes stuck mid-operation settled → NICs in Reserving/Releasing settled → networks
 * stuck Implementing/Shutdown returned to Allocated with their VLAN → template pool copies stuck
 * Creating released → bookings no VM state justifies dropped and every host's counters recalculated.
 */
export class Recovery {
  constructor(private readonly deps: RecoveryDeps) {}

  async run(options: RecoveryOptions = {}): Promise<RecoveryReport> {
    const report: RecoveryReport = {
      jobsFailed: 0,
      vms: [],
      volumes: [],
      nics: [],
      networks: [],
      templateCopies: 0,
      bookingsDropped: 0,
      unresolved: [],
    };
    const { ctx } = this.deps;
    if (options.assumeOthersDead) {
      await ctx.db
        .updateTable('managementServers')
        .set({ state: 'Down' })
        .where('msid', '!=', this.deps.server.msid)
        .where('state', '!=', 'Down')
        .execute();
    }
    report.jobsFailed = (await this.deps.jobs.recoverOrphans(options.staleAfterMs)).length;
    this.deps.placement.invalidate();

    // Volumes first: a VM's start or expunge below needs its volumes in a stable state.
    await this.recoverVolumes(report);
    await this.recoverNics(report);
    await this.recoverNetworks(report);
    await this.recoverTemplateCopies(report);

    const vms = await ctx.db
      .selectFrom('vmInstances')
      .select('id')
      .where('removed', 'is', null)
      .where('state', 'in', ['Starting', 'Stopping', 'Migrating', 'Running', 'Expunging', 'Error'])
      .orderBy('id')
      .execute();
    for (const { id } of vms) {
      const vm = await vmRepo.find(ctx.db, Number(id));
      if (!vm) continue;
      try {
        await this.recoverVm(vm, report);
      } catch (error) {
        ctx.logger.warn({ err: error, vm: vm.uuid }, 'recovery could not settle a VM');
        report.unresolved.push({ type: 'VirtualMachine', id: vm.id, reason: message(error) });
      }
    }
    await this.recoverCapacity(report);
    this.deps.placement.invalidate();
    return report;
  }

  // ---- VMs ----

  private async recoverVm(vm: VirtualMachine, report: RecoveryReport): Promise<void> {
    switch (vm.state) {
      case 'Starting':
        return this.recoverStarting(vm, report);
      case 'Stopping':
        return this.recoverStopping(vm, report);
      case 'Migrating':
        return this.recoverMigrating(vm, report);
      case 'Running':
        return this.recoverRunning(vm, report);
      case 'Expunging': {
        const done = await (await this.deps.vms.expunge(vm.id)).result;
        report.vms.push({
          vmId: vm.id,
          from: 'Expunging',
          to: done.removed ? 'Expunged' : done.state,
          reason: 'retry',
        });
        return;
      }
      case 'Error':
        return this.releaseErrorLeftovers(vm);
    }
  }

  /** Starting: running on its host → Running; otherwise the attempt is undone (Stopped, or Error for a failed deploy). */
  private async recoverStarting(vm: VirtualMachine, report: RecoveryReport): Promise<void> {
    const host = vm.hostId === null ? undefined : await hostRepo.find(this.deps.ctx.db, vm.hostId);
    const power = host ? await this.powerOn(host, vm) : 'missing';
    if (power === 'unreachable') {
      report.unresolved.push({ type: 'VirtualMachine', id: vm.id, reason: 'its host cannot be reached' });
      return;
    }
    if (power === 'running' && host) {
      await this.reserveNics(vm, host);
      await this.move(vm, 'AgentReportRunning', { lastHostId: host.id, powerState: 'PowerOn' });
      report.vms.push({ vmId: vm.id, from: 'Starting', to: 'Running', reason: 'running on its host' });
      return;
    }
    if (host) await this.removeFromHost(host, vm);
    const deploy = await this.wasDeploy(vm);
    if (!deploy) {
      // A start of an existing VM: its volumes were created before and stay; NICs and capacity go back.
      await this.releaseNics(vm);
      await this.deps.ctx.write(async (w) => {
        const current = await vmRepo.get(w.db, vm.id);
        if (current.hostId !== null) {
          const deltas = await this.deps.capacity.releaseFailedStart(w, vm.id, current.hostId);
          w.afterCommit(() => this.deps.placement.apply(deltas));
        }
        await transitionVm(w, current, 'OperationFailed', { hostId: null, powerState: 'PowerOff' });
      });
      report.vms.push({ vmId: vm.id, from: 'Starting', to: 'Stopped', reason: 'not running on its host' });
      return;
    }
    // The first start of a deploy: Error, with everything it took released (as a failed deploy).
    await this.deps.ctx.write(async (w) => {
      const current = await vmRepo.get(w.db, vm.id);
      await transitionVm(w, current, 'OperationFailed', { hostId: null, powerState: 'PowerOff' });
      await transitionVm(w, await vmRepo.get(w.db, vm.id), 'OperationFailedToError', {});
    });
    await this.releaseErrorLeftovers(await vmRepo.get(this.deps.ctx.db, vm.id));
    report.vms.push({ vmId: vm.id, from: 'Starting', to: 'Error', reason: 'deploy interrupted before the VM ran' });
  }

  /** Stopping: the host's power state decides — off → Stopped (capacity to reserved), on → Running. */
  private async recoverStopping(vm: VirtualMachine, report: RecoveryReport): Promise<void> {
    const host = vm.hostId === null ? undefined : await hostRepo.find(this.deps.ctx.db, vm.hostId);
    const power = host ? await this.powerOn(host, vm) : 'missing';
    if (power === 'unreachable') {
      report.unresolved.push({ type: 'VirtualMachine', id: vm.id, reason: 'its host cannot be reached' });
      return;
    }
    if (power === 'running' && host) {
      await this.reserveNics(vm, host);
      await this.move(vm, 'AgentReportRunning', { powerState: 'PowerOn' });
      report.vms.push({ vmId: vm.id, from: 'Stopping', to: 'Running', reason: 'still running on its host' });
      return;
    }
    await this.deps.vms.markStopped(vm, 'AgentReportStopped');
    report.vms.push({ vmId: vm.id, from: 'Stopping', to: 'Stopped', reason: 'off on its host' });
  }

  /** Migrating: Running on whichever host has it; the other host's booking is dropped. */
  private async recoverMigrating(vm: VirtualMachine, report: RecoveryReport): Promise<void> {
    const { ctx } = this.deps;
    const bookings = await ctx.db
      .selectFrom('capacityBookings')
      .select(['hostId', 'kind'])
      .where('vmId', '=', vm.id)
      .execute();
    const source = vm.hostId;
    const destId = bookings.map((b) => Number(b.hostId)).find((h) => h !== source);
    const candidates = [source, destId].filter((h): h is number => h !== null && h !== undefined);
    let runningOn: Host | undefined;
    for (const id of candidates) {
      const host = await hostRepo.find(ctx.db, id);
      if (!host) continue;
      const power = await this.powerOn(host, vm);
      if (power === 'unreachable') {
        report.unresolved.push({ type: 'VirtualMachine', id: vm.id, reason: `host ${host.name} cannot be reached` });
        return;
      }
      if (power === 'running') {
        runningOn = host;
        break;
      }
    }
    if (runningOn) {
      const on = runningOn;
      await ctx.write(async (w) => {
        const current = await vmRepo.get(w.db, vm.id);
        for (const id of candidates) {
          if (id === on.id) continue;
          const deltas = await this.deps.capacity.releaseFromHost(w, vm.id, id);
          w.afterCommit(() => this.deps.placement.apply(deltas));
        }
        await transitionVm(w, current, 'AgentReportRunning', {
          hostId: on.id,
          lastHostId: on.id,
          powerState: 'PowerOn',
        });
      });
      report.vms.push({ vmId: vm.id, from: 'Migrating', to: 'Running', reason: `running on host ${on.name}` });
      return;
    }
    // On neither host: the VM is off. Drop the destination's booking; the source's becomes a reservation.
    if (destId !== undefined) {
      await ctx.write(async (w) => {
        const deltas = await this.deps.capacity.releaseFromHost(w, vm.id, destId);
        w.afterCommit(() => this.deps.placement.apply(deltas));
      });
    }
    await this.deps.vms.markStopped(vm, 'AgentReportStopped');
    report.vms.push({ vmId: vm.id, from: 'Migrating', to: 'Stopped', reason: 'running on neither host' });
  }

  /** Running: a VM its host reports off (or missing) is marked Stopped, as the reconciler would. */
  private async recoverRunning(vm: VirtualMachine, report: RecoveryReport): Promise<void> {
    const host = vm.hostId === null ? undefined : await hostRepo.find(this.deps.ctx.db, vm.hostId);
    if (!host) return;
    const power = await this.powerOn(host, vm);
    if (power === 'unreachable' || power === 'running') {
      if (power === 'running') await this.reserveNics(vm, host);
      return;
    }
    await this.deps.vms.markStopped(vm, 'FollowAgentPowerOffReport');
    report.vms.push({ vmId: vm.id, from: 'Running', to: 'Stopped', reason: 'off on its host' });
  }

  /** A VM in Error holds nothing: NICs deallocated, capacity released, volumes removed (finishing a failed deploy). */
  private async releaseErrorLeftovers(vm: VirtualMachine): Promise<void> {
    const { ctx, network } = this.deps;
    await this.releaseNics(vm);
    const nics = await network.networks.listNics({ vmId: vm.id });
    const bookings = await ctx.db.selectFrom('capacityBookings').select('id').where('vmId', '=', vm.id).execute();
    if (nics.length > 0 || bookings.length > 0) {
      await ctx.write(async (w) => {
        for (const nic of nics) await network.networks.deallocateNic(w, nic.id);
        const deltas = await this.deps.capacity.releaseVm(w, vm.id);
        w.afterCommit(() => this.deps.placement.apply(deltas));
      });
    }
    const volumes = await ctx.db
      .selectFrom('volumes')
      .select('id')
      .where('instanceId', '=', vm.id)
      .where('removed', 'is', null)
      .execute();
    if (volumes.length > 0) await this.deps.volumes.releaseVmVolumes(vm.id);
  }

  // ---- volumes, NICs, networks, template copies ----

  private async recoverVolumes(report: RecoveryReport): Promise<void> {
    const { ctx } = this.deps;
    const rows = await ctx.db
      .selectFrom('volumes')
      .selectAll()
      .where('removed', 'is', null)
      .where('state', 'in', ['Creating', 'Expunging', ...VOLUME_BUSY_STATES])
      .execute();
    for (const volume of rows.map((r) => decodeVolume(r))) {
      try {
        if (volume.state === 'Creating') await this.uncreate(volume, report);
        else {
          await ctx.write(async (w) => {
            const r = await this.volumeTransition(w, volume, 'OperationFailed');
            report.volumes.push({ volumeId: volume.id, from: volume.state, to: r });
          });
        }
      } catch (error) {
        report.unresolved.push({ type: 'Volume', id: volume.id, reason: message(error) });
      }
    }
  }

  /** A volume caught in Creating: its half-created disk deleted, allocation released, Allocated again. */
  private async uncreate(volume: VolumeRecord, report: RecoveryReport): Promise<void> {
    const { ctx } = this.deps;
    if (volume.poolId !== null) {
      const pool = await getPoolRow(ctx.db, volume.poolId);
      const host = (await hostsReaching(ctx.db, volume.poolId))[0];
      if (!host) throw new Error(`no Up host reaches pool ${pool.name} to delete the half-created disk`);
      await ctx.drivers.hypervisor(host.hypervisorType).deleteVolume(host.ref, {
        uuid: volume.uuid,
        pool: poolRef(pool),
        ...(volume.path ? { path: volume.path } : {}),
      });
    }
    await ctx.write(async (w) => {
      const deltas = await this.deps.capacity.releaseStorage(w, volume.id);
      w.afterCommit(() => this.deps.placement.apply(deltas));
      const to = await this.volumeTransition(w, volume, 'OperationFailed', {
        poolId: null,
        podId: null,
        path: null,
        format: null,
      });
      report.volumes.push({ volumeId: volume.id, from: 'Creating', to });
    });
  }

  /** NICs caught mid-reservation go back to Allocated; mid-release, on to Allocated. */
  private async recoverNics(report: RecoveryReport): Promise<void> {
    const { ctx } = this.deps;
    const rows = await ctx.db
      .selectFrom('nics')
      .select(['id', 'uuid', 'state', 'updatedCount'])
      .where('removed', 'is', null)
      .where('state', 'in', ['Reserving', 'Releasing'])
      .execute();
    for (const nic of rows) {
      await ctx.write(async (w) => {
        const r = await w.transition({
          table: 'nics',
          id: Number(nic.id),
          machine: nicStateMachine,
          event: nic.state === 'Reserving' ? 'OperationFailed' : 'OperationCompleted',
          expect: { state: nic.state, version: Number(nic.updatedCount) },
          set: { reservationId: null },
          resource: { type: 'Nic', uuid: nic.uuid },
          eventPrefix: 'NIC',
        });
        report.nics.push({ nicId: Number(nic.id), from: nic.state, to: r.to });
      });
    }
  }

  /**
   * Networks caught Implementing (or mid-shutdown) go back to Allocated with their VLAN returned; a
   * source-NAT IP taken by the interrupted implement (a network with no rules on it) is released
   * too, so nothing the attempt took stays taken.
   */
  private async recoverNetworks(report: RecoveryReport): Promise<void> {
    const { ctx, network } = this.deps;
    const rows = await ctx.db
      .selectFrom('networks')
      .select('id')
      .where('removed', 'is', null)
      .where('state', 'in', ['Implementing', 'Shutdown'])
      .execute();
    for (const { id } of rows) {
      const net = await networkRepo.get(ctx.db, Number(id));
      await ctx.write(async (w) => {
        let current: Network = net;
        if (current.state === 'Implementing') {
          await this.networkTransition(w, current, 'OperationFailed');
          current = await networkRepo.get(w.db, net.id);
        }
        if (current.specifiedVlan === null) await network.deps.vlans.release(w, net.id);
        await w.db
          .updateTable('networks')
          .set({ broadcastUri: current.specifiedVlan === null ? null : current.broadcastUri, idleSince: null })
          .where('id', '=', net.id)
          .execute();
        if (net.state === 'Implementing') await this.releaseUnusedSourceNat(w, net.id);
        await this.networkTransition(w, await networkRepo.get(w.db, net.id), 'OperationSucceeded');
      });
      report.networks.push({ networkId: net.id, from: net.state, to: 'Allocated' });
    }
  }

  /** The source-NAT IP of a network that never finished implementing, when no rule uses it. */
  private async releaseUnusedSourceNat(w: Writer, networkId: number): Promise<void> {
    const ips = await w.db
      .selectFrom('ipAllocations')
      .select('id')
      .where('space', '=', 'public')
      .where('networkId', '=', networkId)
      .where('sourceNat', '=', 1)
      .execute();
    for (const ip of ips) {
      const rules = await w.db
        .selectFrom('networkRules')
        .select('id')
        .where('networkId', '=', networkId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (rules) continue;
      await this.deps.network.deps.ips.beginPublicIpRelease(w, Number(ip.id));
      await this.deps.network.deps.ips.completePublicIpRelease(w, Number(ip.id));
    }
  }

  /** Template copies on primary caught Creating lose their claim (Allocated), so the next use copies again. */
  private async recoverTemplateCopies(report: RecoveryReport): Promise<void> {
    const { ctx } = this.deps;
    const rows = await ctx.db
      .selectFrom('templatePoolRefs')
      .select('id')
      .where('state', '=', 'Creating')
      .where('removed', 'is', null)
      .execute();
    for (const { id } of rows) {
      await ctx.write((w) =>
        casTransition(w.db, {
          table: 'templatePoolRefs',
          id: Number(id),
          machine: dataObjectInStoreStateMachine,
          event: 'OperationFailed',
          set: {
            claimedBy: null,
            claimedAt: null,
            errorString: 'the copy was interrupted (management server crash)',
            lastUpdated: w.now,
          },
        }),
      );
      report.templateCopies++;
    }
  }

  // ---- capacity ----

  /**
   * Drops every booking no VM state justifies (a `used` booking needs a VM Starting, Running,
   * Stopping or Migrating on that host; a `reserved` one a Stopped VM), books a running VM that
   * lost its booking, and recalculates every host's counters from the bookings.
   */
  private async recoverCapacity(report: RecoveryReport): Promise<void> {
    const { ctx, capacity } = this.deps;
    await ctx.write(async (w) => {
      const bookings = await w.db
        .selectFrom('capacityBookings')
        .leftJoin('vmInstances', 'vmInstances.id', 'capacityBookings.vmId')
        .select([
          'capacityBookings.vmId as vmId',
          'capacityBookings.hostId as hostId',
          'capacityBookings.kind as kind',
          'vmInstances.state as state',
          'vmInstances.hostId as vmHostId',
          'vmInstances.removed as removed',
        ])
        .execute();
      const held = new Set<number>();
      for (const b of bookings) {
        const vmId = Number(b.vmId);
        const hostId = Number(b.hostId);
        const live = b.state !== null && b.state !== undefined && (b.removed === null || b.removed === undefined);
        const keep =
          live &&
          ((b.kind === 'used' && USED_STATES.has(String(b.state)) && Number(b.vmHostId) === hostId) ||
            (b.kind === 'reserved' && b.state === 'Stopped'));
        if (keep) {
          if (b.kind === 'used') held.add(vmId);
          continue;
        }
        await capacity.releaseFromHost(w, vmId, hostId);
        report.bookingsDropped++;
      }
      // A running VM must hold its host's capacity.
      const running = await w.db
        .selectFrom('vmInstances')
        .select('id')
        .where('state', 'in', [...USED_STATES])
        .where('removed', 'is', null)
        .where('hostId', 'is not', null)
        .execute();
      for (const { id } of running) {
        if (held.has(Number(id))) continue;
        const vm = await vmRepo.get(w.db, Number(id));
        const offering = await serviceOfferingRepo.get(w.db, vm.serviceOfferingId);
        await capacity.bookStart(w, {
          vmId: vm.id,
          accountId: vm.accountId,
          hostId: vm.hostId!,
          demand: demandOf(offering),
          implicitMode: offeringImplicitDedication(offering),
          checkClusterThreshold: false,
          // It runs there already, whatever the host's state now.
          checkEligibility: false,
        });
      }
      await capacity.recalculate(w);
    });
  }

  // ---- helpers ----

  /** The VM's state on a host, or `unreachable` when the host cannot answer. */
  private async powerOn(host: Host, vm: VirtualMachine): Promise<VmRuntimeState | 'unreachable'> {
    const { ctx } = this.deps;
    if (!ctx.drivers.hasHypervisor(host.hypervisorType)) return 'unreachable';
    try {
      return await ctx.drivers.hypervisor(host.hypervisorType).getVmState(hostRef(host), vm.instanceName);
    } catch (error) {
      ctx.logger.warn({ err: error, vm: vm.uuid, host: host.uuid }, 'recovery: getVmState failed');
      return 'unreachable';
    }
  }

  /** Removes a VM that is not running from a host (a half-started definition). */
  private async removeFromHost(host: Host, vm: VirtualMachine): Promise<void> {
    await this.deps.ctx.drivers
      .hypervisor(host.hypervisorType)
      .destroyVm(hostRef(host), vm.instanceName)
      .catch((error: unknown) =>
        this.deps.ctx.logger.warn({ err: error, vm: vm.uuid }, 'recovery: could not remove a half-started VM'),
      );
  }

  /** Re-reserves NICs of a VM found running whose reservation was lost. */
  private async reserveNics(vm: VirtualMachine, host: Host): Promise<void> {
    for (const nic of await this.deps.network.networks.listNics({ vmId: vm.id })) {
      if (nic.state === 'Allocated') await this.deps.network.networks.startNic(nic.id, { podId: host.podId });
    }
  }

  /** Releases the VM's reserved NICs (their addresses stay with them). */
  private async releaseNics(vm: VirtualMachine): Promise<void> {
    for (const nic of await this.deps.network.networks.listNics({ vmId: vm.id })) {
      if (nic.state === 'Reserved') await this.deps.network.networks.stopNic(nic.id);
    }
  }

  /** Whether the VM's last job was its deploy (so a failed first start ends in Error). */
  private async wasDeploy(vm: VirtualMachine): Promise<boolean> {
    const job = await this.deps.ctx.db
      .selectFrom('asyncJobs')
      .select('cmd')
      .where('instanceType', '=', 'VirtualMachine')
      .where('instanceId', '=', vm.id)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    if (job) return job.cmd === 'deployVirtualMachine';
    return vm.lastHostId === null;
  }

  private move(vm: VirtualMachine, event: VmEvent, set: Record<string, unknown>) {
    return this.deps.ctx.write(async (w) => transitionVm(w, await vmRepo.get(w.db, vm.id), event, set));
  }

  private async volumeTransition(
    w: Writer,
    volume: VolumeRecord,
    event: 'OperationFailed',
    set?: Record<string, unknown>,
  ): Promise<string> {
    const r = await w.transition({
      table: 'volumes',
      id: volume.id,
      machine: volumeStateMachine,
      event,
      expect: { state: volume.state, version: volume.updatedCount },
      ...(set ? { set } : {}),
      resource: { type: 'Volume', uuid: volume.uuid, accountId: volume.accountId, domainId: volume.domainId },
      eventPrefix: 'VOLUME',
    });
    return r.to;
  }

  private networkTransition(w: Writer, net: Network, event: 'OperationFailed' | 'OperationSucceeded') {
    return w.transition({
      table: 'networks',
      id: net.id,
      machine: networkStateMachine,
      event,
      expect: { state: net.state, version: net.updatedCount },
      resource: { type: 'Network', uuid: net.uuid, accountId: net.accountId, domainId: net.domainId },
      eventPrefix: 'NETWORK',
    });
  }
}

function message(error: unknown): string {
  if (error instanceof StratusError) return `${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
