import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** Attribute keys in built/parsed XML objects start with this prefix (`{ '@_type': 'kvm' }`). */
export const ATTR = '@_';

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: ATTR,
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => ARRAY_ELEMENTS.has(name),
});

/** Elements that may repeat and are always parsed as arrays. */
const ARRAY_ELEMENTS = new Set(['disk', 'interface', 'boot', 'feature', 'pool', 'cell', 'guest', 'domain', 'graphics']);

/** A parsed XML element: attributes under `@_name`, children by tag, text under `#text`. */
export type XmlNode = { [key: string]: unknown };

/** Serialises an element tree; every text and attribute value is escaped by the library. */
export function buildXml(root: XmlNode): string {
  return builder.build(root) as string;
}

/** Parses libvirt XML output (dumpxml, capabilities, pool-dumpxml…). */
export function parseXml(xml: string): XmlNode {
  return parser.parse(xml) as XmlNode;
}

/** The child element `key` of `node` as an object (undefined when absent or a bare text node). */
export function child(node: unknown, key: string): XmlNode | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as XmlNode)[key];
  if (Array.isArray(v)) return (v[0] as XmlNode | undefined) ?? undefined;
  if (v !== null && typeof v === 'object') return v as XmlNode;
  if (typeof v === 'string') return { '#text': v };
  return undefined;
}

/** The child elements `key` of `node` as an array. */
export function children(node: unknown, key: string): XmlNode[] {
  if (node === null || typeof node !== 'object') return [];
  const v = (node as XmlNode)[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (typeof x === 'object' && x !== null ? (x as XmlNode) : { '#text': String(x) }));
}

/** The text content of `node` (or of its child `key`). */
export function text(node: unknown, key?: string): string | undefined {
  const n = key === undefined ? node : (node as XmlNode | undefined)?.[key];
  if (n === undefined || n === null) return undefined;
  if (Array.isArray(n)) return text(n[0]);
  if (typeof n === 'object') {
    const t = (n as XmlNode)['#text'];
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
