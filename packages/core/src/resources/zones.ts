import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../errors.js';
import { NETWORK_TYPES, type NetworkType } from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Zone } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { ALLOCATION_STATES, type AllocationState } from '../model/state-machines/index.js';
import {
  optionalIpv4,
  optionalString,
  parseCidr,
  rangesOverlap,
  requireCidr,
  requireIpv4,
  requireOneOf,
  requireString,
} from '../model/validate.js';
import { bit, decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { requireRootAdmin } from './permissions.js';
import { countLive, Repo } from './repo.js';
import { domainRepo } from './tenancy.js';

export const zoneRepo = new Repo<Zone>(
  'zones',
  'Zone',
  decoder<Zone>({ bool: ['localStorageEnabled', 'securityGroupEnabled'] }),
);

/**
 * A zone to create: name, network type, DNS servers, guest CIDR, network domain, dedication, local storage,
 * security groups and allocation state.
 */
export interface CreateZoneInput {
  name: string;
  networkType: NetworkType;
  /** Guest DNS; at least dns1. */
  dns1: string;
  dns2?: string;
  /** System-VM DNS; at least internalDns1. */
  internalDns1: string;
  internalDns2?: string;
  /** Advanced zones only, e.g. `10.1.1.0/24`. */
  guestCidr?: string;
  networkDomain?: string;
  /** A private zone, usable only by this domain and its sub-domains. */
  dedicatedDomainId?: Ref;
  localStorageEnabled?: boolean;
  /** Basic zones only. */
  securityGroupEnabled?: boolean;
  /** Default Disabled, as CloudStack creates zones; enable once set up. */
  allocationState?: AllocationState;
}

/** The fields of a zone that can be changed. */
export type UpdateZoneInput = Partial<Omit<CreateZoneInput, 'networkType'>> & { networkType?: NetworkType };

/**
 * Zones (spec/resource-model.md §2.1): name unique cloud-wide, network type fixed at creation,
 * guest and internal DNS required, guest CIDR for advanced zones only (changeable only while the
 * zone has no VMs), optional dedication to a domain.
 */
export class ZoneService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<Zone> {
    id = await zoneRepo.resolve(this.ctx.db, id);
    return zoneRepo.get(this.ctx.db, id);
  }

  /** Zones by id, filtered, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { allocationState?: AllocationState; networkType?: NetworkType } & ListOptions = {}): Promise<Zone[]> {
    return zoneRepo.listFor(this.ctx, filter);
  }

  create(input: CreateZoneInput): Promise<Zone> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a zone');
      const name = requireString('name', input.name, { max: 255 });
      const networkType = requireOneOf('networkType', input.networkType, NETWORK_TYPES);
      const guestCidr = await this.checkGuestCidr(w.db, networkType, input.guestCidr, null);
      if (networkType === 'Advanced' && input.securityGroupEnabled) {
        throw new InvalidParameterError('securityGroupEnabled', true, 'security groups are a basic-zone feature');
      }
      const dedicatedDomainId =
        input.dedicatedDomainId === undefined
          ? null
          : (await domainRepo.get(w.db, input.dedicatedDomainId, 'dedicatedDomainId')).id;
      await w.lock('zones');
      if ((await zoneRepo.count(w.db, { name })) > 0)
        throw new InvalidParameterError('name', name, 'a zone with this name already exists');
      const row = await w.db
        .insertInto('zones')
        .values({
          uuid: newUuid(),
          name,
          networkType,
          dns1: requireIpv4('dns1', input.dns1),
          dns2: optionalIpv4('dns2', input.dns2),
          internalDns1: requireIpv4('internalDns1', input.internalDns1),
          internalDns2: optionalIpv4('internalDns2', input.internalDns2),
          guestCidr,
          networkDomain: optionalString('networkDomain', input.networkDomain),
          dedicatedDomainId,
          localStorageEnabled: bit(input.localStorageEnabled),
          securityGroupEnabled: bit(networkType === 'Basic' && input.securityGroupEnabled),
          allocationState: requireOneOf('allocationState', input.allocationState ?? 'Disabled', ALLOCATION_STATES),
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const zone = zoneRepo.decode(row);
      if (zone.allocationState === 'Enabled') await this.checkReady(w, zone);
      await w.event({
        type: 'ZONE.CREATE',
        description: `zone ${name} (${networkType}) created`,
        resourceType: 'Zone',
        resourceId: zone.id,
        resourceUuid: zone.uuid,
      });
      return zone;
    });
  }

  async update(id: Ref, patch: UpdateZoneInput): Promise<Zone> {
    id = await zoneRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a zone');
      const zone = await zoneRepo.get(w.db, id);
      if (patch.networkType !== undefined && patch.networkType !== zone.networkType) {
        throw new InvalidParameterError(
          'networkType',
          patch.networkType,
          `a zone's network type cannot change (it is ${zone.networkType})`,
        );
      }
      const set: Record<string, unknown> = {};
      if (patch.name !== undefined && patch.name !== zone.name) {
        const name = requireString('name', patch.name, { max: 255 });
        await w.lock('zones');
        if ((await zoneRepo.count(w.db, { name })) > 0)
          throw new InvalidParameterError('name', name, 'a zone with this name already exists');
        set.name = name;
      }
      if (patch.dns1 !== undefined) set.dns1 = requireIpv4('dns1', patch.dns1);
      if (patch.dns2 !== undefined) set.dns2 = optionalIpv4('dns2', patch.dns2);
      if (patch.internalDns1 !== undefined) set.internalDns1 = requireIpv4('internalDns1', patch.internalDns1);
      if (patch.internalDns2 !== undefined) set.internalDns2 = optionalIpv4('internalDns2', patch.internalDns2);
      if (patch.networkDomain !== undefined) set.networkDomain = optionalString('networkDomain', patch.networkDomain);
      if (patch.localStorageEnabled !== undefined) set.localStorageEnabled = bit(patch.localStorageEnabled);
      if (patch.allocationState !== undefined) {
        set.allocationState = requireOneOf('allocationState', patch.allocationState, ALLOCATION_STATES);
        if (set.allocationState === 'Enabled' && zone.allocationState !== 'Enabled') await this.checkReady(w, zone);
      }
      if (patch.dedicatedDomainId !== undefined) {
        set.dedicatedDomainId =
          patch.dedicatedDomainId === null
            ? null
            : (await domainRepo.get(w.db, patch.dedicatedDomainId, 'dedicatedDomainId')).id;
      }
      if (patch.guestCidr !== undefined && patch.guestCidr !== zone.guestCidr) {
        set.guestCidr = await this.checkGuestCidr(w.db, zone.networkType, patch.guestCidr, zone.id);
        const vms = await countLive(w.db, 'vmInstances', { zoneId: zone.id });
        if (vms > 0) {
          throw new InvalidParameterError(
            'guestCidr',
            patch.guestCidr,
            `the guest CIDR can change only while the zone has no VMs (it has ${vms})`,
          );
        }
      }
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('zones').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'ZONE.EDIT',
          description: `zone ${zone.name} updated`,
          resourceType: 'Zone',
          resourceId: zone.id,
          resourceUuid: zone.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      return zoneRepo.get(w.db, id);
    });
  }

  /** A zone with pods, physical networks or secondary storage cannot be deleted. */
  async delete(id: Ref): Promise<void> {
    id = await zoneRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a zone');
      const zone = await zoneRepo.get(w.db, id);
      for (const [table, what] of [
        ['pods', 'pods'],
        ['physicalNetworks', 'physical networks'],
        ['imageStores', 'secondary storage'],
      ] as const) {
        const n = await countLive(w.db, table, { zoneId: id });
        if (n > 0) throw new ResourceInUseError(`zone ${zone.name} still has ${n} ${what}`, { field: 'id', value: id });
      }
      await zoneRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'ZONE.DELETE',
        description: `zone ${zone.name} deleted`,
        resourceType: 'Zone',
        resourceId: zone.id,
        resourceUuid: zone.uuid,
      });
    });
  }

  /**
   * A zone is enabled only once it can run system VMs (spec/resource-model.md §5): it has a
   * physical network (exactly one in a basic zone), secondary storage, and for every hypervisor
   * type among its clusters a system-VM template; higher layers add their own checks (a public IP
   * range in an advanced zone) through `ResourceGuards.onZoneEnable`.
   */
  private async checkReady(w: Writer, zone: Zone): Promise<void> {
    const count = (table: 'physicalNetworks' | 'imageStores') => countLive(w.db, table, { zoneId: zone.id });
    if ((await count('physicalNetworks')) === 0)
      throw new InvalidStateError(`zone ${zone.name} has no physical network yet`, {
        field: 'allocationState',
        value: 'Enabled',
      });
    if ((await count('imageStores')) === 0)
      throw new InvalidStateError(`zone ${zone.name} has no secondary storage yet`, {
        field: 'allocationState',
        value: 'Enabled',
      });
    const hypervisors = await w.db
      .selectFrom('clusters')
      .select('hypervisorType')
      .distinct()
      .where('zoneId', '=', zone.id)
      .where('removed', 'is', null)
      .execute();
    for (const { hypervisorType } of hypervisors) {
      const template = await w.db
        .selectFrom('templates')
        .select('id')
        .where('templateType', '=', 'SYSTEM')
        .where('hypervisorType', '=', hypervisorType)
        .where('removed', 'is', null)
        .where((eb) => eb.or([eb('zoneId', '=', zone.id), eb('crossZones', '=', 1)]))
        .executeTakeFirst();
      if (!template) {
        throw new InvalidStateError(
          `zone ${zone.name} has ${hypervisorType} clusters but no ${hypervisorType} system-VM template`,
          { field: 'allocationState', value: 'Enabled' },
        );
      }
    }
    await this.ctx.hooks.beforeZoneEnable(w, zone);
  }

  private async checkGuestCidr(
    db: CloudContext['db'],
    networkType: NetworkType,
    value: unknown,
    zoneId: number | null,
  ): Promise<string | null> {
    if (networkType === 'Basic') {
      if (value !== undefined && value !== null)
        throw new InvalidParameterError(
          'guestCidr',
          value,
          'basic zones have no zone guest CIDR (guest ranges are per pod)',
        );
      return null;
    }
    if (value === undefined || value === null)
      throw new InvalidParameterError('guestCidr', value, 'advanced zones need a guest CIDR, e.g. 10.1.1.0/24');
    const cidr = requireCidr('guestCidr', value, { maxPrefix: 29 });
    const pods = await db
      .selectFrom('pods')
      .select(['name', 'cidr'])
      .where('zoneId', '=', zoneId ?? -1)
      .where('removed', 'is', null)
      .execute();
    for (const pod of pods) {
      if (rangesOverlap(cidr, parseCidr(pod.cidr))) {
        throw new InvalidParameterError(
          'guestCidr',
          value,
          `overlaps the management CIDR ${pod.cidr} of pod ${pod.name}`,
        );
      }
    }
    return cidr.text;
  }
}
