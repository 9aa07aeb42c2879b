import type { CloudContext } from '../context.js';
import type { PingReport } from '../driver/host-status.js';
import type { Host, VirtualMachine } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import {
  type HostStatusEvent,
  hostStatusStateMachine,
  type VmEvent,
  vmStateMachine,
} from '../model/state-machines/index.js';
import { hostRef, hostRepo } from '../resources/hosts.js';
import { resolveRefs } from '../resources/ref-resolution.js';
import { zoneRepo } from '../resources/zones.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { VirtualMachineService } from './virtual-machines.js';
import type { PlacementIndex } from './vm-placement.js';
import { vmRepo } from './vm-records.js';

/** What one reconciliation pass did. */
export interface ReconcileReport {
  hosts: Array<{ hostId: number; from: string; to: string }>;
  vms: Array<{ vmId: number; from: string; to: string; powerState: string }>;
}

/**
 * Host reconciliation (spec/resource-model.md §12.2, spec/drivers.md §2.3): pings every host
 * through its driver; a host that answers is Up, one that does not goes to Alert, and one silent
 * for longer than `ping.timeout` × `ping.interval` goes Down. The power states a host reports are
 * reconciled with the VMs core placed there: a VM found powered off goes Stopped (its capacity
 * moving to reserved), one found running goes Running; a VM missing from the report is marked
 * PowerReportMissing and left for the next pass, never stopped on a single report.
 */
export class HostReconciler {
  constructor(
    private readonly ctx: CloudContext,
    private readonly vms: VirtualMachineService,
    private readonly placement: PlacementIndex,
    private readonly settings: SettingsService,
  ) {}

  /** One pass over every host of the cloud (or of one zone). */
  async reconcile(filter: { zoneId?: Ref } = {}): Promise<ReconcileReport> {
    const { zoneId } = await resolveRefs(this.ctx.db, filter, { zoneId: zoneRepo });
    const report: ReconcileReport = { hosts: [], vms: [] };
    const intervalS = await this.settings.get('ping.interval');
    const timeoutFactor = await this.settings.get('ping.timeout');
    const deadMs = intervalS * timeoutFactor * 1000;
    for (const host of await hostRepo.list(this.ctx.db, { zoneId })) {
      if (!this.ctx.drivers.hasHypervisor(host.hypervisorType)) continue;
      if (host.status === 'Removed' || host.status === 'Creating') continue;
      const vms = await vmRepo.list(this.ctx.db, { hostId: host.id });
      let ping: PingReport | undefined;
      try {
        ping = await this.ctx.drivers
          .hypervisor(host.hypervisorType)
          .ping(hostRef(host), { expectedVms: vms.map((v) => v.instanceName) });
      } catch (error) {
        this.ctx.logger.warn({ err: error, host: host.uuid }, 'ping failed');
      }
      if (ping?.reachable) {
        if (host.status === 'Up' || host.status === 'Alert' || host.status === 'Disconnected') {
          await this.hostEvent(host, 'Ping', report);
        } else {
          // A host coming back reconnects: AgentConnected → Connecting, then Ready → Up.
          await this.hostEvent(host, 'AgentConnected', report);
          await this.hostEvent(await hostRepo.get(this.ctx.db, host.id), 'Ready', report);
        }
        for (const vm of vms)
          await this.reconcileVm(vm, ping.vmStates[vm.instanceName]?.powerState ?? 'PowerReportMissing', report);
      } else {
        const silentFor = this.ctx.clock.now() - (host.lastPinged?.getTime() ?? 0);
        await this.hostEvent(host, silentFor > deadMs ? 'HostDown' : 'PingTimeout', report);
      }
    }
    return report;
  }

  private async hostEvent(host: Host, event: HostStatusEvent, report: ReconcileReport): Promise<void> {
    const to = hostStatusStateMachine.next(host.status, event);
    if (to === undefined) return; // e.g. PingTimeout on a Down host: nothing to record
    await this.ctx.write(async (w) => {
      await w.transition({
        table: 'hosts',
        id: host.id,
        machine: hostStatusStateMachine,
        event,
        column: 'status',
        expect: { state: host.status, version: host.updatedCount },
        set: event === 'Ping' || event === 'Ready' ? { lastPinged: w.now } : {},
        resource: { type: 'Host', uuid: host.uuid },
        eventPrefix: 'HOST',
      });
      if (to !== host.status && (to === 'Alert' || to === 'Down')) {
        await w.event({
          type: 'ALERT.COMPUTE.HOST',
          level: 'WARN',
          description: `host ${host.name} is ${to} (${event})`,
          resourceType: 'Host',
          resourceId: host.id,
          resourceUuid: host.uuid,
        });
      }
    });
    if (to !== host.status) {
      report.hosts.push({ hostId: host.id, from: host.status, to });
      await this.placement.refreshHost(host.id);
    }
  }

  /** Follows one VM's reported power state. */
  private async reconcileVm(vm: VirtualMachine, power: string, report: ReconcileReport): Promise<void> {
    if (power === 'PowerOff' && ['Running', 'Stopping', 'Migrating'].includes(vm.state)) {
      const event: VmEvent = 'FollowAgentPowerOffReport';
      if (vmStateMachine.next(vm.state, event) === undefined) return;
      const stopped = await this.vms.markStopped(vm, event);
      report.vms.push({ vmId: vm.id, from: vm.state, to: stopped.state, powerState: power });
      return;
    }
    if (power === 'PowerOn' && vm.state === 'Starting') return; // its start job is still running
    if (power !== vm.powerState) {
      await this.ctx.db.updateTable('vmInstances').set({ powerState: power }).where('id', '=', vm.id).execute();
      report.vms.push({ vmId: vm.id, from: vm.state, to: vm.state, powerState: power });
    }
  }
}
