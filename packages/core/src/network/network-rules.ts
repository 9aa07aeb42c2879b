import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, NotFoundError, PermissionDeniedError } from '../errors.js';
import type { IpAllocation } from '../ipam/records.js';
import type { ListOptions } from '../model/list-options.js';
import type { Ref, Resolved } from '../model/ref.js';
import { requireCidr, requireInteger, requireOneOf, requireString } from '../model/validate.js';
import { listPaging } from '../resources/list-paging.js';
import { isRootAdmin } from '../resources/permissions.js';
import { resolveOptionalRef, resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { ipAddressRefs, vmRefs } from '../resources/ref-tables.js';
import { json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import type { NetworkDeps } from './network-layer-deps.js';
import { NetworkRuleConflictError } from './network-rule-conflict-error.js';
import {
  decodeStaticNat,
  type HealthCheckPolicy,
  type Network,
  type NetworkOffering,
  type NetworkRule,
  type Nic,
  networkOfferingRepo,
  networkRepo,
  networkRuleRepo,
  nicRepo,
  type StaticNat,
  type StickinessPolicy,
} from './records.js';
import {
  EXTERNAL_LB_PROVIDERS,
  LB_ALGORITHMS,
  type LbAlgorithmName,
  type NetworkService,
  type RuleProtocol,
  STICKINESS_METHODS,
} from './services.js';

/** The protocol and port range (or ICMP type and code) of a rule. */
export interface PortRange {
  startPort?: number;
  endPort?: number;
}

/** An ingress firewall rule on a public IP. */
export interface CreateFirewallRuleInput extends PortRange {
  /** The public IP (ingress). */
  ipId: Ref;
  protocol: RuleProtocol;
  icmpType?: number;
  icmpCode?: number;
  /** Source CIDRs; default 0.0.0.0/0. */
  cidrs?: string[];
}

/** An egress firewall rule of an isolated network. */
export interface CreateEgressRuleInput extends PortRange {
  networkId: Ref;
  protocol: RuleProtocol;
  icmpType?: number;
  icmpCode?: number;
  /** Destination CIDRs; default 0.0.0.0/0. */
  cidrs?: string[];
}

/** A port-forwarding rule from a public IP's ports to a VM's ports. */
export interface CreatePortForwardingInput {
  ipId: Ref;
  protocol: 'tcp' | 'udp';
  publicStartPort: number;
  publicEndPort?: number;
  privateStartPort: number;
  privateEndPort?: number;
  vmId: Ref;
  cidrs?: string[];
  /** Also create the matching ingress firewall rule (default false: PF never opens the firewall implicitly). */
  openFirewall?: boolean;
}

/** A load-balancing rule on a public IP: ports, algorithm, and optionally stickiness and a health check. */
export interface CreateLoadBalancerInput {
  ipId: Ref;
  name: string;
  algorithm: LbAlgorithmName;
  publicPort: number;
  privatePort: number;
  protocol?: 'tcp' | 'udp' | 'tcp-proxy';
  cidrs?: string[];
  openFirewall?: boolean;
}

/**
 * Rules on public IPs and networks (spec/networking.md §8): firewall (ingress per IP, egress per
 * network), port forwarding, static NAT and load balancing, with the conflict rules of §8.6:
 * static NAT is exclusive with PF and LB and never on the source-NAT IP; without conserve mode an
 * IP carries one service; a VPC source-NAT IP carries nothing; ports never overlap per protocol
 * on one IP. Each change is stored, then the network's full rule set is pushed to its providers.
 * Bad input throws and changes nothing.
 */
export class NetworkRuleService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly deps: NetworkDeps,
  ) {}

  /** Rules by id, filtered; a page of them with `page`/`pageSize`, matching `keyword` by name. */
  async list(filter: { networkId?: Ref; ipId?: Ref; purpose?: string } & ListOptions = {}): Promise<NetworkRule[]> {
    const db = this.ctx.db;
    return networkRuleRepo.list(
      db,
      {
        networkId: await resolveOptionalRef(db, networkRepo, filter.networkId, 'networkId'),
        ipAllocationId: await resolveOptionalRef(db, ipAddressRefs, filter.ipId, 'ipId'),
        purpose: filter.purpose,
      },
      await listPaging(this.ctx, filter),
    );
  }

  async listStaticNats(networkId: Ref): Promise<StaticNat[]> {
    networkId = await networkRepo.resolve(this.ctx.db, networkId, 'networkId');
    const rows = await this.ctx.db
      .selectFrom('staticNats')
      .selectAll()
      .where('networkId', '=', networkId)
      .where('revoked', '=', 0)
      .orderBy('id')
      .execute();
    return rows.map(decodeStaticNat);
  }

  // ---- firewall ----

  async createFirewallRule(input: CreateFirewallRuleInput): Promise<NetworkRule> {
    return this.createFirewallRuleResolved(await resolveRefs(this.ctx.db, input, { ipId: ipAddressRefs }));
  }

  /** {@link createFirewallRule} with the input's references resolved to numeric ids. */
  private async createFirewallRuleResolved(input: Resolved<CreateFirewallRuleInput>): Promise<NetworkRule> {
    return this.change(async (w) => {
      const { ip, net, offering } = await this.ipOnNetwork(w, input.ipId, undefined);
      this.requireService(offering, 'Firewall', 'ipId', input.ipId);
      const spec = checkProtocolPorts(input, ['tcp', 'udp', 'icmp', 'all']);
      const cidrs = checkCidrs(input.cidrs);
      const existing = await this.rulesOnIp(w.db, ip.id);
      for (const r of existing.filter((r) => r.purpose === 'Firewall' && r.state !== 'Revoke')) {
        if (overlaps(r, spec) && sameSet(r.cidrs, cidrs))
          throw new NetworkRuleConflictError(
            'startPort',
            input.startPort ?? null,
            `overlaps firewall rule ${r.uuid} (${describe(r)}) on ${ip.ip}`,
          );
      }
      return this.insertRule(w, net, {
        purpose: 'Firewall',
        ipAllocationId: ip.id,
        trafficType: 'Ingress',
        ...spec,
        cidrs,
      });
    });
  }

  /** An egress rule of an isolated network: allow under a deny default, deny under an allow default (§8.2). */
  async createEgressRule(input: CreateEgressRuleInput): Promise<NetworkRule> {
    return this.createEgressRuleResolved(await resolveRefs(this.ctx.db, input, { networkId: networkRepo }));
  }

  /** {@link createEgressRule} with the input's references resolved to numeric ids. */
  private async createEgressRuleResolved(input: Resolved<CreateEgressRuleInput>): Promise<NetworkRule> {
    return this.change(async (w) => {
      const net = await this.ownedNetwork(w, input.networkId);
      const offering = await networkOfferingRepo.get(w.db, net.networkOfferingId);
      this.requireService(offering, 'Firewall', 'networkId', input.networkId);
      const spec = checkProtocolPorts(input, ['tcp', 'udp', 'icmp', 'all']);
      const cidrs = checkCidrs(input.cidrs);
      const existing = (
        await networkRuleRepo.list(w.db, { networkId: net.id, purpose: 'Firewall', trafficType: 'Egress' })
      ).filter((r) => r.state !== 'Revoke');
      for (const r of existing) {
        if (overlaps(r, spec) && sameSet(r.cidrs, cidrs))
          throw new NetworkRuleConflictError(
            'startPort',
            input.startPort ?? null,
            `overlaps egress rule ${r.uuid} (${describe(r)})`,
          );
      }
      return this.insertRule(w, net, {
        purpose: 'Firewall',
        ipAllocationId: null,
        trafficType: 'Egress',
        ...spec,
        cidrs,
      });
    });
  }

  // ---- port forwarding ----

  async createPortForwarding(input: CreatePortForwardingInput): Promise<NetworkRule> {
    return this.createPortForwardingResolved(await resolveRefs(this.ctx.db, input, { ipId: ipAddressRefs }));
  }

  /** {@link createPortForwarding} with the input's references resolved to numeric ids. */
  private async createPortForwardingResolved(input: Resolved<CreatePortForwardingInput>): Promise<NetworkRule> {
    return this.change(async (w) => {
      const protocol = requireOneOf('protocol', input.protocol, ['tcp', 'udp'] as const);
      const pubStart = requireInteger('publicStartPort', input.publicStartPort, { min: 1, max: 65535 });
      const pubEnd = requireInteger('publicEndPort', input.publicEndPort ?? pubStart, { min: pubStart, max: 65535 });
      const privStart = requireInteger('privateStartPort', input.privateStartPort, { min: 1, max: 65535 });
      const privEnd = requireInteger('privateEndPort', input.privateEndPort ?? privStart + (pubEnd - pubStart), {
        min: privStart,
        max: 65535,
      });
      if (privEnd - privStart !== pubEnd - pubStart)
        throw new InvalidParameterError(
          'privateEndPort',
          input.privateEndPort,
          'public and private port ranges must have the same length',
        );
      const cidrs = checkCidrs(input.cidrs);
      const { ip, net, offering, nic } = await this.ipOnNetwork(w, input.ipId, input.vmId);
      this.requireService(offering, 'PortForwarding', 'ipId', input.ipId);
      if (!nic) throw new InvalidParameterError('vmId', input.vmId, "the VM has no NIC on the IP's network");
      await this.checkServiceMix(w.db, ip, net, offering, 'PortForwarding');
      const spec = { protocol, startPort: pubStart, endPort: pubEnd };
      for (const r of await this.rulesOnIp(w.db, ip.id)) {
        if (r.state === 'Revoke' || r.purpose === 'Firewall') continue;
        if (r.protocol === protocol && overlaps(r, spec))
          throw new NetworkRuleConflictError(
            'publicStartPort',
            pubStart,
            `overlaps ${r.purpose} rule ${r.uuid} (${describe(r)}) on ${ip.ip}`,
          );
      }
      const rule = await this.insertRule(w, net, {
        purpose: 'PortForwarding',
        ipAllocationId: ip.id,
        trafficType: 'Ingress',
        ...spec,
        cidrs,
        vmId: input.vmId,
        nicId: nic.id,
        privateIp: nic.ip4Address,
        privateStartPort: privStart,
        privateEndPort: privEnd,
      });
      if (input.openFirewall) await this.openFirewall(w, net, ip, protocol, pubStart, pubEnd, cidrs);
      return rule;
    });
  }

  // ---- static NAT ----

  /** Static NAT public IP → the VM's address on its **default** network (§8.4). */
  async enableStaticNat(input: { ipId: Ref; vmId: Ref }): Promise<StaticNat> {
    return this.enableStaticNatResolved(await resolveRefs(this.ctx.db, input, { ipId: ipAddressRefs, vmId: vmRefs }));
  }

  /** {@link enableStaticNat} with the input's references resolved to numeric ids. */
  private async enableStaticNatResolved(input: Resolved<{ ipId: Ref; vmId: Ref }>): Promise<StaticNat> {
    const { nat } = await this.changeWith(async (w) => {
      const { ip, net, offering, nic } = await this.ipOnNetwork(w, input.ipId, input.vmId);
      this.requireService(offering, 'StaticNat', 'ipId', input.ipId);
      if (ip.sourceNat)
        throw new InvalidParameterError('ipId', input.ipId, `${ip.ip} is the source NAT IP; it cannot be static-NATed`);
      if (!nic) throw new InvalidParameterError('vmId', input.vmId, "the VM has no NIC on the IP's network");
      if (!nic.isDefault)
        throw new InvalidParameterError(
          'vmId',
          input.vmId,
          `static NAT works only on the VM's default network, not ${net.name}`,
        );
      if (nic.ip4Address === null)
        throw new InvalidParameterError('vmId', input.vmId, 'the VM has no address on the network yet');
      const existing = await w.db
        .selectFrom('staticNats')
        .select(['id', 'nicId'])
        .where('ipAllocationId', '=', ip.id)
        .where('revoked', '=', 0)
        .executeTakeFirst();
      if (existing) throw new NetworkRuleConflictError('ipId', input.ipId, `${ip.ip} already has static NAT`);
      const other = (await this.rulesOnIp(w.db, ip.id)).find((r) => r.purpose !== 'Firewall' && r.state !== 'Revoke');
      if (other)
        throw new NetworkRuleConflictError(
          'ipId',
          input.ipId,
          `${ip.ip} has ${other.purpose} rule ${other.uuid}; static NAT is exclusive with PF and LB`,
        );
      const taken = await w.db
        .selectFrom('staticNats')
        .select('ipAllocationId')
        .where('nicId', '=', nic.id)
        .where('revoked', '=', 0)
        .executeTakeFirst();
      if (taken) throw new NetworkRuleConflictError('vmId', input.vmId, 'the VM address already has a static NAT IP');
      await this.bindVpcIp(w, ip, net);
      const row = await w.db
        .insertInto('staticNats')
        .values({
          ipAllocationId: ip.id,
          networkId: net.id,
          vmId: input.vmId,
          nicId: nic.id,
          privateIp: nic.ip4Address,
          created: w.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await w.event({
        type: 'STATICNAT.ENABLE',
        description: `static NAT ${ip.ip} -> ${nic.ip4Address}`,
        resourceType: 'IpAddress',
        resourceId: ip.id,
        resourceUuid: ip.uuid,
        accountId: net.accountId,
        domainId: net.domainId,
      });
      return { networkId: net.id, nat: decodeStaticNat(row) };
    });
    return nat;
  }

  /**
   * Removes static NAT; the IP stays `Allocated` without a target. The mapping is kept as revoked
   * until the providers confirmed its removal (full-set devices receive it once as `revoked: true`,
   * pitfall 16); on a network that is not implemented it goes at once.
   */
  async disableStaticNat(ipId: Ref): Promise<void> {
    ipId = await resolveRef(this.ctx.db, ipAddressRefs, ipId, 'ipId');
    const { networkId } = await this.ctx.write(async (w) => {
      const ip = await this.deps.ips.getAllocation(w.db, ipId, 'public');
      this.requireOwner(w, ip.accountId ?? -1);
      const done = await w.db
        .updateTable('staticNats')
        .set({ revoked: 1 })
        .where('ipAllocationId', '=', ipId)
        .where('revoked', '=', 0)
        .executeTakeFirst();
      if (Number(done.numUpdatedRows) !== 1)
        throw new InvalidParameterError('ipId', ipId, `${ip.ip} has no static NAT`);
      await w.event({
        type: 'STATICNAT.DISABLE',
        description: `static NAT on ${ip.ip} disabled`,
        resourceType: 'IpAddress',
        resourceId: ip.id,
        resourceUuid: ip.uuid,
      });
      const nat = await w.db
        .selectFrom('staticNats')
        .select('networkId')
        .where('ipAllocationId', '=', ipId)
        .executeTakeFirstOrThrow();
      return { networkId: Number(nat.networkId) };
    });
    if (!(await this.deps.configurator.apply(networkId)))
      await this.ctx.write(async (w) => {
        await w.db.deleteFrom('staticNats').where('ipAllocationId', '=', ipId).where('revoked', '=', 1).execute();
      });
  }

  // ---- load balancing ----

  async createLoadBalancer(input: CreateLoadBalancerInput): Promise<NetworkRule> {
    return this.createLoadBalancerResolved(await resolveRefs(this.ctx.db, input, { ipId: ipAddressRefs }));
  }

  /** {@link createLoadBalancer} with the input's references resolved to numeric ids. */
  private async createLoadBalancerResolved(input: Resolved<CreateLoadBalancerInput>): Promise<NetworkRule> {
    return this.change(async (w) => {
      const name = requireString('name', input.name, { max: 255 });
      const algorithm = requireOneOf('algorithm', input.algorithm, LB_ALGORITHMS);
      const publicPort = requireInteger('publicPort', input.publicPort, { min: 1, max: 65535 });
      const privatePort = requireInteger('privatePort', input.privatePort, { min: 1, max: 65535 });
      const protocol = requireOneOf('protocol', input.protocol ?? 'tcp', ['tcp', 'udp', 'tcp-proxy'] as const);
      const cidrs = checkCidrs(input.cidrs);
      const { ip, net, offering } = await this.ipOnNetwork(w, input.ipId, undefined);
      this.requireService(offering, 'Lb', 'ipId', input.ipId);
      const supported = this.capability(offering, 'Lb', 'SupportedLbAlgorithms');
      if (supported && !supported.split(',').includes(algorithm))
        throw new InvalidParameterError('algorithm', algorithm, `the LB provider supports ${supported}`);
      if (ip.sourceNat && (offering.services.Lb ?? []).some((p) => EXTERNAL_LB_PROVIDERS.includes(p)))
        throw new NetworkRuleConflictError(
          'ipId',
          input.ipId,
          'with an external load balancer, LB rules need an IP other than the source NAT IP',
        );
      await this.checkServiceMix(w.db, ip, net, offering, 'Lb');
      const storedProtocol: RuleProtocol = protocol === 'udp' ? 'udp' : 'tcp';
      const spec = { protocol: storedProtocol, startPort: publicPort, endPort: publicPort };
      for (const r of await this.rulesOnIp(w.db, ip.id)) {
        if (r.state === 'Revoke' || r.purpose === 'Firewall') continue;
        if (r.protocol === storedProtocol && overlaps(r, spec))
          throw new NetworkRuleConflictError(
            'publicPort',
            publicPort,
            `overlaps ${r.purpose} rule ${r.uuid} (${describe(r)}) on ${ip.ip}`,
          );
      }
      const rule = await this.insertRule(w, net, {
        purpose: 'LoadBalancing',
        ipAllocationId: ip.id,
        trafficType: 'Ingress',
        ...spec,
        cidrs,
        name,
        algorithm,
        privateStartPort: privatePort,
        privateEndPort: privatePort,
      });
      if (input.openFirewall) await this.openFirewall(w, net, ip, storedProtocol, publicPort, publicPort, cidrs);
      return rule;
    });
  }

  /** Adds VMs to an LB rule; each must have a NIC on the rule's network (§8.5). */
  async assignToLoadBalancer(ruleId: Ref, vmIds: Ref[]): Promise<void> {
    ruleId = await networkRuleRepo.resolve(this.ctx.db, ruleId, 'ruleId');
    const vms = await resolveRefs(this.ctx.db, { vmIds }, { vmIds: vmRefs });
    await this.change(async (w) => {
      const rule = await this.lbRule(w, ruleId);
      if (!Array.isArray(vmIds) || vmIds.length === 0)
        throw new InvalidParameterError('vmIds', vmIds, 'at least one VM');
      for (const vmId of vms.vmIds) {
        const nic = (await nicRepo.list(w.db, { instanceId: vmId, networkId: rule.networkId }))[0];
        if (!nic || nic.ip4Address === null)
          throw new InvalidParameterError(
            'vmIds',
            vmId,
            `VM ${vmId} has no address on the rule's network ${rule.networkId}`,
          );
        const dup = await w.db
          .selectFrom('lbMembers')
          .select('id')
          .where('ruleId', '=', rule.id)
          .where('nicId', '=', nic.id)
          .executeTakeFirst();
        if (dup) throw new InvalidParameterError('vmIds', vmId, `VM ${vmId} is already a member of ${rule.name}`);
        await w.db
          .insertInto('lbMembers')
          .values({ ruleId: rule.id, vmId, nicId: nic.id, ip: nic.ip4Address, created: w.now })
          .execute();
      }
      await this.touch(w, rule);
      return rule;
    });
  }

  async removeFromLoadBalancer(ruleId: Ref, vmIds: Ref[]): Promise<void> {
    ruleId = await networkRuleRepo.resolve(this.ctx.db, ruleId, 'ruleId');
    const vms = await resolveRefs(this.ctx.db, { vmIds }, { vmIds: vmRefs });
    await this.change(async (w) => {
      const rule = await this.lbRule(w, ruleId);
      for (const vmId of vms.vmIds) {
        const done = await w.db
          .deleteFrom('lbMembers')
          .where('ruleId', '=', rule.id)
          .where('vmId', '=', vmId)
          .executeTakeFirst();
        if (Number(done.numDeletedRows) === 0)
          throw new InvalidParameterError('vmIds', vmId, `VM ${vmId} is not a member of ${rule.name}`);
      }
      await this.touch(w, rule);
      return rule;
    });
  }

  /** One stickiness policy per rule, with a method the provider supports (§8.5). */
  async setStickinessPolicy(ruleId: Ref, policy: StickinessPolicy): Promise<NetworkRule> {
    ruleId = await networkRuleRepo.resolve(this.ctx.db, ruleId, 'ruleId');
    return this.change(async (w) => {
      const rule = await this.lbRule(w, ruleId);
      const method = requireOneOf('method', policy?.method, STICKINESS_METHODS);
      const name = requireString('name', policy.name, { max: 255 });
      const offering = await networkOfferingRepo.get(
        w.db,
        (await networkRepo.get(w.db, rule.networkId)).networkOfferingId,
      );
      const supported = this.capability(offering, 'Lb', 'SupportedStickinessMethods');
      if (supported !== undefined && !supported.split(',').includes(method))
        throw new InvalidParameterError('method', method, `the LB provider supports ${supported || 'no stickiness'}`);
      if (rule.stickiness)
        throw new InvalidParameterError(
          'ruleId',
          ruleId,
          `rule ${rule.name} already has stickiness policy ${rule.stickiness.name}`,
        );
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(policy.params ?? {})) params[k] = requireString(`params.${k}`, v);
      await w.db
        .updateTable('networkRules')
        .set({ stickiness: json({ name, method, params }), state: 'Add' })
        .where('id', '=', rule.id)
        .execute();
      return rule;
    });
  }

  /** Health check (`createLBHealthCheckPolicy`): only where the provider advertises `HealthCheckPolicy`. */
  async setHealthCheckPolicy(ruleId: Ref, policy: Partial<HealthCheckPolicy>): Promise<NetworkRule> {
    ruleId = await networkRuleRepo.resolve(this.ctx.db, ruleId, 'ruleId');
    return this.change(async (w) => {
      const rule = await this.lbRule(w, ruleId);
      const offering = await networkOfferingRepo.get(
        w.db,
        (await networkRepo.get(w.db, rule.networkId)).networkOfferingId,
      );
      if (this.capability(offering, 'Lb', 'HealthCheckPolicy') !== 'true')
        throw new InvalidParameterError(
          'ruleId',
          ruleId,
          'the LB provider of this network does not support health checks',
        );
      const hc: HealthCheckPolicy = {
        pingPath: requireString('pingPath', policy.pingPath ?? '/', { max: 255 }),
        responseTimeout: requireInteger('responseTimeout', policy.responseTimeout ?? 2, { min: 2, max: 60 }),
        intervalTime: requireInteger('intervalTime', policy.intervalTime ?? 5, { min: 1, max: 20940 }),
        healthyThreshold: requireInteger('healthyThreshold', policy.healthyThreshold ?? 2, { min: 1 }),
        unhealthyThreshold: requireInteger('unhealthyThreshold', policy.unhealthyThreshold ?? 10, { min: 1 }),
      };
      if (hc.intervalTime <= hc.responseTimeout)
        throw new InvalidParameterError('intervalTime', hc.intervalTime, 'must be longer than responseTimeout');
      await w.db
        .updateTable('networkRules')
        .set({ healthCheck: json(hc), state: 'Add' })
        .where('id', '=', rule.id)
        .execute();
      return rule;
    });
  }

  /** Revokes a firewall, PF or LB rule: removed from the providers, then from the store. */
  async deleteRule(ruleId: Ref): Promise<void> {
    ruleId = await networkRuleRepo.resolve(this.ctx.db, ruleId, 'ruleId');
    await this.change(async (w) => {
      const rule = await networkRuleRepo.get(w.db, ruleId, 'ruleId');
      this.requireOwner(w, rule.accountId);
      await w.db.updateTable('networkRules').set({ state: 'Revoke' }).where('id', '=', rule.id).execute();
      await w.event({
        type: `NET.RULEDELETE`,
        description: `${rule.purpose} rule ${rule.uuid} revoked`,
        resourceType: 'FirewallRule',
        resourceId: rule.id,
        resourceUuid: rule.uuid,
      });
      return rule;
    });
    const rule = await networkRuleRepo.find(this.ctx.db, ruleId);
    if (rule && rule.state === 'Revoke') {
      const net = await networkRepo.get(this.ctx.db, rule.networkId);
      if (net.state !== 'Implemented' && net.state !== 'Setup') {
        await this.ctx.write(async (w) => {
          await w.db.deleteFrom('lbMembers').where('ruleId', '=', ruleId).execute();
          await w.db.deleteFrom('networkRules').where('id', '=', ruleId).execute();
        });
      }
    }
  }

  // ---- internals ----

  /** Runs a change in one transaction, then pushes the network's rule set. */
  private async change<T extends { networkId: number }>(fn: (w: Writer) => Promise<T>): Promise<T> {
    const result = await this.ctx.write(fn);
    await this.deps.configurator.apply(result.networkId);
    return (
      ((await networkRuleRepo.find(this.ctx.db, (result as unknown as { id: number }).id)) as unknown as T) ?? result
    );
  }

  private async changeWith<T extends { networkId: number }>(fn: (w: Writer) => Promise<T>): Promise<T> {
    const result = await this.ctx.write(fn);
    if (result.networkId > 0) await this.deps.configurator.apply(result.networkId);
    return result;
  }

  private requireOwner(w: Writer, accountId: number): void {
    if (accountId !== w.caller.accountId && !isRootAdmin(w.caller))
      throw new PermissionDeniedError(`account ${w.caller.accountId} may not change rules of account ${accountId}`);
  }

  private async ownedNetwork(w: Writer, networkId: number): Promise<Network> {
    const net = await networkRepo.get(w.db, networkId, 'networkId');
    this.requireOwner(w, net.accountId);
    if (net.guestType !== 'Isolated')
      throw new InvalidParameterError('networkId', networkId, 'rules apply to isolated networks');
    return net;
  }

  /**
   * The public IP, its network (a VPC IP not yet bound to a tier is bound to the VM's tier) and, for
   * a VM, its NIC on that network.
   */
  private async ipOnNetwork(
    w: Writer,
    ipId: number,
    vmId: number | undefined,
  ): Promise<{ ip: IpAllocation; net: Network; offering: NetworkOffering; nic: Nic | undefined }> {
    const ip = await this.deps.ips.getAllocation(w.db, ipId, 'public').catch(() => {
      throw new NotFoundError('Public IP', 'ipId', ipId);
    });
    this.requireOwner(w, ip.accountId ?? -1);
    if (ip.state !== 'Allocated' && ip.state !== 'Allocating')
      throw new InvalidParameterError('ipId', ipId, `${ip.ip} is ${ip.state}`);
    let networkId = ip.networkId;
    let nic: Nic | undefined;
    if (networkId === null && ip.vpcId !== null) {
      if (vmId === undefined) throw new InvalidParameterError('ipId', ipId, `${ip.ip} is not bound to a VPC tier yet`);
      const tiers = await networkRepo.list(w.db, { vpcId: ip.vpcId });
      for (const t of tiers) {
        nic = (await nicRepo.list(w.db, { instanceId: vmId, networkId: t.id }))[0];
        if (nic) {
          networkId = t.id;
          break;
        }
      }
      if (networkId === null) throw new InvalidParameterError('vmId', vmId, "the VM is on no tier of the IP's VPC");
    }
    if (networkId === null) throw new InvalidParameterError('ipId', ipId, `${ip.ip} is not associated with a network`);
    const net = await networkRepo.get(w.db, networkId);
    if (vmId !== undefined && !nic) {
      const vm = await w.db
        .selectFrom('vmInstances')
        .select('accountId')
        .where('id', '=', vmId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!vm) throw new NotFoundError('VirtualMachine', 'vmId', vmId);
      nic = (await nicRepo.list(w.db, { instanceId: vmId, networkId: net.id }))[0];
    }
    const offering = await networkOfferingRepo.get(w.db, net.networkOfferingId);
    return { ip, net, offering, nic };
  }

  /** A VPC IP is bound to one tier at its first PF/LB/static-NAT rule (§11). */
  private async bindVpcIp(w: Writer, ip: IpAllocation, net: Network): Promise<void> {
    if (ip.vpcId !== null && ip.networkId === null) await this.deps.ips.updatePublicIp(w, ip.id, { networkId: net.id });
  }

  private requireService(offering: NetworkOffering, service: NetworkService, field: string, value: unknown): void {
    if (!offering.services[service])
      throw new InvalidParameterError(
        field,
        value,
        `the network's offering ${offering.name} has no ${service} service`,
      );
  }

  private capability(offering: NetworkOffering, service: NetworkService, name: string): string | undefined {
    const own = offering.capabilities[service]?.[name];
    if (own !== undefined) return own;
    for (const e of this.deps.elements.forService(offering, service)) {
      const v = e.capabilities()[service]?.[name];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** §8.6: one service per IP without conserve mode; static NAT exclusive; a VPC source-NAT IP carries nothing. */
  private async checkServiceMix(
    db: Db,
    ip: IpAllocation,
    net: Network,
    offering: NetworkOffering,
    adding: 'PortForwarding' | 'Lb',
  ) {
    const nat = await db
      .selectFrom('staticNats')
      .select('id')
      .where('ipAllocationId', '=', ip.id)
      .where('revoked', '=', 0)
      .executeTakeFirst();
    if (nat) throw new NetworkRuleConflictError('ipId', ip.id, `${ip.ip} has static NAT; it takes no PF or LB rules`);
    if (ip.sourceNat && net.vpcId !== null)
      throw new NetworkRuleConflictError(
        'ipId',
        ip.id,
        `${ip.ip} is the VPC's source NAT IP; it carries no other service`,
      );
    if (ip.sourceNat && !offering.conserveMode)
      throw new NetworkRuleConflictError(
        'ipId',
        ip.id,
        `${ip.ip} is the source NAT IP and offering ${offering.name} is not in conserve mode`,
      );
    if (!offering.conserveMode) {
      const otherPurpose = adding === 'Lb' ? 'PortForwarding' : 'LoadBalancing';
      const other = (await this.rulesOnIp(db, ip.id)).find((r) => r.purpose === otherPurpose && r.state !== 'Revoke');
      if (other)
        throw new NetworkRuleConflictError(
          'ipId',
          ip.id,
          `${ip.ip} already carries ${other.purpose}; without conserve mode an IP carries one service`,
        );
    }
  }

  private rulesOnIp(db: Db, ipId: number): Promise<NetworkRule[]> {
    return networkRuleRepo.list(db, { ipAllocationId: ipId });
  }

  private async lbRule(w: Writer, ruleId: number): Promise<NetworkRule> {
    const rule = await networkRuleRepo.get(w.db, ruleId, 'ruleId');
    if (rule.purpose !== 'LoadBalancing')
      throw new InvalidParameterError('ruleId', ruleId, 'not a load-balancing rule');
    this.requireOwner(w, rule.accountId);
    return rule;
  }

  private async touch(w: Writer, rule: NetworkRule): Promise<void> {
    await w.db
      .updateTable('networkRules')
      .set({ state: 'Add', updatedCount: rule.updatedCount + 1 })
      .where('id', '=', rule.id)
      .execute();
  }

  private async openFirewall(
    w: Writer,
    net: Network,
    ip: IpAllocation,
    protocol: RuleProtocol,
    start: number,
    end: number,
    cidrs: string[],
  ) {
    const exists = (await this.rulesOnIp(w.db, ip.id)).some(
      (r) =>
        r.purpose === 'Firewall' &&
        r.protocol === protocol &&
        r.startPort === start &&
        r.endPort === end &&
        sameSet(r.cidrs, cidrs),
    );
    if (!exists)
      await this.insertRule(w, net, {
        purpose: 'Firewall',
        ipAllocationId: ip.id,
        trafficType: 'Ingress',
        protocol,
        startPort: start,
        endPort: end,
        cidrs,
      });
  }

  private async insertRule(
    w: Writer,
    net: Network,
    r: Partial<Omit<NetworkRule, 'cidrs' | 'stickiness' | 'healthCheck'>> & {
      purpose: NetworkRule['purpose'];
      trafficType: 'Ingress' | 'Egress';
      protocol: RuleProtocol;
      cidrs: string[];
    },
  ): Promise<NetworkRule> {
    if (r.ipAllocationId) {
      const ip = await this.deps.ips.getAllocation(w.db, r.ipAllocationId, 'public');
      await this.bindVpcIp(w, ip, net);
    }
    const row = await w.db
      .insertInto('networkRules')
      .values({
        uuid: newUuid(),
        created: w.now,
        removed: null,
        purpose: r.purpose,
        networkId: net.id,
        ipAllocationId: r.ipAllocationId ?? null,
        accountId: net.accountId,
        domainId: net.domainId,
        trafficType: r.trafficType,
        protocol: r.protocol,
        startPort: r.startPort ?? null,
        endPort: r.endPort ?? null,
        icmpType: r.icmpType ?? null,
        icmpCode: r.icmpCode ?? null,
        cidrs: json(r.cidrs),
        vmId: r.vmId ?? null,
        nicId: r.nicId ?? null,
        privateIp: r.privateIp ?? null,
        privateStartPort: r.privateStartPort ?? null,
        privateEndPort: r.privateEndPort ?? null,
        name: r.name ?? null,
        algorithm: r.algorithm ?? null,
        stickiness: null,
        healthCheck: null,
        state: 'Add',
        updatedCount: 0,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const rule = networkRuleRepo.decode(row);
    await w.event({
      type:
        r.purpose === 'LoadBalancing' ? 'LB.CREATE' : r.purpose === 'PortForwarding' ? 'NET.RULEADD' : 'FIREWALL.OPEN',
      description: `${r.purpose} rule ${describe(rule)} on network ${net.name}`,
      resourceType: r.purpose === 'LoadBalancing' ? 'LoadBalancer' : 'FirewallRule',
      resourceId: rule.id,
      resourceUuid: rule.uuid,
      accountId: net.accountId,
      domainId: net.domainId,
    });
    return rule;
  }
}

/** Protocol, ports and ICMP type/code of a firewall / ACL / SG rule, validated. */
export function checkProtocolPorts(
  input: PortRange & { protocol: unknown; icmpType?: number; icmpCode?: number },
  allowed: readonly RuleProtocol[],
): {
  protocol: RuleProtocol;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
} {
  const protocol = requireOneOf(
    'protocol',
    typeof input.protocol === 'string' ? input.protocol.toLowerCase() : input.protocol,
    allowed,
  );
  if (protocol === 'icmp') {
    if (input.startPort !== undefined)
      throw new InvalidParameterError('startPort', input.startPort, 'ICMP rules have no ports');
    return {
      protocol,
      startPort: null,
      endPort: null,
      icmpType: requireInteger('icmpType', input.icmpType ?? -1, { min: -1, max: 255 }),
      icmpCode: requireInteger('icmpCode', input.icmpCode ?? -1, { min: -1, max: 255 }),
    };
  }
  if (input.icmpType !== undefined)
    throw new InvalidParameterError('icmpType', input.icmpType, `only ICMP rules take an ICMP type`);
  if (protocol === 'all') {
    if (input.startPort !== undefined)
      throw new InvalidParameterError('startPort', input.startPort, 'protocol all takes no ports');
    return { protocol, startPort: null, endPort: null, icmpType: null, icmpCode: null };
  }
  if (input.startPort === undefined)
    return { protocol, startPort: null, endPort: null, icmpType: null, icmpCode: null };
  const startPort = requireInteger('startPort', input.startPort, { min: 1, max: 65535 });
  const endPort = requireInteger('endPort', input.endPort ?? startPort, { min: 1, max: 65535 });
  if (endPort < startPort)
    throw new InvalidParameterError('endPort', input.endPort, `ends before startPort ${startPort}`);
  return { protocol, startPort, endPort, icmpType: null, icmpCode: null };
}

/** CIDR list (default 0.0.0.0/0), each a network address. */
export function checkCidrs(value: unknown, field = 'cidrs'): string[] {
  if (value === undefined) return ['0.0.0.0/0'];
  if (!Array.isArray(value) || value.length === 0)
    throw new InvalidParameterError(field, value, 'a non-empty list of CIDRs');
  return value.map((c) => requireCidr(field, c).text);
}

/** Whether two rules' protocol and port ranges overlap (no ports = all ports). */
export function overlaps(
  a: { protocol: RuleProtocol; startPort: number | null; endPort: number | null },
  b: { protocol: RuleProtocol; startPort: number | null; endPort: number | null },
): boolean {
  if (a.protocol !== b.protocol && a.protocol !== 'all' && b.protocol !== 'all') return false;
  if (a.startPort === null || b.startPort === null) return true;
  return a.startPort <= (b.endPort ?? b.startPort) && b.startPort <= (a.endPort ?? a.startPort);
}

const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

function describe(r: { protocol: string; startPort: number | null; endPort: number | null }): string {
  return r.startPort === null ? r.protocol : `${r.protocol} ${r.startPort}-${r.endPort ?? r.startPort}`;
}
