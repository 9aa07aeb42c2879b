import type { CloudContext } from '../context.js';
import { GuestVlanService } from '../ipam/guest-vlans.js';
import { IpAllocator } from '../ipam/ip-allocator.js';
import { GuestIpRangeService } from '../ipam/ip-ranges.js';
import { MacAddressAllocator } from '../ipam/mac-addresses.js';
import { SettingsService } from '../settings/settings-service.js';
import { NetworkConfigurator } from './network-configuration.js';
import { NetworkElementRegistry } from './network-element.js';
import { SecurityGroupElement, VirtualRouterElement } from './virtual-router-element.js';

/**
 * What the network services share: the IPAM and VLAN services of one cloud (their in-memory
 * indexes must be shared, not duplicated), the element registry and the configurator.
 */
export interface NetworkDeps {
  ips: IpAllocator;
  vlans: GuestVlanService;
  guestRanges: GuestIpRangeService;
  macs: MacAddressAllocator;
  elements: NetworkElementRegistry;
  configurator: NetworkConfigurator;
  settings: SettingsService;
}

export interface NetworkDepsOptions {
  ips?: IpAllocator;
  vlans?: GuestVlanService;
  guestRanges?: GuestIpRangeService;
  macs?: MacAddressAllocator;
  /** Elements to register; default: VirtualRouter, VpcVirtualRouter and SecurityGroupProvider. */
  elements?: NetworkElementRegistry;
}

export function networkDeps(ctx: CloudContext, options: NetworkDepsOptions = {}): NetworkDeps {
  const ips = options.ips ?? new IpAllocator(ctx);
  const elements =
    options.elements ??
    new NetworkElementRegistry([
      new VirtualRouterElement('VirtualRouter'),
      new VirtualRouterElement('VpcVirtualRouter'),
      new SecurityGroupElement(),
    ]);
  return {
    ips,
    vlans: options.vlans ?? new GuestVlanService(ctx),
    guestRanges: options.guestRanges ?? new GuestIpRangeService(ctx, ips),
    macs: options.macs ?? new MacAddressAllocator(ctx),
    elements,
    configurator: new NetworkConfigurator(ctx, elements),
    settings: new SettingsService(ctx),
  };
}
