import { type CloudContext, type ResolvedCaller, requireResolved } from '../context.js';
import { GuestNetworkService } from './guest-networks.js';
import type { NetworkElement } from './network-element.js';
import { type NetworkDeps, type NetworkDepsOptions, networkDeps } from './network-layer-deps.js';
import { NetworkOfferingService } from './network-offerings.js';
import { NetworkRuleService } from './network-rules.js';
import { PublicIpService } from './public-ips.js';
import { RemoteAccessVpnService } from './remote-access-vpn.js';
import { SecurityGroupService } from './security-groups.js';
import { VpcService } from './vpcs.js';
import { ZoneReadinessService } from './zone-readiness.js';

export interface NetworkLayerOptions extends NetworkDepsOptions {
  /** Further elements (e.g. a VirtualRouterElement with a renderer, device-backed elements); they replace built-ins of the same provider. */
  extraElements?: NetworkElement[];
}

/**
 * The network services a cloud gives its users (`cloud.network`): offerings, guest networks, public
 * IPs, rules, security groups, VPCs, VPNs and zone readiness.
 */
export interface NetworkServices {
  /** Whether a zone has what it needs to be enabled (networking.md: zone readiness). */
  readonly readiness: ZoneReadinessService;
  readonly offerings: NetworkOfferingService;
  readonly networks: GuestNetworkService;
  readonly publicIps: PublicIpService;
  readonly rules: NetworkRuleService;
  readonly securityGroups: SecurityGroupService;
  readonly vpcs: VpcService;
  /** Remote-access VPNs and VPN users (networking.md §10.1). */
  readonly vpn: RemoteAccessVpnService;
}

/**
 * The network layer as core wires it: the public services plus the IPAM/VLAN indexes, element
 * registry and configurator they share (`deps`). Private to core; `cloud.network` is its
 * {@link NetworkServices} view.
 */
export interface NetworkLayer extends NetworkServices {
  readonly deps: NetworkDeps;
  /** The same services acting on behalf of another caller (same indexes and elements). */
  /** The layer acting for `caller` (resolved by `cloud.resolveCaller`, or `ROOT_ADMIN`). */
  as(caller: ResolvedCaller): NetworkLayer;
}

function build(ctx: CloudContext, deps: NetworkDeps): NetworkLayer {
  const networks = new GuestNetworkService(ctx, deps);
  return {
    deps,
    readiness: new ZoneReadinessService(ctx),
    offerings: new NetworkOfferingService(ctx),
    networks,
    vpcs: new VpcService(ctx, deps, networks),
    publicIps: new PublicIpService(ctx, deps),
    rules: new NetworkRuleService(ctx, deps),
    securityGroups: new SecurityGroupService(ctx),
    vpn: new RemoteAccessVpnService(ctx, deps),
    as: (caller) => {
      requireResolved(caller);
      return build(ctx.withCaller(caller), { ...deps });
    },
  };
}

/** Wires the network layer: `createNetworkLayer(cloud.context)`. */
export function createNetworkLayer(ctx: CloudContext, options: NetworkLayerOptions = {}): NetworkLayer {
  const deps = networkDeps(ctx, options);
  for (const e of options.extraElements ?? []) deps.elements.register(e);
  return build(ctx, deps);
}
