import type { CloudContext } from '../context.js';
import type {
  FirewallRuleConfig,
  LoadBalancerConfig,
  PortForwardingConfig,
  RemoteAccessVpnConfig,
  StaticNatConfig,
  VpnUserConfig,
} from '../driver/network-device-driver.js';
import { decodeIpAllocation, type IpAllocation } from '../ipam/records.js';
import type { Zone } from '../model/records.js';
import { zoneRepo } from '../resources/zones.js';
import { statementFamily } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import type {
  NetworkAclItemConfig,
  NetworkElementRegistry,
  NetworkProfile,
  PublicIpAssociation,
} from './network-element.js';
import {
  decodeLbMember,
  decodeNetworkAclItem,
  decodeStaticNat,
  type Network,
  type NetworkOffering,
  type NetworkRule,
  networkAclRepo,
  networkOfferingRepo,
  networkRepo,
  networkRuleRepo,
  remoteAccessVpnRepo,
} from './records.js';

/** `vlan://<id>` → id; null for untagged / none. */
export function vlanOf(uri: string | null): number | null {
  const m = uri ? /^vlan:\/\/(\d+)$/.exec(uri) : null;
  return m ? Number(m[1]) : null;
}

/** The complete desired state of a network's services, read from the store. */
export interface NetworkDesiredState {
  ips: Array<PublicIpAssociation & { id: number; state: string }>;
  firewall: FirewallRuleConfig[];
  portForwarding: PortForwardingConfig[];
  staticNat: StaticNatConfig[];
  loadBalancers: LoadBalancerConfig[];
  networkAcl: NetworkAclItemConfig[];
  /** The network's remote-access VPN (`create: false` while being removed), or null. */
  vpn: RemoteAccessVpnConfig | null;
  /** Every VPN user of the network's account (revoked ones flagged). */
  vpnUsers: VpnUserConfig[];
}

/**
 * Builds what providers are told about a network — its profile and the full rule set — from the
 * store, and pushes it to the elements of the network's offering. Every apply sends the full set
 * (revoked rules flagged), so a repeated or partially failed apply converges (pitfall 16); after
 * the elements confirm, `Add` rules become `Active`, `Revoke` rules are deleted and `Allocating`
 * IPs become `Allocated`.
 */
export class NetworkConfigurator {
  constructor(
    private readonly ctx: CloudContext,
    private readonly elements: NetworkElementRegistry,
  ) {}

  async profile(db: Db, net: Network, offering?: NetworkOffering, knownZone?: Zone): Promise<NetworkProfile> {
    const zone = knownZone?.id === net.zoneId ? knownZone : await zoneRepo.get(db, net.zoneId);
    const off = offering ?? (await networkOfferingRepo.get(db, net.networkOfferingId));
    const snat = await this.sourceNatIp(db, net);
    return {
      id: net.id,
      uuid: net.uuid,
      name: net.name,
      zoneId: net.zoneId,
      accountId: net.accountId,
      vpcId: net.vpcId,
      guestType: net.guestType,
      cidr: net.cidr,
      gateway: net.gateway,
      netmask: net.netmask,
      vlan: vlanOf(net.broadcastUri),
      broadcastUri: net.broadcastUri,
      dns: [zone.dns1, ...(zone.dns2 ? [zone.dns2] : [])],
      networkDomain: net.networkDomain ?? zone.networkDomain,
      sourceNatIp: snat?.ip ?? null,
      egressDefaultAllow: off.egressDefaultPolicy === 'allow',
    };
  }

  /** The network's source-NAT IP (a VPC tier uses its VPC's). */
  async sourceNatIp(db: Db, net: Network): Promise<IpAllocation | undefined> {
    const [column, id] = net.vpcId === null ? (['networkId', net.id] as const) : (['vpcId', net.vpcId] as const);
    const { rows } = await runStatement(db, sourceNatIpOf, { id }, column);
    const row = rows[0];
    return row ? decodeIpAllocation(row) : undefined;
  }

  async desiredState(db: Db, net: Network): Promise<NetworkDesiredState> {
    const ipRows = await db
      .selectFrom('ipAllocations')
      .innerJoin('ipRanges', 'ipRanges.id', 'ipAllocations.poolId')
      .selectAll('ipAllocations')
      .select('ipRanges.vlanTag as rangeVlanTag')
      .where('ipAllocations.space', '=', 'public')
      .where('ipAllocations.networkId', '=', net.id)
      .orderBy('ipAllocations.address')
      .execute();
    const ipById = new Map<number, { ip: string; vlanTag: string }>();
    const ips = ipRows.map((r) => {
      const a = decodeIpAllocation(r);
      ipById.set(a.id, { ip: a.ip, vlanTag: r.rangeVlanTag });
      return {
        id: a.id,
        state: a.state,
        ip: a.ip,
        vlanTag: r.rangeVlanTag,
        sourceNat: a.sourceNat,
        add: a.state !== 'Releasing',
      };
    });
    const publicVlan = (id: number | null) => {
      const tag = id === null ? undefined : ipById.get(id)?.vlanTag;
      const v = tag ? vlanOf(tag) : null;
      return v === null ? {} : { publicVlanTag: v };
    };
    const rules = await networkRuleRepo.list(db, { networkId: net.id });
    const off = await networkOfferingRepo.get(db, net.networkOfferingId);
    const firewall: FirewallRuleConfig[] = rules
      .filter((r) => r.purpose === 'Firewall')
      .map((r) => ({
        id: r.uuid,
        publicIp: r.ipAllocationId === null ? '' : (ipById.get(r.ipAllocationId)?.ip ?? ''),
        ...publicVlan(r.ipAllocationId),
        protocol: r.protocol,
        ...ports(r),
        ...(r.icmpType !== null ? { icmpType: r.icmpType } : {}),
        ...(r.icmpCode !== null ? { icmpCode: r.icmpCode } : {}),
        sourceCidrs: r.cidrs,
        direction: r.trafficType === 'Egress' ? 'egress' : 'ingress',
        revoked: r.state === 'Revoke',
        ...(r.trafficType === 'Egress'
          ? {
              ...(vlanOf(net.broadcastUri) !== null ? { guestVlanTag: vlanOf(net.broadcastUri) as number } : {}),
              ...(net.cidr ? { guestCidr: net.cidr } : {}),
              defaultEgressAllow: off.egressDefaultPolicy === 'allow',
            }
          : {}),
      }));
    const portForwarding: PortForwardingConfig[] = rules
      .filter((r) => r.purpose === 'PortForwarding')
      .map((r) => ({
        publicIp: ipById.get(r.ipAllocationId ?? -1)?.ip ?? '',
        publicPortStart: r.startPort ?? 0,
        publicPortEnd: r.endPort ?? 0,
        privateIp: r.privateIp ?? '',
        privatePortStart: r.privateStartPort ?? 0,
        privatePortEnd: r.privateEndPort ?? 0,
        protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
        revoked: r.state === 'Revoke',
        ...publicVlan(r.ipAllocationId),
      }));
    const nats = (
      await db.selectFrom('staticNats').selectAll().where('networkId', '=', net.id).orderBy('id').execute()
    ).map(decodeStaticNat);
    // Revoked entries first, so a device removing an old mapping never undoes a new one on the same IP.
    const staticNat: StaticNatConfig[] = [...nats]
      .sort((a, b) => Number(b.revoked) - Number(a.revoked) || a.id - b.id)
      .map((n) => ({
        publicIp: ipById.get(n.ipAllocationId)?.ip ?? '',
        privateIp: n.privateIp,
        revoked: n.revoked,
        ...publicVlan(n.ipAllocationId),
      }));
    const lbRules = rules.filter((r) => r.purpose === 'LoadBalancing');
    const members =
      lbRules.length === 0
        ? []
        : (
            await db
              .selectFrom('lbMembers')
              .selectAll()
              .where(
                'ruleId',
                'in',
                lbRules.map((r) => r.id),
              )
              .orderBy('id')
              .execute()
          ).map(decodeLbMember);
    const loadBalancers: LoadBalancerConfig[] = lbRules.map((r) =>
      lbConfig(r, ipById.get(r.ipAllocationId ?? -1)?.ip ?? '', members),
    );
    let networkAcl: NetworkAclItemConfig[] = [];
    const acl = net.aclId === null ? undefined : await networkAclRepo.find(db, net.aclId);
    if (acl && acl.vpcId === null) {
      // Built-in lists: one catch-all item per direction.
      const action = acl.name === 'default_allow' ? 'Allow' : 'Deny';
      networkAcl = (['Ingress', 'Egress'] as const).map((trafficType) => ({
        number: 1,
        action,
        trafficType,
        protocol: 'all',
        startPort: null,
        endPort: null,
        cidrs: ['0.0.0.0/0'],
      }));
    } else if (net.aclId !== null) {
      networkAcl = (
        await db.selectFrom('networkAclItems').selectAll().where('aclId', '=', net.aclId).orderBy('number').execute()
      )
        .map(decodeNetworkAclItem)
        .map((i) => ({
          number: i.number,
          action: i.action,
          trafficType: i.trafficType,
          protocol: i.protocol,
          startPort: i.startPort,
          endPort: i.endPort,
          cidrs: i.cidrs,
        }));
    }
    const vpnRow = (await remoteAccessVpnRepo.list(db, { networkId: net.id }))[0];
    const vpn: RemoteAccessVpnConfig | null = vpnRow
      ? {
          create: vpnRow.state !== 'Removed',
          vpnServerIp: ipById.get(vpnRow.ipAllocationId)?.ip ?? '',
          localIp: vpnRow.localIp,
          ipRange: vpnRow.ipRange,
          presharedKey: vpnRow.presharedKey,
          localCidr: net.cidr ?? '',
        }
      : null;
    const vpnUsers: VpnUserConfig[] = (
      await db
        .selectFrom('vpnUsers')
        .select(['username', 'password', 'state'])
        .where('accountId', '=', net.accountId)
        .where('removed', 'is', null)
        .orderBy('id')
        .execute()
    ).map((u) => ({ username: u.username, password: u.password, revoked: u.state === 'Revoke' }));
    return { ips, firewall, portForwarding, staticNat, loadBalancers, networkAcl, vpn, vpnUsers };
  }

  /**
   * Pushes the network's full configuration to its elements when it is implemented (or being
   * implemented); a network that is not is left alone — the next implement re-applies everything
   * from the store (pitfall 12). Returns whether anything was pushed.
   */
  async apply(networkId: number): Promise<boolean> {
    const net = await networkRepo.get(this.ctx.db, networkId);
    if (net.state !== 'Implemented' && net.state !== 'Implementing' && net.state !== 'Setup') return false;
    const offering = await networkOfferingRepo.get(this.ctx.db, net.networkOfferingId);
    const profile = await this.profile(this.ctx.db, net, offering);
    const desired = await this.desiredState(this.ctx.db, net);
    // What this push settles: only these rows change state after it (a change racing the push waits for the next).
    const revokedNats = (
      await this.ctx.db
        .selectFrom('staticNats')
        .select('id')
        .where('networkId', '=', networkId)
        .where('revoked', '=', 1)
        .execute()
    ).map((r) => Number(r.id));
    const vpnRow = (await remoteAccessVpnRepo.list(this.ctx.db, { networkId }))[0];
    const services = (s: Parameters<NetworkElementRegistry['forService']>[1]) => this.elements.forService(offering, s);
    const ipElements = new Set([
      ...services('SourceNat'),
      ...services('StaticNat'),
      ...services('PortForwarding'),
      ...services('Lb'),
      ...services('Firewall'),
    ]);
    for (const e of ipElements) await e.applyIps?.(profile, desired.ips);
    for (const e of services('Firewall')) await e.applyFirewallRules?.(profile, desired.firewall);
    for (const e of services('PortForwarding')) await e.applyPortForwardingRules?.(profile, desired.portForwarding);
    for (const e of services('StaticNat')) await e.applyStaticNats?.(profile, desired.staticNat);
    for (const e of services('Lb')) await e.applyLoadBalancerRules?.(profile, desired.loadBalancers);
    for (const e of services('NetworkACL')) await e.applyNetworkAcls?.(profile, desired.networkAcl);
    for (const e of services('Vpn')) await e.applyVpn?.(profile, desired.vpn, desired.vpnUsers);
    // Every element confirmed: the intent becomes the state. Until here a failure leaves the store
    // as it was (Add / Revoke / Allocating / revoked rows), and the next apply sends it all again.
    await this.ctx.write(async (w) => {
      await w.db
        .updateTable('networkRules')
        .set({ state: 'Active' })
        .where('networkId', '=', networkId)
        .where('state', '=', 'Add')
        .execute();
      const revoked = await w.db
        .selectFrom('networkRules')
        .select('id')
        .where('networkId', '=', networkId)
        .where('state', '=', 'Revoke')
        .execute();
      if (revoked.length > 0) {
        const ids = revoked.map((r) => Number(r.id));
        await w.db.deleteFrom('lbMembers').where('ruleId', 'in', ids).execute();
        await w.db.deleteFrom('networkRules').where('id', 'in', ids).execute();
      }
      await w.db
        .updateTable('ipAllocations')
        .set((eb) => ({ state: 'Allocated', updatedCount: eb('updatedCount', '+', 1) }))
        .where('space', '=', 'public')
        .where('networkId', '=', networkId)
        .where('state', '=', 'Allocating')
        .execute();
      if (revokedNats.length > 0) await w.db.deleteFrom('staticNats').where('id', 'in', revokedNats).execute();
      if (vpnRow?.state === 'Added')
        await w.db
          .updateTable('remoteAccessVpns')
          .set((eb) => ({ state: 'Running', updatedCount: eb('updatedCount', '+', 1) }))
          .where('id', '=', vpnRow.id)
          .where('state', '=', 'Added')
          .execute();
      if (vpnRow?.state === 'Removed')
        await w.db.deleteFrom('remoteAccessVpns').where('id', '=', vpnRow.id).where('state', '=', 'Removed').execute();
    });
    return true;
  }
}

function ports(r: NetworkRule): { portStart?: number; portEnd?: number } {
  return r.startPort === null ? {} : { portStart: r.startPort, portEnd: r.endPort ?? r.startPort };
}

function lbConfig(r: NetworkRule, ip: string, members: ReturnType<typeof decodeLbMember>[]): LoadBalancerConfig {
  return {
    uuid: r.uuid,
    srcIp: ip,
    srcPort: r.startPort ?? 0,
    protocol: r.protocol === 'udp' ? 'udp' : 'tcp',
    algorithm: r.algorithm ?? 'roundrobin',
    revoked: r.state === 'Revoke',
    inline: false,
    destinations: members
      .filter((m) => m.ruleId === r.id)
      .map((m) => ({ ip: m.ip, port: r.privateStartPort ?? r.startPort ?? 0, revoked: false })),
    stickiness: r.stickiness ? [{ method: r.stickiness.method, params: r.stickiness.params }] : [],
    healthChecks: r.healthCheck
      ? [
          {
            pingPath: r.healthCheck.pingPath,
            intervalS: r.healthCheck.intervalTime,
            responseTimeS: r.healthCheck.responseTimeout,
            healthyThreshold: r.healthCheck.healthyThreshold,
            unhealthyThreshold: r.healthCheck.unhealthyThreshold,
            revoked: false,
          },
        ]
      : [],
  };
}

/** The source-NAT public IP of a network (`networkId`) or a VPC (`vpcId`). */
const sourceNatIpOf = statementFamily(
  'network.sourceNatIp',
  (column: 'networkId' | 'vpcId') => column,
  (q, p: { id: number }, column: 'networkId' | 'vpcId') =>
    q
      .selectFrom('ipAllocations')
      .selectAll()
      .where(column, '=', p.id)
      .where('space', '=', 'public')
      .where('sourceNat', '=', 1),
);
