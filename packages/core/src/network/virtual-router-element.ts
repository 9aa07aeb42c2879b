import type {
  FirewallRuleConfig,
  LoadBalancerConfig,
  PortForwardingConfig,
  RemoteAccessVpnConfig,
  StaticNatConfig,
  VpnUserConfig,
} from '../driver/network-device-driver.js';
import type {
  NetworkAclItemConfig,
  NetworkElement,
  NetworkProfile,
  NicProfile,
  PublicIpAssociation,
} from './network-element.js';
import type { NetworkOffering } from './records.js';
import type { NetworkService } from './services.js';

/** A DHCP (and DNS host) entry the router serves for one guest NIC. */
export interface DhcpEntry {
  nicId: number;
  vmId: number;
  hostName: string;
  ip: string;
  mac: string;
  /** Only the default NIC gets the default route and DNS. */
  defaultGateway: boolean;
}

/**
 * The whole configuration of one virtual router, as data (spec/networking.md §7): a driver renders
 * it (dnsmasq, iptables, HAProxy…) and every change hands it the complete new state. Active rules
 * only; revoked ones are simply absent.
 */
export interface VirtualRouterConfig {
  networkId: number;
  networkUuid: string;
  vpcId: number | null;
  /** eth0: the guest NIC is the network's gateway. */
  guest: { gateway: string | null; cidr: string | null; netmask: string | null; vlan: number | null };
  dns: string[];
  domain: string | null;
  /** Outbound NAT through this public IP (null: no source NAT). */
  sourceNat: { ip: string } | null;
  publicIps: PublicIpAssociation[];
  dhcp: DhcpEntry[];
  /** Egress default when no egress rule matches. */
  egressDefaultAllow: boolean;
  firewall: FirewallRuleConfig[];
  portForwarding: PortForwardingConfig[];
  staticNat: StaticNatConfig[];
  loadBalancers: LoadBalancerConfig[];
  networkAcl: NetworkAclItemConfig[];
  /** The remote-access VPN (L2TP/IPsec) on the source-NAT IP, or null. */
  vpn: VirtualRouterVpn | null;
  /** The account's VPN users (active ones; every VPN of the account serves them all). */
  vpnUsers: Array<{ username: string; password: string }>;
  /** Bumped on every change, so a renderer can skip stale updates. */
  revision: number;
}

/** The remote-access VPN a router serves (networking.md §10.1). */
export interface VirtualRouterVpn {
  /** The public (source-NAT) IP clients connect to. */
  publicIp: string;
  /** The server's own address: the first address of the configured range. */
  serverIp: string;
  /** The clients' pool, `first-last`. */
  clientRange: string;
  presharedKey: string;
  /** The guest CIDR routed through the tunnel (split tunnel). */
  guestCidr: string;
}

/** Called with the router's complete configuration after each change (null: the router was shut down). */
export type VirtualRouterRenderer = (networkId: number, config: VirtualRouterConfig | null) => void | Promise<void>;

const activeOnly = <T extends { revoked: boolean }>(items: readonly T[]): T[] =>
  items.filter((i) => !i.revoked).map((i) => ({ ...i }));

/**
 * The built-in virtual-router provider (`VirtualRouter`, or `VpcVirtualRouter` for VPC tiers):
 * keeps each implemented network's router configuration as data and hands it to an optional
 * renderer. It provides DHCP, DNS, user data, gateway, source NAT, firewall, port forwarding,
 * static NAT, load balancing (HAProxy: roundrobin, leastconn, source; LbCookie, AppCookie,
 * SourceBased stickiness), VPN and, for VPCs, network ACLs.
 */
export class VirtualRouterElement implements NetworkElement {
  private readonly configs = new Map<number, VirtualRouterConfig>();

  constructor(
    readonly provider: 'VirtualRouter' | 'VpcVirtualRouter' = 'VirtualRouter',
    private readonly renderer?: VirtualRouterRenderer,
  ) {}

  capabilities(): Partial<Record<NetworkService, Record<string, string>>> {
    const caps: Partial<Record<NetworkService, Record<string, string>>> = {
      Dhcp: {},
      Dns: {},
      UserData: {},
      Gateway: {},
      SourceNat: { SupportedSourceNatTypes: 'peraccount' },
      StaticNat: {},
      PortForwarding: {},
      Lb: {
        SupportedLbAlgorithms: 'roundrobin,leastconn,source',
        SupportedStickinessMethods: 'LbCookie,AppCookie,SourceBased',
        SupportedProtocols: 'tcp,udp,tcp-proxy',
      },
      Vpn: {},
    };
    if (this.provider === 'VpcVirtualRouter') caps.NetworkACL = {};
    else caps.Firewall = {};
    return caps;
  }

  /** The current configuration of a network's router (a copy), or undefined when not implemented. */
  configuration(networkId: number): VirtualRouterConfig | undefined {
    const c = this.configs.get(networkId);
    return c ? structuredClone(c) : undefined;
  }

  async implement(net: NetworkProfile, _offering: NetworkOffering): Promise<boolean> {
    const existing = this.configs.get(net.id);
    const config: VirtualRouterConfig = existing ?? {
      networkId: net.id,
      networkUuid: net.uuid,
      vpcId: net.vpcId,
      guest: { gateway: net.gateway, cidr: net.cidr, netmask: net.netmask, vlan: net.vlan },
      dns: [...net.dns],
      domain: net.networkDomain,
      sourceNat: net.sourceNatIp ? { ip: net.sourceNatIp } : null,
      publicIps: [],
      dhcp: [],
      egressDefaultAllow: net.egressDefaultAllow,
      firewall: [],
      portForwarding: [],
      staticNat: [],
      loadBalancers: [],
      networkAcl: [],
      vpn: null,
      vpnUsers: [],
      revision: 0,
    };
    config.guest = { gateway: net.gateway, cidr: net.cidr, netmask: net.netmask, vlan: net.vlan };
    config.sourceNat = net.sourceNatIp ? { ip: net.sourceNatIp } : null;
    this.configs.set(net.id, config);
    await this.changed(config);
    return true;
  }

  async prepare(net: NetworkProfile, nic: NicProfile): Promise<boolean> {
    const config = this.configs.get(net.id);
    if (!config || nic.ip === null) return false;
    config.dhcp = config.dhcp.filter((d) => d.nicId !== nic.nicId);
    config.dhcp.push({
      nicId: nic.nicId,
      vmId: nic.vmId,
      hostName: nic.hostName,
      ip: nic.ip,
      mac: nic.mac,
      defaultGateway: nic.isDefault,
    });
    config.dhcp.sort((a, b) => a.nicId - b.nicId);
    await this.changed(config);
    return true;
  }

  async release(net: NetworkProfile, nic: NicProfile): Promise<boolean> {
    const config = this.configs.get(net.id);
    if (!config) return false;
    const before = config.dhcp.length;
    config.dhcp = config.dhcp.filter((d) => d.nicId !== nic.nicId);
    if (config.dhcp.length !== before) await this.changed(config);
    return true;
  }

  async shutdown(net: NetworkProfile, _cleanup: boolean): Promise<boolean> {
    if (!this.configs.delete(net.id)) return false;
    await this.renderer?.(net.id, null);
    return true;
  }

  destroy(net: NetworkProfile): Promise<boolean> {
    return this.shutdown(net, true);
  }

  applyIps(net: NetworkProfile, ips: readonly PublicIpAssociation[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.publicIps = ips.filter((i) => i.add).map((i) => ({ ...i }));
    });
  }

  applyFirewallRules(net: NetworkProfile, rules: readonly FirewallRuleConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.firewall = activeOnly(rules);
    });
  }

  applyPortForwardingRules(net: NetworkProfile, rules: readonly PortForwardingConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.portForwarding = activeOnly(rules);
    });
  }

  applyStaticNats(net: NetworkProfile, rules: readonly StaticNatConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.staticNat = activeOnly(rules);
    });
  }

  applyLoadBalancerRules(net: NetworkProfile, rules: readonly LoadBalancerConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.loadBalancers = activeOnly(rules).map((lb) => ({ ...lb, destinations: activeOnly(lb.destinations) }));
    });
  }

  applyNetworkAcls(net: NetworkProfile, items: readonly NetworkAclItemConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.networkAcl = items.map((i) => ({ ...i, cidrs: [...i.cidrs] }));
    });
  }

  applyVpn(net: NetworkProfile, vpn: RemoteAccessVpnConfig | null, users: readonly VpnUserConfig[]): Promise<boolean> {
    return this.update(net, (c) => {
      c.vpn =
        vpn?.create === true
          ? {
              publicIp: vpn.vpnServerIp,
              serverIp: vpn.localIp,
              clientRange: vpn.ipRange,
              presharedKey: vpn.presharedKey,
              guestCidr: vpn.localCidr,
            }
          : null;
      c.vpnUsers = c.vpn ? activeOnly(users).map((u) => ({ username: u.username, password: u.password })) : [];
    });
  }

  private async update(net: NetworkProfile, fn: (c: VirtualRouterConfig) => void): Promise<boolean> {
    const config = this.configs.get(net.id);
    if (!config) return false;
    fn(config);
    await this.changed(config);
    return true;
  }

  private async changed(config: VirtualRouterConfig): Promise<void> {
    config.revision++;
    await this.renderer?.(config.networkId, structuredClone(config));
  }
}

/**
 * The security-group provider of basic zones (and SG-enabled shared networks): no device of its
 * own — the hypervisor drivers enforce each VM's effective rules (SecurityGroupService.effectiveRules).
 */
export class SecurityGroupElement implements NetworkElement {
  readonly provider = 'SecurityGroupProvider' as const;
  capabilities(): Partial<Record<NetworkService, Record<string, string>>> {
    return { SecurityGroup: {} };
  }
  async implement(): Promise<boolean> {
    return true;
  }
  async prepare(): Promise<boolean> {
    return true;
  }
  async release(): Promise<boolean> {
    return true;
  }
  async shutdown(): Promise<boolean> {
    return true;
  }
  async destroy(): Promise<boolean> {
    return true;
  }
}
