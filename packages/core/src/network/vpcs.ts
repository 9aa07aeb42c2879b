import type { CloudContext, Writer } from '../context.js';
import { DuplicateError, InvalidParameterError, PermissionDeniedError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import {
  cidrContains,
  cidrFromGatewayAndNetmask,
  intToIpv4,
  ipv4ToInt,
  isPrivateCidr,
  optionalString,
  parseCidr,
  rangesOverlap,
  requireCidr,
  requireInteger,
  requireIpv4,
  requireOneOf,
  requireString,
} from '../model/validate.js';
import { isRootAdmin, requireRootAdmin } from '../resources/permissions.js';
import { physicalNetworkRepo } from '../resources/physical-networks.js';
import { resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { networkAclItemRefs } from '../resources/ref-tables.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { accountRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import { json } from '../store/codec.js';
import { DEFAULT_NETWORK_ACLS } from '../store/migrations/0005-network.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import type { GuestNetworkService } from './guest-networks.js';
import type { NetworkDeps } from './network-layer-deps.js';
import { checkCidrs, checkProtocolPorts, type PortRange } from './network-rules.js';
import {
  decodeNetworkAclItem,
  type Network,
  type NetworkAcl,
  type NetworkAclItem,
  networkAclRepo,
  networkOfferingRepo,
  networkRepo,
  type PrivateGateway,
  privateGatewayRepo,
  type Vpc,
  vpcRepo,
} from './records.js';
import type { RuleProtocol } from './services.js';

/** A VPC to create: zone, name, CIDR and owner. */
export interface CreateVpcInput {
  zoneId: Ref;
  name: string;
  displayText?: string;
  /** The super CIDR, RFC 1918, e.g. `10.0.0.0/16`. */
  cidr: string;
  networkDomain?: string;
  accountId?: Ref;
}

/** A tier (a guest network) to create in a VPC. */
export interface CreateTierInput {
  vpcId: Ref;
  name: string;
  networkOfferingId: Ref;
  /** Inside the VPC's super CIDR, overlapping no other tier. */
  cidr: string;
  gateway?: string;
  /** Default: `default_deny` (§11.1 decision). */
  aclId?: Ref;
}

/** An item to add to a VPC's network ACL. */
export interface AclItemInput extends PortRange {
  /** Priority, unique in the list; default: after the last item. */
  number?: number;
  action: 'Allow' | 'Deny';
  trafficType: 'Ingress' | 'Egress';
  protocol: RuleProtocol;
  icmpType?: number;
  icmpCode?: number;
  cidrs?: string[];
}

/** A packet an ACL decides on. */
export interface AclQuery {
  trafficType: 'Ingress' | 'Egress';
  protocol: 'tcp' | 'udp' | 'icmp';
  port?: number;
  /** The remote address (source for ingress, destination for egress). */
  address: string;
}

/**
 * VPCs (spec/networking.md §11): an RFC 1918 super CIDR with tiers (isolated networks) inside it
 * that never overlap, at most `vpc.max.networks` tiers (3), at most one tier with a load-balancing
 * offering, a source-NAT IP taken at creation and kept until the VPC is deleted (single-purpose),
 * network ACLs (`default_allow`, `default_deny`, custom ordered lists; tiers default to
 * `default_deny`), and private gateways with static routes. A VPC is deletable only without tiers;
 * a removed tier's public IPs stay with the VPC.
 */
export class VpcService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly deps: NetworkDeps,
    private readonly networks: GuestNetworkService,
  ) {}

  async get(id: Ref): Promise<Vpc> {
    id = await vpcRepo.resolve(this.ctx.db, id);
    return vpcRepo.get(this.ctx.db, id);
  }

  /** VPCs by id, filtered; a page of them with `page`/`pageSize`, matching `keyword` by name. */
  list(filter: { accountId?: Ref; zoneId?: Ref } & ListOptions = {}): Promise<Vpc[]> {
    return vpcRepo.listFor(this.ctx, filter, { accountId: accountRepo, zoneId: zoneRepo });
  }

  async tiers(vpcId: Ref): Promise<Network[]> {
    vpcId = await vpcRepo.resolve(this.ctx.db, vpcId, 'vpcId');
    return networkRepo.list(this.ctx.db, { vpcId });
  }

  async create(input: CreateVpcInput): Promise<Vpc> {
    return this.createResolved(await resolveRefs(this.ctx.db, input, { zoneId: zoneRepo, accountId: accountRepo }));
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(input: Resolved<CreateVpcInput>): Promise<Vpc> {
    return this.ctx.write(async (w) => {
      const zone = await zoneRepo.get(w.db, input.zoneId, 'zoneId');
      if (zone.networkType !== 'Advanced')
        throw new InvalidParameterError('zoneId', input.zoneId, 'VPCs need an advanced zone');
      const name = requireString('name', input.name, { max: 255 });
      const cidr = requireCidr('cidr', input.cidr);
      if (!isPrivateCidr(cidr))
        throw new InvalidParameterError(
          'cidr',
          input.cidr,
          'a VPC super CIDR must be RFC 1918 (10/8, 172.16/12, 192.168/16)',
        );
      const accountId = this.owner(w, input.accountId);
      const account = await accountRepo.get(w.db, accountId, 'accountId');
      await w.lock(`vpcs:account:${accountId}`);
      await checkResourceLimits(w, this.deps.settings, accountId, { vpc: 1 });
      const row = await w.db
        .insertInto('vpcs')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          name,
          displayText: input.displayText === undefined ? name : requireString('displayText', input.displayText),
          zoneId: zone.id,
          cidr: cidr.text,
          networkDomain: optionalString('networkDomain', input.networkDomain),
          accountId,
          domainId: account.domainId,
          state: 'Enabled',
          updatedCount: 0,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const vpc = vpcRepo.decode(row);
      await this.deps.ips.allocatePublicIp(w, {
        zoneId: zone.id,
        accountId,
        domainId: account.domainId,
        state: 'Allocated',
        ownerType: 'Vpc',
        ownerId: vpc.id,
        vpcId: vpc.id,
        sourceNat: true,
      });
      await w.event({
        type: 'VPC.CREATE',
        description: `VPC ${name} (${cidr.text}) created`,
        resourceType: 'Vpc',
        resourceId: vpc.id,
        resourceUuid: vpc.uuid,
        accountId,
        domainId: account.domainId,
      });
      return vpc;
    });
  }

  /** Adds a tier (an isolated network of the VPC's account). */
  async createTier(input: CreateTierInput): Promise<Network> {
    return this.createTierResolved(
      await resolveRefs(this.ctx.db, input, {
        vpcId: vpcRepo,
        networkOfferingId: networkOfferingRepo,
        aclId: networkAclRepo,
      }),
    );
  }

  /** {@link createTier} with the input's references resolved to numeric ids. */
  private createTierResolved(input: Resolved<CreateTierInput>): Promise<Network> {
    return this.ctx.write(async (w) => {
      const vpc = await vpcRepo.get(w.db, input.vpcId, 'vpcId');
      this.owner(w, vpc.accountId);
      await w.lock(`vpc:${vpc.id}`);
      const offering = await networkOfferingRepo.get(w.db, input.networkOfferingId, 'networkOfferingId');
      if (!offering.forVpc)
        throw new InvalidParameterError(
          'networkOfferingId',
          input.networkOfferingId,
          `offering ${offering.name} is not for VPC tiers`,
        );
      const cidr = requireCidr('cidr', input.cidr);
      const superCidr = parseCidr(vpc.cidr);
      if (cidr.first < superCidr.first || cidr.last > superCidr.last)
        throw new InvalidParameterError('cidr', input.cidr, `a tier's CIDR must lie inside the VPC CIDR ${vpc.cidr}`);
      const tiers = await networkRepo.list(w.db, { vpcId: vpc.id });
      for (const t of tiers) {
        if (t.cidr && rangesOverlap(cidr, parseCidr(t.cidr)))
          throw new InvalidParameterError('cidr', input.cidr, `overlaps tier ${t.name} (${t.cidr})`);
      }
      const max = await this.deps.settings.get(
        'vpc.max.networks',
        { zoneId: vpc.zoneId, accountId: vpc.accountId },
        w.db,
      );
      if (tiers.length >= max)
        throw new InvalidParameterError(
          'vpcId',
          input.vpcId,
          `VPC ${vpc.name} already has ${tiers.length} tiers (vpc.max.networks ${max})`,
        );
      if (offering.services.Lb) {
        for (const t of tiers) {
          const o = await networkOfferingRepo.get(w.db, t.networkOfferingId);
          if (o.services.Lb)
            throw new InvalidParameterError(
              'networkOfferingId',
              input.networkOfferingId,
              `tier ${t.name} already uses load balancing; a VPC has one LB tier`,
            );
        }
      }
      const aclId = input.aclId ?? (await this.builtInAcl(w.db, 'default_deny')).id;
      const acl = await networkAclRepo.get(w.db, aclId, 'aclId');
      if (acl.vpcId !== null && acl.vpcId !== vpc.id)
        throw new InvalidParameterError('aclId', aclId, 'the ACL belongs to another VPC');
      return this.networks.design(w, {
        zoneId: vpc.zoneId,
        name: input.name,
        networkOfferingId: offering.id,
        cidr: cidr.text,
        ...(input.gateway !== undefined ? { gateway: input.gateway } : {}),
        accountId: vpc.accountId,
        vpcId: vpc.id,
        aclId,
        ...(vpc.networkDomain ? { networkDomain: vpc.networkDomain } : {}),
      });
    });
  }

  /** Removes a tier: its rules go, its public IPs stay with the VPC. */
  async deleteTier(networkId: Ref): Promise<void> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    return this.networks.delete(networkId);
  }

  /** Only a VPC without tiers; releases its public IPs (source NAT included), custom ACLs and private gateways. */
  async delete(id: Ref): Promise<void> {
    id = await vpcRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const vpc = await vpcRepo.get(w.db, id);
      this.owner(w, vpc.accountId);
      const tiers = await networkRepo.count(w.db, { vpcId: id });
      if (tiers > 0)
        throw new ResourceInUseError(`VPC ${vpc.name} still has ${tiers} tier(s)`, { field: 'id', value: id });
      const ips = await w.db
        .selectFrom('ipAllocations')
        .select('id')
        .where('space', '=', 'public')
        .where('vpcId', '=', id)
        .execute();
      for (const ip of ips) {
        await this.deps.ips.beginPublicIpRelease(w, Number(ip.id));
        await this.deps.ips.completePublicIpRelease(w, Number(ip.id));
      }
      for (const acl of await networkAclRepo.list(w.db, { vpcId: id })) {
        await w.db.deleteFrom('networkAclItems').where('aclId', '=', acl.id).execute();
        await networkAclRepo.markRemoved(w.db, acl.id, w.now);
      }
      for (const gw of await privateGatewayRepo.list(w.db, { vpcId: id }))
        await privateGatewayRepo.markRemoved(w.db, gw.id, w.now);
      await vpcRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'VPC.DELETE',
        description: `VPC ${vpc.name} deleted`,
        resourceType: 'Vpc',
        resourceId: id,
        resourceUuid: vpc.uuid,
        accountId: vpc.accountId,
        domainId: vpc.domainId,
      });
    });
  }

  // ---- network ACLs ----

  async listAcls(vpcId: Ref): Promise<NetworkAcl[]> {
    vpcId = await vpcRepo.resolve(this.ctx.db, vpcId, 'vpcId');
    return this.ctx.db
      .selectFrom('networkAcls')
      .selectAll()
      .where('removed', 'is', null)
      .where((eb) => eb.or([eb('vpcId', '=', vpcId), eb('vpcId', 'is', null)]))
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(networkAclRepo.decode));
  }

  async aclItems(aclId: Ref, db: Db = this.ctx.db): Promise<NetworkAclItem[]> {
    aclId = await networkAclRepo.resolve(db, aclId, 'aclId');
    const rows = await db
      .selectFrom('networkAclItems')
      .selectAll()
      .where('aclId', '=', aclId)
      .orderBy('number')
      .execute();
    return rows.map(decodeNetworkAclItem);
  }

  async createAcl(input: { vpcId: Ref; name: string; description?: string }): Promise<NetworkAcl> {
    return this.createAclResolved(await resolveRefs(this.ctx.db, input, { vpcId: vpcRepo }));
  }

  /** {@link createAcl} with the input's references resolved to numeric ids. */
  private createAclResolved(input: Resolved<{ vpcId: Ref; name: string; description?: string }>): Promise<NetworkAcl> {
    return this.ctx.write(async (w) => {
      const vpc = await vpcRepo.get(w.db, input.vpcId, 'vpcId');
      this.owner(w, vpc.accountId);
      const name = requireString('name', input.name, { max: 255 });
      if (DEFAULT_NETWORK_ACLS.some((d) => d.name === name))
        throw new InvalidParameterError('name', name, 'reserved for the built-in lists');
      if ((await networkAclRepo.count(w.db, { vpcId: vpc.id, name })) > 0)
        throw new DuplicateError('network ACL', 'name', name, `VPC ${vpc.name}`);
      const row = await w.db
        .insertInto('networkAcls')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          name,
          description: optionalString('description', input.description),
          vpcId: vpc.id,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return networkAclRepo.decode(row);
    });
  }

  /** Adds an item to a custom list (the built-in lists cannot change); numbers are unique per list. */
  async addAclItem(aclId: Ref, input: AclItemInput): Promise<NetworkAclItem> {
    aclId = await networkAclRepo.resolve(this.ctx.db, aclId, 'aclId');
    const item = await this.ctx.write(async (w) => {
      const acl = await this.customAcl(w, aclId);
      const action = requireOneOf('action', input.action, ['Allow', 'Deny'] as const);
      const trafficType = requireOneOf('trafficType', input.trafficType, ['Ingress', 'Egress'] as const);
      const spec = checkProtocolPorts(input, ['tcp', 'udp', 'icmp', 'all']);
      const cidrs = checkCidrs(input.cidrs);
      const items = await this.aclItems(acl.id, w.db);
      const number =
        input.number === undefined
          ? (items.at(-1)?.number ?? 0) + 1
          : requireInteger('number', input.number, { min: 1, max: 2_000_000 });
      if (items.some((i) => i.number === number))
        throw new DuplicateError('ACL item', 'number', number, `list ${acl.name}`);
      const row = await w.db
        .insertInto('networkAclItems')
        .values({
          uuid: newUuid(),
          aclId: acl.id,
          number,
          action,
          trafficType,
          ...spec,
          cidrs: json(cidrs),
          created: w.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await w.event({
        type: 'NETWORK.ACL.ITEM.CREATE',
        description: `ACL ${acl.name} item ${number}: ${action} ${trafficType} ${spec.protocol}`,
        resourceType: 'NetworkAcl',
        resourceId: acl.id,
        resourceUuid: acl.uuid,
      });
      return decodeNetworkAclItem(row);
    });
    await this.reapplyAcl(aclId);
    return item;
  }

  async deleteAclItem(itemId: Ref): Promise<void> {
    itemId = await resolveRef(this.ctx.db, networkAclItemRefs, itemId, 'itemId');
    const aclId = await this.ctx.write(async (w) => {
      const row = await w.db.selectFrom('networkAclItems').selectAll().where('id', '=', itemId).executeTakeFirst();
      if (!row) throw new InvalidParameterError('itemId', itemId, 'no such ACL item');
      await this.customAcl(w, Number(row.aclId));
      await w.db.deleteFrom('networkAclItems').where('id', '=', itemId).execute();
      return Number(row.aclId);
    });
    await this.reapplyAcl(aclId);
  }

  /** A custom list not used by any tier. */
  async deleteAcl(aclId: Ref): Promise<void> {
    aclId = await networkAclRepo.resolve(this.ctx.db, aclId, 'aclId');
    return this.ctx.write(async (w) => {
      const acl = await this.customAcl(w, aclId);
      const used = await networkRepo.count(w.db, { aclId });
      if (used > 0)
        throw new ResourceInUseError(`ACL ${acl.name} is used by ${used} tier(s)`, { field: 'aclId', value: aclId });
      await w.db.deleteFrom('networkAclItems').where('aclId', '=', aclId).execute();
      await networkAclRepo.markRemoved(w.db, aclId, w.now);
    });
  }

  /** Puts another list on a tier. */
  async replaceTierAcl(networkId: Ref, aclId: Ref): Promise<Network> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    aclId = await networkAclRepo.resolve(this.ctx.db, aclId, 'aclId');
    const net = await this.ctx.write(async (w) => {
      const n = await networkRepo.get(w.db, networkId, 'networkId');
      if (n.vpcId === null) throw new InvalidParameterError('networkId', networkId, 'not a VPC tier');
      this.owner(w, n.accountId);
      const acl = await networkAclRepo.get(w.db, aclId, 'aclId');
      if (acl.vpcId !== null && acl.vpcId !== n.vpcId)
        throw new InvalidParameterError('aclId', aclId, 'the ACL belongs to another VPC');
      await w.db.updateTable('networks').set({ aclId }).where('id', '=', n.id).execute();
      return networkRepo.get(w.db, n.id);
    });
    await this.deps.configurator.apply(net.id);
    return net;
  }

  /**
   * What a tier's ACL does with a packet (§11.1 decision): `default_allow` allows and
   * `default_deny` denies everything; a custom list is evaluated by number, first match wins;
   * unmatched ingress is denied; unmatched egress is allowed while the list has no egress item
   * and denied once it has one. Intra-tier traffic never passes through the ACL.
   */
  async evaluateAcl(aclId: Ref, q: AclQuery): Promise<'Allow' | 'Deny'> {
    aclId = await networkAclRepo.resolve(this.ctx.db, aclId, 'aclId');
    const acl = await networkAclRepo.get(this.ctx.db, aclId, 'aclId');
    if (acl.vpcId === null) return acl.name === 'default_allow' ? 'Allow' : 'Deny';
    return decideAcl(await this.aclItems(aclId), q);
  }

  // ---- private gateways ----

  /** Root admin: a private gateway (VLAN, IP unique per zone) on a physical network of the VPC's zone. */
  async createPrivateGateway(input: {
    vpcId: Ref;
    physicalNetworkId: Ref;
    vlan: number;
    ip: string;
    gateway: string;
    netmask: string;
  }): Promise<PrivateGateway> {
    return this.createPrivateGatewayResolved(
      await resolveRefs(this.ctx.db, input, { vpcId: vpcRepo, physicalNetworkId: physicalNetworkRepo }),
    );
  }

  /** {@link createPrivateGateway} with the input's references resolved to numeric ids. */
  private createPrivateGatewayResolved(
    input: Resolved<{
      vpcId: Ref;
      physicalNetworkId: Ref;
      vlan: number;
      ip: string;
      gateway: string;
      netmask: string;
    }>,
  ): Promise<PrivateGateway> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'create a private gateway');
      const vpc = await vpcRepo.get(w.db, input.vpcId, 'vpcId');
      const pn = await physicalNetworkRepo.get(w.db, input.physicalNetworkId, 'physicalNetworkId');
      if (pn.zoneId !== vpc.zoneId)
        throw new InvalidParameterError('physicalNetworkId', input.physicalNetworkId, "not in the VPC's zone");
      const vlan = requireInteger('vlan', input.vlan, { min: 1, max: 4094 });
      const ip = requireIpv4('ip', input.ip);
      const gateway = requireIpv4('gateway', input.gateway);
      const netmask = requireIpv4('netmask', input.netmask);
      const subnet = cidrFromGatewayAndNetmask(gateway, netmask, 'netmask');
      if (
        !cidrContains(subnet, ip) ||
        ip === gateway ||
        ipv4ToInt(ip) === subnet.first ||
        ipv4ToInt(ip) === subnet.last
      )
        throw new InvalidParameterError(
          'ip',
          ip,
          `must be a host address of ${intToIpv4(subnet.first)}/${subnet.prefix} other than the gateway`,
        );
      await w.lock(`private-gateways:${vpc.zoneId}`);
      const clash = await privateGatewayRepo.list(w.db, { zoneId: vpc.zoneId, vlan, ip });
      if (clash.length > 0) throw new DuplicateError('private gateway', 'ip', ip, `VLAN ${vlan} of the zone`);
      const row = await w.db
        .insertInto('privateGateways')
        .values({
          uuid: newUuid(),
          created: w.now,
          removed: null,
          vpcId: vpc.id,
          zoneId: vpc.zoneId,
          physicalNetworkId: pn.id,
          vlan,
          ip,
          gateway,
          netmask,
          staticRoutes: '[]',
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const gw = privateGatewayRepo.decode(row);
      await w.event({
        type: 'PRIVATE.GATEWAY.CREATE',
        description: `private gateway ${ip} (VLAN ${vlan}) for VPC ${vpc.name}`,
        resourceType: 'PrivateGateway',
        resourceId: gw.id,
        resourceUuid: gw.uuid,
      });
      return gw;
    });
  }

  async listPrivateGateways(vpcId: Ref): Promise<PrivateGateway[]> {
    vpcId = await vpcRepo.resolve(this.ctx.db, vpcId, 'vpcId');
    return privateGatewayRepo.list(this.ctx.db, { vpcId });
  }

  /** A static route (destination CIDR → the private gateway); never into the VPC's own CIDR. */
  async addStaticRoute(gatewayId: Ref, cidr: string): Promise<PrivateGateway> {
    gatewayId = await privateGatewayRepo.resolve(this.ctx.db, gatewayId, 'gatewayId');
    return this.ctx.write(async (w) => {
      const gw = await privateGatewayRepo.get(w.db, gatewayId, 'gatewayId');
      const vpc = await vpcRepo.get(w.db, gw.vpcId);
      this.owner(w, vpc.accountId);
      const c = requireCidr('cidr', cidr);
      if (rangesOverlap(c, parseCidr(vpc.cidr)))
        throw new InvalidParameterError('cidr', cidr, `overlaps the VPC CIDR ${vpc.cidr}`);
      if (gw.staticRoutes.includes(c.text))
        throw new DuplicateError('static route', 'cidr', c.text, `private gateway ${gw.ip}`);
      await w.db
        .updateTable('privateGateways')
        .set({ staticRoutes: json([...gw.staticRoutes, c.text]) })
        .where('id', '=', gw.id)
        .execute();
      return privateGatewayRepo.get(w.db, gw.id);
    });
  }

  // ---- internals ----

  private owner(w: Writer, accountId: number | undefined): number {
    const id = accountId ?? w.caller.accountId;
    if (id !== w.caller.accountId && !isRootAdmin(w.caller))
      throw new PermissionDeniedError(`account ${w.caller.accountId} may not manage VPCs of account ${id}`);
    return id;
  }

  private async builtInAcl(db: Db, name: 'default_allow' | 'default_deny'): Promise<NetworkAcl> {
    const [acl] = await networkAclRepo.list(db, { name, vpcId: null });
    if (!acl) throw new InvalidParameterError('aclId', name, 'built-in network ACL missing');
    return acl;
  }

  private async customAcl(w: Writer, aclId: number): Promise<NetworkAcl> {
    const acl = await networkAclRepo.get(w.db, aclId, 'aclId');
    if (acl.vpcId === null)
      throw new InvalidParameterError('aclId', aclId, `the built-in list ${acl.name} cannot be changed`);
    const vpc = await vpcRepo.get(w.db, acl.vpcId);
    this.owner(w, vpc.accountId);
    return acl;
  }

  private async reapplyAcl(aclId: number): Promise<void> {
    for (const t of await networkRepo.list(this.ctx.db, { aclId })) await this.deps.configurator.apply(t.id);
  }
}

/** Evaluates a custom ACL's items (ordered by number) against a packet; see {@link VpcService.evaluateAcl}. */
export function decideAcl(items: readonly NetworkAclItem[], q: AclQuery): 'Allow' | 'Deny' {
  const sorted = [...items].sort((a, b) => a.number - b.number);
  const addr = ipv4ToInt(q.address);
  for (const i of sorted) {
    if (i.trafficType !== q.trafficType) continue;
    if (i.protocol !== 'all' && i.protocol !== q.protocol) continue;
    if (i.startPort !== null && (q.port === undefined || q.port < i.startPort || q.port > (i.endPort ?? i.startPort)))
      continue;
    if (
      !i.cidrs.some((c) => {
        const p = parseCidr(c);
        return addr >= p.first && addr <= p.last;
      })
    )
      continue;
    return i.action;
  }
  if (q.trafficType === 'Ingress') return 'Deny';
  return sorted.some((i) => i.trafficType === 'Egress') ? 'Deny' : 'Allow';
}
