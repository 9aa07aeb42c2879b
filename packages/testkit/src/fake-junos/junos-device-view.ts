/**
 * Reads a Junos configuration (fake-junos's running configuration) back into the device-neutral
 * {@link FirewallDeviceView} of the network-device conformance suite, by what drivers.md §7.3 says the SRX holds for
 * CloudStack: guest VLAN units bound to the trust zone, source-NAT pool and rule, proxy ARP, static and destination
 * NAT with their address-book entries, applications and security policies, ingress filter terms, egress policies.
 * Written from the Junos configuration, not from any driver's code.
 */
import type { FirewallDeviceView } from '../network-device-view.js';
import { at, child, childrenOf, textOf, type XmlNode } from './junos-xml.js';

/** Interfaces and zones of the device under test. */
export interface JunosViewLayout {
  publicInterface: string;
  privateInterface: string;
  publicZone?: string;
  privateZone?: string;
}

const noMask = (p: string): string => p.replace(/\/32$/, '');

/** The view of a configuration. */
export function junosDeviceView(config: XmlNode, layout: JunosViewLayout): FirewallDeviceView {
  const pub = layout.publicZone ?? 'untrust';
  const priv = layout.privateZone ?? 'trust';
  const security = child(config, 'security');
  const zones = childrenOf(at(security, 'zones'), 'security-zone');
  const zone = (name: string): XmlNode | undefined => zones.find((z) => textOf(z, 'name') === name);
  const book = (zoneName: string): Map<string, string> => {
    const m = new Map<string, string>();
    for (const b of childrenOf(zone(zoneName), 'address-book'))
      for (const a of childrenOf(b, 'address')) m.set(textOf(a, 'name'), textOf(a, 'ip-prefix'));
    return m;
  };
  const privBook = book(priv);
  const apps = new Map(childrenOf(child(config, 'applications'), 'application').map((a) => [textOf(a, 'name'), a]));
  const policies = (from: string, to: string): XmlNode[] =>
    childrenOf(
      childrenOf(at(security, 'policies'), 'policy').find(
        (p) => textOf(p, 'from-zone-name') === from && textOf(p, 'to-zone-name') === to,
      ),
      'policy',
    );
  const appOf = (name: string): { protocol: string; ports?: string } => {
    if (name === 'any') return { protocol: 'all' };
    const a = apps.get(name);
    const out: { protocol: string; ports?: string } = { protocol: textOf(a, 'protocol') };
    const port = textOf(a, 'destination-port');
    if (port !== '') out.ports = port.includes('-') ? port : `${port}-${port}`;
    else if (textOf(a, 'icmp-type') !== '')
      out.ports = `icmp ${textOf(a, 'icmp-type')}/${textOf(a, 'icmp-code') || 'any'}`;
    return out;
  };
  const portIn = (range: string | undefined, port: number): boolean => {
    if (range === undefined) return false;
    const [lo, hi] = range.split('-').map(Number);
    return port >= (lo as number) && port <= (hi as number);
  };
  const nat = at(security, 'nat');
  const arp = new Set<string>();
  for (const i of childrenOf(at(nat, 'proxy-arp'), 'interface'))
    for (const a of childrenOf(i, 'address')) arp.add(noMask(textOf(a, 'name')));
  const usedArp = new Set<string>();
  const usedApps = new Set<string>();
  const usedAddresses = new Set<string>();
  for (const pair of childrenOf(at(security, 'policies'), 'policy')) {
    for (const p of childrenOf(pair, 'policy')) {
      for (const a of childrenOf(child(p, 'match'), 'application')) usedApps.add(a.text);
      for (const a of [
        ...childrenOf(child(p, 'match'), 'source-address'),
        ...childrenOf(child(p, 'match'), 'destination-address'),
      ])
        usedAddresses.add(a.text);
    }
  }
  const view: FirewallDeviceView = {
    networks: [],
    staticNats: [],
    portForwards: [],
    ingress: [],
    egress: [],
    leftovers: [],
  };

  // guest networks
  const privIf = childrenOf(child(config, 'interfaces'), 'interface').find(
    (i) => textOf(i, 'name') === layout.privateInterface,
  );
  const snatPools = new Map(
    childrenOf(at(nat, 'source'), 'pool').map((p) => [textOf(p, 'name'), noMask(textOf(child(p, 'address'), 'name'))]),
  );
  const snatRules = childrenOf(at(nat, 'source'), 'rule-set').flatMap((rs) => childrenOf(rs, 'rule'));
  for (const u of childrenOf(privIf, 'unit')) {
    const vlan = Number(textOf(u, 'name'));
    if (!(vlan > 0) || textOf(u, 'vlan-id') !== String(vlan)) continue;
    const address = textOf(child(at(u, 'family', 'inet'), 'address'), 'name');
    const unitName = `${layout.privateInterface}.${vlan}`;
    const boundZone = zones.find((z) => childrenOf(z, 'interfaces').some((i) => textOf(i, 'name') === unitName));
    const [gw, len] = address.split('/');
    const cidrOf = (ip: string, l: number): string => {
      const n = ip.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
      const m = l === 0 ? 0 : n - (n % 2 ** (32 - l));
      return `${[24, 16, 8, 0].map((s) => Math.floor(m / 2 ** s) % 256).join('.')}/${l}`;
    };
    const cidr = cidrOf(gw as string, Number(len));
    const rule = snatRules.find((r) =>
      childrenOf(child(r, 'src-nat-rule-match'), 'source-address').some((s) => s.text === cidr),
    );
    const pool = textOf(at(rule, 'then', 'source-nat', 'pool'), 'pool-name');
    const net: FirewallDeviceView['networks'][number] = {
      vlan,
      address,
      zone: boundZone === undefined ? '' : textOf(boundZone, 'name'),
    };
    const snatIp = snatPools.get(pool);
    if (snatIp !== undefined) {
      net.sourceNatIp = snatIp;
      net.proxyArp = arp.has(snatIp);
      usedArp.add(snatIp);
    }
    view.networks.push(net);
    // egress: trust → untrust policies from this guest's address entry, in order
    const guestNames = new Set([...privBook].filter(([, p]) => p === cidr).map(([n]) => n));
    const rules = policies(priv, pub).filter((p) =>
      childrenOf(child(p, 'match'), 'source-address').some((s) => guestNames.has(s.text)),
    );
    if (rules.length > 0) {
      view.egress.push({
        vlan,
        policies: rules.map((p) => ({
          ...appOf(childrenOf(child(p, 'match'), 'application')[0]?.text ?? 'any'),
          action: child(child(p, 'then'), 'permit') !== undefined ? 'permit' : 'deny',
        })),
      });
    }
  }
  // static NAT: rule from the public zone, a policy towards the private address, proxy ARP
  for (const rs of childrenOf(at(nat, 'static'), 'rule-set')) {
    if (textOf(child(rs, 'from'), 'zone') !== pub) continue;
    for (const r of childrenOf(rs, 'rule')) {
      const publicIp = noMask(textOf(at(r, 'static-nat-rule-match', 'destination-address'), 'dst-addr'));
      const privateIp = noMask(textOf(at(r, 'then', 'static-nat', 'prefix'), 'addr-prefix'));
      const pubBook = book(pub);
      const allowed = policies(pub, priv)
        .filter(
          (p) =>
            childrenOf(child(p, 'match'), 'destination-address').some(
              (d) => privBook.get(d.text) === `${privateIp}/32`,
            ) && child(child(p, 'then'), 'permit') !== undefined,
        )
        .map((p) => ({
          ...appOf(childrenOf(child(p, 'match'), 'application')[0]?.text ?? 'any'),
          sources: childrenOf(child(p, 'match'), 'source-address')
            .map((a) => (a.text === 'any' ? '0.0.0.0/0' : (pubBook.get(a.text) ?? `undefined:${a.text}`)))
            .sort(),
        }))
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      const hairpin = childrenOf(at(nat, 'static'), 'rule-set').some(
        (h) =>
          textOf(child(h, 'from'), 'zone') === priv &&
          childrenOf(h, 'rule').some(
            (x) => textOf(at(x, 'static-nat-rule-match', 'destination-address'), 'dst-addr') === `${publicIp}/32`,
          ),
      );
      view.staticNats.push({ publicIp, privateIp, allowed, proxyArp: arp.has(publicIp), hairpin });
      usedArp.add(publicIp);
    }
  }
  // destination NAT (port forwarding)
  const dPools = new Map(
    childrenOf(at(nat, 'destination'), 'pool').map((p) => [textOf(p, 'name'), child(p, 'address')]),
  );
  for (const rs of childrenOf(at(nat, 'destination'), 'rule-set')) {
    for (const r of childrenOf(rs, 'rule')) {
      const m = child(r, 'dest-nat-rule-match');
      const publicIp = noMask(textOf(child(m, 'destination-address'), 'dst-addr'));
      const pool = dPools.get(textOf(at(r, 'then', 'destination-nat', 'pool'), 'pool-name'));
      const privateIp = noMask(textOf(pool, 'ipaddr'));
      const privatePort = Number(textOf(pool, 'port'));
      const protocol = textOf(m, 'protocol');
      const policy = policies(pub, priv).some(
        (p) =>
          childrenOf(child(p, 'match'), 'destination-address').some(
            (d) => privBook.get(d.text) === `${privateIp}/32`,
          ) &&
          childrenOf(child(p, 'match'), 'application').some((a) => {
            const x = appOf(a.text);
            return x.protocol === protocol && portIn(x.ports, privatePort);
          }),
      );
      view.portForwards.push({
        publicIp,
        publicPort: Number(textOf(child(m, 'destination-port'), 'name')),
        protocol,
        privateIp,
        privatePort,
        policy,
        proxyArp: arp.has(publicIp),
      });
      usedArp.add(publicIp);
    }
  }
  // ingress: accepting terms of the public unit's input filter that name a destination address
  const pubIf = childrenOf(child(config, 'interfaces'), 'interface').find(
    (i) => textOf(i, 'name') === layout.publicInterface,
  );
  const inputFilters = new Set(
    childrenOf(pubIf, 'unit').map((u) => textOf(at(u, 'family', 'inet', 'filter', 'input'), 'filter-name')),
  );
  for (const f of childrenOf(at(config, 'firewall', 'family', 'inet'), 'filter')) {
    if (!inputFilters.has(textOf(f, 'name'))) continue;
    for (const t of childrenOf(f, 'term')) {
      const from = child(t, 'from');
      const dst = childrenOf(from, 'destination-address');
      if (dst.length === 0 || child(child(t, 'then'), 'accept') === undefined) continue;
      const port = textOf(from, 'destination-port');
      const icmp = textOf(from, 'icmp-type');
      const entry: FirewallDeviceView['ingress'][number] = {
        publicIp: noMask(textOf(dst[0], 'name')),
        protocol: textOf(from, 'protocol') || 'all',
        sources: childrenOf(from, 'source-address')
          .map((s) => textOf(s, 'name'))
          .sort(),
        counted: textOf(child(t, 'then'), 'count') !== '',
      };
      if (port !== '') entry.ports = port.includes('-') ? port : `${port}-${port}`;
      if (icmp !== '') entry.ports = `icmp ${icmp}/${textOf(from, 'icmp-code') || 'any'}`;
      if (entry.sources.length === 0) entry.sources = ['0.0.0.0/0'];
      view.ingress.push(entry);
    }
  }
  for (const ip of arp) if (!usedArp.has(ip)) view.leftovers.push(`proxy-arp ${ip}`);
  for (const a of apps.keys()) if (!usedApps.has(a)) view.leftovers.push(`application ${a}`);
  for (const z of zones) {
    for (const [name] of book(textOf(z, 'name'))) {
      if (!usedAddresses.has(name)) view.leftovers.push(`address ${textOf(z, 'name')} ${name}`);
    }
  }
  for (const [name] of snatPools) {
    if (!snatRules.some((r) => textOf(at(r, 'then', 'source-nat', 'pool'), 'pool-name') === name))
      view.leftovers.push(`source pool ${name}`);
  }
  for (const [name] of dPools) {
    const used = childrenOf(at(nat, 'destination'), 'rule-set').some((rs) =>
      childrenOf(rs, 'rule').some((r) => textOf(at(r, 'then', 'destination-nat', 'pool'), 'pool-name') === name),
    );
    if (!used) view.leftovers.push(`destination pool ${name}`);
  }
  return view;
}
