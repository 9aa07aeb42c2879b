import type { CloudContext } from '../context.js';
import { DuplicateError, InvalidParameterError, NotFoundError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { type NetworkOfferingEvent, networkOfferingStateMachine } from '../model/state-machines/network-offering.js';
import { parseTags, requireInteger, requireOneOf, requireString } from '../model/validate.js';
import { serviceOfferingRepo } from '../resources/offerings.js';
import { requireRootAdmin } from '../resources/permissions.js';
import { resolveRefs } from '../resources/ref-resolution.js';
import { bit, json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { type NetworkOffering, networkOfferingRepo } from './records.js';
import {
  EGRESS_POLICIES,
  type EgressPolicy,
  GUEST_TYPES,
  type GuestType,
  NETWORK_PROVIDERS,
  NETWORK_SERVICES,
  type NetworkService,
  OFFERING_AVAILABILITIES,
  type OfferingAvailability,
  type ServiceProviderMap,
} from './services.js';

/** A network offering to create: guest type, the services it provides and the provider of each. */
export interface CreateNetworkOfferingInput {
  name: string;
  displayText?: string;
  guestType: GuestType;
  /** Service → provider(s), e.g. `{ Dhcp: ['VirtualRouter'], SourceNat: ['VirtualRouter'] }`. */
  services: Record<string, string[] | string>;
  capabilities?: Partial<Record<NetworkService, Record<string, string>>>;
  /** Isolated only: several services (PF and LB) may share one public IP. Default true for Isolated. */
  conserveMode?: boolean;
  specifyVlan?: boolean;
  specifyIpRanges?: boolean;
  availability?: OfferingAvailability;
  /** Isolated networks' egress default. New offerings allow (§8.2). */
  egressDefaultPolicy?: EgressPolicy;
  /** Mbps; default `network.throttling.rate`. */
  networkRate?: number;
  /** System offering sizing the routers. */
  serviceOfferingId?: Ref;
  tags?: string | string[];
  /** For VPC tiers. */
  forVpc?: boolean;
  /** Implemented at creation and never garbage-collected. */
  persistent?: boolean;
}

/** Services that need a public IP and so an isolated (or VPC) network. */
const PUBLIC_IP_SERVICES: readonly NetworkService[] = ['SourceNat', 'PortForwarding', 'Firewall'];

/**
 * Network offerings (spec/networking.md §5, resource-model.md §6.3): created `Disabled`, enabled to
 * be used, retired to `Inactive` (state changes are compare-and-set). CloudStack's built-in
 * offerings are seeded by the 0005 migration.
 */
export class NetworkOfferingService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref, db: Db = this.ctx.db): Promise<NetworkOffering> {
    id = await networkOfferingRepo.resolve(db, id);
    return networkOfferingRepo.get(db, id);
  }

  async getByName(name: string, db: Db = this.ctx.db): Promise<NetworkOffering> {
    const [found] = await networkOfferingRepo.list(db, { name });
    if (!found) throw new NotFoundError('NetworkOffering', 'name', name);
    return found;
  }

  /** Network offerings by id, filtered; a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(
    filter: { guestType?: GuestType; state?: string; forVpc?: boolean } & ListOptions = {},
  ): Promise<NetworkOffering[]> {
    return networkOfferingRepo.listFor(this.ctx, {
      ...filter,
      guestType: filter.guestType,
      state: filter.state,
      forVpc: filter.forVpc === undefined ? undefined : bit(filter.forVpc),
    });
  }

  async create(input: CreateNetworkOfferingInput): Promise<NetworkOffering> {
    return this.createResolved(await resolveRefs(this.ctx.db, input, { serviceOfferingId: serviceOfferingRepo }));
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(input: Resolved<CreateNetworkOfferingInput>): Promise<NetworkOffering> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a network offering');
      const name = requireString('name', input.name, { max: 255 });
      const guestType = requireOneOf('guestType', input.guestType, GUEST_TYPES);
      const services = parseServices(input.services);
      const forVpc = input.forVpc === true;
      if (guestType === 'Shared') {
        for (const s of [...PUBLIC_IP_SERVICES, 'Lb'] as const) {
          // Shared networks carry no source NAT / PF / firewall; LB only as NetScaler ELB.
          if (services[s] && !(s === 'Lb' && services.Lb?.every((p) => p === 'Netscaler'))) {
            throw new InvalidParameterError('services', input.services, `${s} is not available on Shared networks`);
          }
        }
        if (input.conserveMode === true)
          throw new InvalidParameterError('conserveMode', true, 'conserve mode applies to Isolated offerings only');
        if (forVpc) throw new InvalidParameterError('forVpc', true, 'VPC tiers are Isolated networks');
      } else if (services.SecurityGroup) {
        throw new InvalidParameterError('services', input.services, 'SecurityGroup is a Shared-network service');
      }
      if (forVpc && services.Firewall)
        throw new InvalidParameterError('services', input.services, 'VPC tiers use NetworkACL, not Firewall');
      if (!forVpc && services.NetworkACL)
        throw new InvalidParameterError('services', input.services, 'NetworkACL is a VPC-tier service');
      if (services.StaticNat && services.PortForwarding) {
        const a = new Set(services.StaticNat);
        if (!services.PortForwarding.some((p) => a.has(p)) && !services.StaticNat.some((p) => p === 'Netscaler')) {
          throw new InvalidParameterError(
            'services',
            input.services,
            'StaticNat and PortForwarding must share a provider (one provider set per public IP, §8.6)',
          );
        }
      }
      const specifyVlan = input.specifyVlan ?? guestType === 'Shared';
      const specifyIpRanges = input.specifyIpRanges ?? guestType === 'Shared';
      if (guestType === 'Isolated' && specifyIpRanges && services.SourceNat)
        throw new InvalidParameterError(
          'specifyIpRanges',
          true,
          'an offering with SourceNat takes its addresses from the network CIDR',
        );
      const networkRate =
        input.networkRate === undefined ? null : requireInteger('networkRate', input.networkRate, { min: 0 });
      if (input.serviceOfferingId !== undefined) {
        const so = await serviceOfferingRepo.get(w.db, input.serviceOfferingId, 'serviceOfferingId');
        if (!so.isSystem || so.systemVmType !== 'domainrouter')
          throw new InvalidParameterError(
            'serviceOfferingId',
            input.serviceOfferingId,
            'must be a system offering for routers',
          );
      }
      await w.lock('network-offerings');
      if ((await networkOfferingRepo.count(w.db, { name })) > 0)
        throw new DuplicateError('network offering', 'name', name, 'the cloud');
      const row = await w.db
        .insertInto('networkOfferings')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          name,
          displayText: input.displayText === undefined ? name : requireString('displayText', input.displayText),
          trafficType: 'Guest',
          guestType,
          services: json(services),
          capabilities: json(input.capabilities ?? {}),
          conserveMode: bit(guestType === 'Isolated' && (input.conserveMode ?? true)),
          specifyVlan: bit(specifyVlan),
          specifyIpRanges: bit(specifyIpRanges),
          availability: requireOneOf('availability', input.availability ?? 'Optional', OFFERING_AVAILABILITIES),
          egressDefaultPolicy: requireOneOf(
            'egressDefaultPolicy',
            input.egressDefaultPolicy ?? 'allow',
            EGRESS_POLICIES,
          ),
          networkRate,
          serviceOfferingId: input.serviceOfferingId ?? null,
          tags: json(parseTags('tags', input.tags)),
          forVpc: bit(forVpc),
          persistent: bit(input.persistent),
          isDefault: 0,
          state: 'Disabled',
          updatedCount: 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const offering = networkOfferingRepo.decode(row);
      await w.event({
        type: 'NETWORK.OFFERING.CREATE',
        description: `network offering ${name} (${guestType}) created`,
        resourceType: 'NetworkOffering',
        resourceId: offering.id,
        resourceUuid: offering.uuid,
      });
      return offering;
    });
  }

  async enable(id: Ref): Promise<NetworkOffering> {
    id = await networkOfferingRepo.resolve(this.ctx.db, id);
    return this.move(id, 'Enable');
  }

  /** Disabled offerings create no new networks; existing networks are untouched. */
  async disable(id: Ref): Promise<NetworkOffering> {
    id = await networkOfferingRepo.resolve(this.ctx.db, id);
    return this.move(id, 'Disable');
  }

  async retire(id: Ref): Promise<NetworkOffering> {
    id = await networkOfferingRepo.resolve(this.ctx.db, id);
    return this.move(id, 'Retire');
  }

  private move(id: number, event: NetworkOfferingEvent): Promise<NetworkOffering> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'change a network offering');
      const o = await networkOfferingRepo.get(w.db, id);
      await w.transition({
        table: 'networkOfferings',
        id,
        machine: networkOfferingStateMachine,
        event,
        expect: { state: o.state, version: o.updatedCount },
        resource: { type: 'NetworkOffering', uuid: o.uuid },
        eventPrefix: 'NETWORK.OFFERING',
      });
      return networkOfferingRepo.get(w.db, id);
    });
  }
}

/** Validates a services → providers map. */
export function parseServices(value: unknown): ServiceProviderMap {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidParameterError('services', value, 'expected { Service: [Provider, ...] }');
  const out: ServiceProviderMap = {};
  for (const [service, providers] of Object.entries(value)) {
    const s = requireOneOf('services', service, NETWORK_SERVICES);
    const list = Array.isArray(providers) ? providers : [providers];
    if (list.length === 0) throw new InvalidParameterError(`services.${s}`, providers, 'at least one provider');
    out[s] = list.map((p) => requireOneOf(`services.${s}`, p, NETWORK_PROVIDERS));
  }
  if (Object.keys(out).length === 0) throw new InvalidParameterError('services', value, 'at least one service');
  return out;
}
