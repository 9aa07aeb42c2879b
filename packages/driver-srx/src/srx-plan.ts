/**
 * One call's change to the SRX, planned against a {@link SrxSnapshot} and rendered as ONE `<configuration>` for one
 * `<load-configuration action="merge">` (drivers.md §7.3, §7.4): statements to add (merge: an existing one is a
 * no-op) and to delete (`delete="delete"`; a missing one is only a warning). `finish()` then removes what the
 * change left unused (applications, NAT'd-VM address entries, proxy-ARP, sent-bytes terms) and keeps every filter's
 * `default` term last.
 */
import { isOwnedApplication, isOwnedVmAddress, names } from './junos-names.js';
import type { SrxSnapshot, TermFacts } from './srx-snapshot.js';
import { deleted, type Element, e, named, render } from './xml.js';

/** Device-wide settings a plan needs. */
export interface SrxLayout {
  publicInterface: string;
  privateInterface: string;
  publicZone: string;
  privateZone: string;
}

/** A step of the path to a statement: a container, a list entry (`<name>`), or a security-policy zone pair. */
export type Seg = string | { tag: string; name: string } | { from: string; to: string };

function wrap(segs: readonly Seg[], leaf: Element): Element {
  let cur = leaf;
  for (let i = segs.length - 1; i >= 0; i--) {
    const s = segs[i] as Seg;
    if (typeof s === 'string') cur = e(s, [cur]);
    else if ('tag' in s) cur = named(s.tag, s.name, [cur]);
    else cur = e('policy', [e('from-zone-name', s.from), e('to-zone-name', s.to), cur]);
  }
  return cur;
}

const filterPath = (filter: string): Seg[] => ['firewall', 'family', 'inet', { tag: 'filter', name: filter }];

/** The change being planned. */
export class SrxPlan {
  private readonly statements: Element[] = [];
  private inTermsAdded = false;
  private outTermsAdded = false;

  constructor(
    /** Facts read from the device; the plan keeps them up to date with its own changes. */
    readonly state: SrxSnapshot,
    readonly layout: SrxLayout,
  ) {}

  /** Merge a statement under `segs`. */
  add(segs: readonly Seg[], statement: Element): void {
    this.statements.push(wrap(segs, statement));
  }

  /** Delete a statement under `segs` (the key element, e.g. `named('rule', 'x')`). */
  remove(segs: readonly Seg[], key: Element): void {
    this.statements.push(wrap(segs, deleted(key)));
  }

  /** Public interface unit of a public VLAN (untagged: unit 0). */
  publicUnit(vlan: number | undefined): string {
    return `${this.layout.publicInterface}.${vlan ?? 0}`;
  }

  // --- policies -------------------------------------------------------------------------------------------------

  /** Put a policy (replacing one of that name: delete, then add, in this load). */
  putPolicy(
    from: string,
    to: string,
    name: string,
    m: { sources: string[]; destinations: string[]; applications: string[] },
    action: 'permit' | 'deny',
    count: boolean,
  ): void {
    const key = `${from}>${to}>${name}`;
    if (this.state.policies.has(key)) this.removePolicy(from, to, name);
    const match = e('match', [
      ...m.sources.map((x) => e('source-address', x)),
      ...m.destinations.map((x) => e('destination-address', x)),
      ...m.applications.map((x) => e('application', x)),
    ]);
    const then = e('then', [e(action), ...(count ? [e('count')] : [])]);
    this.add(['security', 'policies', { from, to }], named('policy', name, [match, then]));
    this.state.policies.set(key, { from, to, name, ...m });
  }

  /** Delete a policy if it is there. */
  removePolicy(from: string, to: string, name: string): void {
    const key = `${from}>${to}>${name}`;
    if (!this.state.policies.has(key)) return;
    this.remove(['security', 'policies', { from, to }], named('policy', name));
    this.state.policies.delete(key);
  }

  // --- address book and applications ----------------------------------------------------------------------------

  /** An address-book entry in a zone's book. */
  putAddress(zone: string, name: string, prefix: string): void {
    const book = this.state.addresses.get(zone) ?? new Map<string, string>();
    this.state.addresses.set(zone, book);
    if (book.get(name) === prefix) return;
    this.add(
      ['security', 'zones', { tag: 'security-zone', name: zone }, 'address-book'],
      named('address', name, [e('ip-prefix', prefix)]),
    );
    book.set(name, prefix);
  }

  removeAddress(zone: string, name: string): void {
    const book = this.state.addresses.get(zone);
    if (book?.has(name) !== true) return;
    this.remove(['security', 'zones', { tag: 'security-zone', name: zone }, 'address-book'], named('address', name));
    book.delete(name);
  }

  /** An application (protocol and port range, or ICMP type/code); returns its name. */
  putApplication(
    protocol: 'tcp' | 'udp' | 'icmp',
    lo?: number,
    hi?: number,
    icmp?: { type: number; code: number },
  ): string {
    const name =
      protocol === 'icmp'
        ? names.icmpApplication(icmp?.type ?? -1, icmp?.code ?? -1)
        : names.application(protocol, lo, hi);
    if (this.state.applications.has(name)) return name;
    const body: Element[] = [e('protocol', protocol)];
    if (protocol !== 'icmp' && lo !== undefined)
      body.push(e('destination-port', lo === (hi ?? lo) ? String(lo) : `${lo}-${hi}`));
    if (protocol === 'icmp' && icmp !== undefined && icmp.type >= 0) body.push(e('icmp-type', String(icmp.type)));
    if (protocol === 'icmp' && icmp !== undefined && icmp.code >= 0) body.push(e('icmp-code', String(icmp.code)));
    this.add(['applications'], named('application', name, body));
    this.state.applications.add(name);
    return name;
  }

  // --- filters --------------------------------------------------------------------------------------------------

  /** Put a term on the input filter (replacing one of that name). */
  putInTerm(term: Element, name: string, facts: TermFacts): void {
    if (this.state.inTerms.includes(name)) this.removeInTerm(name);
    this.add(filterPath(names.inFilter), term);
    this.state.inTerms.push(name);
    this.state.inTermFacts.set(name, facts);
    this.inTermsAdded = true;
  }

  removeInTerm(name: string): void {
    if (!this.state.inTerms.includes(name)) return;
    this.remove(filterPath(names.inFilter), named('term', name));
    this.state.inTerms = this.state.inTerms.filter((t) => t !== name);
    this.state.inTermFacts.delete(name);
  }

  private putOutTerm(ip: string): void {
    const name = names.sentTerm(ip);
    if (this.state.outTerms.includes(name)) return;
    this.add(
      filterPath(names.outFilter),
      named('term', name, [
        e('from', [named('source-address', `${ip}/32`)]),
        e('then', [e('count', name), e('accept')]),
      ]),
    );
    this.state.outTerms.push(name);
    this.outTermsAdded = true;
  }

  private removeOutTerm(name: string): void {
    if (!this.state.outTerms.includes(name)) return;
    this.remove(filterPath(names.outFilter), named('term', name));
    this.state.outTerms = this.state.outTerms.filter((t) => t !== name);
  }

  // --- proxy ARP ------------------------------------------------------------------------------------------------

  private putProxyArp(ip: string, unit: string): void {
    if (this.state.proxyArp.get(ip) === unit) return;
    if (this.state.proxyArp.has(ip)) this.removeProxyArp(ip);
    this.add(['security', 'nat', 'proxy-arp', { tag: 'interface', name: unit }], named('address', `${ip}/32`));
    this.state.proxyArp.set(ip, unit);
  }

  private removeProxyArp(ip: string): void {
    const unit = this.state.proxyArp.get(ip);
    if (unit === undefined) return;
    this.remove(['security', 'nat', 'proxy-arp', { tag: 'interface', name: unit }], named('address', `${ip}/32`));
    this.state.proxyArp.delete(ip);
  }

  /** Public IPs some NAT uses, with the unit to answer ARP on (set by the operations as they add NAT). */
  readonly arpUnits = new Map<string, string>();

  /**
   * Finish: drop what nothing uses any more, add proxy-ARP and sent-bytes terms for the public IPs NAT uses, keep
   * `default` the last term of each filter; render the single `<configuration>` to load.
   */
  finish(): string | undefined {
    const natIps = new Set([
      ...this.state.snatPools.values(),
      ...this.state.staticRules.values(),
      ...this.state.dnatRules.values(),
    ]);
    const sentIps = new Set([...this.state.snatPools.values(), ...this.state.staticRules.values()]);
    for (const ip of [...this.state.proxyArp.keys()]) if (!natIps.has(ip)) this.removeProxyArp(ip);
    for (const ip of natIps) {
      const unit = this.arpUnits.get(ip) ?? this.state.proxyArp.get(ip);
      if (unit !== undefined) this.putProxyArp(ip, unit);
    }
    for (const t of [...this.state.outTerms]) {
      if (t === names.defaultTerm) continue;
      const ip = t.replace(/-out$/, '');
      if (!sentIps.has(ip)) this.removeOutTerm(t);
    }
    for (const ip of sentIps) this.putOutTerm(ip);
    const usedApps = new Set<string>();
    const usedAddresses = new Set<string>();
    for (const p of this.state.policies.values()) {
      for (const a of p.applications) usedApps.add(a);
      for (const a of [...p.sources, ...p.destinations]) usedAddresses.add(a);
    }
    for (const a of [...this.state.applications]) {
      if (isOwnedApplication(a) && !usedApps.has(a)) {
        this.remove(['applications'], named('application', a));
        this.state.applications.delete(a);
      }
    }
    for (const [zone, book] of this.state.addresses) {
      for (const name of [...book.keys()])
        if (isOwnedVmAddress(name) && !usedAddresses.has(name)) this.removeAddress(zone, name);
    }
    // `default` stays the last term: when terms were added after it, delete it and add it back at the end
    for (const [filter, added, terms] of [
      [names.inFilter, this.inTermsAdded, this.state.inTerms],
      [names.outFilter, this.outTermsAdded, this.state.outTerms],
    ] as const) {
      if (added && terms.includes(names.defaultTerm)) this.remove(filterPath(filter), named('term', names.defaultTerm));
      if (added || !terms.includes(names.defaultTerm)) {
        this.add(filterPath(filter), named('term', names.defaultTerm, [e('then', [e('accept')])]));
      }
    }
    if (this.statements.length === 0) return undefined;
    return render(e('configuration', this.statements));
  }
}
