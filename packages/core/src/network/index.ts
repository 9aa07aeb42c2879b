export {
  type AllocateNicInput,
  type CreateNetworkInput,
  GuestNetworkService,
  inNetworkCidr,
} from './guest-networks.js';
export { NetworkConfigurator, type NetworkDesiredState, vlanOf } from './network-configuration.js';
export {
  type NetworkAclItemConfig,
  type NetworkElement,
  NetworkElementRegistry,
  type NetworkProfile,
  type NicProfile,
  type PublicIpAssociation,
} from './network-element.js';
export { createNetworkLayer, type NetworkLayer, type NetworkLayerOptions } from './network-layer.js';
export { type NetworkDeps, type NetworkDepsOptions, networkDeps } from './network-layer-deps.js';
export { type CreateNetworkOfferingInput, NetworkOfferingService, parseServices } from './network-offerings.js';
export { NetworkRuleConflictError } from './network-rule-conflict-error.js';
export {
  type CreateEgressRuleInput,
  type CreateFirewallRuleInput,
  type CreateLoadBalancerInput,
  type CreatePortForwardingInput,
  checkCidrs,
  checkProtocolPorts,
  NetworkRuleService,
  overlaps,
  type PortRange,
} from './network-rules.js';
export { PublicIpService } from './public-ips.js';
export * from './records.js';
export {
  type EnableRemoteAccessVpnInput,
  RemoteAccessVpnService,
  VPN_UDP_PORTS,
  type VpnUserInput,
} from './remote-access-vpn.js';
export {
  DEFAULT_SECURITY_GROUP,
  type EffectiveRule,
  type EffectiveSecurityRules,
  type SecurityGroupRuleInput,
  SecurityGroupService,
} from './security-groups.js';
export * from './services.js';
export {
  type DhcpEntry,
  SecurityGroupElement,
  type VirtualRouterConfig,
  VirtualRouterElement,
  type VirtualRouterRenderer,
  type VirtualRouterVpn,
} from './virtual-router-element.js';
export {
  type AclItemInput,
  type AclQuery,
  type CreateTierInput,
  type CreateVpcInput,
  decideAcl,
  VpcService,
} from './vpcs.js';
export { type ZoneReadiness, type ZoneReadinessProblem, ZoneReadinessService } from './zone-readiness.js';
