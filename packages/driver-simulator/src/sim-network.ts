import type { NicSpec } from '@stratus/core';
import type { HypervisorProfile } from './hypervisor-profile.js';
import type { SimHost, SimNetwork } from './simulator-state.js';

/** The VLAN of a broadcast URI: `vlan://100` → 100; `vlan://untagged` and anything else → null. */
export function vlanOf(broadcastUri: string): number | null {
  const m = /^vlan:\/\/(\d+)$/i.exec(broadcastUri.trim());
  return m?.[1] === undefined ? null : Number(m[1]);
}

/** Whether a traffic label resolves on the host (a host without a label list resolves all). */
export function labelResolves(host: SimHost, label: string): boolean {
  return host.trafficLabels === null || host.trafficLabels.includes(label);
}

/** Name of the network object that carries the NIC on a host of this profile. */
export function networkNameOf(profile: HypervisorProfile, nic: NicSpec): string {
  const vlan = vlanOf(nic.broadcastUri);
  return vlan === null ? nic.trafficLabel : profile.vlanNetworkName(nic.trafficLabel, vlan, nic.networkRateMbps ?? 0);
}

/** The VIF key of a NIC. */
export const vifOf = (vmName: string, nic: Pick<NicSpec, 'deviceId'>): string => `${vmName}#${nic.deviceId}`;

/** Creates the NIC's network object on the host if missing (lazily, drivers.md §2.5). */
export function ensureNetwork(
  profile: HypervisorProfile,
  host: SimHost,
  nic: NicSpec,
): { network: SimNetwork; created: boolean } {
  const name = networkNameOf(profile, nic);
  const existing = host.networks.get(name);
  if (existing !== undefined) return { network: existing, created: false };
  const network: SimNetwork = { name, label: nic.trafficLabel, vlan: vlanOf(nic.broadcastUri), vifs: new Set() };
  host.networks.set(name, network);
  return { network, created: true };
}

/** Whether the host has the NIC's network object (untagged label bridges always exist). */
export function hasNetwork(profile: HypervisorProfile, host: SimHost, nic: NicSpec): boolean {
  return vlanOf(nic.broadcastUri) === null || host.networks.has(networkNameOf(profile, nic));
}

/** Removes a VLAN network object nobody uses, when the hypervisor cleans up; true when removed. */
export function dropIfUnused(host: SimHost, network: SimNetwork, cleanup: boolean): boolean {
  if (!cleanup || network.vlan === null || network.vifs.size > 0) return false;
  host.networks.delete(network.name);
  return true;
}

/** Unplugs every VIF of a VM from the host's networks, removing VLAN networks left unused. */
export function unplugAll(host: SimHost, vmName: string, cleanup: boolean): void {
  const prefix = `${vmName}#`;
  for (const network of [...host.networks.values()]) {
    let touched = false;
    for (const vif of [...network.vifs]) {
      if (vif.startsWith(prefix)) {
        network.vifs.delete(vif);
        touched = true;
      }
    }
    if (touched) dropIfUnused(host, network, cleanup);
  }
}
