/** Network services and providers (spec/networking.md §5, §7; CloudStack `Network.Service` / `Network.Provider`). */

export const NETWORK_SERVICES = [
  'Vpn',
  'Dhcp',
  'Dns',
  'Gateway',
  'Firewall',
  'Lb',
  'UserData',
  'SourceNat',
  'StaticNat',
  'PortForwarding',
  'SecurityGroup',
  'NetworkACL',
  'Connectivity',
] as const;
/** A network service. */
export type NetworkService = (typeof NETWORK_SERVICES)[number];

/** The network service providers Stratus knows (virtual router, security groups, external devices). */
export const NETWORK_PROVIDERS = [
  'VirtualRouter',
  'VpcVirtualRouter',
  'SecurityGroupProvider',
  'JuniperSRX',
  'F5BigIp',
  'Netscaler',
  'ElasticLoadBalancerVm',
  'ExternalDhcpServer',
  'InternalLbVm',
  'None',
] as const;
/** A network service provider (one network element each). */
export type NetworkProvider = (typeof NETWORK_PROVIDERS)[number];

/** Providers that are external load-balancer devices: their self-IP is the second guest address (§4.4). */
export const EXTERNAL_LB_PROVIDERS: readonly NetworkProvider[] = ['F5BigIp', 'Netscaler'];

/** Guest network types: isolated (per account, source NAT) or shared. */
export const GUEST_TYPES = ['Isolated', 'Shared'] as const;
/** One of {@link GUEST_TYPES}. */
export type GuestType = (typeof GUEST_TYPES)[number];

/** How an offering is offered to accounts (CloudStack's availability): required, optional, unavailable. */
export const OFFERING_AVAILABILITIES = ['Required', 'Optional', 'Unavailable'] as const;
/** One of {@link OFFERING_AVAILABILITIES}. */
export type OfferingAvailability = (typeof OFFERING_AVAILABILITIES)[number];

/** The default egress policy of an isolated network's offering: allow or deny. */
export const EGRESS_POLICIES = ['allow', 'deny'] as const;
/** One of {@link EGRESS_POLICIES}. */
export type EgressPolicy = (typeof EGRESS_POLICIES)[number];

/** Services → providers of an offering. */
export type ServiceProviderMap = Partial<Record<NetworkService, NetworkProvider[]>>;

/** Load-balancing algorithms (§8.5). */
export const LB_ALGORITHMS = ['roundrobin', 'leastconn', 'source'] as const;
/** One of {@link LB_ALGORITHMS}. */
export type LbAlgorithmName = (typeof LB_ALGORITHMS)[number];

/** Load balancer stickiness methods. */
export const STICKINESS_METHODS = ['LbCookie', 'AppCookie', 'SourceBased'] as const;
/** One of {@link STICKINESS_METHODS}. */
export type StickinessMethod = (typeof STICKINESS_METHODS)[number];

/** Protocols of firewall rules, ACL items and security-group rules. */
export const RULE_PROTOCOLS = ['tcp', 'udp', 'icmp', 'all'] as const;
/** One of {@link RULE_PROTOCOLS}. */
export type RuleProtocol = (typeof RULE_PROTOCOLS)[number];
