import type { Allocator, Placement } from '../allocation/allocator-contract.js';
import type { VmProfile } from '../allocation/deployment-plan.js';
import type { ExcludeList } from '../allocation/exclude-list.js';
import { PlacementError } from '../allocation/placement-error.js';
import { CapacityIndex } from '../capacity/capacity-index.js';
import type { CapacityDelta } from '../capacity/capacity-service.js';
import { readPlacementEpoch } from '../capacity/placement-epoch.js';
import type { ImplicitDedicationMode } from '../capacity/placement-state.js';
import type { CloudContext } from '../context.js';
import { ResourceUnavailableError } from '../errors.js';

/** A placement made and not yet booked or given up, as counted in the index. */
interface Assumed {
  hostId: number;
  accountId: number;
  demand: VmProfile['demand'];
  implicitMode: ImplicitDedicationMode | null;
  /** The VM's booking on the host before the placement (`null`: none), restored when it is forgotten. */
  before: CapacityDelta & { kind: 'host' };
}

/** How often (ms) the index re-reads the capacity other processes booked and released. */
export const CAPACITY_POLL_MS = 1000;

/**
 * How far back (ms) a capacity poll re-reads: a transaction stamps the rows it changes with its start
 * time and commits later, and the clocks of processes sharing a store differ a little.
 */
const CAPACITY_POLL_MARGIN_MS = 10_000;

/**
 * The in-memory placement index of one cloud: loaded from the store, kept current by replaying the
 * capacity deltas this process commits, refreshed per host when another process won a race (the
 * store's conditional updates stay the authority), and reloaded whenever the store's placement
 * epoch moved (readPlacementEpoch): every change that affects placement — made by this process,
 * another one sharing the store, or by hand — is seen by the next placement. Capacity booked and
 * released by other processes is re-read at most {@link CAPACITY_POLL_MS} apart, and at once when
 * a placement finds no room.
 *
 * A placement counts in the index from the moment it is made, not only once its booking commits
 * (Kubernetes' "assumed pods"): concurrent placements in this process see each other's capacity and
 * each other's VMs of an account (dispersion, affinity), so they do not pick the same last unit or
 * break a rule the allocator keeps. The booking's committed delta replaces the assumption; a start
 * that gives up {@link forget}s it. A reload keeps both: deltas committed while the new index was
 * loading are replayed on it (replaying is idempotent), and assumed placements are counted again.
 */
export class PlacementIndex {
  private index: CapacityIndex | undefined;
  /** The epoch `index` was loaded at. */
  private epoch = -1;
  private loading: { epoch: number; promise: Promise<CapacityIndex> } | undefined;
  /** Deltas committed while a reload is under way, replayed on the new index. */
  private readonly pending = new Set<CapacityDelta[]>();
  private readonly assumed = new Map<number, Assumed>();
  /** The last capacity poll (or load): the cloud clock's time (as rows are stamped) and the monotonic one. */
  private polled = { clock: 0, monotonic: Number.NEGATIVE_INFINITY };
  private polling: Promise<void> | undefined;
  /** Whether the store reports this process's commits to the placement epoch ({@link watchEpoch}). */
  private epochWatched = false;
  /** Set when this process committed a change to the placement epoch since it was last read. */
  private epochMoved = false;

  constructor(
    private readonly ctx: CloudContext,
    readonly allocator: Allocator | undefined,
  ) {}

  /**
   * The index, reloaded first when the store's placement epoch moved since it was loaded, with the
   * capacity other processes changed re-read when the last look is {@link CAPACITY_POLL_MS} old.
   * Where the store tells this process of its own commits to the epoch (the embedded store), the
   * epoch is read only after such a commit and with each capacity poll (another process's change is
   * seen within {@link CAPACITY_POLL_MS}); elsewhere before every placement. `force` reads it and
   * polls capacity now.
   */
  async get(force = false): Promise<CapacityIndex> {
    const pollDue = force || performance.now() - this.polled.monotonic >= CAPACITY_POLL_MS;
    let index = this.index;
    if (index === undefined || pollDue || this.epochMoved || !this.watchEpoch()) {
      // Cleared before the read: a commit that moves the epoch from here on raises it again.
      this.epochMoved = false;
      const epoch = await readPlacementEpoch(this.ctx.db);
      index = this.index !== undefined && epoch === this.epoch ? this.index : await this.reload(epoch);
    }
    if (pollDue) await this.pollCapacity(index);
    return index;
  }

  /** Whether this process's own commits to the placement epoch are reported to it (registers once). */
  private watchEpoch(): boolean {
    this.epochWatched ||= this.ctx.store.watchWrites('placement_epoch', () => {
      this.epochMoved = true;
    });
    return this.epochWatched;
  }

  /** Loads the index at `epoch` (one load at a time), keeping what this process commits meanwhile. */
  private reload(epoch: number): Promise<CapacityIndex> {
    if (this.loading && this.loading.epoch >= epoch) return this.loading.promise;
    const replay: CapacityDelta[] = [];
    this.pending.add(replay);
    const polled = { clock: this.ctx.clock.now(), monotonic: performance.now() };
    const promise = CapacityIndex.load(this.ctx.db, { clock: () => this.ctx.clock.now() }).then(
      (fresh) => {
        this.pending.delete(replay);
        fresh.apply(replay);
        if (epoch >= this.epoch) {
          for (const [vmId, a] of this.assumed) this.assume(fresh, vmId, a);
          this.index = fresh;
          this.epoch = epoch;
          this.polled = polled;
        }
        if (this.loading?.promise === promise) this.loading = undefined;
        return this.index!;
      },
      (error: unknown) => {
        this.pending.delete(replay);
        if (this.loading?.promise === promise) this.loading = undefined;
        throw error;
      },
    );
    this.loading = { epoch, promise };
    return promise;
  }

  /**
   * Re-reads the bookings of hosts (and allocations of pools) changed since the last poll, keeping
   * what this process committed meanwhile and the placements it assumed.
   */
  private pollCapacity(index: CapacityIndex): Promise<void> {
    this.polling ??= (async () => {
      const polled = { clock: this.ctx.clock.now(), monotonic: performance.now() };
      const replay: CapacityDelta[] = [];
      this.pending.add(replay);
      try {
        const hostIds = new Set(await index.refreshCapacity(this.ctx.db, this.polled.clock - CAPACITY_POLL_MARGIN_MS));
        index.apply(replay);
        for (const [vmId, a] of this.assumed) if (hostIds.has(a.hostId)) this.assume(index, vmId, a);
        this.polled = polled;
      } finally {
        this.pending.delete(replay);
      }
    })().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  /** Forgets the index; the next placement reloads it (crash recovery rewrote the bookings). */
  invalidate(): void {
    this.index = undefined;
    this.epoch = -1;
    this.loading = undefined;
    this.assumed.clear();
  }

  /** Replays committed deltas; a VM's booking replaces its assumed placement. */
  apply(deltas: readonly CapacityDelta[]): void {
    for (const replay of this.pending) replay.push(...deltas);
    const index = this.index;
    for (const d of deltas) {
      const assumed = d.kind === 'host' ? this.assumed.get(d.vmId) : undefined;
      if (assumed !== undefined && d.kind === 'host') {
        this.assumed.delete(d.vmId);
        // Booked as it was assumed: the index already counts exactly this booking.
        if (assumed.hostId === d.hostId && d.booking !== null && index?.holds(d.vmId, d.hostId, d.booking)) continue;
        index?.apply([assumed.before]);
      }
      index?.apply([d]);
    }
  }

  /** Drops a VM's assumed placement (its start gave up, or its booking committed). */
  forget(vmId: number): void {
    const assumed = this.assumed.get(vmId);
    if (assumed === undefined) return;
    this.assumed.delete(vmId);
    this.index?.apply([assumed.before]);
  }

  /** Reloads a host's state and bookings from the store; the placements assumed on it stay counted. */
  async refreshHost(hostId: number): Promise<void> {
    const index = this.index;
    if (!index) return;
    await index.refreshHost(this.ctx.db, hostId);
    for (const [vmId, a] of this.assumed) if (a.hostId === hostId) this.assume(index, vmId, a);
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
    const before = this.polled.monotonic;
    let index = await this.get();
    if (vmIn.id !== undefined) this.forget(vmIn.id);
    const request = {
      zoneId: plan.zoneId,
      avoid: plan.avoid,
      ...(plan.hostId !== undefined ? { hostId: plan.hostId } : {}),
    };
    // Where the VM's affinity groups' other members are, as this index (with its assumed placements) sees it.
    const withAffinity = (index: CapacityIndex): VmProfile =>
      vmIn.affinity?.length
        ? { ...vmIn, affinity: vmIn.affinity.map((r) => ({ ...r, hostIds: index.hostsOfVms(r.vmIds) })) }
        : vmIn;
    let vm = withAffinity(index);
    let placement: Placement;
    try {
      placement = this.allocator.place(index, vm, request);
    } catch (error) {
      // No room as this process last saw it: re-read the epoch and what other processes released, then decide.
      if (!(error instanceof PlacementError) || this.polled.monotonic !== before) throw error;
      index = await this.get(true);
      vm = withAffinity(index);
      placement = this.allocator.place(index, vm, request);
    }
    if (vm.id !== undefined) {
      this.assume(index, vm.id, {
        hostId: placement.destination.hostId,
        accountId: vm.accountId,
        demand: vm.demand,
        implicitMode: vm.implicitDedication ?? null,
      });
    }
    return placement;
  }

  /** Counts a placement in `index` until its booking commits or the start gives up. */
  private assume(index: CapacityIndex, vmId: number, a: Omit<Assumed, 'before'>): void {
    const held = index.bookingsOf(vmId).get(a.hostId);
    const before: Assumed['before'] = {
      kind: 'host',
      hostId: a.hostId,
      vmId,
      accountId: a.accountId,
      cpuUsed: 0,
      cpuReserved: 0,
      memoryUsed: 0,
      memoryReserved: 0,
      booking:
        held === undefined
          ? null
          : { kind: held.kind, cpu: held.cpu, memory: held.memory, since: held.since, implicitMode: held.implicitMode },
    };
    index.bookStart(vmId, a.accountId, a.hostId, a.demand, a.implicitMode);
    this.assumed.set(vmId, { ...a, before });
  }
}
