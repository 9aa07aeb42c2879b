/**
 * What the driver reads back from the SRX before it plans a change (drivers.md §7.1 "existence checks"): the
 * objects it owns and the references between them, so one call can remove what its rules no longer need (an
 * application no policy names, a proxy-ARP entry no NAT uses) in the same single load.
 */
import { type Element, find, findAll, path } from './xml.js';

/** A security policy: its zone pair, name, and what its match names. */
export interface PolicyFacts {
  from: string;
  to: string;
  name: string;
  applications: string[];
  sources: string[];
  destinations: string[];
}

/** What an input-filter term matches (protocol `all` when it names none). */
export interface TermFacts {
  protocol: string;
  lo?: number;
  hi?: number;
  icmpType?: number;
  icmpCode?: number;
  sources: string[];
}

/** The driver-relevant facts of a configuration. */
export interface SrxSnapshot {
  /** `from>to>name` → policy. */
  policies: Map<string, PolicyFacts>;
  /** Source-NAT pool name → public IP. */
  snatPools: Map<string, string>;
  /** Static NAT rule name (rule-set stratus-static) → public IP. */
  staticRules: Map<string, string>;
  /** Static NAT rule name → private IP. */
  staticPrivate: Map<string, string>;
  /** Destination NAT rule name → public IP. */
  dnatRules: Map<string, string>;
  /** Destination NAT pool name → private IP. */
  dnatPools: Map<string, string>;
  /** Proxy-ARP: public IP → interface unit it is on. */
  proxyArp: Map<string, string>;
  /** Term names of the input and output filters, in order. */
  inTerms: string[];
  outTerms: string[];
  /** What each input-filter term matches. */
  inTermFacts: Map<string, TermFacts>;
  applications: Set<string>;
  /** Address-book entries of a zone: zone → name → prefix. */
  addresses: Map<string, Map<string, string>>;
  /** Guest units on the private interface: VLAN → address. */
  guestUnits: Map<number, string>;
}

const text = (el: Element | undefined, name: string): string => find(el, name)?.text ?? '';
const stripMask = (prefix: string): string => prefix.replace(/\/32$/, '');

/** Read the facts from a `<configuration>` element. */
export function readSnapshot(
  config: Element,
  o: { privateInterface: string; inFilter: string; outFilter: string; staticRuleSet: string; dnatRuleSet: string },
): SrxSnapshot {
  const s: SrxSnapshot = {
    policies: new Map(),
    snatPools: new Map(),
    staticRules: new Map(),
    staticPrivate: new Map(),
    dnatRules: new Map(),
    dnatPools: new Map(),
    proxyArp: new Map(),
    inTerms: [],
    outTerms: [],
    inTermFacts: new Map(),
    applications: new Set(findAll(find(config, 'applications'), 'application').map((a) => text(a, 'name'))),
    addresses: new Map(),
    guestUnits: new Map(),
  };
  const security = find(config, 'security');
  for (const pair of findAll(find(security, 'policies'), 'policy')) {
    const from = text(pair, 'from-zone-name');
    const to = text(pair, 'to-zone-name');
    for (const p of findAll(pair, 'policy')) {
      const m = find(p, 'match');
      const name = text(p, 'name');
      s.policies.set(`${from}>${to}>${name}`, {
        from,
        to,
        name,
        applications: findAll(m, 'application').map((x) => x.text),
        sources: findAll(m, 'source-address').map((x) => x.text),
        destinations: findAll(m, 'destination-address').map((x) => x.text),
      });
    }
  }
  const nat = find(security, 'nat');
  for (const pool of findAll(find(nat, 'source'), 'pool')) {
    s.snatPools.set(text(pool, 'name'), stripMask(text(find(pool, 'address'), 'name')));
  }
  for (const rs of findAll(find(nat, 'static'), 'rule-set')) {
    if (text(rs, 'name') !== o.staticRuleSet) continue;
    for (const r of findAll(rs, 'rule')) {
      s.staticRules.set(
        text(r, 'name'),
        stripMask(path(r, 'static-nat-rule-match', 'destination-address', 'dst-addr')?.text ?? ''),
      );
      s.staticPrivate.set(
        text(r, 'name'),
        stripMask(path(r, 'then', 'static-nat', 'prefix', 'addr-prefix')?.text ?? ''),
      );
    }
  }
  for (const pool of findAll(find(nat, 'destination'), 'pool')) {
    s.dnatPools.set(text(pool, 'name'), stripMask(path(pool, 'address', 'ipaddr')?.text ?? ''));
  }
  for (const rs of findAll(find(nat, 'destination'), 'rule-set')) {
    if (text(rs, 'name') !== o.dnatRuleSet) continue;
    for (const r of findAll(rs, 'rule')) {
      s.dnatRules.set(
        text(r, 'name'),
        stripMask(path(r, 'dest-nat-rule-match', 'destination-address', 'dst-addr')?.text ?? ''),
      );
    }
  }
  for (const iface of findAll(find(nat, 'proxy-arp'), 'interface')) {
    for (const a of findAll(iface, 'address')) s.proxyArp.set(stripMask(text(a, 'name')), text(iface, 'name'));
  }
  for (const z of findAll(find(security, 'zones'), 'security-zone')) {
    const book = new Map<string, string>();
    for (const b of findAll(z, 'address-book'))
      for (const a of findAll(b, 'address')) book.set(text(a, 'name'), text(a, 'ip-prefix'));
    s.addresses.set(text(z, 'name'), book);
  }
  for (const f of findAll(path(config, 'firewall', 'family', 'inet'), 'filter')) {
    const terms = findAll(f, 'term').map((t) => text(t, 'name'));
    if (text(f, 'name') === o.inFilter) {
      s.inTerms = terms;
      for (const t of findAll(f, 'term')) {
        const from = find(t, 'from');
        const facts: TermFacts = {
          protocol: text(from, 'protocol') || 'all',
          sources: findAll(from, 'source-address').map((a) => text(a, 'name')),
        };
        const port = text(from, 'destination-port');
        if (port !== '') {
          const [lo, hi] = port.split('-').map(Number);
          facts.lo = lo as number;
          facts.hi = hi ?? (lo as number);
        }
        if (text(from, 'icmp-type') !== '') facts.icmpType = Number(text(from, 'icmp-type'));
        if (text(from, 'icmp-code') !== '') facts.icmpCode = Number(text(from, 'icmp-code'));
        s.inTermFacts.set(text(t, 'name'), facts);
      }
    }
    if (text(f, 'name') === o.outFilter) s.outTerms = terms;
  }
  const priv = findAll(find(config, 'interfaces'), 'interface').find((i) => text(i, 'name') === o.privateInterface);
  for (const u of findAll(priv, 'unit')) {
    const vlan = Number(text(u, 'name'));
    if (vlan > 0) s.guestUnits.set(vlan, text(find(path(u, 'family', 'inet'), 'address'), 'name'));
  }
  return s;
}
