import { parseStringPromise } from 'xml2js';
import { escapeXml } from './soap-xml.js';

/** The XMLSchema-instance namespace, whatever prefix a response binds it to (vcsim writes `XMLSchema-instance:`). */
export const XSI_NS = 'http://www.w3.org/2001/XMLSchema-instance';
/** The SOAP 1.1 envelope namespace. */
export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

/**
 * One element of a parsed response, namespace-aware: `name` is the local name, `uri` its namespace, `xsiType` the
 * local part of its `xsi:type` (found by namespace URI, never by prefix: drivers.md §11 pitfall 7), `attrs` the other
 * attributes by local name, `text` the element's own text.
 */
export interface XNode {
  name: string;
  uri: string;
  xsiType?: string;
  attrs: Readonly<Record<string, string>>;
  text: string;
  children: readonly XNode[];
}

interface RawAttr {
  value: string;
  local: string;
  uri: string;
}
type RawNode = {
  $?: Record<string, RawAttr>;
  $ns?: { local: string; uri: string };
  $$?: RawNode[];
  _?: string;
} & Record<string, unknown>;

function convert(raw: RawNode): XNode {
  const attrs: Record<string, string> = {};
  let xsiType: string | undefined;
  for (const a of Object.values(raw.$ ?? {})) {
    if (a.uri === 'http://www.w3.org/2000/xmlns/' || a.local === 'xmlns') continue;
    if (a.uri === XSI_NS && a.local === 'type') xsiType = a.value.slice(a.value.indexOf(':') + 1);
    else attrs[a.local] = a.value;
  }
  // Children in document order (`$$`), which a data object sent back to the server (an import spec) needs.
  const children = (raw.$$ ?? []).map(convert);
  return {
    name: raw.$ns?.local ?? '',
    uri: raw.$ns?.uri ?? '',
    ...(xsiType !== undefined ? { xsiType } : {}),
    attrs,
    text: raw._ ?? '',
    children,
  };
}

/** Parses an XML document into its root {@link XNode}. */
export async function parseXml(xml: string): Promise<XNode> {
  const doc = (await parseStringPromise(xml, {
    xmlns: true,
    explicitArray: true,
    explicitCharkey: true,
    charkey: '_',
    explicitRoot: true,
    explicitChildren: true,
    preserveChildrenOrder: true,
    trim: false,
    normalize: false,
  })) as Record<string, RawNode>;
  const [root] = Object.values(doc);
  if (root === undefined) throw new Error('empty XML document');
  return convert(root);
}

/** The first child called `name` (local name). */
export function child(node: XNode | undefined, name: string): XNode | undefined {
  return node?.children.find((c) => c.name === name);
}

/** Every child called `name`. */
export function childrenOf(node: XNode | undefined, name: string): XNode[] {
  return node === undefined ? [] : node.children.filter((c) => c.name === name);
}

/** The text of the first child called `name`, or undefined. */
export function textOf(node: XNode | undefined, name: string): string | undefined {
  return child(node, name)?.text;
}

/** Follows a dotted path of child names (`summary.hardware.memorySize`). */
export function at(node: XNode | undefined, path: string): XNode | undefined {
  let cur = node;
  for (const part of path.split('.')) cur = child(cur, part);
  return cur;
}

/** A number read from the first child called `name` (NaN-free: undefined when absent or not a number). */
export function numberOf(node: XNode | undefined, name: string): number | undefined {
  const t = textOf(node, name);
  if (t === undefined || t.trim() === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * Writes a parsed data object back as request XML under `name` (an import spec from `CreateImportSpec` handed to
 * `ImportVApp`): children in their order, `xsi:type` and the `type` of references kept, text escaped.
 */
export function toXml(node: XNode, name = node.name): string {
  const attrs = Object.entries(node.attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
  const type = node.xsiType !== undefined ? ` xsi:type="${escapeXml(node.xsiType)}"` : '';
  const inner = node.children.length > 0 ? node.children.map((c) => toXml(c)).join('') : escapeXml(node.text);
  return `<${name}${type}${attrs}>${inner}</${name}>`;
}
