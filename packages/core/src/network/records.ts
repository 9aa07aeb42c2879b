import type { NetworkState } from '../model/state-machines/network.js';
import type { NetworkOfferingState } from '../model/state-machines/network-offering.js';
import type { NicState } from '../model/state-machines/nic.js';
import { Repo } from '../resources/repo.js';
import { decoder } from '../store/codec.js';
import type {
  EgressPolicy,
  GuestType,
  LbAlgorithmName,
  NetworkService,
  OfferingAvailability,
  RuleProtocol,
  ServiceProviderMap,
  StickinessMethod,
} from './services.js';

interface Entity {
  id: number;
  uuid: string;
  created: Date;
  removed: Date | null;
}

/** A network offering (networking.md §5). */
export interface NetworkOffering extends Entity {
  name: string;
  displayText: string;
  trafficType: string;
  guestType: GuestType;
  services: ServiceProviderMap;
  capabilities: Partial<Record<NetworkService, Record<string, string>>>;
  conserveMode: boolean;
  specifyVlan: boolean;
  specifyIpRanges: boolean;
  availability: OfferingAvailability;
  egressDefaultPolicy: EgressPolicy;
  networkRate: number | null;
  serviceOfferingId: number | null;
  tags: string[];
  forVpc: boolean;
  persistent: boolean;
  isDefault: boolean;
  state: NetworkOfferingState;
  updatedCount: number;
}

/** A guest network (resource-model.md §10). */
export interface Network extends Entity {
  name: string;
  displayText: string;
  zoneId: number;
  physicalNetworkId: number;
  networkOfferingId: number;
  trafficType: string;
  guestType: GuestType;
  cidr: string | null;
  gateway: string | null;
  netmask: string | null;
  broadcastDomainType: string;
  broadcastUri: string | null;
  specifiedVlan: number | null;
  aclType: 'Account' | 'Domain';
  networkDomain: string | null;
  guruName: string;
  specifyIpRanges: boolean;
  restartRequired: boolean;
  vpcId: number | null;
  aclId: number | null;
  accountId: number;
  domainId: number;
  idleSince: Date | null;
  state: NetworkState;
  updatedCount: number;
}

/** A NIC (resource-model.md §9). */
export interface Nic extends Entity {
  instanceId: number;
  networkId: number;
  deviceId: number;
  ip4Address: string | null;
  ipAllocationId: number | null;
  netmask: string | null;
  gateway: string | null;
  macAddress: string;
  isDefault: boolean;
  broadcastUri: string | null;
  isolationUri: string | null;
  mode: string;
  reservationStrategy: 'PlaceHolder' | 'Create' | 'Start' | 'Managed';
  reserver: string | null;
  reservationId: string | null;
  state: NicState;
  updatedCount: number;
}

/** What a network rule does: firewall, port forwarding or load balancing. */
export type RulePurpose = 'Firewall' | 'PortForwarding' | 'LoadBalancing';
/** A network rule's state: being added, active, or being revoked. */
export type RuleState = 'Add' | 'Active' | 'Revoke';

/** A load balancer's stickiness policy: its method and parameters. */
export interface StickinessPolicy {
  name: string;
  method: StickinessMethod;
  params: Record<string, string>;
}

/** A load balancer's health check: the path pinged, the timeout, interval and healthy threshold. */
export interface HealthCheckPolicy {
  pingPath: string;
  responseTimeout: number;
  intervalTime: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

/** A firewall, port-forwarding or load-balancing rule (networking.md §8). */
export interface NetworkRule extends Entity {
  purpose: RulePurpose;
  networkId: number;
  ipAllocationId: number | null;
  accountId: number;
  domainId: number;
  trafficType: 'Ingress' | 'Egress';
  protocol: RuleProtocol;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: string[];
  vmId: number | null;
  nicId: number | null;
  privateIp: string | null;
  privateStartPort: number | null;
  privateEndPort: number | null;
  name: string | null;
  algorithm: LbAlgorithmName | null;
  stickiness: StickinessPolicy | null;
  healthCheck: HealthCheckPolicy | null;
  state: RuleState;
  updatedCount: number;
}

/** A static NAT of a public IP to a VM. */
export interface StaticNat {
  id: number;
  ipAllocationId: number;
  networkId: number;
  vmId: number;
  nicId: number;
  privateIp: string;
  /** A disabled static NAT waiting for the providers to confirm its removal (sent once as `revoked: true`). */
  revoked: boolean;
  created: Date;
}

/** A VM assigned to a load-balancing rule. */
export interface LbMember {
  id: number;
  ruleId: number;
  vmId: number;
  nicId: number;
  ip: string;
  created: Date;
}

/** A security group of an account. */
export interface SecurityGroup extends Entity {
  name: string;
  description: string | null;
  accountId: number;
  domainId: number;
}

/** One ingress or egress rule of a security group (CIDRs or other groups as the source). */
export interface SecurityGroupRule {
  id: number;
  uuid: string;
  securityGroupId: number;
  direction: 'ingress' | 'egress';
  protocol: RuleProtocol;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: string[];
  groupRefs: number[];
  created: Date;
}

/** A VPC: its CIDR, offering, owner and state. */
export interface Vpc extends Entity {
  name: string;
  displayText: string;
  zoneId: number;
  cidr: string;
  networkDomain: string | null;
  accountId: number;
  domainId: number;
  state: 'Enabled' | 'Inactive';
  updatedCount: number;
}

/** A VPC's network ACL (a named list of items applied to tiers). */
export interface NetworkAcl extends Entity {
  name: string;
  description: string | null;
  vpcId: number | null;
}

/** One rule of a network ACL: number, action, traffic direction, protocol, ports and CIDRs. */
export interface NetworkAclItem {
  id: number;
  uuid: string;
  aclId: number;
  number: number;
  action: 'Allow' | 'Deny';
  trafficType: 'Ingress' | 'Egress';
  protocol: RuleProtocol;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: string[];
  created: Date;
}

/** A VPC private gateway. */
export interface PrivateGateway extends Entity {
  vpcId: number;
  zoneId: number;
  physicalNetworkId: number;
  vlan: number;
  ip: string;
  gateway: string;
  netmask: string;
  staticRoutes: string[];
}

export const networkOfferingRepo = new Repo<NetworkOffering>(
  'networkOfferings',
  'NetworkOffering',
  decoder<NetworkOffering>({
    bool: ['conserveMode', 'specifyVlan', 'specifyIpRanges', 'forVpc', 'persistent', 'isDefault'],
    json: ['services', 'capabilities', 'tags'],
  }),
  ['name', 'displayText'],
);
export const networkRepo = new Repo<Network>(
  'networks',
  'Network',
  decoder<Network>({ bool: ['specifyIpRanges', 'restartRequired'], date: ['idleSince'] }),
  ['name', 'displayText'],
);
export const nicRepo = new Repo<Nic>('nics', 'Nic', decoder<Nic>({ bool: ['isDefault'] }), [
  'ip4Address',
  'macAddress',
]);
export const networkRuleRepo = new Repo<NetworkRule>(
  'networkRules',
  'NetworkRule',
  decoder<NetworkRule>({ json: ['cidrs', 'stickiness', 'healthCheck'] }),
);
export const securityGroupRepo = new Repo<SecurityGroup>('securityGroups', 'SecurityGroup', decoder<SecurityGroup>({}));
export const vpcRepo = new Repo<Vpc>('vpcs', 'Vpc', decoder<Vpc>({}), ['name', 'displayText']);
export const networkAclRepo = new Repo<NetworkAcl>('networkAcls', 'NetworkAcl', decoder<NetworkAcl>({}));
export const privateGatewayRepo = new Repo<PrivateGateway>(
  'privateGateways',
  'PrivateGateway',
  decoder<PrivateGateway>({ json: ['staticRoutes'] }),
  ['ip', 'gateway'],
);
export const decodeStaticNat = decoder<StaticNat>({ bool: ['revoked'] });
export const decodeLbMember = decoder<LbMember>({});
export const decodeSecurityGroupRule = decoder<SecurityGroupRule>({ json: ['cidrs', 'groupRefs'] });
export const decodeNetworkAclItem = decoder<NetworkAclItem>({ json: ['cidrs'] });

/** Remote-access VPN states (CloudStack `RemoteAccessVpn.State`). */
export type RemoteAccessVpnState = 'Added' | 'Running' | 'Removed';

/** A remote-access VPN (networking.md §10.1): L2TP/IPsec on an isolated network's source-NAT IP. */
export interface RemoteAccessVpn extends Entity {
  networkId: number;
  ipAllocationId: number;
  zoneId: number;
  accountId: number;
  domainId: number;
  /** The VPN server's address: the first address of the configured range. */
  localIp: string;
  /** The client pool, `first-last` (the rest of the configured range). */
  ipRange: string;
  /** IPsec pre-shared key. */
  presharedKey: string;
  state: RemoteAccessVpnState;
  updatedCount: number;
}

/** VPN user states (CloudStack `VpnUser.State`). */
export type VpnUserState = 'Add' | 'Active' | 'Revoke';

/** A VPN user of an account, valid on every VPN of the account (§10.1). The password is never returned. */
export interface VpnUser extends Entity {
  accountId: number;
  domainId: number;
  username: string;
  state: VpnUserState;
  updatedCount: number;
}

export const remoteAccessVpnRepo = new Repo<RemoteAccessVpn>(
  'remoteAccessVpns',
  'RemoteAccessVpn',
  decoder<RemoteAccessVpn>({}),
  ['localIp', 'ipRange'],
);
const decodeVpnUserRow = decoder<VpnUser & { password?: string }>({});
/** VPN users as returned: never the password. */
export const vpnUserRepo = new Repo<VpnUser>(
  'vpnUsers',
  'VpnUser',
  (row) => {
    const { password: _password, ...user } = decodeVpnUserRow(row);
    return user;
  },
  ['username'],
);
