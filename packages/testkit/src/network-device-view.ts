/**
 * A device-neutral description of what a firewall device holds for guest networks, the yardstick of the
 * network-device conformance suite. Each fixture reads its device (or fake) into it; the suite compares it with
 * what the rules it applied prescribe.
 */
export interface FirewallDeviceView {
  /** Guest VLAN units: VLAN, gateway/prefix, zone the unit is bound to, source-NAT IP and its proxy ARP. */
  networks: Array<{ vlan: number; address: string; zone: string; sourceNatIp?: string; proxyArp?: boolean }>;
  /**
   * Static NATs: what inbound traffic the device lets through to the VM (protocol, ports, source CIDRs; empty when
   * no firewall rule allows any), a proxy-ARP entry, and the trust-side mirror for guests (hairpin).
   */
  staticNats: Array<{
    publicIp: string;
    privateIp: string;
    allowed: Array<{ protocol: string; ports?: string; sources: string[] }>;
    proxyArp: boolean;
    hairpin: boolean;
  }>;
  /** Port forwards, one per public port. */
  portForwards: Array<{
    publicIp: string;
    publicPort: number;
    protocol: string;
    privateIp: string;
    privatePort: number;
    policy: boolean;
    proxyArp: boolean;
  }>;
  /** Ingress rules: public IP, protocol (`all`), ports `lo-hi` or `icmp type/code`, source CIDRs, counted. */
  ingress: Array<{ publicIp: string; protocol: string; ports?: string; sources: string[]; counted: boolean }>;
  /** Egress policies per guest VLAN in evaluation order (the default last). */
  egress: Array<{ vlan: number; policies: Array<{ protocol: string; ports?: string; action: 'permit' | 'deny' }> }>;
  /** Objects the driver made that nothing uses any more (must stay empty). */
  leftovers: string[];
}
