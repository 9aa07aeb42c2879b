import type { CloudContext, Writer } from '../context.js';
import {
  ConcurrentModificationError,
  DuplicateError,
  InsufficientCapacityError,
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
} from '../errors.js';
import type { Paging } from '../model/list-options.js';
import { type PublicIpEvent, publicIpStateMachine } from '../model/state-machines/public-ip.js';
import { intToIpv4, ipv4ToInt, parseCidr, requireIpv4 } from '../model/validate.js';
import { applyPaging } from '../resources/list-paging.js';
import { isInSubtree } from '../resources/permissions.js';
import { podRepo } from '../resources/pods.js';
import { zoneRepo } from '../resources/zones.js';
import { SettingsService } from '../settings/settings-service.js';
import { statement, statementFamily } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { AddressIndex } from './address-index.js';
import type { PickStrategy, RandomSource } from './random.js';
import {
  decodeIpAllocation,
  decodeIpRange,
  type IpAllocation,
  type IpAllocationState,
  type IpOwnerType,
  type IpRange,
  type IpSpace,
  type PoolUsage,
  type VlanType,
} from './records.js';

/**
 * One allocatable address pool: `start..end` (unsigned 32-bit integers) minus `excluded`, whose
 * allocations are rows of `ip_allocations` with this (space, scopeId) uniqueness scope.
 */
export interface AddressPool {
  space: IpSpace;
  /** Uniqueness scope: 0 (cloud-wide), network id (guest), pod id (link-local). */
  scopeId: number;
  /** Range id (public, guest) or pod id (management, link-local). */
  poolId: number;
  zoneId: number;
  start: number;
  end: number;
  excluded: readonly number[];
  /** The `ip_ranges` row behind the pool, share-locked while claiming (PostgreSQL). */
  rangeId?: number;
}

/** Who an address is allocated to. */
export interface AddressOwner {
  ownerType: IpOwnerType;
  ownerId?: number | null;
  accountId?: number | null;
  domainId?: number | null;
  networkId?: number | null;
  vpcId?: number | null;
  sourceNat?: boolean;
}

export interface PublicIpRequest extends Partial<AddressOwner> {
  zoneId: number;
  /** The owning account and its domain (the system account for system VMs). */
  accountId: number;
  domainId: number;
  /** Initial state: `Allocating` (acquire, default), `Allocated` (source NAT at implement) or `Reserved`. */
  state?: 'Allocating' | 'Allocated' | 'Reserved';
  /** A specific address (CloudStack `associateIpAddress ipaddress=`). */
  ip?: string;
  /** `VirtualNetwork` (default) or `DirectAttached`. */
  vlanType?: VlanType;
  /** A system VM asks: ranges flagged for system VMs first (§4.2, §14). */
  forSystemVm?: boolean;
  /** Only ranges on this VLAN tag (`untagged` or `vlan://<id>`). */
  vlanTag?: string;
}

export interface GuestIpRequest extends Partial<AddressOwner> {
  networkId: number;
  /** Basic zones / per-pod shared ranges: the pod the VM was placed in (§4.3). */
  podId?: number;
  /** A requested address; validated (in a range, not network/broadcast/gateway/reserved, free). */
  ip?: string;
  /** Default: `random` for a guest CIDR, `sequential` for per-pod ranges (§4.1). */
  strategy?: PickStrategy;
  /** `Allocated` (default) or `Reserved` (placeholder, e.g. an external LB self-IP). */
  state?: 'Allocated' | 'Reserved';
  /**
   * The network's live guest ranges in id order, when the caller has just read them in this
   * transaction (then they are not read again).
   */
  ranges?: readonly IpRange[];
}

export interface PodIpRequest extends Partial<AddressOwner> {
  podId: number;
  /** A requested address inside the pool. */
  ip?: string;
  /** Default `random` (§4.1). */
  strategy?: PickStrategy;
}

export interface IpAllocatorOptions {
  /** Random source for `random` picks (default Math.random); inject `seededRandom(n)` in tests. */
  random?: RandomSource;
  /** How many range indexes to keep in memory (least recently used evicted), default 4096. */
  maxIndexes?: number;
}

/** Consecutive unique-index conflicts after which the index is rebuilt from the store. */
const CONFLICTS_BEFORE_REBUILD = 8;

const ACQUIRE_EVENT: Record<'Allocating' | 'Allocated' | 'Reserved', PublicIpEvent> = {
  Allocating: 'Acquire',
  Allocated: 'MarkAllocated',
  Reserved: 'ReserveForSystem',
};

/**
 * Allocation and release of addresses in every space of spec/networking.md §4, inside the
 * caller's transaction (`Writer`), so a claim and its owner record commit together (§4.11.3).
 *
 * Picks come from an in-memory {@link AddressIndex} per pool (O(1) amortised). The store decides:
 * the insert is `ON CONFLICT DO NOTHING` on the unique (space, scope, address) index, so when
 * another process took the address first the insert yields nothing, the address is marked taken
 * and the next one is tried; when the index runs dry it is rebuilt from the store once (another
 * process may have released addresses, or a rolled-back transaction left one marked) before
 * capacity is declared exhausted. Two processes can therefore never both hold an address.
 *
 * Free addresses have no row; `free + allocated = size` for every pool.
 */
export class IpAllocator {
  private readonly indexes = new Map<string, AddressIndex>();
  /** (space, scope, pool) → the key of its current index, so a release finds it in O(1). */
  private readonly poolKeys = new Map<string, string>();
  private readonly random: RandomSource;
  private readonly maxIndexes: number;
  private readonly settings: SettingsService;

  constructor(
    private readonly ctx: CloudContext,
    options: IpAllocatorOptions = {},
  ) {
    this.random = options.random ?? Math.random;
    this.maxIndexes = options.maxIndexes ?? 4096;
    this.settings = new SettingsService(ctx);
  }

  // ---- public IPs ----

  /**
   * Takes a public IP for an account (§4.5, §4.10): ranges dedicated to the account, then to its
   * domain, then system ranges (if the account has dedicated ranges, only when
   * `use.system.public.ips`); system VMs take ranges flagged for system VMs first (only those
   * when `system.vm.public.ip.reservation.mode.strictness`). Lowest free address, ranges in
   * creation order. Emits `NET.IPASSIGN`.
   */
  async allocatePublicIp(w: Writer, req: PublicIpRequest): Promise<IpAllocation> {
    const zone = await zoneRepo.get(w.db, req.zoneId, 'zoneId');
    const state = req.state ?? 'Allocating';
    const event = ACQUIRE_EVENT[state];
    if (event === undefined)
      throw new InvalidParameterError('state', state, 'must be Allocating, Allocated or Reserved');
    publicIpStateMachine.transition('Free', event);
    const vlanType = req.vlanType ?? 'VirtualNetwork';
    const all = await this.publicRanges(w.db, zone.id, vlanType, req.vlanTag);
    const ordered = await this.orderPublicRanges(w, all, req);
    const owner: AddressOwner = {
      ownerType: req.ownerType ?? 'Account',
      ownerId: req.ownerId ?? null,
      accountId: req.accountId,
      domainId: req.domainId,
      networkId: req.networkId ?? null,
      vpcId: req.vpcId ?? null,
      sourceNat: req.sourceNat ?? false,
    };
    let row: IpAllocation | null = null;
    if (req.ip !== undefined) {
      const ip = requireIpv4('ip', req.ip);
      const address = ipv4ToInt(ip);
      const range = ordered.find((r) => address >= r.startNum && address <= r.endNum);
      if (!range) {
        const other = all.find((r) => address >= r.startNum && address <= r.endNum);
        throw new InvalidParameterError(
          'ip',
          ip,
          other
            ? `the public range ${other.startIp}-${other.endIp} is dedicated to another account or domain, or reserved for system VMs`
            : `not in any ${vlanType} public range of zone ${zone.name}`,
        );
      }
      row = await this.claim(w, poolOfRange(range), owner, state, { strategy: 'sequential', address, field: 'ip' });
    } else {
      for (const range of ordered) {
        row = await this.claim(w, poolOfRange(range), owner, state, { strategy: 'sequential' });
        if (row) break;
      }
    }
    if (!row) {
      throw new InsufficientCapacityError(
        `no free public IP address in zone ${zone.name} for account ${req.accountId}`,
        {
          details: { zoneId: zone.id, accountId: req.accountId, ranges: ordered.map((r) => r.id) },
        },
      );
    }
    await w.event({
      type: 'NET.IPASSIGN',
      description: `public IP ${row.ip} assigned to account ${req.accountId} (${row.state})`,
      resourceType: 'IpAddress',
      resourceId: row.id,
      resourceUuid: row.uuid,
      accountId: req.accountId,
      domainId: req.domainId,
      parameters: { zoneId: zone.id, rangeId: row.poolId, state: row.state, sourceNat: row.sourceNat },
    });
    return row;
  }

  /** `Allocating`/`Reserved` → `Allocated` (pushed to the providers, or source NAT assigned). */
  markPublicIpAllocated(w: Writer, id: number, expectVersion?: number): Promise<IpAllocation> {
    return this.movePublicIp(w, id, 'MarkAllocated', expectVersion);
  }

  /**
   * `Allocating`/`Allocated` → `Releasing`: the caller revokes the IP's rules on the providers next
   * (§4.8, pitfall 13). Idempotent: an IP already `Releasing` is returned unchanged.
   */
  async beginPublicIpRelease(w: Writer, id: number, expectVersion?: number): Promise<IpAllocation> {
    const row = await this.getAllocation(w.db, id, 'public');
    if (row.state === 'Releasing') return row;
    return this.movePublicIp(w, id, 'Release', expectVersion);
  }

  /**
   * `Releasing` → `Free`: deletes the row, so the address is allocatable again. Idempotent: an
   * address that is already free (no row) returns false. Emits `NET.IPRELEASE`.
   */
  async completePublicIpRelease(w: Writer, id: number): Promise<boolean> {
    const row = await this.findAllocation(w.db, id);
    if (!row) return false;
    if (row.space !== 'public') throw new InvalidParameterError('id', id, `allocation ${id} is not a public IP`);
    publicIpStateMachine.transition(row.state, 'ReleaseCompleted');
    const done = await w.db
      .deleteFrom('ipAllocations')
      .where('id', '=', id)
      .where('state', '=', 'Releasing')
      .where('updatedCount', '=', row.updatedCount)
      .executeTakeFirst();
    if (Number(done.numDeletedRows) !== 1) return false;
    this.noteReleased(row);
    await w.event({
      type: 'NET.IPRELEASE',
      description: `public IP ${row.ip} released`,
      resourceType: 'IpAddress',
      resourceId: row.id,
      resourceUuid: row.uuid,
      accountId: row.accountId,
      domainId: row.domainId,
      parameters: { zoneId: row.zoneId, rangeId: row.poolId },
    });
    return true;
  }

  /**
   * Re-points a held public IP (associate with a network or VPC, mark source NAT, change owner)
   * with compare-and-set on its version.
   */
  async updatePublicIp(
    w: Writer,
    id: number,
    patch: Partial<Pick<AddressOwner, 'ownerType' | 'ownerId' | 'networkId' | 'vpcId' | 'sourceNat'>>,
    expectVersion?: number,
  ): Promise<IpAllocation> {
    const row = await this.getAllocation(w.db, id, 'public');
    const version = expectVersion ?? row.updatedCount;
    const set: Record<string, unknown> = { updatedCount: version + 1 };
    if (patch.ownerType !== undefined) set.ownerType = patch.ownerType;
    if (patch.ownerId !== undefined) set.ownerId = patch.ownerId;
    if (patch.networkId !== undefined) set.networkId = patch.networkId;
    if (patch.vpcId !== undefined) set.vpcId = patch.vpcId;
    if (patch.sourceNat !== undefined) set.sourceNat = patch.sourceNat ? 1 : 0;
    await this.casUpdate(w, row, version, set);
    return this.getAllocation(w.db, id);
  }

  // ---- guest, management and link-local addresses ----

  /**
   * An address of a guest network (§4.3, §4.4): a requested one is validated, otherwise a free
   * one from the network's ranges (the VM's pod's ranges when `podId` is given).
   */
  async allocateGuestIp(w: Writer, req: GuestIpRequest): Promise<IpAllocation> {
    let ranges = req.ranges ?? (await guestRangesOf(w.db, req.networkId));
    if (req.podId !== undefined) ranges = ranges.filter((r) => r.podId === null || r.podId === req.podId);
    if (ranges.length === 0) {
      throw new InvalidParameterError(
        req.podId === undefined ? 'networkId' : 'podId',
        req.podId ?? req.networkId,
        `network ${req.networkId} has no guest IP range${req.podId === undefined ? '' : ' for this pod'}`,
      );
    }
    const owner = this.ownerOf(req, 'Nic');
    const state = req.state ?? 'Allocated';
    if (req.ip !== undefined) {
      const ip = requireIpv4('ip', req.ip);
      const address = ipv4ToInt(ip);
      const range = ranges.find((r) => address >= r.startNum && address <= r.endNum);
      if (!range) {
        throw new InvalidParameterError(
          'ip',
          ip,
          `not an allocatable address of network ${req.networkId} (${ranges.map((r) => `${r.startIp}-${r.endIp}`).join(', ')}; network, broadcast and gateway addresses are never allocatable)`,
        );
      }
      const row = await this.claim(w, poolOfRange(range), owner, state, {
        strategy: 'sequential',
        address,
        field: 'ip',
        rangeReadLive: true, // read in this transaction, here or by the caller
      });
      if (row) return row;
    } else {
      for (const range of ranges) {
        const strategy = req.strategy ?? (range.podId === null ? 'random' : 'sequential');
        const row = await this.claim(w, poolOfRange(range), owner, state, { strategy, rangeReadLive: true });
        if (row) return row;
      }
    }
    throw new InsufficientCapacityError(`no free guest IP address in network ${req.networkId}`, {
      details: { networkId: req.networkId, podId: req.podId ?? null },
    });
  }

  /** A pod management address (§4.2) from the pod's reserved system range; unique cloud-wide. */
  async allocateManagementIp(w: Writer, req: PodIpRequest): Promise<IpAllocation> {
    const pod = await podRepo.get(w.db, req.podId, 'podId');
    const pool: AddressPool = {
      space: 'management',
      scopeId: 0,
      poolId: pod.id,
      zoneId: pod.zoneId,
      start: ipv4ToInt(pod.startIp),
      end: ipv4ToInt(pod.endIp),
      excluded: [],
    };
    return this.claimFromPod(w, pool, req, `the reserved system range ${pod.startIp}-${pod.endIp} of pod ${pod.name}`);
  }

  /**
   * A link-local control address (§4.6) from `control.cidr` (169.254.0.0/16) for a router's
   * control NIC; unique within the pod; never the network, broadcast or `control.gateway`.
   */
  async allocateLinkLocalIp(w: Writer, req: PodIpRequest): Promise<IpAllocation> {
    const pod = await podRepo.get(w.db, req.podId, 'podId');
    const pool = await this.linkLocalPool(w.db, pod.id, pod.zoneId);
    return this.claimFromPod(w, pool, req, `the link-local control network of pod ${pod.name}`);
  }

  /** The link-local pool of a pod, from the `control.cidr` / `control.gateway` settings. */
  async linkLocalPool(db: Db, podId: number, zoneId: number): Promise<AddressPool> {
    const cidr = parseCidr(String(await this.settings.get('control.cidr', {}, db)));
    const gateway = ipv4ToInt(String(await this.settings.get('control.gateway', {}, db)));
    return {
      space: 'linklocal',
      scopeId: podId,
      poolId: podId,
      zoneId,
      start: cidr.first + 1,
      end: cidr.last - 1,
      excluded: [gateway],
    };
  }

  /**
   * Releases a guest, management or link-local allocation (deletes its row). Idempotent: an id
   * with no row returns false. Public IPs go through begin/completePublicIpRelease so rules are
   * revoked first (pitfall 13); only a `Releasing` public IP is accepted here.
   */
  async release(w: Writer, id: number): Promise<boolean> {
    const row = await this.findAllocation(w.db, id);
    if (!row) return false;
    if (row.space === 'public') {
      if (row.state !== 'Releasing') {
        throw new InvalidStateError(
          `public IP ${row.ip} is ${row.state}: call beginPublicIpRelease and revoke its rules first`,
          {
            field: 'id',
            value: id,
          },
        );
      }
      return this.completePublicIpRelease(w, id);
    }
    const done = await w.db.deleteFrom('ipAllocations').where('id', '=', id).executeTakeFirst();
    if (Number(done.numDeletedRows) !== 1) return false;
    this.noteReleased(row);
    return true;
  }

  /** Releases every non-public allocation held by an owner (e.g. a NIC being deallocated); returns how many. */
  async releaseOwned(w: Writer, ownerType: IpOwnerType, ownerId: number): Promise<number> {
    const rows = await w.db
      .selectFrom('ipAllocations')
      .selectAll()
      .where('ownerType', '=', ownerType)
      .where('ownerId', '=', ownerId)
      .where('space', '!=', 'public')
      .execute();
    let n = 0;
    for (const row of rows) if (await this.release(w, Number(row.id))) n++;
    return n;
  }

  // ---- reads ----

  async findAllocation(db: Db, id: number): Promise<IpAllocation | undefined> {
    const row = await db.selectFrom('ipAllocations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? decodeIpAllocation(row) : undefined;
  }

  async getAllocation(db: Db, id: number, space?: IpSpace): Promise<IpAllocation> {
    const row = await this.findAllocation(db, id);
    if (!row || (space !== undefined && row.space !== space))
      throw new NotFoundError(space === 'public' ? 'Public IP' : 'IP allocation', 'id', id);
    return row;
  }

  /** Allocations of a pool, by address. */
  async listAllocations(
    db: Db,
    filter: { space: IpSpace; poolId?: number; networkId?: number; accountId?: number },
    paging?: Paging,
  ): Promise<IpAllocation[]> {
    let q = db.selectFrom('ipAllocations').selectAll().where('space', '=', filter.space);
    if (filter.poolId !== undefined) q = q.where('poolId', '=', filter.poolId);
    if (filter.networkId !== undefined) q = q.where('networkId', '=', filter.networkId);
    if (filter.accountId !== undefined) q = q.where('accountId', '=', filter.accountId);
    return (await applyPaging(q.orderBy('address').orderBy('id'), paging, ['ip']).execute()).map(decodeIpAllocation);
  }

  /** Size, allocated and free counts of a pool, from the store. */
  async poolUsage(db: Db, pool: AddressPool): Promise<PoolUsage> {
    const size =
      pool.end - pool.start + 1 - new Set(pool.excluded.filter((a) => a >= pool.start && a <= pool.end)).size;
    const allocated = await this.countAllocated(db, pool);
    return { size, allocated, free: size - allocated };
  }

  /** The in-memory view of a pool (built from the store when absent), for diagnostics and benchmarks. */
  async poolIndex(db: Db, pool: AddressPool): Promise<AddressIndex> {
    return this.index(db, pool);
  }

  // ---- the claim ----

  /**
   * Claims one address of `pool` in the writer's transaction: `address` when given (typed errors
   * when it is not allocatable or already taken), else a free one by `strategy`. Returns null
   * when the pool is exhausted (checked against the store, not only the index).
   */
  async claim(
    w: Writer,
    pool: AddressPool,
    owner: AddressOwner,
    state: IpAllocationState,
    opts: {
      strategy: PickStrategy;
      address?: number;
      field?: string;
      /**
       * The pool's range was read live in this transaction. On SQLite, whose write transaction
       * holds the database lock, it then stays live until commit and is not checked again;
       * PostgreSQL still locks it (FOR SHARE) against a concurrent removal.
       */
      rangeReadLive?: boolean;
    },
  ): Promise<IpAllocation | null> {
    const rangeStaysLive = opts.rangeReadLive === true && this.ctx.store.engine === 'sqlite';
    if (pool.rangeId !== undefined && !rangeStaysLive) await this.shareLockRange(w, pool.rangeId);
    let index = await this.index(w.db, pool);
    if (opts.address !== undefined) {
      const address = opts.address;
      const ip = intToIpv4(address);
      const field = opts.field ?? 'ip';
      if (!index.contains(address) || index.isExcluded(address)) {
        throw new InvalidParameterError(field, ip, `not an allocatable address of ${describe(pool)}`);
      }
      const row = await this.insert(w, pool, address, owner, state);
      index.take(address);
      if (!row) throw new DuplicateError('IP address', field, ip, describe(pool));
      return row;
    }
    let rebuilt = false;
    let conflicts = 0;
    for (;;) {
      const address = index.pick(opts.strategy, this.random);
      if (address < 0 || conflicts >= CONFLICTS_BEFORE_REBUILD) {
        if (rebuilt) {
          if (address < 0) return null;
        } else {
          rebuilt = true;
          conflicts = 0;
          if (address < 0 && (await this.countAllocated(w.db, pool)) >= index.allocatable) return null;
          index = await this.rebuild(w.db, pool);
          continue;
        }
      }
      index.take(address);
      const row = await this.insert(w, pool, address, owner, state);
      if (row) return row;
      conflicts++;
    }
  }

  private async claimFromPod(w: Writer, pool: AddressPool, req: PodIpRequest, what: string): Promise<IpAllocation> {
    const owner = this.ownerOf(req, 'Nic');
    const address = req.ip === undefined ? undefined : ipv4ToInt(requireIpv4('ip', req.ip));
    const row = await this.claim(w, pool, owner, 'Allocated', {
      strategy: req.strategy ?? 'random',
      ...(address === undefined ? {} : { address, field: 'ip' }),
    });
    if (!row) throw new InsufficientCapacityError(`no free address in ${what}`, { details: { podId: req.podId } });
    return row;
  }

  private ownerOf(req: Partial<AddressOwner>, ownerType: IpOwnerType): AddressOwner {
    return {
      ownerType: req.ownerType ?? ownerType,
      ownerId: req.ownerId ?? null,
      accountId: req.accountId ?? null,
      domainId: req.domainId ?? null,
      networkId: req.networkId ?? null,
      vpcId: req.vpcId ?? null,
      sourceNat: req.sourceNat ?? false,
    };
  }

  private async insert(w: Writer, pool: AddressPool, address: number, owner: AddressOwner, state: IpAllocationState) {
    const values = {
      uuid: newUuid(),
      space: pool.space,
      scopeId: pool.scopeId,
      poolId: pool.poolId,
      address,
      ip: intToIpv4(address),
      zoneId: pool.zoneId,
      state,
      ownerType: owner.ownerType,
      ownerId: owner.ownerId ?? null,
      accountId: owner.accountId ?? null,
      domainId: owner.domainId ?? null,
      networkId: owner.networkId ?? null,
      vpcId: owner.vpcId ?? null,
      sourceNat: owner.sourceNat ? 1 : 0,
      created: w.now,
      updatedCount: 0,
    };
    const { rows } = await runStatement(w.db, insertAllocation, values);
    const row = rows[0];
    return row ? decodeIpAllocation(row) : null;
  }

  /**
   * PostgreSQL: a FOR SHARE lock on the range row, so a concurrent range delete (which updates the
   * row) waits for this claim to commit and then sees its allocation. SQLite serialises writers.
   */
  private async shareLockRange(w: Writer, rangeId: number): Promise<void> {
    const forShare = this.ctx.store.engine === 'postgres';
    const { rows } = await runStatement(w.db, rangeLive, { rangeId }, forShare);
    if (rows.length === 0) throw new NotFoundError('IP range', 'rangeId', rangeId);
  }

  private async movePublicIp(
    w: Writer,
    id: number,
    event: PublicIpEvent,
    expectVersion?: number,
  ): Promise<IpAllocation> {
    const row = await this.getAllocation(w.db, id, 'public');
    const to = publicIpStateMachine.transition(row.state, event);
    const version = expectVersion ?? row.updatedCount;
    await this.casUpdate(w, row, version, { state: to, updatedCount: version + 1 });
    w.publish({
      type: 'PUBLICIP.STATE.CHANGE',
      description: `public IP ${row.ip}: ${row.state} --${event}--> ${to}`,
      resourceType: 'IpAddress',
      resourceId: row.id,
      resourceUuid: row.uuid,
      accountId: row.accountId,
      domainId: row.domainId,
      parameters: { machine: publicIpStateMachine.name, from: row.state, event, to },
    });
    return this.getAllocation(w.db, id);
  }

  private async casUpdate(w: Writer, row: IpAllocation, version: number, set: Record<string, unknown>): Promise<void> {
    let q = w.db
      .updateTable('ipAllocations')
      .set(set as never)
      .where('id', '=', row.id)
      .where('updatedCount', '=', version);
    if (set.state !== undefined) q = q.where('state', '=', row.state);
    const result = await q.executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new ConcurrentModificationError('PublicIpAddress', row.id, { state: row.state, version });
    }
  }

  // ---- public range selection ----

  private async publicRanges(db: Db, zoneId: number, vlanType: VlanType, vlanTag?: string): Promise<IpRange[]> {
    let q = db
      .selectFrom('ipRanges')
      .selectAll()
      .where('space', '=', 'public')
      .where('zoneId', '=', zoneId)
      .where('vlanType', '=', vlanType)
      .where('removed', 'is', null);
    if (vlanTag !== undefined) q = q.where('vlanTag', '=', vlanTag);
    return (await q.orderBy('id').execute()).map(decodeIpRange);
  }

  private async orderPublicRanges(w: Writer, ranges: IpRange[], req: PublicIpRequest): Promise<IpRange[]> {
    const account: IpRange[] = [];
    const domain: IpRange[] = [];
    const systemVm: IpRange[] = [];
    const system: IpRange[] = [];
    for (const r of ranges) {
      if (r.accountId !== null) {
        if (r.accountId === req.accountId) account.push(r);
      } else if (r.domainId !== null) {
        if (await isInSubtree(w.db, r.domainId, req.domainId)) domain.push(r);
      } else if (r.forSystemVms) {
        if (req.forSystemVm) systemVm.push(r);
      } else system.push(r);
    }
    if (req.forSystemVm) {
      const strict = await this.settings.get('system.vm.public.ip.reservation.mode.strictness', {}, w.db);
      return strict && systemVm.length > 0 ? systemVm : [...systemVm, ...account, ...domain, ...system];
    }
    const dedicated = [...account, ...domain];
    if (dedicated.length > 0) {
      const fallBack = await this.settings.get('use.system.public.ips', { accountId: req.accountId }, w.db);
      return fallBack ? [...dedicated, ...system] : dedicated;
    }
    return system;
  }

  // ---- indexes ----

  private key(pool: AddressPool): string {
    return `${poolKey(pool)}/${pool.start}-${pool.end}/${pool.excluded.join(',')}`;
  }

  private async index(db: Db, pool: AddressPool): Promise<AddressIndex> {
    const key = this.key(pool);
    const cached = this.indexes.get(key);
    if (cached) {
      this.indexes.delete(key);
      this.indexes.set(key, cached);
      return cached;
    }
    return this.rebuild(db, pool);
  }

  private async rebuild(db: Db, pool: AddressPool): Promise<AddressIndex> {
    const index = new AddressIndex(pool.start, pool.end, pool.excluded);
    const rows = await db
      .selectFrom('ipAllocations')
      .select('address')
      .where('space', '=', pool.space)
      .where('scopeId', '=', pool.scopeId)
      .where('address', '>=', pool.start)
      .where('address', '<=', pool.end)
      .execute();
    for (const r of rows) index.take(Number(r.address));
    const key = this.key(pool);
    this.indexes.delete(key);
    this.indexes.set(key, index);
    this.poolKeys.set(poolKey(pool), key);
    while (this.indexes.size > this.maxIndexes) {
      const oldest = this.indexes.keys().next().value;
      if (oldest === undefined) break;
      this.indexes.delete(oldest);
    }
    return index;
  }

  private async countAllocated(db: Db, pool: AddressPool): Promise<number> {
    const row = await db
      .selectFrom('ipAllocations')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('space', '=', pool.space)
      .where('scopeId', '=', pool.scopeId)
      .where('address', '>=', pool.start)
      .where('address', '<=', pool.end)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Frees the address in any cached index covering it (the row is already gone). */
  private noteReleased(row: IpAllocation): void {
    const key = this.poolKeys.get(poolKey(row));
    const index = key === undefined ? undefined : this.indexes.get(key);
    if (index?.contains(row.address)) index.release(row.address);
  }
}

const poolKey = (p: { space: IpSpace; scopeId: number; poolId: number }): string =>
  `${p.space}/${p.scopeId}/${p.poolId}`;

/** The allocatable pool of an `ip_ranges` row. */
/** A network's live guest ranges, in id order. */
export async function guestRangesOf(db: Db, networkId: number): Promise<IpRange[]> {
  const { rows } = await runStatement(db, ipamGuestRangesOf, { networkId });
  return rows.map(decodeIpRange);
}

export function poolOfRange(range: IpRange): AddressPool {
  return {
    space: range.space,
    scopeId: range.space === 'guest' ? (range.networkId ?? 0) : 0,
    poolId: range.id,
    zoneId: range.zoneId,
    start: range.startNum,
    end: range.endNum,
    excluded: range.excluded.map(ipv4ToInt),
    rangeId: range.id,
  };
}

function describe(pool: AddressPool): string {
  const span = `${intToIpv4(pool.start)}-${intToIpv4(pool.end)}`;
  switch (pool.space) {
    case 'public':
      return `public range ${pool.poolId} (${span})`;
    case 'guest':
      return `guest range ${pool.poolId} of network ${pool.scopeId} (${span})`;
    case 'management':
      return `the management range of pod ${pool.poolId} (${span})`;
    default:
      return `the link-local range of pod ${pool.poolId} (${span})`;
  }
}

const ipamGuestRangesOf = statement('ipam.guestRangesOf', (q, p: { networkId: number }) =>
  q
    .selectFrom('ipRanges')
    .selectAll()
    .where('space', '=', 'guest')
    .where('networkId', '=', p.networkId)
    .where('removed', 'is', null)
    .orderBy('id'),
);

/** Claims an address (nothing when another holder has it: the unique index). */
const insertAllocation = statement(
  'ip.insert',
  (
    q,
    // The record's columns as stored: the flag as 0/1, the time in epoch milliseconds.
    p: Omit<IpAllocation, 'id' | 'sourceNat' | 'created'> & { sourceNat: number; created: number },
  ) =>
    q
      .insertInto('ipAllocations')
      .values({
        uuid: p.uuid,
        space: p.space,
        scopeId: p.scopeId,
        poolId: p.poolId,
        address: p.address,
        ip: p.ip,
        zoneId: p.zoneId,
        state: p.state,
        ownerType: p.ownerType,
        ownerId: p.ownerId,
        accountId: p.accountId,
        domainId: p.domainId,
        networkId: p.networkId,
        vpcId: p.vpcId,
        sourceNat: p.sourceNat,
        created: p.created,
        updatedCount: p.updatedCount,
      })
      .onConflict((oc) => oc.columns(['space', 'scopeId', 'address']).doNothing())
      .returningAll(),
);

/** The range, if live; with a FOR SHARE lock when `forShare`. */
const rangeLive = statementFamily(
  'ipam.rangeLive',
  (forShare: boolean) => String(forShare),
  (q, p: { rangeId: number }, forShare: boolean) => {
    const live = q.selectFrom('ipRanges').select('id').where('id', '=', p.rangeId).where('removed', 'is', null);
    return forShare ? live.forShare() : live;
  },
);
