/**
 * The element tree fake-junos keeps its configuration in, and its conversion from and to XML text with xml2js
 * (the project's XML library). Namespace prefixes are dropped on read (`junos:`, `nc:`), as a Junos server
 * matches element names without them.
 */
import { Builder, parseString } from 'xml2js';

/** One XML element: its name, attributes, text (leaf elements) and child elements in document order. */
export interface XmlNode {
  tag: string;
  attrs: Record<string, string>;
  text: string;
  children: XmlNode[];
}

interface Xml2jsNode {
  '#name': string;
  $?: Record<string, string>;
  _?: string;
  $$?: Xml2jsNode[];
}

function stripPrefix(name: string): string {
  const i = name.indexOf(':');
  return i < 0 ? name : name.slice(i + 1);
}

function fromXml2js(n: Xml2jsNode): XmlNode {
  const attrs: Record<string, string> = {};
  for (const [k, v] of Object.entries(n.$ ?? {})) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attrs[stripPrefix(k)] = v;
  }
  const children = (n.$$ ?? []).filter((c) => c['#name'] !== '__text__').map(fromXml2js);
  return { tag: n['#name'], attrs, text: (n._ ?? '').trim(), children };
}

/** Parse one XML document into an {@link XmlNode}; throws on text that is not well-formed XML. */
export function parseXml(text: string): XmlNode {
  let out: XmlNode | undefined;
  let failure: unknown;
  parseString(
    text,
    {
      explicitChildren: true,
      preserveChildrenOrder: true,
      explicitRoot: false,
      explicitArray: true,
      charsAsChildren: false,
      tagNameProcessors: [stripPrefix],
      async: false,
    },
    (err, result: Xml2jsNode) => {
      if (err) failure = err;
      else out = fromXml2js(result);
    },
  );
  if (failure !== undefined) throw failure;
  if (out === undefined) throw new Error('empty XML document');
  return out;
}

type BuilderValue = Record<string, unknown> | string;

function toBuilderValue(n: XmlNode): BuilderValue {
  const hasAttrs = Object.keys(n.attrs).length > 0;
  if (n.children.length === 0 && !hasAttrs) return n.text;
  const o: Record<string, unknown> = {};
  if (hasAttrs) o.$ = { ...n.attrs };
  if (n.text !== '') o._ = n.text;
  for (const c of n.children) {
    const list = (o[c.tag] as BuilderValue[] | undefined) ?? [];
    list.push(toBuilderValue(c));
    o[c.tag] = list;
  }
  return o;
}

const builder = new Builder({ headless: true, renderOpts: { pretty: false } });

/** Serialise an element (attributes, text escaped by xml2js). */
export function toXml(n: XmlNode, extraAttrs: Record<string, string> = {}): string {
  const v = toBuilderValue(n);
  const value: BuilderValue =
    Object.keys(extraAttrs).length === 0
      ? v
      : typeof v === 'string'
        ? { $: extraAttrs, _: v }
        : { ...v, $: { ...((v.$ as Record<string, string>) ?? {}), ...extraAttrs } };
  return builder.buildObject({ [n.tag]: value });
}

/** A new element. */
export function el(tag: string, children: XmlNode[] = [], text = '', attrs: Record<string, string> = {}): XmlNode {
  return { tag, attrs, text, children };
}

/** Deep copy. */
export function cloneNode(n: XmlNode): XmlNode {
  return { tag: n.tag, attrs: { ...n.attrs }, text: n.text, children: n.children.map(cloneNode) };
}

/** The first child named `tag`. */
export function child(n: XmlNode | undefined, tag: string): XmlNode | undefined {
  return n?.children.find((c) => c.tag === tag);
}

/** Every child named `tag`. */
export function childrenOf(n: XmlNode | undefined, tag: string): XmlNode[] {
  return n === undefined ? [] : n.children.filter((c) => c.tag === tag);
}

/** Follow a path of child names from `n`. */
export function at(n: XmlNode | undefined, ...path: string[]): XmlNode | undefined {
  let cur = n;
  for (const p of path) cur = child(cur, p);
  return cur;
}

/** Text of the child named `tag` ('' when absent). */
export function textOf(n: XmlNode | undefined, tag: string): string {
  return child(n, tag)?.text ?? '';
}
