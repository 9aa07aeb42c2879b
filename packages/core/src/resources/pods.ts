import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Pod } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { ALLOCATION_STATES, type AllocationState } from '../model/state-machines/index.js';
import {
  type Cidr,
  cidrFromGatewayAndNetmask,
  intToIpv4,
  ipv4ToInt,
  parseCidr,
  rangesOverlap,
  requireIpv4,
  requireOneOf,
  requireString,
} from '../model/validate.js';
import { decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { countLive, Repo } from './repo.js';
import { zoneRepo } from './zones.js';

export const podRepo = new Repo<Pod>('pods', 'Pod', decoder<Pod>({}));

/** A pod to create in a zone: its gateway, netmask and management IP range. */
export interface CreatePodInput {
  zoneId: Ref;
  name: string;
  /** The pod's management gateway. */
  gateway: string;
  netmask: string;
  /** Start of the reserved system range (system VMs' management NICs). */
  startIp: string;
  /** End of the reserved range; default: the last usable address of the pod CIDR. */
  endIp?: string;
  allocationState?: AllocationState;
}

/** The fields of a pod that can be changed (any of {@link CreatePodInput} but its zone). */
export type UpdatePodInput = Partial<Omit<CreatePodInput, 'zoneId'>>;

/**
 * Pods (spec/resource-model.md §2.2, spec/networking.md §4.2): the management subnet of a pod,
 * non-overlapping within its zone and with the zone's guest CIDR; the reserved system range
 * inside it, not containing the gateway, and unique cloud-wide (management IPs are unique across
 * the whole cloud).
 */
export class PodService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<Pod> {
    id = await podRepo.resolve(this.ctx.db, id);
    return podRepo.get(this.ctx.db, id);
  }

  /** Pods by id, of a zone, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { zoneId?: Ref } & ListOptions = {}): Promise<Pod[]> {
    return podRepo.listFor(this.ctx, filter, { zoneId: zoneRepo });
  }

  create(input: CreatePodInput): Promise<Pod> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a pod');
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      const name = requireString('name', input.name, { max: 255 });
      const net = this.checkAddresses(input);
      await w.lock('pods');
      if ((await podRepo.count(w.db, { zoneId: zone.id, name })) > 0) {
        throw new InvalidParameterError('name', name, `a pod with this name already exists in zone ${zone.name}`);
      }
      await this.checkConflicts(w, zone.id, zone.guestCidr, net, null);
      const row = await w.db
        .insertInto('pods')
        .values({
          uuid: newUuid(),
          name,
          zoneId: zone.id,
          gateway: net.gateway,
          cidr: net.cidr.text,
          startIp: net.startIp,
          endIp: net.endIp,
          allocationState: requireOneOf('allocationState', input.allocationState ?? 'Enabled', ALLOCATION_STATES),
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const pod = podRepo.decode(row);
      await w.event({
        type: 'POD.CREATE',
        description: `pod ${name} (${net.cidr.text}) created in zone ${zone.name}`,
        resourceType: 'Pod',
        resourceId: pod.id,
        resourceUuid: pod.uuid,
      });
      return pod;
    });
  }

  async update(id: Ref, patch: UpdatePodInput): Promise<Pod> {
    id = await podRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a pod');
      const pod = await podRepo.get(w.db, id);
      const zone = await zoneRepo.get(w.db, pod.zoneId);
      const set: Record<string, unknown> = {};
      if (patch.name !== undefined && patch.name !== pod.name) {
        const name = requireString('name', patch.name, { max: 255 });
        if ((await podRepo.count(w.db, { zoneId: zone.id, name })) > 0) {
          throw new InvalidParameterError('name', name, `a pod with this name already exists in zone ${zone.name}`);
        }
        set.name = name;
      }
      if (patch.allocationState !== undefined)
        set.allocationState = requireOneOf('allocationState', patch.allocationState, ALLOCATION_STATES);
      if (
        patch.gateway !== undefined ||
        patch.netmask !== undefined ||
        patch.startIp !== undefined ||
        patch.endIp !== undefined
      ) {
        const cidr = parseCidr(pod.cidr);
        const net = this.checkAddresses({
          gateway: patch.gateway ?? pod.gateway,
          netmask: patch.netmask ?? intToIpv4((0xffffffff << (32 - cidr.prefix)) >>> 0),
          startIp: patch.startIp ?? pod.startIp,
          endIp: patch.endIp ?? (patch.startIp === undefined ? pod.endIp : undefined),
        });
        await w.lock('pods');
        await this.checkConflicts(w, zone.id, zone.guestCidr, net, pod.id);
        Object.assign(set, { gateway: net.gateway, cidr: net.cidr.text, startIp: net.startIp, endIp: net.endIp });
      }
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('pods').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'POD.EDIT',
          description: `pod ${pod.name} updated`,
          resourceType: 'Pod',
          resourceId: pod.id,
          resourceUuid: pod.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      return podRepo.get(w.db, id);
    });
  }

  /** A pod with clusters cannot be deleted. */
  async delete(id: Ref): Promise<void> {
    id = await podRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a pod');
      const pod = await podRepo.get(w.db, id);
      const clusters = await countLive(w.db, 'clusters', { podId: id });
      if (clusters > 0)
        throw new ResourceInUseError(`pod ${pod.name} still has ${clusters} cluster(s)`, { field: 'id', value: id });
      await podRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'POD.DELETE',
        description: `pod ${pod.name} deleted`,
        resourceType: 'Pod',
        resourceId: pod.id,
        resourceUuid: pod.uuid,
      });
    });
  }

  private checkAddresses(input: { gateway: unknown; netmask: unknown; startIp: unknown; endIp?: unknown }) {
    const gateway = requireIpv4('gateway', input.gateway);
    const netmask = requireIpv4('netmask', input.netmask);
    const cidr = cidrFromGatewayAndNetmask(gateway, netmask, 'netmask');
    if (cidr.prefix > 30)
      throw new InvalidParameterError('netmask', input.netmask, 'a pod subnet needs at least a /30');
    const usable = { first: cidr.first + 1, last: cidr.last - 1 };
    const gw = ipv4ToInt(gateway);
    if (gw < usable.first || gw > usable.last) {
      throw new InvalidParameterError(
        'gateway',
        gateway,
        `must be a usable address of ${cidr.text}, not its network or broadcast address`,
      );
    }
    const startIp = requireIpv4('startIp', input.startIp);
    const endIp =
      input.endIp === undefined || input.endIp === null ? intToIpv4(usable.last) : requireIpv4('endIp', input.endIp);
    const range = { first: ipv4ToInt(startIp), last: ipv4ToInt(endIp) };
    if (range.first < usable.first || range.first > usable.last)
      throw new InvalidParameterError('startIp', startIp, `must be a usable address of the pod CIDR ${cidr.text}`);
    if (range.last < usable.first || range.last > usable.last)
      throw new InvalidParameterError('endIp', endIp, `must be a usable address of the pod CIDR ${cidr.text}`);
    if (range.first > range.last)
      throw new InvalidParameterError('endIp', endIp, `must not be below startIp ${startIp}`);
    if (gw >= range.first && gw <= range.last) {
      throw new InvalidParameterError('gateway', gateway, `must not lie in the reserved range ${startIp}-${endIp}`);
    }
    return { gateway, netmask, cidr, startIp, endIp, range };
  }

  private async checkConflicts(
    w: Writer,
    zoneId: number,
    guestCidr: string | null,
    net: { netmask: string; cidr: Cidr; range: { first: number; last: number }; startIp: string; endIp: string },
    selfId: number | null,
  ): Promise<void> {
    if (guestCidr && rangesOverlap(net.cidr, parseCidr(guestCidr))) {
      throw new InvalidParameterError(
        'netmask',
        net.netmask,
        `the pod CIDR ${net.cidr.text} overlaps the zone's guest CIDR ${guestCidr}`,
      );
    }
    const others = (await podRepo.list(w.db)).filter((p) => p.id !== selfId);
    for (const other of others) {
      if (other.zoneId === zoneId && rangesOverlap(net.cidr, parseCidr(other.cidr))) {
        throw new InvalidParameterError(
          'netmask',
          net.netmask,
          `the pod CIDR ${net.cidr.text} overlaps ${other.cidr} of pod ${other.name} in the same zone`,
        );
      }
      const theirs = { first: ipv4ToInt(other.startIp), last: ipv4ToInt(other.endIp) };
      if (rangesOverlap(net.range, theirs)) {
        throw new InvalidParameterError(
          'startIp',
          net.startIp,
          `the reserved range ${net.startIp}-${net.endIp} overlaps ${other.startIp}-${other.endIp} of pod ${other.name} (management IPs are unique cloud-wide)`,
        );
      }
    }
  }
}
