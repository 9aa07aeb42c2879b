import type { CloudContext, Writer } from '../context.js';
import { ConcurrentModificationError, InvalidParameterError, NotFoundError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import {
  type Cidr,
  cidrFromGatewayAndNetmask,
  intToIpv4,
  ipv4ToInt,
  rangesOverlap,
  requireCidr,
  requireInteger,
  requireIpv4,
} from '../model/validate.js';
import { applyPaging, listPaging } from '../resources/list-paging.js';
import { isInSubtree, requireRootAdmin } from '../resources/permissions.js';
import { physicalNetworkRepo } from '../resources/physical-networks.js';
import { podRepo } from '../resources/pods.js';
import { resolveOptionalRef, resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { ipRangeRefs } from '../resources/ref-tables.js';
import { accountRepo, domainRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import { SettingsService } from '../settings/settings-service.js';
import { json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { type IpAllocator, poolOfRange } from './ip-allocator.js';
import {
  decodeIpAllocation,
  decodeIpRange,
  type IpAllocation,
  type IpRange,
  type PoolUsage,
  type VlanType,
} from './records.js';

/** The largest range the SDK accepts: 2^24 addresses (a /8). */
export const MAX_RANGE_SIZE = 2 ** 24;

/**
 * A public IP range (CloudStack's createVlanIpRange): zone, VLAN, gateway, netmask, first and last address,
 * optionally dedicated to an account.
 */
export interface CreatePublicIpRangeInput {
  zoneId: Ref;
  gateway: string;
  netmask: string;
  startIp: string;
  /** Default: startIp (a single address). */
  endIp?: string;
  /** VLAN id 1–4094, `vlan://<id>`, or `untagged` (default). */
  vlan?: number | string;
  /** `VirtualNetwork` (public, default) or `DirectAttached` (basic-zone pod / EIP). */
  vlanType?: VlanType;
  podId?: Ref;
  physicalNetworkId?: Ref;
  /** Dedicate to an account … */
  accountId?: Ref;
  /** … or to a domain (and its subdomains). */
  domainId?: Ref;
  /** Reserved for system VMs (SSVM, CPVM, routers). */
  forSystemVms?: boolean;
}

/** A guest IP range of a shared network (`cloud.publicIpRanges`' guest counterpart; spec/networking.md). */
export interface CreateGuestIpRangeInput {
  networkId: number;
  zoneId: number;
  /** The network CIDR (e.g. `10.1.1.0/24`); or give gateway + netmask. */
  cidr?: string;
  /** Default: the first usable address of the CIDR (§4.4). */
  gateway?: string;
  netmask?: string;
  /** Default: the first usable address after… the whole usable CIDR, gateway excluded. */
  startIp?: string;
  endIp?: string;
  /** Basic zones / shared networks: the pod this range serves (§4.3). */
  podId?: number;
  vlan?: number | string;
  /** Default `DirectAttached` with a pod, else `VirtualNetwork` (isolated CIDR, prefix ≥ `network.guest.cidr.limit`). */
  vlanType?: VlanType;
  /**
   * Reserve the second usable address for an external load balancer's self-IP (§4.4,
   * pitfall 6) before any guest can take it.
   */
  reserveExternalLbAddress?: boolean;
}

interface CheckedRange {
  cidr: Cidr;
  gateway: string;
  netmask: string;
  start: number;
  end: number;
  excluded: number[];
}

/** `vlan` input → `untagged` | `vlan://<id>`. */
export function parseVlanTag(field: string, value: unknown): string {
  if (value === undefined || value === null || value === 'untagged') return 'untagged';
  let id: unknown = value;
  if (typeof value === 'string') {
    const m = /^(?:vlan:\/\/)?(\d{1,4})$/.exec(value);
    if (!m) throw new InvalidParameterError(field, value, 'a VLAN id 1-4094, vlan://<id> or untagged is required');
    id = Number(m[1]);
  }
  return `vlan://${requireInteger(field, id, { min: 1, max: 4094 })}`;
}

/**
 * Validates gateway / netmask / start–end of a range: start and end inside the subnet, not its
 * network or broadcast address, start ≤ end, at most {@link MAX_RANGE_SIZE} addresses.
 */
function checkRange(
  input: { gateway?: unknown; netmask?: unknown; startIp?: unknown; endIp?: unknown },
  opts: { cidr?: Cidr; gatewayInside: 'forbid' | 'exclude' },
): CheckedRange {
  let cidr: Cidr;
  let gateway: string;
  if (opts.cidr) {
    cidr = opts.cidr;
    gateway =
      input.gateway === undefined || input.gateway === null
        ? intToIpv4(cidr.first + 1)
        : requireIpv4('gateway', input.gateway);
  } else {
    gateway = requireIpv4('gateway', input.gateway);
    cidr = cidrFromGatewayAndNetmask(gateway, requireIpv4('netmask', input.netmask), 'netmask');
  }
  if (cidr.prefix > 30)
    throw new InvalidParameterError('netmask', input.netmask ?? cidr.text, 'a range needs at least a /30 subnet');
  const gw = ipv4ToInt(gateway);
  if (gw <= cidr.first || gw >= cidr.last) {
    throw new InvalidParameterError(
      'gateway',
      gateway,
      `must be a usable address of ${intToIpv4(cidr.first)}/${cidr.prefix}, not its network or broadcast address`,
    );
  }
  const usable = (field: string, value: unknown, fallback: number): number => {
    if (value === undefined || value === null) return fallback;
    const n = ipv4ToInt(requireIpv4(field, value));
    if (n <= cidr.first || n >= cidr.last) {
      throw new InvalidParameterError(
        field,
        value,
        `must be a usable address of ${intToIpv4(cidr.first)}/${cidr.prefix} (not its network or broadcast address)`,
      );
    }
    return n;
  };
  const start = usable('startIp', input.startIp, cidr.first + 1);
  const end = usable('endIp', input.endIp, input.startIp === undefined || opts.cidr ? cidr.last - 1 : start);
  if (start > end)
    throw new InvalidParameterError('endIp', intToIpv4(end), `must not be below startIp ${intToIpv4(start)}`);
  if (end - start + 1 > MAX_RANGE_SIZE) {
    throw new InvalidParameterError(
      'endIp',
      intToIpv4(end),
      `a range holds at most ${MAX_RANGE_SIZE} addresses (a /8)`,
    );
  }
  const excluded: number[] = [];
  if (gw >= start && gw <= end) {
    if (opts.gatewayInside === 'forbid') {
      throw new InvalidParameterError(
        'gateway',
        gateway,
        `must not lie inside the range ${intToIpv4(start)}-${intToIpv4(end)}`,
      );
    }
    excluded.push(gw);
  }
  const netmask = intToIpv4(cidr.prefix === 0 ? 0 : (0xffffffff << (32 - cidr.prefix)) >>> 0);
  return { cidr: { ...cidr, text: `${intToIpv4(cidr.first)}/${cidr.prefix}` }, gateway, netmask, start, end, excluded };
}

/**
 * Public IP ranges of a zone (spec/networking.md §4.5): one row each however large; never
 * overlapping any public range of any zone nor any pod's reserved management range; dedicatable
 * to an account or a domain; deletable only when no address of it is allocated.
 */
export class PublicIpRangeService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly allocator: IpAllocator,
  ) {}

  async get(id: Ref): Promise<IpRange> {
    id = await resolveRef(this.ctx.db, ipRangeRefs, id, 'id');
    return getRange(this.ctx.db, id, 'public');
  }

  async list(
    filter: { zoneId?: Ref; accountId?: Ref; domainId?: Ref; vlanType?: VlanType } & ListOptions = {},
  ): Promise<IpRange[]> {
    const db = this.ctx.db;
    const paging = await listPaging(this.ctx, filter);
    const zoneId = await resolveOptionalRef(db, zoneRepo, filter.zoneId, 'zoneId');
    const accountId = await resolveOptionalRef(db, accountRepo, filter.accountId, 'accountId');
    const domainId = await resolveOptionalRef(db, domainRepo, filter.domainId, 'domainId');
    let q = db.selectFrom('ipRanges').selectAll().where('space', '=', 'public').where('removed', 'is', null);
    if (zoneId !== undefined) q = q.where('zoneId', '=', zoneId);
    if (accountId !== undefined) q = q.where('accountId', '=', accountId);
    if (domainId !== undefined) q = q.where('domainId', '=', domainId);
    if (filter.vlanType !== undefined) q = q.where('vlanType', '=', filter.vlanType);
    // A range has no name: the keyword matches its VLAN, addresses or gateway.
    return (await applyPaging(q.orderBy('id'), paging, ['vlanTag', 'startIp', 'endIp', 'gateway']).execute()).map(
      decodeIpRange,
    );
  }

  /** Size, allocated and free addresses of a range (free + allocated = size). */
  async usage(id: Ref): Promise<PoolUsage> {
    id = await resolveRef(this.ctx.db, ipRangeRefs, id, 'id');
    const range = await this.get(id);
    return this.allocator.poolUsage(this.ctx.db, poolOfRange(range));
  }

  /** Adds a range: one row, O(1) in the range's size. Emits `VLAN.IP.RANGE.CREATE`. */
  async create(input: CreatePublicIpRangeInput): Promise<IpRange> {
    return this.createResolved(
      await resolveRefs(this.ctx.db, input, {
        zoneId: zoneRepo,
        podId: podRepo,
        physicalNetworkId: physicalNetworkRepo,
        accountId: accountRepo,
        domainId: domainRepo,
      }),
    );
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(input: Resolved<CreatePublicIpRangeInput>): Promise<IpRange> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a public IP range');
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      requireIpv4('startIp', input.startIp);
      const r = checkRange(input, { gatewayInside: 'forbid' });
      const vlanTag = parseVlanTag('vlan', input.vlan);
      const vlanType = input.vlanType ?? 'VirtualNetwork';
      if (vlanType !== 'VirtualNetwork' && vlanType !== 'DirectAttached') {
        throw new InvalidParameterError('vlanType', vlanType, 'must be VirtualNetwork or DirectAttached');
      }
      const owner = await checkDedication(w.db, input.accountId, input.domainId);
      if (input.forSystemVms && (owner.accountId !== null || owner.domainId !== null)) {
        throw new InvalidParameterError(
          'forSystemVms',
          true,
          'a range reserved for system VMs cannot be dedicated to an account or domain',
        );
      }
      if (input.podId !== undefined) {
        const pod = await podRepo.get(w.db, input.podId, 'podId');
        if (pod.zoneId !== zone.id)
          throw new InvalidParameterError('podId', input.podId, `pod ${pod.name} is not in zone ${zone.name}`);
      }
      if (input.physicalNetworkId !== undefined) {
        const pn = await w.db
          .selectFrom('physicalNetworks')
          .select(['id', 'zoneId'])
          .where('id', '=', input.physicalNetworkId)
          .where('removed', 'is', null)
          .executeTakeFirst();
        if (!pn || Number(pn.zoneId) !== zone.id) {
          throw new InvalidParameterError(
            'physicalNetworkId',
            input.physicalNetworkId,
            `no physical network with this id in zone ${zone.name}`,
          );
        }
      }
      await w.lock('ip-ranges');
      await checkPublicOverlap(w.db, r, zone.id, vlanTag);
      const row = await w.db
        .insertInto('ipRanges')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          space: 'public',
          vlanType,
          zoneId: zone.id,
          podId: input.podId ?? null,
          networkId: null,
          physicalNetworkId: input.physicalNetworkId ?? null,
          vlanTag,
          gateway: r.gateway,
          netmask: r.netmask,
          cidr: r.cidr.text,
          startIp: intToIpv4(r.start),
          endIp: intToIpv4(r.end),
          startNum: r.start,
          endNum: r.end,
          excluded: json([]),
          domainId: owner.domainId,
          accountId: owner.accountId,
          forSystemVms: input.forSystemVms ? 1 : 0,
          updatedCount: 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const range = decodeIpRange(row);
      await w.event({
        type: 'VLAN.IP.RANGE.CREATE',
        description: `public range ${range.startIp}-${range.endIp} (${vlanTag}) created in zone ${zone.name}`,
        parameters: { rangeId: range.id, zoneId: zone.id, size: r.end - r.start + 1 },
      });
      return range;
    });
  }

  /** Deletes a range with no allocated address; ResourceInUseError otherwise. Emits `VLAN.IP.RANGE.DELETE`. */
  async delete(id: Ref): Promise<void> {
    id = await resolveRef(this.ctx.db, ipRangeRefs, id, 'id');
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a public IP range');
      const range = await getRange(w.db, id, 'public');
      // Update first: on PostgreSQL this waits for in-flight claims (they share-lock the row),
      // so the count below sees every committed allocation.
      await casRange(w, range, { removed: w.now });
      const usage = await this.allocator.poolUsage(w.db, poolOfRange(range));
      if (usage.allocated > 0) {
        throw new ResourceInUseError(
          `public range ${range.startIp}-${range.endIp} has ${usage.allocated} allocated address(es)`,
          {
            field: 'id',
            value: id,
          },
        );
      }
      await w.event({
        type: 'VLAN.IP.RANGE.DELETE',
        description: `public range ${range.startIp}-${range.endIp} deleted`,
        parameters: { rangeId: id },
      });
    });
  }

  /**
   * Dedicates a range to an account or a domain. Refused while an address of it is held by an
   * account outside the new owner. Emits `VLAN.IP.RANGE.DEDICATE`.
   */
  async dedicate(id: Ref, owner: { accountId?: Ref; domainId?: Ref }): Promise<IpRange> {
    id = await resolveRef(this.ctx.db, ipRangeRefs, id, 'id');
    const to = await resolveRefs(this.ctx.db, owner, { accountId: accountRepo, domainId: domainRepo });
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'dedicate a public IP range');
      const range = await getRange(w.db, id, 'public');
      const owner = await checkDedication(w.db, to.accountId, to.domainId);
      if (owner.accountId === null && owner.domainId === null) {
        throw new InvalidParameterError('accountId', to.accountId, 'give an accountId or a domainId to dedicate to');
      }
      if (range.forSystemVms)
        throw new InvalidParameterError('id', id, 'a range reserved for system VMs cannot be dedicated');
      if (range.accountId !== null || range.domainId !== null) {
        throw new InvalidParameterError('id', id, 'the range is already dedicated; release it first');
      }
      const held = await w.db
        .selectFrom('ipAllocations')
        .selectAll()
        .where('space', '=', 'public')
        .where('address', '>=', range.startNum)
        .where('address', '<=', range.endNum)
        .execute();
      for (const raw of held.map(decodeIpAllocation)) {
        const ok =
          owner.accountId !== null
            ? raw.accountId === owner.accountId
            : raw.domainId !== null && (await isInSubtree(w.db, owner.domainId as number, raw.domainId));
        if (!ok) {
          throw new ResourceInUseError(`public IP ${raw.ip} of the range is held by account ${raw.accountId}`, {
            field: 'id',
            value: id,
          });
        }
      }
      await casRange(w, range, { accountId: owner.accountId, domainId: owner.domainId });
      await w.event({
        type: 'VLAN.IP.RANGE.DEDICATE',
        description: `public range ${range.startIp}-${range.endIp} dedicated to ${owner.accountId !== null ? `account ${owner.accountId}` : `domain ${owner.domainId}`}`,
        parameters: { rangeId: id, ...owner },
      });
      return getRange(w.db, id);
    });
  }

  /** Returns a dedicated range to the system pool (held addresses stay with their owners). Emits `VLAN.IP.RANGE.RELEASE`. */
  async releaseDedication(id: Ref): Promise<IpRange> {
    id = await resolveRef(this.ctx.db, ipRangeRefs, id, 'id');
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'release a public IP range');
      const range = await getRange(w.db, id, 'public');
      if (range.accountId === null && range.domainId === null)
        throw new InvalidParameterError('id', id, 'the range is not dedicated');
      await casRange(w, range, { accountId: null, domainId: null });
      await w.event({
        type: 'VLAN.IP.RANGE.RELEASE',
        description: `public range ${range.startIp}-${range.endIp} released to the system pool`,
        parameters: { rangeId: id },
      });
      return getRange(w.db, id);
    });
  }
}

/**
 * Guest address ranges of a network (§4.3, §4.4), inside the caller's transaction (network
 * design / shared-network range admin): gateway = first usable address by default and never
 * allocatable, the external LB self-IP (second usable address) reserved on request.
 */
export class GuestIpRangeService {
  private readonly settings: SettingsService;

  constructor(
    ctx: CloudContext,
    private readonly allocator: IpAllocator,
  ) {
    this.settings = new SettingsService(ctx);
  }

  async list(db: Db, networkId: number): Promise<IpRange[]> {
    const rows = await db
      .selectFrom('ipRanges')
      .selectAll()
      .where('space', '=', 'guest')
      .where('networkId', '=', networkId)
      .where('removed', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map(decodeIpRange);
  }

  /** Usage summed over the network's ranges. */
  async usage(db: Db, networkId: number): Promise<PoolUsage> {
    const total: PoolUsage = { size: 0, allocated: 0, free: 0 };
    for (const range of await this.list(db, networkId)) {
      const u = await this.allocator.poolUsage(db, poolOfRange(range));
      total.size += u.size;
      total.allocated += u.allocated;
      total.free += u.free;
    }
    return total;
  }

  /** Adds a guest range to a network; returns it and the external-LB reservation if asked for. */
  async create(
    w: Writer,
    input: CreateGuestIpRangeInput,
  ): Promise<{ range: IpRange; externalLb: IpAllocation | null }> {
    const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
    requireInteger('networkId', input.networkId, { min: 1 });
    const vlanType = input.vlanType ?? (input.podId === undefined ? 'VirtualNetwork' : 'DirectAttached');
    const cidr = input.cidr === undefined ? undefined : requireCidr('cidr', input.cidr);
    if (cidr === undefined && input.gateway === undefined)
      throw new InvalidParameterError('cidr', input.cidr, 'give a cidr, or a gateway and netmask');
    const r = checkRange(input, { ...(cidr ? { cidr } : {}), gatewayInside: 'exclude' });
    if (vlanType === 'VirtualNetwork') {
      const limit = await this.settings.get('network.guest.cidr.limit', {}, w.db);
      if (r.cidr.prefix < limit) {
        throw new InvalidParameterError(
          'cidr',
          input.cidr ?? r.cidr.text,
          `prefix must be /${limit} or longer (network.guest.cidr.limit)`,
        );
      }
    }
    const vlanTag = parseVlanTag('vlan', input.vlan);
    if (input.podId !== undefined) {
      const pod = await podRepo.get(w.db, input.podId, 'podId');
      if (pod.zoneId !== zone.id)
        throw new InvalidParameterError('podId', input.podId, `pod ${pod.name} is not in zone ${zone.name}`);
      for (const other of await podRepo.list(w.db, { zoneId: zone.id })) {
        if (
          rangesOverlap(
            { first: r.start, last: r.end },
            { first: ipv4ToInt(other.startIp), last: ipv4ToInt(other.endIp) },
          )
        ) {
          throw new InvalidParameterError(
            'startIp',
            intToIpv4(r.start),
            `the range overlaps the reserved system range ${other.startIp}-${other.endIp} of pod ${other.name}`,
          );
        }
      }
    }
    for (const other of await this.list(w.db, input.networkId)) {
      if (rangesOverlap({ first: r.start, last: r.end }, { first: other.startNum, last: other.endNum })) {
        throw new InvalidParameterError(
          'startIp',
          intToIpv4(r.start),
          `the range overlaps ${other.startIp}-${other.endIp} of network ${input.networkId}`,
        );
      }
    }
    const row = await w.db
      .insertInto('ipRanges')
      .values({
        uuid: newUuid(),
        created: w.now,
        removed: null,
        space: 'guest',
        vlanType,
        zoneId: zone.id,
        podId: input.podId ?? null,
        networkId: input.networkId,
        physicalNetworkId: null,
        vlanTag,
        gateway: r.gateway,
        netmask: r.netmask,
        cidr: r.cidr.text,
        startIp: intToIpv4(r.start),
        endIp: intToIpv4(r.end),
        startNum: r.start,
        endNum: r.end,
        excluded: json(r.excluded.map(intToIpv4)),
        domainId: null,
        accountId: null,
        forSystemVms: 0,
        updatedCount: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const range = decodeIpRange(row);
    const externalLb = input.reserveExternalLbAddress ? await this.reserveExternalLbAddress(w, range) : null;
    return { range, externalLb };
  }

  /**
   * Reserves the external load balancer's self-IP: the second usable address of the CIDR, or —
   * when that is already in use (offering changed on a live network) — a free one (§4.4).
   */
  async reserveExternalLbAddress(w: Writer, range: IpRange): Promise<IpAllocation> {
    const second = ipv4ToInt(range.cidr.split('/')[0] as string) + 2;
    const pool = poolOfRange(range);
    const owner = { ownerType: 'ExternalLoadBalancer' as const, networkId: range.networkId };
    if (second >= pool.start && second <= pool.end && !pool.excluded.includes(second)) {
      const taken = await w.db
        .selectFrom('ipAllocations')
        .select('id')
        .where('space', '=', 'guest')
        .where('scopeId', '=', pool.scopeId)
        .where('address', '=', second)
        .executeTakeFirst();
      if (!taken) {
        const row = await this.allocator.claim(w, pool, owner, 'Reserved', { strategy: 'sequential', address: second });
        if (row) return row;
      }
    }
    const row = await this.allocator.claim(w, pool, owner, 'Reserved', { strategy: 'sequential' });
    if (!row)
      throw new InvalidParameterError(
        'networkId',
        range.networkId,
        'no free guest address left for the external load balancer',
      );
    return row;
  }

  /**
   * Removes every guest range of a network (network trash). Refused while a NIC holds an address;
   * reserved placeholders are released with the ranges.
   */
  async deleteForNetwork(w: Writer, networkId: number): Promise<void> {
    const held = await w.db
      .selectFrom('ipAllocations')
      .select(['id', 'ip', 'state'])
      .where('space', '=', 'guest')
      .where('scopeId', '=', networkId)
      .execute();
    const inUse = held.filter((h) => h.state !== 'Reserved');
    if (inUse.length > 0) {
      throw new ResourceInUseError(`network ${networkId} still has ${inUse.length} allocated guest address(es)`, {
        field: 'networkId',
        value: networkId,
        details: { ips: inUse.map((h) => h.ip) },
      });
    }
    for (const h of held) await this.allocator.release(w, Number(h.id));
    await w.db
      .updateTable('ipRanges')
      .set({ removed: w.now })
      .where('space', '=', 'guest')
      .where('networkId', '=', networkId)
      .where('removed', 'is', null)
      .execute();
  }
}

async function getRange(db: Db, id: number, space?: 'public' | 'guest'): Promise<IpRange> {
  const row = await db
    .selectFrom('ipRanges')
    .selectAll()
    .where('id', '=', id)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row || (space !== undefined && row.space !== space)) {
    throw new NotFoundError(space === 'public' ? 'Public IP range' : 'IP range', 'id', id);
  }
  return decodeIpRange(row);
}

async function casRange(w: Writer, range: IpRange, set: Record<string, unknown>): Promise<void> {
  const result = await w.db
    .updateTable('ipRanges')
    .set({ ...set, updatedCount: range.updatedCount + 1 } as never)
    .where('id', '=', range.id)
    .where('updatedCount', '=', range.updatedCount)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1)
    throw new ConcurrentModificationError('IpRange', range.id, { version: range.updatedCount });
}

async function checkDedication(
  db: Db,
  accountId: unknown,
  domainId: unknown,
): Promise<{ accountId: number | null; domainId: number | null }> {
  if (accountId !== undefined && accountId !== null && domainId !== undefined && domainId !== null) {
    throw new InvalidParameterError('domainId', domainId, 'dedicate to an account or to a domain, not both');
  }
  if (accountId !== undefined && accountId !== null) {
    const account = await accountRepo.get(db, accountId as number, 'accountId');
    return { accountId: account.id, domainId: null };
  }
  if (domainId !== undefined && domainId !== null) {
    const domain = await domainRepo.get(db, domainId as number, 'domainId');
    return { accountId: null, domainId: domain.id };
  }
  return { accountId: null, domainId: null };
}

/**
 * Public ranges never overlap any public range of any zone, nor any pod's management range (§4.5,
 * pitfall 5); ranges on one tagged VLAN of a zone share its subnet.
 */
async function checkPublicOverlap(db: Db, r: CheckedRange, zoneId: number, vlanTag: string): Promise<void> {
  const mine = { first: r.start, last: r.end };
  const others = (
    await db.selectFrom('ipRanges').selectAll().where('space', '=', 'public').where('removed', 'is', null).execute()
  ).map(decodeIpRange);
  for (const other of others) {
    if (rangesOverlap(mine, { first: other.startNum, last: other.endNum })) {
      throw new InvalidParameterError(
        'startIp',
        intToIpv4(r.start),
        `the range ${intToIpv4(r.start)}-${intToIpv4(r.end)} overlaps public range ${other.startIp}-${other.endIp} of zone ${other.zoneId}`,
      );
    }
    if (vlanTag !== 'untagged' && other.zoneId === zoneId && other.vlanTag === vlanTag && other.cidr !== r.cidr.text) {
      throw new InvalidParameterError(
        'gateway',
        r.gateway,
        `${vlanTag} in this zone already carries subnet ${other.cidr}; ranges on one VLAN share its gateway and netmask`,
      );
    }
  }
  for (const pod of await podRepo.list(db)) {
    if (rangesOverlap(mine, { first: ipv4ToInt(pod.startIp), last: ipv4ToInt(pod.endIp) })) {
      throw new InvalidParameterError(
        'startIp',
        intToIpv4(r.start),
        `the range overlaps the reserved management range ${pod.startIp}-${pod.endIp} of pod ${pod.name}`,
      );
    }
  }
}
