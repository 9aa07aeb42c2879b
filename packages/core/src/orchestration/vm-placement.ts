import type { Allocator, Placement } from '../allocation/allocator-contract.js';
import type { VmProfile } from '../allocation/deployment-plan.js';
import type { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityIndex } from '../capacity/capacity-index.js';
import type { CapacityDelta } from '../capacity/capacity-service.js';
import type { ImplicitDedicationMode } from '../capacity/placement-state.js';
import type { CloudContext } from '../context.js';
import { ResourceUnavailableError } from '../errors.js';

/**
 * The in-memory placement index of one cloud: loaded from the store on first use, kept current by
 * replaying the capacity deltas this process commits, and refreshed per host when another process
 * won a race (the store's conditional updates stay the authority).
 *
 * A placement counts in the index from the moment it is made, not only once its booking commits
 * (Kubernetes' "assumed pods"): concurrent placements in this process see each other's capacity and
 * each other's VMs of an account (dispersion, affinity), so they do not pick the same last unit or
 * break a rule the allocator keeps. The booking's committed delta replaces the assumption; a start
 * that gives up {@link forget}s it.
 */
export class PlacementIndex {
  private index: CapacityIndex | undefined;
  private loading: Promise<CapacityIndex> | undefined;
  /** Placements made and not yet booked or given up: the delta counted, and the one that undoes it. */
  private readonly assumed = new Map<number, { hostId: number; delta: CapacityDelta; undo: CapacityDelta }>();

  constructor(
    private readonly ctx: CloudContext,
    readonly allocator: Allocator | undefined,
  ) {}

  async get(): Promise<CapacityIndex> {
    if (this.index) return this.index;
    this.loading ??= CapacityIndex.load(this.ctx.db, { clock: () => this.ctx.clock.now() }).then((index) => {
      this.index = index;
      return index;
    });
    return this.loading;
  }

  /** Forgets the index; the next placement reloads it (after topology changes: hosts, pools, states). */
  invalidate(): void {
    this.index = undefined;
    this.loading = undefined;
    this.assumed.clear();
  }

  /** Replays committed deltas; a VM's booking replaces its assumed placement. */
  apply(deltas: readonly CapacityDelta[]): void {
    for (const d of deltas) if (d.kind === 'host') this.forget(d.vmId);
    this.index?.apply(deltas);
  }

  /** Drops a VM's assumed placement (its start gave up, or its booking committed). */
  forget(vmId: number): void {
    const assumed = this.assumed.get(vmId);
    if (assumed === undefined) return;
    this.assumed.delete(vmId);
    this.index?.apply([assumed.undo]);
  }

  /** Reloads a host's counters from the store; the placements assumed on it stay counted. */
  async refreshHost(hostId: number): Promise<void> {
    const index = this.index;
    if (!index) return;
    const on = [...this.assumed.values()].filter((a) => a.hostId === hostId);
    index.apply(on.map((a) => a.undo));
    await index.refreshHost(this.ctx.db, hostId);
    index.apply(on.map((a) => a.delta));
  }

  /** The index when it is loaded (to change it in place after a commit), else undefined. */
  peek(): CapacityIndex | undefined {
    return this.index;
  }

  /**
   * Asks the allocator for a destination, with the explanation of the choice. Throws
   * PlacementError (533) with the explanation when none fits.
   */
  async place(vmIn: VmProfile, plan: { zoneId: number; hostId?: number; avoid: ExcludeList }): Promise<Placement> {
    if (!this.allocator) {
      throw new ResourceUnavailableError('no allocator is configured: pass one to createCloud({ allocator })', {
        field: 'allocator',
      });
    }
    const index = await this.get();
    if (vmIn.id !== undefined) this.forget(vmIn.id);
    // Where the VM's affinity groups' other members are, as this index (with its assumed placements) sees it.
    const vm = vmIn.affinity?.length
      ? { ...vmIn, affinity: vmIn.affinity.map((r) => ({ ...r, hostIds: index.hostsOfVms(r.vmIds) })) }
      : vmIn;
    const placement = this.allocator.place(index, vm, {
      zoneId: plan.zoneId,
      avoid: plan.avoid,
      ...(plan.hostId !== undefined ? { hostId: plan.hostId } : {}),
    });
    if (vm.id !== undefined) this.assume(index, vm.id, vm, placement.destination.hostId);
    return placement;
  }

  /** Counts the placement in the index until its booking commits or the start gives up. */
  private assume(index: CapacityIndex, vmId: number, vm: VmProfile, hostId: number): void {
    const before = index.bookingsOf(vmId).get(hostId);
    const [delta] = index.bookStart(vmId, vm.accountId, hostId, vm.demand, vm.implicitDedication ?? null);
    if (delta === undefined || delta.kind !== 'host') return;
    const undo: CapacityDelta = {
      kind: 'host',
      hostId,
      vmId,
      accountId: vm.accountId,
      cpuUsed: -delta.cpuUsed,
      cpuReserved: -delta.cpuReserved,
      memoryUsed: -delta.memoryUsed,
      memoryReserved: -delta.memoryReserved,
      booking:
        before === undefined
          ? null
          : {
              kind: before.kind,
              cpu: before.cpu,
              memory: before.memory,
              since: before.since,
              implicitMode: (before as { implicitMode?: ImplicitDedicationMode | null }).implicitMode ?? null,
            },
    };
    this.assumed.set(vmId, { hostId, delta, undo });
  }
}
