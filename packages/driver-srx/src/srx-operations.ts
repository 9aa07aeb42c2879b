/**
 * What each device call writes, as changes to an {@link SrxPlan} (drivers.md §7.3, networking.md §13.4). Every
 * apply carries the full desired set of what it names; the plan makes the device match it.
 */
import {
  DriverError,
  type FirewallRuleConfig,
  type GuestNetworkConfig,
  InvalidParameterError,
  type PortForwardingConfig,
  type StaticNatConfig,
} from '@stratus/core';
import { inCidr, isIpv4, prefixLength } from './ipv4.js';
import { names } from './junos-names.js';
import type { SrxPlan } from './srx-plan.js';
import type { TermFacts } from './srx-snapshot.js';
import { e, named } from './xml.js';

/** Most ports one port-forwarding range may span (one destination-NAT pool and rule per port on Junos). */
export const MAX_FORWARDED_PORTS = 256;

function requireIp(field: string, value: string): void {
  if (!isIpv4(value)) throw new InvalidParameterError(field, value, 'must be an IPv4 address');
}

function requireCidr(field: string, value: string): void {
  try {
    prefixLength(value);
  } catch {
    throw new InvalidParameterError(field, value, 'must be an IPv4 CIDR');
  }
}

/** Validate a guest network's payload before anything is sent. */
export function checkGuestNetwork(net: GuestNetworkConfig): void {
  if (!Number.isInteger(net.guestVlanTag) || net.guestVlanTag < 1 || net.guestVlanTag > 4094) {
    throw new InvalidParameterError('guestVlanTag', net.guestVlanTag, 'must be a VLAN id 1-4094');
  }
  requireIp('gateway', net.gateway);
  requireCidr('cidr', net.cidr);
  if (!inCidr(net.gateway, net.cidr))
    throw new InvalidParameterError('gateway', net.gateway, `must lie in ${net.cidr}`);
  if (net.sourceNatIp !== undefined) requireIp('sourceNatIp', net.sourceNatIp);
}

/** Ensure the guest network: VLAN unit with the gateway, zone binding, guest address entry, source NAT, egress default. */
export function implementNetwork(plan: SrxPlan, net: GuestNetworkConfig): void {
  const { privateInterface, publicInterface, privateZone, publicZone } = plan.layout;
  const vlan = net.guestVlanTag;
  const address = `${net.gateway}/${prefixLength(net.cidr)}`;
  const current = plan.state.guestUnits.get(vlan);
  if (current !== undefined && current !== address)
    plan.remove(['interfaces', { tag: 'interface', name: privateInterface }], named('unit', String(vlan)));
  plan.add(['interfaces', { tag: 'interface', name: privateInterface }], e('vlan-tagging'));
  plan.add(
    ['interfaces', { tag: 'interface', name: privateInterface }],
    named('unit', String(vlan), [e('vlan-id', String(vlan)), e('family', [e('inet', [named('address', address)])])]),
  );
  plan.state.guestUnits.set(vlan, address);
  const publicUnit = net.publicVlanTag ?? 0;
  if (publicUnit !== 0) plan.add(['interfaces', { tag: 'interface', name: publicInterface }], e('vlan-tagging'));
  plan.add(
    ['interfaces', { tag: 'interface', name: publicInterface }],
    named('unit', String(publicUnit), [
      ...(publicUnit !== 0 ? [e('vlan-id', String(publicUnit))] : []),
      e('family', [
        e('inet', [
          e('filter', [
            e('input', [e('filter-name', names.inFilter)]),
            e('output', [e('filter-name', names.outFilter)]),
          ]),
        ]),
      ]),
    ]),
  );
  plan.add(
    ['security', 'zones', { tag: 'security-zone', name: privateZone }],
    named('interfaces', `${privateInterface}.${vlan}`),
  );
  plan.add(
    ['security', 'zones', { tag: 'security-zone', name: publicZone }],
    named('interfaces', plan.publicUnit(net.publicVlanTag)),
  );
  plan.putAddress(privateZone, names.guestAddress(vlan), net.cidr);
  if (net.sourceNatIp !== undefined) {
    const pool = names.snatPool(net.sourceNatIp);
    plan.add(['security', 'nat', 'source'], named('pool', pool, [named('address', `${net.sourceNatIp}/32`)]));
    plan.add(
      ['security', 'nat', 'source'],
      named('rule-set', names.snatRuleSet, [
        e('from', [e('zone', privateZone)]),
        e('to', [e('zone', publicZone)]),
        named('rule', names.snatRule(vlan), [
          e('src-nat-rule-match', [e('source-address', net.cidr)]),
          e('then', [e('source-nat', [e('pool', [e('pool-name', pool)])])]),
        ]),
      ]),
    );
    plan.state.snatPools.set(pool, net.sourceNatIp);
    plan.arpUnits.set(net.sourceNatIp, plan.publicUnit(net.publicVlanTag));
  }
  if (!plan.state.policies.has(`${privateZone}>${publicZone}>${names.egressDefaultPolicy(vlan)}`)) {
    plan.putPolicy(
      privateZone,
      publicZone,
      names.egressDefaultPolicy(vlan),
      { sources: [names.guestAddress(vlan)], destinations: ['any'], applications: ['any'] },
      'permit',
      false,
    );
  }
}

/** Remove what {@link implementNetwork} made, and the static and destination NAT of VMs in that VLAN. */
export function shutdownNetwork(plan: SrxPlan, net: GuestNetworkConfig): void {
  const { privateInterface, privateZone, publicZone } = plan.layout;
  const vlan = net.guestVlanTag;
  const freedIps = new Set<string>();
  for (const p of [...plan.state.policies.values()]) {
    if (
      p.from === privateZone &&
      p.to === publicZone &&
      (p.name.startsWith(`egress-${vlan}-`) || p.name === names.egressDefaultPolicy(vlan))
    ) {
      plan.removePolicy(p.from, p.to, p.name);
    }
  }
  for (const [rule, privateIp] of [...plan.state.staticPrivate]) {
    const publicIp = plan.state.staticRules.get(rule);
    if (publicIp !== undefined && isIpv4(privateIp) && inCidr(privateIp, net.cidr)) {
      removeStaticNat(plan, publicIp);
      freedIps.add(publicIp);
    }
  }
  for (const [pool, privateIp] of [...plan.state.dnatPools]) {
    if (!isIpv4(privateIp) || !inCidr(privateIp, net.cidr)) continue;
    const publicIp = plan.state.dnatRules.get(pool);
    if (publicIp !== undefined) {
      plan.removePolicy(plan.layout.publicZone, privateZone, names.destnatPolicy(publicIp, privateIp));
      freedIps.add(publicIp);
    }
    removeDnat(plan, pool);
  }
  plan.remove(
    ['security', 'nat', 'source', { tag: 'rule-set', name: names.snatRuleSet }],
    named('rule', names.snatRule(vlan)),
  );
  for (const [pool, ip] of [...plan.state.snatPools]) {
    if (ip === net.sourceNatIp || pool === names.snatPool(net.sourceNatIp ?? '')) {
      plan.remove(['security', 'nat', 'source'], named('pool', pool));
      plan.state.snatPools.delete(pool);
      freedIps.add(ip);
    }
  }
  plan.remove(
    ['security', 'zones', { tag: 'security-zone', name: privateZone }],
    named('interfaces', `${privateInterface}.${vlan}`),
  );
  plan.remove(['interfaces', { tag: 'interface', name: privateInterface }], named('unit', String(vlan)));
  plan.state.guestUnits.delete(vlan);
  plan.removeAddress(privateZone, names.guestAddress(vlan));
  // the ingress terms of public IPs no NAT uses any more go with them
  const stillNatted = new Set([
    ...plan.state.snatPools.values(),
    ...plan.state.staticRules.values(),
    ...plan.state.dnatRules.values(),
  ]);
  for (const ip of freedIps) {
    if (stillNatted.has(ip)) continue;
    for (const t of [...plan.state.inTerms]) if (t.startsWith(`${ip}-`)) plan.removeInTerm(t);
  }
}

function applicationFor(
  plan: SrxPlan,
  protocol: string,
  lo?: number,
  hi?: number,
  icmp?: { type: number; code: number },
): string {
  if (protocol === 'all') return 'any';
  if (protocol === 'icmp') return plan.putApplication('icmp', undefined, undefined, icmp);
  if (protocol === 'tcp' || protocol === 'udp') return plan.putApplication(protocol, lo, hi);
  throw new InvalidParameterError('protocol', protocol, 'must be tcp, udp, icmp or all');
}

function checkRule(r: FirewallRuleConfig): void {
  requireIp('publicIp', r.publicIp);
  for (const c of r.sourceCidrs) requireCidr('sourceCidrs', c);
  if ((r.protocol === 'tcp' || r.protocol === 'udp') && r.portStart !== undefined) {
    const hi = r.portEnd ?? r.portStart;
    if (!(r.portStart >= 1 && hi <= 65535 && r.portStart <= hi))
      throw new InvalidParameterError('portStart', r.portStart, `with portEnd ${hi} must be a range in 1-65535`);
  }
}

/** Converge ingress filter terms per public IP and egress policies per guest VLAN. */
export function applyFirewall(plan: SrxPlan, rules: readonly FirewallRuleConfig[]): void {
  for (const r of rules) checkRule(r);
  const ingress = new Map<string, FirewallRuleConfig[]>();
  const egress = new Map<number, FirewallRuleConfig[]>();
  for (const r of rules) {
    if (r.direction === 'ingress') ingress.set(r.publicIp, [...(ingress.get(r.publicIp) ?? []), r]);
    else {
      if (r.guestVlanTag === undefined)
        throw new InvalidParameterError('guestVlanTag', r.guestVlanTag, `egress rule ${r.id} must name its guest VLAN`);
      egress.set(r.guestVlanTag, [...(egress.get(r.guestVlanTag) ?? []), r]);
    }
  }
  for (const [ip, list] of ingress) {
    const active = list.filter((r) => !r.revoked);
    const wanted = new Set(active.map((r) => names.ingressTerm(ip, r.id)));
    for (const t of [...plan.state.inTerms]) if (t.startsWith(`${ip}-`) && !wanted.has(t)) plan.removeInTerm(t);
    for (const r of active) {
      const name = names.ingressTerm(ip, r.id);
      const from = [
        ...r.sourceCidrs.filter((c) => c !== '0.0.0.0/0').map((c) => named('source-address', c)),
        named('destination-address', `${ip}/32`),
      ];
      if (r.protocol !== 'all') from.push(e('protocol', r.protocol));
      if ((r.protocol === 'tcp' || r.protocol === 'udp') && r.portStart !== undefined) {
        const hi = r.portEnd ?? r.portStart;
        from.push(e('destination-port', hi === r.portStart ? String(hi) : `${r.portStart}-${hi}`));
      }
      if (r.protocol === 'icmp' && r.icmpType !== undefined && r.icmpType >= 0)
        from.push(e('icmp-type', String(r.icmpType)));
      if (r.protocol === 'icmp' && r.icmpCode !== undefined && r.icmpCode >= 0)
        from.push(e('icmp-code', String(r.icmpCode)));
      const facts: TermFacts = { protocol: r.protocol, sources: r.sourceCidrs.filter((c) => c !== '0.0.0.0/0') };
      if ((r.protocol === 'tcp' || r.protocol === 'udp') && r.portStart !== undefined) {
        facts.lo = r.portStart;
        facts.hi = r.portEnd ?? r.portStart;
      }
      if (r.protocol === 'icmp' && r.icmpType !== undefined && r.icmpType >= 0) facts.icmpType = r.icmpType;
      if (r.protocol === 'icmp' && r.icmpCode !== undefined && r.icmpCode >= 0) facts.icmpCode = r.icmpCode;
      plan.putInTerm(named('term', name, [e('from', from), e('then', [e('count', name), e('accept')])]), name, facts);
    }
    syncStaticNatPolicies(plan, ip);
  }
  const { privateZone, publicZone } = plan.layout;
  for (const [vlan, list] of egress) {
    const active = list.filter((r) => !r.revoked);
    const allow = list.find((r) => r.defaultEgressAllow !== undefined)?.defaultEgressAllow ?? true;
    const wanted = new Set(active.map((r) => names.egressPolicy(vlan, r.id)));
    for (const p of [...plan.state.policies.values()]) {
      if (p.from === privateZone && p.to === publicZone && p.name.startsWith(`egress-${vlan}-`) && !wanted.has(p.name))
        plan.removePolicy(p.from, p.to, p.name);
    }
    for (const r of active) {
      const sources =
        r.sourceCidrs.length === 0 ||
        r.sourceCidrs.includes('0.0.0.0/0') ||
        (r.guestCidr !== undefined && r.sourceCidrs.includes(r.guestCidr))
          ? [names.guestAddress(vlan)]
          : r.sourceCidrs.map((c) => {
              plan.putAddress(privateZone, names.cidrAddress(c), c);
              return names.cidrAddress(c);
            });
      const app = applicationFor(plan, r.protocol, r.portStart, r.portEnd, {
        type: r.icmpType ?? -1,
        code: r.icmpCode ?? -1,
      });
      // under a default allow an egress rule denies; under a default deny it allows (networking.md Pitfall 10)
      plan.putPolicy(
        privateZone,
        publicZone,
        names.egressPolicy(vlan, r.id),
        { sources, destinations: ['any'], applications: [app] },
        allow ? 'deny' : 'permit',
        false,
      );
    }
    // the default goes last: delete it and add it back after the rules
    plan.removePolicy(privateZone, publicZone, names.egressDefaultPolicy(vlan));
    plan.putPolicy(
      privateZone,
      publicZone,
      names.egressDefaultPolicy(vlan),
      { sources: [names.guestAddress(vlan)], destinations: ['any'], applications: ['any'] },
      allow ? 'permit' : 'deny',
      false,
    );
  }
}

function removeStaticNat(plan: SrxPlan, publicIp: string): void {
  const rule = names.staticRule(publicIp);
  plan.remove(['security', 'nat', 'static', { tag: 'rule-set', name: names.staticRuleSet }], named('rule', rule));
  plan.remove(['security', 'nat', 'static', { tag: 'rule-set', name: names.hairpinRuleSet }], named('rule', rule));
  plan.state.staticRules.delete(rule);
  plan.state.staticPrivate.delete(rule);
  syncStaticNatPolicies(plan, publicIp);
  plan.removePolicy(plan.layout.privateZone, plan.layout.privateZone, names.hairpinPolicy(publicIp));
}

/**
 * The policies that let traffic in to a static NAT'd VM: one per ingress firewall rule of its public IP (its
 * sources, its protocol and ports), none without rules, so inbound traffic is denied until a rule allows it
 * (networking.md Pitfall 10). Called whenever the rules or the static NAT of that IP change.
 */
function syncStaticNatPolicies(plan: SrxPlan, publicIp: string): void {
  const { privateZone, publicZone } = plan.layout;
  const privateIp = plan.state.staticPrivate.get(names.staticRule(publicIp));
  const prefix = `${names.staticPolicy(publicIp)}-`;
  const wanted = new Map<string, { sources: string[]; destinations: string[]; applications: string[] }>();
  if (privateIp !== undefined) {
    for (const [term, f] of plan.state.inTermFacts) {
      if (!term.startsWith(`${publicIp}-`)) continue;
      const sources =
        f.sources.length === 0
          ? ['any']
          : f.sources.map((c) => {
              plan.putAddress(publicZone, names.cidrAddress(c), c);
              return names.cidrAddress(c);
            });
      const app = applicationFor(plan, f.protocol, f.lo, f.hi, { type: f.icmpType ?? -1, code: f.icmpCode ?? -1 });
      wanted.set(`${prefix}${term.slice(publicIp.length + 1)}`, {
        sources,
        destinations: [names.staticAddress(privateIp)],
        applications: [app],
      });
    }
  }
  for (const p of [...plan.state.policies.values()]) {
    if (p.from !== publicZone || p.to !== privateZone) continue;
    if ((p.name.startsWith(prefix) || p.name === names.staticPolicy(publicIp)) && !wanted.has(p.name))
      plan.removePolicy(p.from, p.to, p.name);
  }
  for (const [name, m] of wanted) {
    const cur = plan.state.policies.get(`${publicZone}>${privateZone}>${name}`);
    const same =
      cur !== undefined &&
      JSON.stringify([cur.sources, cur.destinations, cur.applications]) ===
        JSON.stringify([m.sources, m.destinations, m.applications]);
    if (!same) plan.putPolicy(publicZone, privateZone, name, m, 'permit', true);
  }
}

/** Converge static NATs: rule public/32 → private/32 (and its trust-side mirror), address entry, policies. */
export function applyStaticNat(plan: SrxPlan, rules: readonly StaticNatConfig[]): void {
  for (const r of rules) {
    requireIp('publicIp', r.publicIp);
    requireIp('privateIp', r.privateIp);
  }
  const { privateZone, publicZone } = plan.layout;
  for (const r of rules) {
    const rule = names.staticRule(r.publicIp);
    const existingPrivate = plan.state.staticPrivate.get(rule);
    if (r.revoked) {
      // only this pair: a revoked entry naming another private IP leaves the current NAT alone
      if (existingPrivate === undefined || existingPrivate === r.privateIp) removeStaticNat(plan, r.publicIp);
      continue;
    }
    if (existingPrivate !== undefined && existingPrivate !== r.privateIp) removeStaticNat(plan, r.publicIp);
    const body = [
      e('static-nat-rule-match', [e('destination-address', [e('dst-addr', `${r.publicIp}/32`)])]),
      e('then', [e('static-nat', [e('prefix', [e('addr-prefix', `${r.privateIp}/32`)])])]),
    ];
    plan.add(
      ['security', 'nat', 'static'],
      named('rule-set', names.staticRuleSet, [e('from', [e('zone', publicZone)]), named('rule', rule, body)]),
    );
    plan.add(
      ['security', 'nat', 'static'],
      named('rule-set', names.hairpinRuleSet, [e('from', [e('zone', privateZone)]), named('rule', rule, body)]),
    );
    plan.state.staticRules.set(rule, r.publicIp);
    plan.state.staticPrivate.set(rule, r.privateIp);
    plan.putAddress(privateZone, names.staticAddress(r.privateIp), `${r.privateIp}/32`);
    const m = { sources: ['any'], destinations: [names.staticAddress(r.privateIp)], applications: ['any'] };
    syncStaticNatPolicies(plan, r.publicIp);
    if (!plan.state.policies.has(`${privateZone}>${privateZone}>${names.hairpinPolicy(r.publicIp)}`))
      plan.putPolicy(privateZone, privateZone, names.hairpinPolicy(r.publicIp), m, 'permit', false);
    plan.arpUnits.set(r.publicIp, plan.publicUnit(r.publicVlanTag));
  }
}

function removeDnat(plan: SrxPlan, name: string): void {
  plan.remove(['security', 'nat', 'destination', { tag: 'rule-set', name: names.dnatRuleSet }], named('rule', name));
  plan.remove(['security', 'nat', 'destination'], named('pool', name));
  plan.state.dnatRules.delete(name);
  plan.state.dnatPools.delete(name);
}

/** Converge port forwarding, rebuilt per (public IP, private IP) pair: one destination-NAT pool and rule per port. */
export function applyPortForwarding(plan: SrxPlan, rules: readonly PortForwardingConfig[]): void {
  for (const r of rules) {
    requireIp('publicIp', r.publicIp);
    requireIp('privateIp', r.privateIp);
    const span = r.publicPortEnd - r.publicPortStart;
    if (!(r.publicPortStart >= 1 && r.publicPortEnd <= 65535 && span >= 0))
      throw new InvalidParameterError(
        'publicPortStart',
        r.publicPortStart,
        `with publicPortEnd ${r.publicPortEnd} must be a range in 1-65535`,
      );
    if (r.privatePortEnd - r.privatePortStart !== span || r.privatePortStart < 1 || r.privatePortEnd > 65535) {
      throw new InvalidParameterError(
        'privatePortStart',
        r.privatePortStart,
        `with privatePortEnd ${r.privatePortEnd} must span as many ports as the public range`,
      );
    }
    if (span + 1 > MAX_FORWARDED_PORTS)
      throw new DriverError(
        'Unsupported',
        `port range ${r.publicPortStart}-${r.publicPortEnd} has more than ${MAX_FORWARDED_PORTS} ports (one NAT rule per port on the SRX)`,
      );
    if (r.protocol !== 'tcp' && r.protocol !== 'udp')
      throw new InvalidParameterError('protocol', r.protocol, 'must be tcp or udp');
  }
  const { privateZone, publicZone } = plan.layout;
  const pairs = new Map<string, PortForwardingConfig[]>();
  for (const r of rules)
    pairs.set(`${r.publicIp}>${r.privateIp}`, [...(pairs.get(`${r.publicIp}>${r.privateIp}`) ?? []), r]);
  for (const list of pairs.values()) {
    const { publicIp, privateIp } = list[0] as PortForwardingConfig;
    const active = list.filter((r) => !r.revoked);
    const wanted = new Map<string, { protocol: string; pub: number; priv: number; vlan?: number }>();
    for (const r of active) {
      for (let i = 0; i <= r.publicPortEnd - r.publicPortStart; i++) {
        const pub = r.publicPortStart + i;
        const w: { protocol: string; pub: number; priv: number; vlan?: number } = {
          protocol: r.protocol,
          pub,
          priv: r.privatePortStart + i,
        };
        if (r.publicVlanTag !== undefined) w.vlan = r.publicVlanTag;
        wanted.set(names.dnatRule(publicIp, r.protocol, pub), w);
      }
    }
    for (const [name, ip] of [...plan.state.dnatRules]) {
      if (ip === publicIp && plan.state.dnatPools.get(name) === privateIp && !wanted.has(name)) removeDnat(plan, name);
    }
    for (const [name, w] of wanted) {
      plan.add(
        ['security', 'nat', 'destination'],
        named('pool', name, [e('address', [e('ipaddr', `${privateIp}/32`), e('port', String(w.priv))])]),
      );
      plan.add(
        ['security', 'nat', 'destination'],
        named('rule-set', names.dnatRuleSet, [
          e('from', [e('zone', publicZone)]),
          named('rule', name, [
            // newer Junos: destination-port as a named entry, not <low>/<dst-port> (CloudStack PR #3393)
            e('dest-nat-rule-match', [
              e('destination-address', [e('dst-addr', `${publicIp}/32`)]),
              named('destination-port', String(w.pub)),
              e('protocol', w.protocol),
            ]),
            e('then', [e('destination-nat', [e('pool', [e('pool-name', name)])])]),
          ]),
        ]),
      );
      plan.state.dnatRules.set(name, publicIp);
      plan.state.dnatPools.set(name, privateIp);
      plan.arpUnits.set(publicIp, plan.publicUnit(w.vlan));
    }
    const policy = names.destnatPolicy(publicIp, privateIp);
    if (active.length === 0) {
      plan.removePolicy(publicZone, privateZone, policy);
      continue;
    }
    plan.putAddress(privateZone, names.pfAddress(privateIp), `${privateIp}/32`);
    const apps = [...new Set(active.map((r) => plan.putApplication(r.protocol, r.privatePortStart, r.privatePortEnd)))];
    const current = plan.state.policies.get(`${publicZone}>${privateZone}>${policy}`);
    if (current === undefined || current.applications.join() !== apps.join()) {
      plan.putPolicy(
        publicZone,
        privateZone,
        policy,
        { sources: ['any'], destinations: [names.pfAddress(privateIp)], applications: apps },
        'permit',
        true,
      );
    }
  }
}
