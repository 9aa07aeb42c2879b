/**
 * The element tree the driver builds Junos configuration in and reads replies into, on xml2js (the project's XML
 * library). Namespace prefixes are dropped on read: Junos replies mix the NETCONF namespace and `junos:` attributes.
 */
import { Builder, parseString } from 'xml2js';

/** One XML element. */
export interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
  elements: Element[];
}

interface Parsed {
  '#name': string;
  $?: Record<string, string>;
  _?: string;
  $$?: Parsed[];
}

const local = (n: string): string => n.slice(n.indexOf(':') + 1);

function convert(p: Parsed): Element {
  const attributes: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.$ ?? {}))
    if (k !== 'xmlns' && !k.startsWith('xmlns:')) attributes[local(k)] = v;
  return {
    name: p['#name'],
    attributes,
    text: (p._ ?? '').trim(),
    elements: (p.$$ ?? []).filter((c) => c['#name'] !== '__text__').map(convert),
  };
}

/** Parse a document; throws on text that is not well-formed XML. */
export function parse(text: string): Element {
  let result: Element | undefined;
  let error: unknown;
  parseString(
    text,
    {
      explicitChildren: true,
      preserveChildrenOrder: true,
      explicitRoot: false,
      tagNameProcessors: [local],
      async: false,
    },
    (err, value: Parsed) => {
      if (err) error = err;
      else if (value) result = convert(value);
    },
  );
  if (error !== undefined) throw error;
  if (result === undefined) throw new Error('empty XML document');
  return result;
}

/** A new element: `e('name', children)` or `e('name', 'text')`, with attributes. */
export function e(name: string, content: Element[] | string = [], attributes: Record<string, string> = {}): Element {
  return typeof content === 'string'
    ? { name, attributes, text: content, elements: [] }
    : { name, attributes, text: '', elements: content };
}

/** `<name>value</name>`, the key of a Junos list entry. */
export const named = (
  tag: string,
  name: string,
  rest: Element[] = [],
  attributes: Record<string, string> = {},
): Element => e(tag, [e('name', name), ...rest], attributes);

/** The same element marked `delete="delete"` (Junos: remove this statement). */
export const deleted = (el: Element): Element => ({ ...el, attributes: { ...el.attributes, delete: 'delete' } });

type Value = string | Record<string, unknown>;

function toValue(el: Element): Value {
  const hasAttributes = Object.keys(el.attributes).length > 0;
  if (el.elements.length === 0 && !hasAttributes) return el.text;
  const o: Record<string, unknown> = {};
  if (hasAttributes) o.$ = el.attributes;
  if (el.text !== '') o._ = el.text;
  for (const c of el.elements) {
    const list = (o[c.name] as Value[] | undefined) ?? [];
    list.push(toValue(c));
    o[c.name] = list;
  }
  return o;
}

const builder = new Builder({ headless: true, renderOpts: { pretty: false } });

/** Serialise (text and attributes escaped by xml2js). Children of one name are written together, in order. */
export function render(el: Element): string {
  return builder.buildObject({ [el.name]: toValue(el) });
}

/** First child of that name. */
export const find = (el: Element | undefined, name: string): Element | undefined =>
  el?.elements.find((c) => c.name === name);

/** Every child of that name. */
export const findAll = (el: Element | undefined, name: string): Element[] =>
  el?.elements.filter((c) => c.name === name) ?? [];

/** Follow a path of child names. */
export function path(el: Element | undefined, ...names: string[]): Element | undefined {
  let cur = el;
  for (const n of names) cur = find(cur, n);
  return cur;
}

/** Every descendant of that name, depth first. */
export function descendants(el: Element, name: string): Element[] {
  const out: Element[] = [];
  for (const c of el.elements) {
    if (c.name === name) out.push(c);
    out.push(...descendants(c, name));
  }
  return out;
}
