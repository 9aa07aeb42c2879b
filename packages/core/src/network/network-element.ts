import type {
  FirewallRuleConfig,
  LoadBalancerConfig,
  PortForwardingConfig,
  RemoteAccessVpnConfig,
  StaticNatConfig,
  VpnUserConfig,
} from '../driver/network-device-driver.js';
import type { NetworkOffering } from './records.js';
import type { NetworkProvider, NetworkService } from './services.js';

/** What an element needs to know of a guest network (CloudStack's `Network` + `DeployDestination`). */
export interface NetworkProfile {
  id: number;
  uuid: string;
  name: string;
  zoneId: number;
  accountId: number;
  vpcId: number | null;
  guestType: 'Isolated' | 'Shared';
  cidr: string | null;
  gateway: string | null;
  netmask: string | null;
  /** The guest VLAN once implemented (null: untagged or not yet taken). */
  vlan: number | null;
  broadcastUri: string | null;
  /** Guest DNS servers (the zone's dns1/dns2). */
  dns: string[];
  networkDomain: string | null;
  /** The network's source-NAT public IP, when it has one. */
  sourceNatIp: string | null;
  /** The offering's default egress policy: true = allow what no rule matches. */
  egressDefaultAllow: boolean;
}

/** A NIC as elements see it (CloudStack `NicProfile`). */
export interface NicProfile {
  nicId: number;
  vmId: number;
  hostName: string;
  ip: string | null;
  mac: string;
  netmask: string | null;
  gateway: string | null;
  isDefault: boolean;
}

/** A public IP being associated (`Allocating`/`Allocated`) or disassociated (`Releasing`), `applyIps`. */
export interface PublicIpAssociation {
  ip: string;
  vlanTag: string;
  sourceNat: boolean;
  /** false = de-provision (the IP is `Releasing`). */
  add: boolean;
}

/** One VPC network ACL item as elements receive it, in evaluation order. */
export interface NetworkAclItemConfig {
  number: number;
  action: 'Allow' | 'Deny';
  trafficType: 'Ingress' | 'Egress';
  protocol: string;
  startPort: number | null;
  endPort: number | null;
  cidrs: readonly string[];
}

/**
 * A network element: the provider of one or more services on guest networks (spec/networking.md
 * §7; CloudStack `NetworkElement`). The lifecycle calls return true when the element did its part
 * (false: nothing to do for this network). The `apply*` calls carry the **full** desired set for
 * the network (revoked entries flagged), so an element converges idempotently; an element
 * implements only the calls of the services it provides. Calls run outside store transactions and
 * may be repeated after a partial failure.
 */
export interface NetworkElement {
  readonly provider: NetworkProvider;
  /** Services this element provides, with their capabilities (e.g. `Lb: { SupportedLbAlgorithms: 'roundrobin,leastconn,source' }`). */
  capabilities(): Partial<Record<NetworkService, Record<string, string>>>;
  implement(net: NetworkProfile, offering: NetworkOffering): Promise<boolean>;
  prepare(net: NetworkProfile, nic: NicProfile): Promise<boolean>;
  release(net: NetworkProfile, nic: NicProfile): Promise<boolean>;
  /** Removes device-side state only; the store keeps the intent (pitfall 12). */
  shutdown(net: NetworkProfile, cleanup: boolean): Promise<boolean>;
  destroy(net: NetworkProfile): Promise<boolean>;
  applyIps?(net: NetworkProfile, ips: readonly PublicIpAssociation[]): Promise<boolean>;
  applyFirewallRules?(net: NetworkProfile, rules: readonly FirewallRuleConfig[]): Promise<boolean>;
  applyPortForwardingRules?(net: NetworkProfile, rules: readonly PortForwardingConfig[]): Promise<boolean>;
  applyStaticNats?(net: NetworkProfile, rules: readonly StaticNatConfig[]): Promise<boolean>;
  applyLoadBalancerRules?(net: NetworkProfile, rules: readonly LoadBalancerConfig[]): Promise<boolean>;
  applyNetworkAcls?(net: NetworkProfile, items: readonly NetworkAclItemConfig[]): Promise<boolean>;
  /**
   * Remote-access VPN (§10.1), full set: the network's VPN (`create: false` = remove it; null = the
   * network has none) and every VPN user of the network's account (`revoked` = remove).
   * `vpn.localIp` is the server's address, the first of the configured range; `vpn.ipRange` the
   * clients' pool.
   */
  applyVpn?(net: NetworkProfile, vpn: RemoteAccessVpnConfig | null, users: readonly VpnUserConfig[]): Promise<boolean>;
}

/** The elements a cloud has, one per provider. */
export class NetworkElementRegistry {
  private readonly elements = new Map<NetworkProvider, NetworkElement>();

  constructor(elements: readonly NetworkElement[] = []) {
    for (const e of elements) this.register(e);
  }

  register(element: NetworkElement): void {
    this.elements.set(element.provider, element);
  }

  get(provider: NetworkProvider): NetworkElement | undefined {
    return this.elements.get(provider);
  }

  /** The distinct elements serving an offering's services, in the offering's order. */
  forOffering(offering: NetworkOffering): NetworkElement[] {
    const out: NetworkElement[] = [];
    for (const providers of Object.values(offering.services)) {
      for (const p of providers ?? []) {
        const e = this.elements.get(p);
        if (e && !out.includes(e)) out.push(e);
      }
    }
    return out;
  }

  /** The elements providing one service of an offering. */
  forService(offering: NetworkOffering, service: NetworkService): NetworkElement[] {
    return (offering.services[service] ?? [])
      .map((p) => this.elements.get(p))
      .filter((e): e is NetworkElement => e !== undefined);
  }
}
