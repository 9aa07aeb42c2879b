/**
 * Guest networks on a pool (drivers.md §2.5, §4.6): a traffic label is a network `name_label` that must resolve to
 * exactly one network; a guest VLAN is network `VLAN-<parent network uuid>-<tag>` (the old name `VLAN<tag>` is
 * accepted) with a `VLAN.create` on each host's PIF of the parent network, made on first use. Two hosts making the
 * same VLAN network at once make two: each is stamped with its creation time, everyone uses the oldest, and the
 * loser is destroyed.
 */
import { DriverError, type NicSpec } from '@stratus/core';
import type { XapiPoolSession } from './xapi-pool-session.js';

const CREATED_KEY = 'cloud-created';

/** The network of a traffic label (exactly one match, else `NotFound`/`InvalidState`). */
export async function labelNetwork(x: XapiPoolSession, label: string): Promise<string> {
  const refs = (await x.call('network.get_by_name_label', [label])) as string[];
  if (refs.length === 0) throw new DriverError('NotFound', `no network is labelled ${label}`);
  if (refs.length > 1)
    throw new DriverError('InvalidState', `${refs.length} networks are labelled ${label}: the label must be unique`);
  return refs[0]!;
}

/** The VLAN tag of a broadcast URI (`vlan://100` → 100), or undefined for `vlan://untagged` / none. */
export function vlanTag(uri: string | undefined): number | undefined {
  const m = /^vlan:\/\/(\d+)$/.exec(uri ?? '');
  return m ? Number(m[1]) : undefined;
}

async function oldest(x: XapiPoolSession, name: string): Promise<string | undefined> {
  const refs = (await x.call('network.get_by_name_label', [name])) as string[];
  if (refs.length <= 1) return refs[0];
  const stamped = await Promise.all(
    refs.map(async (r) => {
      const oc = (await x.call('network.get_other_config', [r])) as Record<string, string>;
      return { r, t: Number(oc[CREATED_KEY] ?? 0) };
    }),
  );
  stamped.sort((a, b) => a.t - b.t || a.r.localeCompare(b.r));
  for (const loser of stamped.slice(1)) await x.call('network.destroy', [loser.r]).catch(() => undefined);
  return stamped[0]!.r;
}

/** The network a NIC plugs into on `host`, its VLAN network made and plumbed on that host when needed. */
export async function nicNetwork(x: XapiPoolSession, host: string, nic: NicSpec): Promise<string> {
  const parent = await labelNetwork(x, nic.trafficLabel);
  const tag = vlanTag(nic.broadcastUri);
  if (tag === undefined) return parent;
  const parentUuid = String(await x.call('network.get_uuid', [parent]));
  const name = `VLAN-${parentUuid}-${tag}`;
  let net = (await oldest(x, name)) ?? (await oldest(x, `VLAN${tag}`));
  if (net === undefined) {
    await x.call('network.create', [
      {
        name_label: name,
        name_description: `VLAN ${tag} on ${nic.trafficLabel}`,
        other_config: { [CREATED_KEY]: String(Date.now()) },
        MTU: '1500',
      },
    ]);
    net = (await oldest(x, name))!;
  }
  const pifs = (await x.call('network.get_PIFs', [net])) as string[];
  for (const pif of pifs) if ((await x.call('PIF.get_host', [pif])) === host) return net;
  const parentPifs = (await x.call('network.get_PIFs', [parent])) as string[];
  let tagged: string | undefined;
  for (const pif of parentPifs) if ((await x.call('PIF.get_host', [pif])) === host) tagged = pif;
  if (tagged === undefined)
    throw new DriverError('InvalidState', `host has no PIF on ${nic.trafficLabel} to carry VLAN ${tag}`);
  try {
    await x.call('VLAN.create', [tagged, String(tag), net]);
  } catch (e) {
    // another start plumbed it meanwhile
    if (!(e instanceof Error && /NETWORK_ALREADY_CONNECTED|PIF_VLAN_EXISTS/.test(e.message))) throw e;
  }
  return net;
}
