import type { CloudContext, Writer } from '../context.js';
import {
  DuplicateError,
  InsufficientCapacityError,
  InvalidParameterError,
  NotFoundError,
  ResourceInUseError,
} from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { VlanRange } from '../model/records.js';
import type { Ref, Resolved } from '../model/ref.js';
import { requireInteger } from '../model/validate.js';
import { applyPaging, listPaging } from '../resources/list-paging.js';
import { requireRootAdmin } from '../resources/permissions.js';
import { physicalNetworkRepo } from '../resources/physical-networks.js';
import { resolveOptionalRef, resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { guestVlanDedicationRefs } from '../resources/ref-tables.js';
import { accountRepo } from '../resources/tenancy.js';
import { SettingsService } from '../settings/settings-service.js';
import { decoder } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { FreeBitmap } from './free-bitmap.js';
import type { PickStrategy, RandomSource } from './random.js';
import type { PoolUsage } from './records.js';

/** A VLAN (vnet) held by a guest network. */
export interface GuestVlan {
  id: number;
  physicalNetworkId: number;
  zoneId: number;
  vnet: number;
  networkId: number;
  accountId: number;
  taken: Date;
}

/** A sub-range of a physical network's guest VLANs dedicated to one account (§3.1). */
export interface GuestVlanDedication {
  id: number;
  uuid: string;
  physicalNetworkId: number;
  zoneId: number;
  startVnet: number;
  endVnet: number;
  accountId: number;
  domainId: number;
  created: Date;
  removed: Date | null;
}

/** A request for a guest VLAN of a physical network's pool for one network of one account. */
export interface TakeGuestVlanRequest {
  physicalNetworkId: number;
  networkId: number;
  /** The network's owner: the VLAN is never handed to another account while held. */
  accountId: number;
  /** A specific VLAN of the pool (must be free and not dedicated to another account). */
  vnet?: number;
}

/** How the guest VLAN pool picks a free VLAN (random by default, as CloudStack 4.x does). */
export interface GuestVlanServiceOptions {
  /** `random` (default, CloudStack 4.x) or `sequential` (lowest free, 2.2) — spec §3.3. */
  strategy?: PickStrategy;
  random?: RandomSource;
}

const decodeVlan = decoder<GuestVlan>({ date: ['taken'] });
const decodeDedication = decoder<GuestVlanDedication>({});

/**
 * Guest VLAN pools (spec/networking.md §3): the pool of a physical network is its `vlanRanges`;
 * a taken VLAN is one `guest_vlans` row, unique per (physical network, vnet) and per network, so
 * a VLAN belongs to one network — hence one account — at a time, across processes (pitfall 2).
 * Networks take their VLAN lazily at implement ({@link take}) and give it back at shutdown / GC
 * ({@link release}), in the caller's transaction. An account takes from its dedicated ranges
 * first and from the shared pool (the ranges minus every dedication) only when it has none or
 * `use.system.guest.vlans` is true. Picks come from an in-memory bitmap per physical network;
 * the unique index decides, exactly as for addresses (see IpAllocator).
 */
export class GuestVlanService {
  private readonly indexes = new Map<number, VlanIndex>();
  private readonly strategy: PickStrategy;
  private readonly random: RandomSource;
  private readonly settings: SettingsService;

  constructor(
    private readonly ctx: CloudContext,
    options: GuestVlanServiceOptions = {},
  ) {
    this.strategy = options.strategy ?? 'random';
    this.random = options.random ?? Math.random;
    this.settings = new SettingsService(ctx);
    // The physical-network service asks before its VLAN ranges change (§3.1).
    ctx.hooks.onVlanRangesChange((w, net, ranges) => this.assertRangesChangeAllowed(w.db, net.id, ranges));
  }

  // ---- allocation (in the caller's transaction) ----

  /**
   * Takes a VLAN for a network at implement time. Idempotent: a network that already holds one
   * gets it back. InsufficientCapacityError when the account's ranges and (if allowed) the
   * shared pool are exhausted.
   */
  async take(w: Writer, req: TakeGuestVlanRequest): Promise<GuestVlan> {
    const held = await this.findForNetwork(w.db, req.networkId);
    if (held) {
      if (held.physicalNetworkId !== req.physicalNetworkId) {
        throw new InvalidParameterError(
          'networkId',
          req.networkId,
          `network already holds VLAN ${held.vnet} on physical network ${held.physicalNetworkId}`,
        );
      }
      return held;
    }
    const pn = await this.physicalNetwork(w.db, req.physicalNetworkId);
    requireInteger('accountId', req.accountId, { min: 1 });
    const dedications = await this.dedications(w.db, pn.id);
    let index = await this.index(w.db, pn, dedications);
    if (req.vnet !== undefined) {
      const vnet = requireInteger('vnet', req.vnet, { min: 1 });
      if (!index.inPool(vnet))
        throw new InvalidParameterError('vnet', vnet, `not in the guest VLAN ranges of physical network ${pn.name}`);
      const owner = index.dedicatedTo(vnet);
      if (owner !== null && owner !== req.accountId)
        throw new InvalidParameterError('vnet', vnet, `VLAN ${vnet} is dedicated to account ${owner}`);
      const row = await this.insert(w, pn, vnet, req);
      index.take(vnet);
      if (row) return row;
      const again = await this.findForNetwork(w.db, req.networkId);
      if (again) return again;
      throw new DuplicateError('guest VLAN', 'vnet', vnet, `physical network ${pn.name}`);
    }
    const mine = dedications.filter((d) => d.accountId === req.accountId);
    const useShared =
      mine.length === 0 || (await this.settings.get('use.system.guest.vlans', { accountId: req.accountId }, w.db));
    let rebuilt = false;
    for (;;) {
      const vnet = index.pick(req.accountId, useShared, this.strategy, this.random);
      if (vnet < 0) {
        if (rebuilt) {
          throw new InsufficientCapacityError(
            `no free guest VLAN on physical network ${pn.name} for account ${req.accountId}`,
            {
              details: { physicalNetworkId: pn.id, accountId: req.accountId },
            },
          );
        }
        rebuilt = true;
        index = await this.rebuild(w.db, pn, dedications);
        continue;
      }
      index.take(vnet);
      const row = await this.insert(w, pn, vnet, req);
      if (row) return row;
      const again = await this.findForNetwork(w.db, req.networkId);
      if (again) return again;
    }
  }

  /** Gives a network's VLAN back to the pool (shutdown, GC, delete). Idempotent; returns the released VLAN. */
  async release(w: Writer, networkId: number): Promise<GuestVlan | null> {
    const held = await this.findForNetwork(w.db, networkId);
    if (!held) return null;
    const done = await w.db.deleteFrom('guestVlans').where('id', '=', held.id).executeTakeFirst();
    if (Number(done.numDeletedRows) !== 1) return null;
    this.indexes.get(held.physicalNetworkId)?.release(held.vnet);
    return held;
  }

  // ---- reads ----

  async findForNetwork(db: Db, networkId: number): Promise<GuestVlan | undefined> {
    const row = await db.selectFrom('guestVlans').selectAll().where('networkId', '=', networkId).executeTakeFirst();
    return row ? decodeVlan(row) : undefined;
  }

  async listTaken(db: Db, physicalNetworkId: number): Promise<GuestVlan[]> {
    const rows = await db
      .selectFrom('guestVlans')
      .selectAll()
      .where('physicalNetworkId', '=', physicalNetworkId)
      .orderBy('vnet')
      .execute();
    return rows.map(decodeVlan);
  }

  /** Pool size, taken and free VLANs of a physical network (free + allocated = size). */
  async usage(db: Db, physicalNetworkId: number): Promise<PoolUsage> {
    const pn = await this.physicalNetwork(db, physicalNetworkId);
    const size = new VlanIndex(pn.vlanRanges, []).size;
    const taken = (await this.listTaken(db, pn.id)).filter((v) =>
      pn.vlanRanges.some((r) => v.vnet >= r.start && v.vnet <= r.end),
    ).length;
    return { size, allocated: taken, free: size - taken };
  }

  /** Dedicated VLAN ranges by id, filtered; a page of them with `page`/`pageSize` (a range has no name to match a keyword). */
  async listDedications(
    filter: { physicalNetworkId?: Ref; accountId?: Ref } & ListOptions = {},
  ): Promise<GuestVlanDedication[]> {
    const db = this.ctx.db;
    const paging = await listPaging(this.ctx, filter);
    const physicalNetworkId = await resolveOptionalRef(
      db,
      physicalNetworkRepo,
      filter.physicalNetworkId,
      'physicalNetworkId',
    );
    const accountId = await resolveOptionalRef(db, accountRepo, filter.accountId, 'accountId');
    let q = db.selectFrom('guestVlanDedications').selectAll().where('removed', 'is', null);
    if (physicalNetworkId !== undefined) q = q.where('physicalNetworkId', '=', physicalNetworkId);
    if (accountId !== undefined) q = q.where('accountId', '=', accountId);
    return applyPaging(q.orderBy('id'), paging, [])
      .execute()
      .then((rows) => rows.map(decodeDedication));
  }

  /**
   * For the physical-network service: refuses (ResourceInUseError) to replace the VLAN ranges
   * with `next` while a taken VLAN or a dedication lies outside them (§3.1).
   */
  async assertRangesChangeAllowed(db: Db, physicalNetworkId: number, next: readonly VlanRange[]): Promise<void> {
    const covered = (v: number) => next.some((r) => v >= r.start && v <= r.end);
    for (const v of await this.listTaken(db, physicalNetworkId)) {
      if (!covered(v.vnet)) {
        throw new ResourceInUseError(`VLAN ${v.vnet} is held by network ${v.networkId}`, {
          field: 'vlanRanges',
          value: next,
        });
      }
    }
    for (const d of await this.dedications(db, physicalNetworkId)) {
      if (!next.some((r) => d.startVnet >= r.start && d.endVnet <= r.end)) {
        throw new ResourceInUseError(`VLANs ${d.startVnet}-${d.endVnet} are dedicated to account ${d.accountId}`, {
          field: 'vlanRanges',
          value: next,
        });
      }
    }
  }

  // ---- dedication (admin) ----

  /**
   * Dedicates VLANs `start..end` of a physical network to an account (CloudStack
   * `dedicateGuestVlanRange`): inside the network's ranges, not overlapping another dedication,
   * and none of them held by another account's network. Emits `GUESTVLANRANGE.DEDICATE`.
   */
  async dedicate(input: {
    physicalNetworkId: Ref;
    start: number;
    end: number;
    accountId: Ref;
  }): Promise<GuestVlanDedication> {
    return this.dedicateResolved(
      await resolveRefs(this.ctx.db, input, { physicalNetworkId: physicalNetworkRepo, accountId: accountRepo }),
    );
  }

  /** {@link dedicate} with the input's references resolved to numeric ids. */
  private dedicateResolved(
    input: Resolved<{
      physicalNetworkId: Ref;
      start: number;
      end: number;
      accountId: Ref;
    }>,
  ): Promise<GuestVlanDedication> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'dedicate a guest VLAN range');
      const pn = await this.physicalNetwork(w.db, input.physicalNetworkId);
      const start = requireInteger('start', input.start, { min: 1 });
      const end = requireInteger('end', input.end, { min: start });
      const account = await accountRepo.get(w.db, input.accountId, 'accountId');
      if (!pn.vlanRanges.some((r) => start >= r.start && end <= r.end)) {
        throw new InvalidParameterError(
          'start',
          start,
          `VLANs ${start}-${end} are not inside one guest VLAN range of physical network ${pn.name}`,
        );
      }
      await w.lock(`guest-vlan-dedications:${pn.id}`);
      for (const d of await this.dedications(w.db, pn.id)) {
        if (start <= d.endVnet && d.startVnet <= end) {
          throw new InvalidParameterError(
            'start',
            start,
            `VLANs ${start}-${end} overlap ${d.startVnet}-${d.endVnet} dedicated to account ${d.accountId}`,
          );
        }
      }
      const foreign = await w.db
        .selectFrom('guestVlans')
        .select(['vnet', 'accountId'])
        .where('physicalNetworkId', '=', pn.id)
        .where('vnet', '>=', start)
        .where('vnet', '<=', end)
        .where('accountId', '!=', account.id)
        .executeTakeFirst();
      if (foreign)
        throw new ResourceInUseError(`VLAN ${foreign.vnet} is held by account ${foreign.accountId}`, {
          field: 'start',
          value: start,
        });
      const row = await w.db
        .insertInto('guestVlanDedications')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          physicalNetworkId: pn.id,
          zoneId: pn.zoneId,
          startVnet: start,
          endVnet: end,
          accountId: account.id,
          domainId: account.domainId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await w.event({
        type: 'GUESTVLANRANGE.DEDICATE',
        description: `guest VLANs ${start}-${end} of physical network ${pn.name} dedicated to account ${account.accountName}`,
        accountId: account.id,
        domainId: account.domainId,
        parameters: { physicalNetworkId: pn.id, start, end },
      });
      this.indexes.delete(pn.id);
      return decodeDedication(row);
    });
  }

  /** Returns a dedicated range to the shared pool (held VLANs stay with their networks). Emits `GUESTVLANRANGE.RELEASE`. */
  async releaseDedication(id: Ref): Promise<void> {
    id = await resolveRef(this.ctx.db, guestVlanDedicationRefs, id, 'id');
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'release a dedicated guest VLAN range');
      const row = await w.db
        .selectFrom('guestVlanDedications')
        .selectAll()
        .where('id', '=', id)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!row) throw new NotFoundError('Dedicated guest VLAN range', 'id', id);
      await w.db.updateTable('guestVlanDedications').set({ removed: w.now }).where('id', '=', id).execute();
      await w.event({
        type: 'GUESTVLANRANGE.RELEASE',
        description: `guest VLANs ${row.startVnet}-${row.endVnet} returned to the shared pool`,
        parameters: { physicalNetworkId: Number(row.physicalNetworkId), id },
      });
      this.indexes.delete(Number(row.physicalNetworkId));
    });
  }

  // ---- internals ----

  private async physicalNetwork(
    db: Db,
    id: number,
  ): Promise<{ id: number; name: string; zoneId: number; vlanRanges: VlanRange[] }> {
    const row = await db
      .selectFrom('physicalNetworks')
      .select(['id', 'name', 'zoneId', 'vlanRanges'])
      .where('id', '=', id)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row) throw new NotFoundError('Physical network', 'physicalNetworkId', id);
    return {
      id: Number(row.id),
      name: row.name,
      zoneId: Number(row.zoneId),
      vlanRanges: JSON.parse(row.vlanRanges) as VlanRange[],
    };
  }

  private async dedications(db: Db, physicalNetworkId: number): Promise<GuestVlanDedication[]> {
    const rows = await db
      .selectFrom('guestVlanDedications')
      .selectAll()
      .where('physicalNetworkId', '=', physicalNetworkId)
      .where('removed', 'is', null)
      .orderBy('startVnet')
      .execute();
    return rows.map(decodeDedication);
  }

  private async insert(
    w: Writer,
    pn: { id: number; zoneId: number },
    vnet: number,
    req: TakeGuestVlanRequest,
  ): Promise<GuestVlan | null> {
    const row = await w.db
      .insertInto('guestVlans')
      .values({
        physicalNetworkId: pn.id,
        zoneId: pn.zoneId,
        vnet,
        networkId: req.networkId,
        accountId: req.accountId,
        taken: w.now,
      })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? decodeVlan(row) : null;
  }

  private async index(
    db: Db,
    pn: { id: number; vlanRanges: VlanRange[] },
    dedications: GuestVlanDedication[],
  ): Promise<VlanIndex> {
    const cached = this.indexes.get(pn.id);
    if (cached && cached.signature === VlanIndex.signature(pn.vlanRanges, dedications)) return cached;
    return this.rebuild(db, pn, dedications);
  }

  private async rebuild(
    db: Db,
    pn: { id: number; vlanRanges: VlanRange[] },
    dedications: GuestVlanDedication[],
  ): Promise<VlanIndex> {
    const index = new VlanIndex(pn.vlanRanges, dedications);
    for (const v of await this.listTaken(db, pn.id)) index.take(v.vnet);
    this.indexes.set(pn.id, index);
    return index;
  }
}

/**
 * The in-memory view of one physical network's VLAN pool: `taken` marks VLANs outside the ranges
 * and held ones; `shared` additionally marks every dedicated VLAN, so shared-pool picks skip them.
 */
export class VlanIndex {
  readonly signature: string;
  /** VLANs in the pool. */
  readonly size: number;
  private readonly lo: number;
  /** Bit set = the VLAN is in one of the ranges. */
  private readonly pool: FreeBitmap;
  private readonly taken: FreeBitmap;
  private readonly shared: FreeBitmap;
  private readonly dedications: ReadonlyArray<{ start: number; end: number; accountId: number }>;

  static signature(ranges: readonly VlanRange[], dedications: readonly GuestVlanDedication[]): string {
    return JSON.stringify([ranges, dedications.map((d) => [d.startVnet, d.endVnet, d.accountId])]);
  }

  constructor(ranges: readonly VlanRange[], dedications: readonly GuestVlanDedication[]) {
    this.signature = VlanIndex.signature(ranges, dedications);
    this.dedications = dedications.map((d) => ({ start: d.startVnet, end: d.endVnet, accountId: d.accountId }));
    const lo = ranges.length === 0 ? 1 : Math.min(...ranges.map((r) => r.start));
    const hi = ranges.length === 0 ? 0 : Math.max(...ranges.map((r) => r.end));
    this.lo = lo;
    const span = Math.max(0, hi - lo + 1);
    this.taken = new FreeBitmap(span);
    this.shared = new FreeBitmap(span);
    this.pool = new FreeBitmap(span);
    for (const r of ranges) for (let v = r.start; v <= r.end; v++) this.pool.take(v - lo);
    for (let s = 0; s < span; s++) {
      if (!this.pool.isTaken(s)) {
        this.taken.take(s);
        this.shared.take(s);
      }
    }
    this.size = this.pool.taken;
    for (const d of this.dedications)
      for (let v = d.start; v <= d.end; v++) if (this.inPool(v)) this.shared.take(v - lo);
  }

  /** Whether the VLAN belongs to one of the physical network's ranges. */
  inPool(vnet: number): boolean {
    return vnet >= this.lo && vnet - this.lo < this.pool.size && this.pool.isTaken(vnet - this.lo);
  }

  dedicatedTo(vnet: number): number | null {
    for (const d of this.dedications) if (vnet >= d.start && vnet <= d.end) return d.accountId;
    return null;
  }

  take(vnet: number): void {
    if (!this.inPool(vnet)) return;
    this.taken.take(vnet - this.lo);
    this.shared.take(vnet - this.lo);
  }

  release(vnet: number): void {
    if (!this.inPool(vnet) || !this.taken.release(vnet - this.lo)) return;
    if (this.dedicatedTo(vnet) === null) this.shared.release(vnet - this.lo);
  }

  /** A free VLAN for the account: its dedicated ranges first, then (if allowed) the shared pool; -1 if none. */
  pick(accountId: number, useShared: boolean, strategy: PickStrategy, random: RandomSource): number {
    for (const d of this.dedications) {
      if (d.accountId !== accountId) continue;
      const a = Math.max(d.start, this.lo) - this.lo;
      const b = Math.min(d.end - this.lo, this.taken.size - 1);
      if (a > b) continue;
      const from = strategy === 'sequential' ? a : a + Math.floor(random() * (b - a + 1));
      let slot = this.taken.nextFree(from);
      if (slot < 0 || slot > b) slot = this.taken.nextFree(a);
      if (slot >= 0 && slot <= b) return this.lo + slot;
    }
    if (!useShared || this.shared.size === 0) return -1;
    const slot =
      strategy === 'sequential'
        ? this.shared.nextFree(0)
        : this.shared.nextFreeWrapping(Math.floor(random() * this.shared.size));
    return slot < 0 ? -1 : this.lo + slot;
  }
}
