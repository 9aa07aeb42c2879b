import type { DriverCredentials } from './host-report.js';
import type { OperationContext } from './operation-context.js';

/**
 * Network-device contract (drivers.md §6): firewalls (SRX) and load balancers (F5, NetScaler) that core
 * programs per guest network. Semantics every device follows (§6.2):
 * - **Full-set, convergent**: each `apply*` call carries the complete desired state of the objects it names,
 *   `revoked` items to remove and active ones to ensure; the driver converges the device to it.
 * - **Idempotent**: "already exists" while ensuring → read back, update if different, success; "not found"
 *   while removing → success; every call survives being re-run after a partial failure.
 * - **Ordered**: dependencies created first, deleted in reverse; one commit/save at the end of each call.
 * - **Retried**: on session expiry or connection loss, re-login and retry the whole call `numRetries` times.
 * - **Serialized**: one mutation at a time per device, bounded queue, per-call timeout.
 * - Addresses (SRX gateway = first guest IP, LB self IP) are reserved in core's IPAM before the call.
 */

/** Parameters a device is registered with; capacity and dedication are core's concern and not passed (§6.1). */
export interface NetworkDeviceConfig {
  /** Management address. */
  ip: string;
  credentials: DriverCredentials;
  /** Device interface facing the public network (SRX, inline LB). */
  publicInterface?: string;
  /** Device interface facing the guest networks. */
  privateInterface?: string;
  /** Retries of a whole call after a session/connection loss (CloudStack: SRX 1, F5 1, NetScaler 2). */
  numRetries?: number;
  /** Per-call timeout (SRX default 300 s). */
  timeoutMs?: number;
  /** Vendor-specific parameters (NetScaler type MPX/VPX/SDX, SRX zone names…). */
  details?: Readonly<Record<string, string>>;
}

/** `implementGuestNetwork`/`shutdownGuestNetwork` payload (`IpAssocCommand` add/remove). */
export interface GuestNetworkConfig {
  guestVlanTag: number;
  /** Guest gateway (SRX: the first IP of the guest subnet). */
  gateway: string;
  /** Guest CIDR. */
  cidr: string;
  /** The device's own address on the guest network (F5 self IP), reserved by core. */
  selfIp?: string;
  sourceNatIp?: string;
  publicVlanTag?: number;
  publicNetmask?: string;
  /** Firewall in front of the load balancer (§6.2 inline mode). */
  inline: boolean;
  /** Network rate limit; 0 means unlimited. */
  networkRateMbps: number;
}

/** Protocol of a firewall rule. */
export type FirewallProtocol = 'tcp' | 'udp' | 'icmp' | 'all';

/** One firewall rule (`SetFirewallRulesCommand`); a call carries the full set per public IP. */
export interface FirewallRuleConfig {
  id: string;
  publicIp: string;
  publicVlanTag?: number;
  protocol: FirewallProtocol;
  /** Absent for icmp/all. */
  portStart?: number;
  portEnd?: number;
  /** ICMP type/code; -1 means any. */
  icmpType?: number;
  icmpCode?: number;
  sourceCidrs: readonly string[];
  direction: 'ingress' | 'egress';
  revoked: boolean;
  /** Egress rules: the guest network they apply to. */
  guestVlanTag?: number;
  guestCidr?: string;
  /** Egress rules: the offering's default egress policy (true = allow all not matched). */
  defaultEgressAllow?: boolean;
}

/** One static NAT (`SetStaticNatRulesCommand`). */
export interface StaticNatConfig {
  publicIp: string;
  privateIp: string;
  publicVlanTag?: number;
  revoked: boolean;
}

/** One port-forwarding rule (`SetPortForwardingRulesCommand`). */
export interface PortForwardingConfig {
  publicIp: string;
  publicPortStart: number;
  publicPortEnd: number;
  privateIp: string;
  privatePortStart: number;
  privatePortEnd: number;
  protocol: 'tcp' | 'udp';
  revoked: boolean;
  /** The public IP's VLAN (CloudStack's `srcVlanTag`), which the SRX needs to pick the interface. */
  publicVlanTag?: number;
}

/** Load-balancing algorithm. */
export type LbAlgorithm = 'roundrobin' | 'leastconn' | 'source';

/** A load-balancer member. */
export interface LbDestination {
  ip: string;
  port: number;
  revoked: boolean;
}

/** A stickiness policy. */
export interface LbStickinessPolicy {
  method: 'LbCookie' | 'AppCookie' | 'SourceBased';
  params: Readonly<Record<string, string>>;
}

/** A health-check policy. */
export interface LbHealthCheckPolicy {
  pingPath: string;
  intervalS: number;
  responseTimeS: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
  revoked: boolean;
}

/** An SSL certificate bound to a rule. */
export interface LbSslCert {
  certificate: string;
  /** PEM private key; never logged. */
  key: string;
  chain?: string;
  password?: string;
}

/** One load-balancing rule (`LoadBalancerConfigCommand`). */
export interface LoadBalancerConfig {
  uuid: string;
  srcIp: string;
  srcPort: number;
  protocol: 'tcp' | 'udp' | 'tcp-proxy' | 'http' | 'ssl';
  algorithm: LbAlgorithm;
  revoked: boolean;
  inline: boolean;
  destinations: readonly LbDestination[];
  stickiness: readonly LbStickinessPolicy[];
  healthChecks: readonly LbHealthCheckPolicy[];
  sslCert?: LbSslCert;
}

/** Health of each member of a rule (`HealthCheckLBConfigCommand`). */
export interface LbHealthReport {
  uuid: string;
  destinations: ReadonlyArray<{ ip: string; port: number; state: 'up' | 'down' }>;
}

/**
 * A cumulative traffic counter (`ExternalNetworkResourceUsageCommand`): per public IP on a firewall,
 * per rule/VIP on a load balancer. Core computes the deltas.
 */
export interface DeviceUsageCounter {
  kind: 'publicIp' | 'loadBalancer';
  /** The public IP or the rule uuid. */
  ref: string;
  bytesSent: number;
  bytesReceived: number;
}

/** Remote-access VPN set-up (`RemoteAccessVpnCfgCommand`), SRX only. */
export interface RemoteAccessVpnConfig {
  /** true to create, false to remove. */
  create: boolean;
  vpnServerIp: string;
  /** Client address pool, `a.b.c.d-a.b.c.e`. */
  ipRange: string;
  /** Never logged. */
  presharedKey: string;
  /** Guest gateway and CIDR the clients reach. */
  localIp: string;
  localCidr: string;
}

/** A VPN user (`VpnUsersCfgCommand`). */
export interface VpnUserConfig {
  username: string;
  /** Never logged. */
  password: string;
  revoked: boolean;
}

/** Answer of a device `ping` (`ReadyCommand`). */
export interface DevicePingResult {
  reachable: boolean;
  message?: string;
}

/** What every network device does, whatever its kind. */
export interface NetworkDevice {
  /** Plumb a guest network on the device: VLAN interface, self IP, source NAT (`IpAssocCommand` add). */
  implementGuestNetwork(net: GuestNetworkConfig, ctx?: OperationContext): Promise<void>;
  /** Remove what `implementGuestNetwork` made (`IpAssocCommand` remove). Not there: success. */
  shutdownGuestNetwork(net: GuestNetworkConfig, ctx?: OperationContext): Promise<void>;
  /** Cumulative traffic counters. */
  getUsage(ctx?: OperationContext): Promise<DeviceUsageCounter[]>;
  /** Is the device there and logged in (`ReadyCommand`). */
  ping(ctx?: OperationContext): Promise<DevicePingResult>;
  /** Device-side maintenance hook (`MaintainCommand`). */
  maintain(ctx?: OperationContext): Promise<void>;
  /** Log out and drop the session (F5 caps live tokens per user). */
  close(): Promise<void>;
}

/** A firewall / NAT device (SRX). */
export interface FirewallDevice extends NetworkDevice {
  /** Converge the full firewall rule set of the public IPs named (`SetFirewallRulesCommand`). */
  applyFirewallRules(rules: readonly FirewallRuleConfig[], ctx?: OperationContext): Promise<void>;
  /** Converge static NATs (`SetStaticNatRulesCommand`). */
  applyStaticNat(rules: readonly StaticNatConfig[], ctx?: OperationContext): Promise<void>;
  /** Converge port-forwarding rules (`SetPortForwardingRulesCommand`). */
  applyPortForwarding(rules: readonly PortForwardingConfig[], ctx?: OperationContext): Promise<void>;
  /** Create or remove the remote-access VPN (`RemoteAccessVpnCfgCommand`); SRX only. */
  configureVpn?(config: RemoteAccessVpnConfig, ctx?: OperationContext): Promise<void>;
  /** Converge VPN users (`VpnUsersCfgCommand`); SRX only. */
  vpnUsers?(users: readonly VpnUserConfig[], ctx?: OperationContext): Promise<void>;
}

/** A load balancer (F5, NetScaler). */
export interface LoadBalancerDevice extends NetworkDevice {
  /** Converge the named load-balancing rules (`LoadBalancerConfigCommand`). */
  applyLoadBalancers(lbs: readonly LoadBalancerConfig[], ctx?: OperationContext): Promise<void>;
  /** Member health of the named rules (`HealthCheckLBConfigCommand`). */
  getHealth(lbs: readonly LoadBalancerConfig[], ctx?: OperationContext): Promise<LbHealthReport[]>;
}

/** A firewall driver: opens one {@link FirewallDevice} per registered device. */
export interface FirewallDeviceDriver {
  /** Provider name as CloudStack spells it, e.g. `JuniperSRX`. */
  readonly provider: string;
  readonly kind: 'firewall';
  /** Connect to one registered device. */
  open(config: NetworkDeviceConfig, ctx?: OperationContext): Promise<FirewallDevice>;
}

/** A load-balancer driver: opens one {@link LoadBalancerDevice} per registered device. */
export interface LoadBalancerDeviceDriver {
  /** Provider name as CloudStack spells it, e.g. `F5BigIp`, `Netscaler`. */
  readonly provider: string;
  readonly kind: 'loadBalancer';
  /** Connect to one registered device. */
  open(config: NetworkDeviceConfig, ctx?: OperationContext): Promise<LoadBalancerDevice>;
}

/** A network-device driver, wired in by the user: `createCloud({ networkDevices: [srxDriver()] })`. */
export type NetworkDeviceDriver = FirewallDeviceDriver | LoadBalancerDeviceDriver;
