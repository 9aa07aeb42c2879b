import { Builder, Parser, type ParserOptions } from 'xml2js';

/**
 * libvirt XML as plain element trees, on xml2js (the project's one XML library, ARCHITECTURE.md).
 * A node keeps attributes under `@_name`, children by tag and text under `#text`; a leaf with
 * only text is its string. Elements that may repeat ({@link ARRAY_ELEMENTS}) are always arrays.
 */

/** Attribute keys in built/parsed XML objects start with this prefix (`{ '@_type': 'kvm' }`). */
export const ATTR = '@_';

/** The key of an element's text in a node that also has attributes or children. */
const TEXT = '#text';

/** Elements that may repeat and are always parsed as arrays. */
const ARRAY_ELEMENTS = new Set(['disk', 'interface', 'boot', 'feature', 'pool', 'cell', 'guest', 'domain', 'graphics']);

/** A parsed XML element: attributes under `@_name`, children by tag, text under `#text`. */
export type XmlNode = { [key: string]: unknown };

/**
 * xml2js's parser options giving the node shape above: attributes merged into the node under a
 * prefix, text under `#text` and trimmed, single children unwrapped, an empty element `''`.
 * Entities are decoded; values stay strings.
 */
const PARSER_OPTIONS: ParserOptions = {
  explicitArray: false,
  mergeAttrs: true,
  attrNameProcessors: [(name: string) => `${ATTR}${name}`],
  charkey: TEXT,
  trim: true,
  emptyTag: () => '',
  explicitRoot: true,
};

/** Pretty-printed, without an XML declaration (virsh reads either). */
const builder = new Builder({ headless: true, renderOpts: { pretty: true, indent: '  ', newline: '\n' } });

/** The node tree in xml2js's builder form: attributes under `$`, text under `_`; absent values dropped. */
function toBuilderForm(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== undefined).map(toBuilderForm);
  if (value === null) return '';
  if (typeof value !== 'object') return String(value);
  const out: Record<string, unknown> = {};
  let attributes: Record<string, string> | undefined;
  for (const [key, v] of Object.entries(value as XmlNode)) {
    if (v === undefined) continue;
    if (key.startsWith(ATTR)) {
      if (v === null) continue;
      attributes ??= {};
      attributes[key.slice(ATTR.length)] = String(v);
    } else if (key === TEXT) {
      if (v !== '') out._ = String(v);
    } else {
      out[key] = toBuilderForm(v);
    }
  }
  if (attributes !== undefined) out.$ = attributes;
  return out;
}

/** Wraps every {@link ARRAY_ELEMENTS} child found once in an array, in place, depth first. */
function arraysFor(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) arraysFor(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as XmlNode;
  for (const key of Object.keys(record)) {
    const v = record[key];
    if (ARRAY_ELEMENTS.has(key) && !Array.isArray(v)) record[key] = [v];
    arraysFor(v);
  }
}

/** Serialises an element tree; every text and attribute value is escaped by the library. */
export function buildXml(root: XmlNode): string {
  return builder.buildObject(toBuilderForm(root));
}

/**
 * Parses libvirt XML output (dumpxml, capabilities, pool-dumpxml…). xml2js parses synchronously
 * when not asked to be async: the callback has run when `parseString` returns.
 * @throws Error when the text is not well-formed XML.
 */
export function parseXml(xml: string): XmlNode {
  let result: XmlNode | undefined;
  let failure: unknown;
  new Parser(PARSER_OPTIONS).parseString(xml, (error: unknown, parsed: XmlNode | null) => {
    if (error) failure ??= error;
    else result ??= parsed ?? {};
  });
  if (failure !== undefined) throw failure;
  if (result === undefined) throw new Error('XML parser returned no result');
  arraysFor(result);
  return result;
}

/** The child element `key` of `node` as an object (undefined when absent or a bare text node). */
export function child(node: unknown, key: string): XmlNode | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[key];
  if (Array.isArray(v)) return (v[0] as XmlNode | undefined) ?? undefined;
  if (v !== null && typeof v === 'object') return v as XmlNode;
  if (typeof v === 'string') return { [TEXT]: v };
  return undefined;
}

/** The child elements `key` of `node` as an array. */
export function children(node: unknown, key: string): XmlNode[] {
  if (node === null || typeof node !== 'object') return [];
  const v = (node as XmlNode)[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'object' && x !== null ? (x as XmlNode) : { [TEXT]: String(x) }));
}

/** The text content of `node` (or of its child `key`). */
export function text(node: unknown, key?: string): string | undefined {
  const n = key === undefined ? node : (node as XmlNode | undefined)?.[key];
  if (n === undefined || n === null) return undefined;
  if (Array.isArray(n)) return text(n[0]);
  if (typeof n === 'object') {
    const t = (n as XmlNode)[TEXT];
    return t === undefined ? '' : String(t);
  }
  return String(n);
}

/** The attribute `name` of `node`. */
export function attr(node: unknown, name: string): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[`${ATTR}${name}`];
  return v === undefined ? undefined : String(v);
}
