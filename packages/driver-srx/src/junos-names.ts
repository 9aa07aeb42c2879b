/**
 * Deterministic names of everything the driver writes on the SRX (drivers.md §7.4): derived from VLANs, IPs, ports
 * and rule ids, so a re-run after a partial failure finds what the first run made. Every name starts with a prefix
 * the driver owns, so it never touches an object an operator wrote.
 */

/** A rule id as a Junos name part (letters, digits, `_`, `-`, `.`; at most 40 characters). */
export function idPart(id: string): string {
  return id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
}

/** The names the driver uses. */
export const names = {
  /** Source-NAT rule-set (trust → untrust) and static/destination NAT rule-sets (from untrust). */
  snatRuleSet: 'stratus-snat',
  staticRuleSet: 'stratus-static',
  /** Mirrored static NAT from the trust zone, so guests reach a static NAT'd VM by its public IP (CloudStack PR #2184). */
  hairpinRuleSet: 'stratus-static-hairpin',
  dnatRuleSet: 'stratus-dnat',
  /** Public-side input filter (ingress firewall terms, received-bytes counters) and output filter (sent bytes). */
  inFilter: 'stratus-in',
  outFilter: 'stratus-out',
  /** Last term of both filters: traffic no term matched is accepted here (the security policies decide). */
  defaultTerm: 'default',
  snatPool: (ip: string) => `snat-${ip}`,
  snatRule: (vlan: number) => `snat-${vlan}`,
  staticRule: (ip: string) => `static-${ip}`,
  dnatPool: (ip: string, protocol: string, port: number) => `pf-${ip}-${protocol}-${port}`,
  dnatRule: (ip: string, protocol: string, port: number) => `pf-${ip}-${protocol}-${port}`,
  guestAddress: (vlan: number) => `guest-${vlan}`,
  staticAddress: (privateIp: string) => `static-${privateIp}`,
  pfAddress: (privateIp: string) => `pf-${privateIp}`,
  /** Address-book entry of an egress rule's source CIDR. */
  cidrAddress: (cidr: string) => `cidr-${cidr.replace('/', '_')}`,
  staticPolicy: (publicIp: string) => `staticnat-${publicIp}`,
  hairpinPolicy: (publicIp: string) => `staticnat-hairpin-${publicIp}`,
  destnatPolicy: (publicIp: string, privateIp: string) => `destnat-${publicIp}-${privateIp}`,
  egressPolicy: (vlan: number, ruleId: string) => `egress-${vlan}-${idPart(ruleId)}`,
  egressDefaultPolicy: (vlan: number) => `egress-default-${vlan}`,
  /** Ingress firewall term (and its counter) of a rule on a public IP. */
  ingressTerm: (ip: string, ruleId: string) => `${ip}-${idPart(ruleId)}`,
  /** The term after a public IP's rule terms that discards (and counts) the rest sent to it. */
  denyTerm: (ip: string) => `${ip}-deny`,
  /** Output-filter term counting bytes sent from a public IP. */
  sentTerm: (ip: string) => `${ip}-out`,
  /** Application of a protocol and port range, or of an ICMP type/code. */
  application: (protocol: string, lo?: number, hi?: number) =>
    lo === undefined ? `sx-${protocol}` : `sx-${protocol}-${lo}-${hi ?? lo}`,
  icmpApplication: (type: number, code: number) => `sx-icmp-${type < 0 ? 'any' : type}-${code < 0 ? 'any' : code}`,
} as const;

/** Is this application one the driver made (and may delete when nothing uses it)? */
export const isOwnedApplication = (name: string): boolean => name.startsWith('sx-');

/** Is this address-book entry one the driver made for a NAT'd VM? */
export const isOwnedVmAddress = (name: string): boolean =>
  name.startsWith('static-') || name.startsWith('pf-') || name.startsWith('cidr-');
