import type { CloudContext } from '../context.js';
import { InvalidParameterError, ResourceInUseError } from '../errors.js';
import {
  HYPERVISOR_TYPES,
  type HypervisorType,
  ISOLATION_METHODS,
  type IsolationMethod,
  TRAFFIC_TYPES,
  type TrafficType,
} from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { PhysicalNetwork, PhysicalNetworkTrafficType, VlanRange } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { type PhysicalNetworkEvent, physicalNetworkStateMachine } from '../model/state-machines/index.js';
import { optionalString, parseTags, rangesOverlap, requireOneOf, requireString } from '../model/validate.js';
import { decoder, json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { refTable, resolveRef } from './ref-resolution.js';
import { Repo } from './repo.js';
import { zoneRepo } from './zones.js';

export const physicalNetworkRepo = new Repo<PhysicalNetwork>(
  'physicalNetworks',
  'PhysicalNetwork',
  decoder<PhysicalNetwork>({ json: ['isolationMethods', 'vlanRanges', 'tags'] }),
);
export const trafficTypeRepo = {
  decode: decoder<PhysicalNetworkTrafficType>({ json: ['labels'] }),
  ...refTable('physicalNetworkTrafficTypes', 'TrafficType', false),
  /** The numeric id a caller's traffic-type id or uuid names. */
  resolve(db: Db, ref: Ref, field = 'id'): Promise<number> {
    return resolveRef(db, this, ref, field);
  },
};

/** Highest id per isolation method: 802.1Q VLANs 1–4094, VXLAN VNIs up to 2^24 − 2. */
const MAX_VNET: Partial<Record<IsolationMethod, number>> = { VLAN: 4094, VXLAN: 16_777_214 };

/** A physical network to create in a zone: isolation methods, VLAN ranges and tags. */
export interface CreatePhysicalNetworkInput {
  zoneId: Ref;
  name: string;
  isolationMethods?: IsolationMethod[];
  /** Guest VLAN ids, e.g. `"800-900,1000-1099"` or `[{start: 800, end: 900}]`. */
  vlan?: string | VlanRange[];
  tags?: string | string[];
  speed?: string;
}

/** Parses and checks VLAN ranges: in bounds, start ≤ end, no overlap among them. Sorted. */
export function parseVlanRanges(field: string, value: unknown, isolation: IsolationMethod): VlanRange[] {
  if (value === undefined || value === null || value === '') return [];
  const max = MAX_VNET[isolation] ?? 16_777_214;
  let ranges: VlanRange[];
  if (typeof value === 'string') {
    ranges = value.split(',').map((part) => {
      const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
      if (!m) throw new InvalidParameterError(field, value, `"${part}" is not a VLAN id or range like 800-900`);
      return { start: Number(m[1]), end: Number(m[2] ?? m[1]) };
    });
  } else if (Array.isArray(value)) {
    ranges = value.map((r) => ({ start: (r as VlanRange)?.start, end: (r as VlanRange)?.end }));
  } else {
    throw new InvalidParameterError(field, value, 'expected "800-900,1000-1099" or [{start, end}]');
  }
  for (const r of ranges) {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 1 || r.end > max) {
      throw new InvalidParameterError(field, value, `${isolation} ids must be integers from 1 to ${max}`);
    }
    if (r.start > r.end)
      throw new InvalidParameterError(field, value, `range ${r.start}-${r.end} starts after it ends`);
  }
  ranges.sort((a, b) => a.start - b.start);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur.start <= prev.end)
      throw new InvalidParameterError(
        field,
        value,
        `ranges ${prev.start}-${prev.end} and ${cur.start}-${cur.end} overlap`,
      );
  }
  return ranges;
}

const asRange = (r: VlanRange) => ({ first: r.start, last: r.end });

/**
 * Physical networks (spec/resource-model.md §4, spec/networking.md §2): created Disabled; a basic
 * zone has exactly one; guest VLAN ranges never overlap another physical network's in the zone;
 * traffic types with per-hypervisor labels, each of Public/Management/Storage/Control on one
 * physical network per zone.
 */
export class PhysicalNetworkService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<PhysicalNetwork> {
    id = await physicalNetworkRepo.resolve(this.ctx.db, id);
    return physicalNetworkRepo.get(this.ctx.db, id);
  }

  /** Physical networks by id, of a zone, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { zoneId?: Ref } & ListOptions = {}): Promise<PhysicalNetwork[]> {
    return physicalNetworkRepo.listFor(this.ctx, filter, { zoneId: zoneRepo });
  }

  create(input: CreatePhysicalNetworkInput): Promise<PhysicalNetwork> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a physical network');
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      const name = requireString('name', input.name, { max: 255 });
      const methods = (input.isolationMethods ?? ['VLAN']).map((m) =>
        requireOneOf('isolationMethods', m, ISOLATION_METHODS),
      );
      if (methods.length === 0)
        throw new InvalidParameterError('isolationMethods', input.isolationMethods, 'at least one isolation method');
      const vlanRanges = parseVlanRanges('vlan', input.vlan, methods[0]!);
      await w.lock(`physical-networks:${zone.id}`);
      const existing = await physicalNetworkRepo.list(w.db, { zoneId: zone.id });
      if (zone.networkType === 'Basic' && existing.length > 0) {
        throw new InvalidParameterError(
          'zoneId',
          zone.id,
          `basic zone ${zone.name} has exactly one physical network (${existing[0]!.name})`,
        );
      }
      if (existing.some((p) => p.name === name))
        throw new InvalidParameterError(
          'name',
          name,
          `a physical network with this name already exists in zone ${zone.name}`,
        );
      this.checkZoneOverlap(vlanRanges, existing, input.vlan);
      const row = await w.db
        .insertInto('physicalNetworks')
        .values({
          uuid: newUuid(),
          name,
          zoneId: zone.id,
          isolationMethods: json(methods),
          vlanRanges: json(vlanRanges),
          tags: json(parseTags('tags', input.tags)),
          speed: optionalString('speed', input.speed),
          state: 'Disabled',
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const net = physicalNetworkRepo.decode(row);
      await w.event({
        type: 'PHYSICAL.NETWORK.CREATE',
        description: `physical network ${name} created in zone ${zone.name}`,
        resourceType: 'PhysicalNetwork',
        resourceId: net.id,
        resourceUuid: net.uuid,
      });
      return net;
    });
  }

  /**
   * Updates tags, speed or the guest VLAN ranges. Ranges may grow freely; a VLAN range may only
   * shrink where none of its ids is held by a guest network (the VLAN pool checks that).
   */
  async update(
    id: Ref,
    patch: { vlan?: string | VlanRange[]; tags?: string | string[]; speed?: string },
  ): Promise<PhysicalNetwork> {
    id = await physicalNetworkRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a physical network');
      const net = await physicalNetworkRepo.get(w.db, id);
      const set: Record<string, unknown> = {};
      if (patch.vlan !== undefined) {
        const ranges = parseVlanRanges('vlan', patch.vlan, net.isolationMethods[0] ?? 'VLAN');
        await w.lock(`physical-networks:${net.zoneId}`);
        const others = (await physicalNetworkRepo.list(w.db, { zoneId: net.zoneId })).filter((p) => p.id !== id);
        this.checkZoneOverlap(ranges, others, patch.vlan);
        await this.ctx.hooks.beforeVlanRangesChange(w, net, ranges);
        set.vlanRanges = json(ranges);
      }
      if (patch.tags !== undefined) set.tags = json(parseTags('tags', patch.tags));
      if (patch.speed !== undefined) set.speed = optionalString('speed', patch.speed);
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('physicalNetworks').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'PHYSICAL.NETWORK.UPDATE',
          description: `physical network ${net.name} updated`,
          resourceType: 'PhysicalNetwork',
          resourceId: id,
          resourceUuid: net.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      return physicalNetworkRepo.get(w.db, id);
    });
  }

  async enable(id: Ref): Promise<PhysicalNetwork> {
    id = await physicalNetworkRepo.resolve(this.ctx.db, id);
    return this.setState(id, 'Enable');
  }

  /** Blocks new guest networks only; existing traffic continues. */
  async disable(id: Ref): Promise<PhysicalNetwork> {
    id = await physicalNetworkRepo.resolve(this.ctx.db, id);
    return this.setState(id, 'Disable');
  }

  private setState(id: number, event: PhysicalNetworkEvent): Promise<PhysicalNetwork> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'change a physical network');
      const net = await physicalNetworkRepo.get(w.db, id);
      await w.transition({
        table: 'physicalNetworks',
        id,
        machine: physicalNetworkStateMachine,
        event,
        resource: { type: 'PhysicalNetwork', uuid: net.uuid },
        eventPrefix: 'PHYSICAL.NETWORK',
      });
      return physicalNetworkRepo.get(w.db, id);
    });
  }

  /** A physical network with guest networks on it cannot be deleted; its traffic types go with it. */
  async delete(id: Ref): Promise<void> {
    id = await physicalNetworkRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a physical network');
      const net = await physicalNetworkRepo.get(w.db, id);
      const inUse = await this.ctx.hooks.physicalNetworkUsers(w, net);
      if (inUse > 0)
        throw new ResourceInUseError(`physical network ${net.name} still carries ${inUse} guest network(s)`, {
          field: 'id',
          value: id,
        });
      await w.db.deleteFrom('physicalNetworkTrafficTypes').where('physicalNetworkId', '=', id).execute();
      await physicalNetworkRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'PHYSICAL.NETWORK.DELETE',
        description: `physical network ${net.name} deleted`,
        resourceType: 'PhysicalNetwork',
        resourceId: id,
        resourceUuid: net.uuid,
      });
    });
  }

  // ---- traffic types ----

  async listTrafficTypes(physicalNetworkId: Ref): Promise<PhysicalNetworkTrafficType[]> {
    physicalNetworkId = await physicalNetworkRepo.resolve(this.ctx.db, physicalNetworkId, 'physicalNetworkId');
    return this.ctx.db
      .selectFrom('physicalNetworkTrafficTypes')
      .selectAll()
      .where('physicalNetworkId', '=', physicalNetworkId)
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(trafficTypeRepo.decode));
  }

  /**
   * Adds a traffic type with its per-hypervisor labels (KVM bridge, XenServer network
   * name-label, VMware vSwitch). Guest traffic may sit on several physical networks of a zone;
   * Public, Management, Storage and Control on one each.
   */
  async addTrafficType(
    physicalNetworkId: Ref,
    input: { trafficType: TrafficType; labels?: Partial<Record<HypervisorType, string>> },
  ): Promise<PhysicalNetworkTrafficType> {
    physicalNetworkId = await physicalNetworkRepo.resolve(this.ctx.db, physicalNetworkId, 'physicalNetworkId');
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'add a traffic type');
      const net = await physicalNetworkRepo.get(w.db, physicalNetworkId, 'physicalNetworkId');
      const trafficType = requireOneOf('trafficType', input.trafficType, TRAFFIC_TYPES);
      const labels = this.checkLabels(input.labels);
      await w.lock(`physical-networks:${net.zoneId}`);
      const inZone = await w.db
        .selectFrom('physicalNetworkTrafficTypes')
        .selectAll()
        .where('zoneId', '=', net.zoneId)
        .where('trafficType', '=', trafficType)
        .execute();
      if (inZone.some((t) => Number(t.physicalNetworkId) === net.id)) {
        throw new InvalidParameterError(
          'trafficType',
          trafficType,
          `physical network ${net.name} already carries ${trafficType} traffic`,
        );
      }
      if (trafficType !== 'Guest' && inZone.length > 0) {
        throw new InvalidParameterError(
          'trafficType',
          trafficType,
          `${trafficType} traffic is already on another physical network of this zone`,
        );
      }
      const row = await w.db
        .insertInto('physicalNetworkTrafficTypes')
        .values({
          uuid: newUuid(),
          physicalNetworkId: net.id,
          zoneId: net.zoneId,
          trafficType,
          labels: json(labels),
          created: w.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const tt = trafficTypeRepo.decode(row);
      await w.event({
        type: 'TRAFFIC.TYPE.CREATE',
        description: `${trafficType} traffic added to physical network ${net.name}`,
        resourceType: 'TrafficType',
        resourceId: tt.id,
        resourceUuid: tt.uuid,
        parameters: { labels },
      });
      return tt;
    });
  }

  async updateTrafficType(
    id: Ref,
    labels: Partial<Record<HypervisorType, string>>,
  ): Promise<PhysicalNetworkTrafficType> {
    id = await trafficTypeRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a traffic type');
      const checked = this.checkLabels(labels);
      const row = await w.db
        .selectFrom('physicalNetworkTrafficTypes')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new InvalidParameterError('id', id, 'no such traffic type');
      const merged = { ...trafficTypeRepo.decode(row).labels, ...checked };
      await w.db
        .updateTable('physicalNetworkTrafficTypes')
        .set({ labels: json(merged) })
        .where('id', '=', id)
        .execute();
      await w.event({
        type: 'TRAFFIC.TYPE.UPDATE',
        description: `${row.trafficType} traffic labels updated`,
        resourceType: 'TrafficType',
        resourceId: id,
        resourceUuid: row.uuid,
        parameters: { labels: merged },
      });
      return { ...trafficTypeRepo.decode(row), labels: merged };
    });
  }

  async removeTrafficType(id: Ref): Promise<void> {
    id = await trafficTypeRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'remove a traffic type');
      const row = await w.db
        .selectFrom('physicalNetworkTrafficTypes')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw new InvalidParameterError('id', id, 'no such traffic type');
      await w.db.deleteFrom('physicalNetworkTrafficTypes').where('id', '=', id).execute();
      await w.event({
        type: 'TRAFFIC.TYPE.DELETE',
        description: `${row.trafficType} traffic removed`,
        resourceType: 'TrafficType',
        resourceId: id,
        resourceUuid: row.uuid,
      });
    });
  }

  /** The label of `trafficType` for `hypervisor` in a zone, as drivers need it (null when unset). */
  async trafficLabel(zoneId: Ref, trafficType: TrafficType, hypervisor: HypervisorType): Promise<string | null> {
    zoneId = await zoneRepo.resolve(this.ctx.db, zoneId, 'zoneId');
    const row = await this.ctx.db
      .selectFrom('physicalNetworkTrafficTypes')
      .selectAll()
      .where('zoneId', '=', zoneId)
      .where('trafficType', '=', trafficType)
      .orderBy('id')
      .executeTakeFirst();
    return row ? (trafficTypeRepo.decode(row).labels[hypervisor] ?? null) : null;
  }

  private checkLabels(labels: unknown): Partial<Record<HypervisorType, string>> {
    if (labels === undefined) return {};
    if (typeof labels !== 'object' || labels === null)
      throw new InvalidParameterError('labels', labels, 'expected { KVM: "cloudbr0", XenServer: "cloud-public", ... }');
    const out: Partial<Record<HypervisorType, string>> = {};
    for (const [hypervisor, label] of Object.entries(labels)) {
      requireOneOf('labels', hypervisor, HYPERVISOR_TYPES);
      out[hypervisor as HypervisorType] = requireString(`labels.${hypervisor}`, label, { max: 255 });
    }
    return out;
  }

  private checkZoneOverlap(ranges: VlanRange[], others: PhysicalNetwork[], input: unknown) {
    for (const other of others) {
      for (const theirs of other.vlanRanges) {
        for (const mine of ranges) {
          if (rangesOverlap(asRange(mine), asRange(theirs))) {
            throw new InvalidParameterError(
              'vlan',
              input,
              `range ${mine.start}-${mine.end} overlaps ${theirs.start}-${theirs.end} of physical network ${other.name}`,
            );
          }
        }
      }
    }
  }
}
