import type { NicTrafficType } from './vm-spec.js';

/** A traffic label to verify on a host (`CheckNetworkCommand`). */
export interface TrafficLabelCheck {
  trafficType: NicTrafficType;
  /** KVM bridge name, XenServer name-label, vSphere vSwitch label. */
  label: string;
}

/** Answer of `checkNetwork`: every label must resolve, or host add is refused (drivers.md §11 pitfall 10). */
export interface CheckNetworkResult {
  ok: boolean;
  /** The labels that did not resolve on the host. */
  unresolved: readonly TrafficLabelCheck[];
}

/** Answer of `setupNetwork`: the hypervisor object carrying the NIC's network. */
export interface NetworkSetupResult {
  /** Bridge (`brcloudbr0-100`), XAPI network (`VLAN-…-100`) or port group (`cloud.guest.100.0.1-vSwitch0`). */
  name: string;
  /** Whether this call created it (false: it was there). */
  created: boolean;
}

/** Answer of `cleanupNetwork`. */
export interface NetworkCleanupResult {
  /** False when the object is still in use, is permanent (untagged) or the hypervisor never removes it (vSphere). */
  removed: boolean;
}
