import type { PhysicalNetwork, VlanRange, Zone } from '../model/records.js';
import type { Writer } from './writer.js';

/**
 * Checks that a higher layer (IPAM, networks) adds to a lower one's operations, so the lower layer
 * never imports the higher: e.g. the VLAN pool refuses to let a physical network's VLAN range
 * shrink under an allocated VLAN. Each runs inside the operation's transaction.
 */
export class ResourceGuards {
  private readonly vlanRangeChecks: Array<(w: Writer, net: PhysicalNetwork, ranges: VlanRange[]) => Promise<void>> = [];
  private readonly physicalNetworkUserCounts: Array<(w: Writer, net: PhysicalNetwork) => Promise<number>> = [];
  private readonly zoneEnableChecks: Array<(w: Writer, zone: Zone) => Promise<void>> = [];

  /** Registers a check run before a zone is enabled (throw to refuse, e.g. "no public IP range"). */
  onZoneEnable(check: (w: Writer, zone: Zone) => Promise<void>): void {
    this.zoneEnableChecks.push(check);
  }

  async beforeZoneEnable(w: Writer, zone: Zone): Promise<void> {
    for (const check of this.zoneEnableChecks) await check(w, zone);
  }

  /** Registers a check run before a physical network's guest VLAN ranges change (throw to refuse). */
  onVlanRangesChange(check: (w: Writer, net: PhysicalNetwork, ranges: VlanRange[]) => Promise<void>): void {
    this.vlanRangeChecks.push(check);
  }

  /** Registers a counter of what still uses a physical network (guest networks, devices…). */
  onPhysicalNetworkUsers(count: (w: Writer, net: PhysicalNetwork) => Promise<number>): void {
    this.physicalNetworkUserCounts.push(count);
  }

  async beforeVlanRangesChange(w: Writer, net: PhysicalNetwork, ranges: VlanRange[]): Promise<void> {
    for (const check of this.vlanRangeChecks) await check(w, net, ranges);
  }

  async physicalNetworkUsers(w: Writer, net: PhysicalNetwork): Promise<number> {
    let n = 0;
    for (const count of this.physicalNetworkUserCounts) n += await count(w, net);
    return n;
  }
}
