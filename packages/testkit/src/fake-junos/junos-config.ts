/**
 * The configuration rules of fake-junos, from Juniper's documentation of the Junos XML configuration and of
 * `<load-configuration>`:
 * - list entries are identified by their `<name>` child (security policies by `<from-zone-name>` and
 *   `<to-zone-name>`); loading an entry that exists merges into it, so loading the same statement twice is a no-op;
 * - a leaf replaces the old value, except the leaf-lists (`match` source/destination address and application,
 *   filter `from` protocol and ports), which collect values;
 * - `delete="delete"` on an element removes it; deleting what is not there is a **warning** ("statement not found")
 *   and the load still succeeds; `replace="replace"` replaces the element;
 * - a commit validates the whole candidate (a policy naming an application or address that is not defined, a NAT
 *   rule naming a missing pool, a zone naming an interface unit that does not exist, a global address book next to
 *   zone address books): the commit fails and nothing changes.
 */
import { at, child, childrenOf, cloneNode, el, textOf, type XmlNode } from './junos-xml.js';

/** An `rpc-error` as Junos writes it. */
export interface JunosRpcError {
  type: 'protocol' | 'application' | 'rpc' | 'transport';
  tag: string;
  severity: 'error' | 'warning';
  path?: string;
  message: string;
  badElement?: string;
}

const LEAF_LISTS: Readonly<Record<string, ReadonlySet<string>>> = {
  match: new Set([
    'source-address',
    'destination-address',
    'application',
    'source-address-name',
    'destination-address-name',
  ]),
  from: new Set(['protocol', 'destination-port', 'source-port', 'port', 'icmp-type', 'icmp-code', 'zone']),
};

/** The top-level statements of a Junos configuration (an SRX's hierarchy). */
const TOP_LEVEL = new Set([
  'version',
  'groups',
  'apply-groups',
  'system',
  'chassis',
  'services',
  'security',
  'interfaces',
  'snmp',
  'forwarding-options',
  'routing-options',
  'protocols',
  'policy-options',
  'class-of-service',
  'firewall',
  'access',
  'applications',
  'routing-instances',
  'vlans',
  'event-options',
  'access-profile',
  'schedulers',
]);

function isLeaf(n: XmlNode): boolean {
  return n.children.length === 0;
}

function keyOf(n: XmlNode): string | undefined {
  const name = child(n, 'name');
  if (name !== undefined && isLeaf(name)) return `name=${name.text}`;
  const fz = child(n, 'from-zone-name');
  const tz = child(n, 'to-zone-name');
  if (fz !== undefined && tz !== undefined) return `zones=${fz.text}>${tz.text}`;
  return undefined;
}

function describe(n: XmlNode): string {
  const key = keyOf(n);
  if (key === undefined) return isLeaf(n) && n.text !== '' ? `${n.tag} ${n.text}` : n.tag;
  return `${n.tag} ${key.slice(key.indexOf('=') + 1).replace('>', ' to-zone ')}`;
}

function findMatch(parent: XmlNode, n: XmlNode): XmlNode | undefined {
  const key = keyOf(n);
  if (key !== undefined) return parent.children.find((c) => c.tag === n.tag && keyOf(c) === key);
  if (isLeaf(n) && LEAF_LISTS[parent.tag]?.has(n.tag) === true) {
    return parent.children.find((c) => c.tag === n.tag && isLeaf(c) && c.text === n.text);
  }
  return parent.children.find((c) => c.tag === n.tag && keyOf(c) === undefined);
}

function stripOps(n: XmlNode): XmlNode {
  const out = el(n.tag, [], n.text);
  for (const c of n.children) if (c.attrs.delete !== 'delete') out.children.push(stripOps(c));
  return out;
}

/**
 * Apply one `<configuration>` element of a `<load-configuration action="merge|replace">` to `target`
 * (modified in place). Returns the warnings; throws {@link JunosRpcError} shaped errors on a syntax error.
 */
export function loadInto(target: XmlNode, config: XmlNode, action: 'merge' | 'replace'): JunosRpcError[] {
  const warnings: JunosRpcError[] = [];
  const unknown = config.children.find((c) => !TOP_LEVEL.has(c.tag));
  if (unknown !== undefined) {
    throw rpcError({
      type: 'protocol',
      tag: 'operation-failed',
      severity: 'error',
      path: '[edit]',
      message: 'syntax error',
      badElement: unknown.tag,
    });
  }
  checkSyntax(config, []);
  mergeChildren(target, config, ['edit'], action, warnings);
  return warnings;
}

function mergeChildren(
  dst: XmlNode,
  src: XmlNode,
  path: string[],
  action: 'merge' | 'replace',
  warnings: JunosRpcError[],
): void {
  for (const c of src.children) {
    const match = findMatch(dst, c);
    if (c.attrs.delete === 'delete') {
      if (match === undefined) {
        warnings.push({
          type: 'protocol',
          tag: 'operation-failed',
          severity: 'warning',
          path: `[${path.join(' ')}]`,
          message: 'statement not found',
          badElement: describe(c),
        });
      } else {
        dst.children.splice(dst.children.indexOf(match), 1);
      }
      continue;
    }
    // the replace attribute counts only under action="replace"
    const replace = action === 'replace' && c.attrs.replace === 'replace';
    if (match === undefined || replace) {
      if (match !== undefined) dst.children.splice(dst.children.indexOf(match), 1);
      const copy = stripOps(c);
      dst.children.push(copy);
      // nested deletes inside a new statement delete nothing: warn like Junos
      collectNestedDeletes(c, [...path, describe(c)], warnings);
      continue;
    }
    if (isLeaf(c)) {
      match.text = c.text;
      continue;
    }
    mergeChildren(match, c, [...path, describe(c)], action, warnings);
  }
}

function collectNestedDeletes(n: XmlNode, path: string[], warnings: JunosRpcError[]): void {
  for (const c of n.children) {
    if (c.attrs.delete === 'delete') {
      warnings.push({
        type: 'protocol',
        tag: 'operation-failed',
        severity: 'warning',
        path: `[${path.join(' ')}]`,
        message: 'statement not found',
        badElement: describe(c),
      });
    } else collectNestedDeletes(c, [...path, describe(c)], warnings);
  }
}

/**
 * Statements Junos's schema refuses at load time. In a NAT rule's `match`, newer Junos writes a destination port as
 * `<destination-port><name>80</name></destination-port>`; the `<low>`/`<dst-port>` children older templates used
 * (CloudStack PR #3393) are a syntax error.
 */
function checkSyntax(n: XmlNode, path: string[]): void {
  if (n.tag === 'destination-port' && path.at(-1) === 'dest-nat-rule-match') {
    const bad = n.children.find((c) => c.tag !== 'name' && c.tag !== 'to');
    if (bad !== undefined || child(n, 'name') === undefined) {
      throw rpcError({
        type: 'protocol',
        tag: 'operation-failed',
        severity: 'error',
        path: `[edit ${path.filter((p) => p !== 'configuration').join(' ')}]`,
        message: 'syntax error',
        badElement: bad?.tag ?? 'destination-port',
      });
    }
  }
  for (const c of n.children) checkSyntax(c, [...path, n.tag]);
}

/** An Error carrying a {@link JunosRpcError}. */
export class JunosRpcFailure extends Error {
  constructor(readonly errors: JunosRpcError[]) {
    super(errors.map((e) => e.message).join('; '));
  }
}

function rpcError(e: JunosRpcError): JunosRpcFailure {
  return new JunosRpcFailure([e]);
}

const PREDEFINED_ADDRESSES = new Set(['any', 'any-ipv4', 'any-ipv6']);

function zoneBook(config: XmlNode, zone: string): Set<string> {
  const z = childrenOf(at(config, 'security', 'zones'), 'security-zone').find((s) => textOf(s, 'name') === zone);
  const names = new Set<string>();
  for (const book of childrenOf(z, 'address-book')) {
    for (const a of [...childrenOf(book, 'address'), ...childrenOf(book, 'address-set')]) names.add(textOf(a, 'name'));
  }
  return names;
}

function globalBook(config: XmlNode): Set<string> {
  const names = new Set<string>();
  for (const book of childrenOf(at(config, 'security'), 'address-book')) {
    for (const a of [...childrenOf(book, 'address'), ...childrenOf(book, 'address-set')]) names.add(textOf(a, 'name'));
  }
  return names;
}

/** The commit check: every error the candidate has, empty when it may be committed. */
export function validate(config: XmlNode): JunosRpcError[] {
  const errors: JunosRpcError[] = [];
  const fail = (path: string, message: string): void => {
    errors.push({ type: 'protocol', tag: 'operation-failed', severity: 'error', path, message });
  };
  const apps = new Set(
    [
      ...childrenOf(at(config, 'applications'), 'application'),
      ...childrenOf(at(config, 'applications'), 'application-set'),
    ].map((a) => textOf(a, 'name')),
  );
  const global = globalBook(config);
  const zones = childrenOf(at(config, 'security', 'zones'), 'security-zone');
  if (global.size > 0 && zones.some((z) => childrenOf(z, 'address-book').length > 0)) {
    fail('[edit security address-book]', 'Global address book and zone address books cannot be configured together');
  }
  for (const pair of childrenOf(at(config, 'security', 'policies'), 'policy')) {
    const from = textOf(pair, 'from-zone-name');
    const to = textOf(pair, 'to-zone-name');
    const fromBook = new Set([...zoneBook(config, from), ...global]);
    const toBook = new Set([...zoneBook(config, to), ...global]);
    for (const p of childrenOf(pair, 'policy')) {
      const path = `[edit security policies from-zone ${from} to-zone ${to} policy ${textOf(p, 'name')} match]`;
      const match = child(p, 'match');
      for (const a of childrenOf(match, 'application')) {
        if (a.text !== 'any' && !a.text.startsWith('junos-') && !apps.has(a.text)) {
          fail(path, `application '${a.text}' is not defined`);
        }
      }
      for (const a of childrenOf(match, 'source-address')) {
        if (!PREDEFINED_ADDRESSES.has(a.text) && !fromBook.has(a.text)) {
          fail(path, `address '${a.text}' is not defined in zone '${from}'`);
        }
      }
      for (const a of childrenOf(match, 'destination-address')) {
        if (!PREDEFINED_ADDRESSES.has(a.text) && !toBook.has(a.text)) {
          fail(path, `address '${a.text}' is not defined in zone '${to}'`);
        }
      }
    }
  }
  for (const kind of ['source', 'destination'] as const) {
    const nat = at(config, 'security', 'nat', kind);
    const pools = new Set(childrenOf(nat, 'pool').map((p) => textOf(p, 'name')));
    for (const rs of childrenOf(nat, 'rule-set')) {
      for (const r of childrenOf(rs, 'rule')) {
        const pool = at(r, 'then', `${kind}-nat`, 'pool', 'pool-name');
        if (pool !== undefined && !pools.has(pool.text)) {
          fail(
            `[edit security nat ${kind} rule-set ${textOf(rs, 'name')} rule ${textOf(r, 'name')} then ${kind}-nat]`,
            `${kind} NAT pool '${pool.text}' is not defined`,
          );
        }
      }
    }
  }
  for (const z of zones) {
    for (const i of childrenOf(z, 'interfaces')) {
      const [ifName, unit = '0'] = textOf(i, 'name').split('.');
      const iface = childrenOf(at(config, 'interfaces'), 'interface').find((x) => textOf(x, 'name') === ifName);
      if (childrenOf(iface, 'unit').find((u) => textOf(u, 'name') === unit) === undefined) {
        fail(
          `[edit security zones security-zone ${textOf(z, 'name')} interfaces]`,
          `interface '${textOf(i, 'name')}' is not defined`,
        );
      }
    }
  }
  return errors;
}

/**
 * The part of `config` a `<get-configuration>` subtree filter asks for: a filter element with no children other
 * than its key returns the whole matching subtree; with children, only those.
 */
export function filterSubtree(config: XmlNode, filter: XmlNode): XmlNode {
  const out = el(config.tag);
  for (const f of filter.children) {
    const key = keyOf(f);
    const matches = config.children.filter((c) => c.tag === f.tag && (key === undefined || keyOf(c) === key));
    const rest = f.children.filter((g) => !(key !== undefined && (g.tag === 'name' || g.tag.endsWith('-zone-name'))));
    for (const m of matches)
      out.children.push(rest.length === 0 ? cloneNode(m) : filterSubtree(m, { ...f, children: rest }));
  }
  // keep the keys of list entries so the answer says which entry it is
  for (const k of config.children.filter((c) => c.tag === 'name' || c.tag.endsWith('-zone-name'))) {
    if (filter.children.length > 0) out.children.unshift(cloneNode(k));
  }
  return out;
}

/** The filter counters a configuration defines: firewall filter → its terms' `then count` names. */
export function definedCounters(config: XmlNode): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const fw = at(config, 'firewall');
  const filters = [...childrenOf(fw, 'filter'), ...childrenOf(at(fw, 'family', 'inet'), 'filter')];
  for (const f of filters) {
    const names: string[] = [];
    for (const t of childrenOf(f, 'term')) {
      const c = at(t, 'then', 'count');
      if (c !== undefined && c.text !== '') names.push(c.text);
    }
    out.set(textOf(f, 'name'), names);
  }
  return out;
}
