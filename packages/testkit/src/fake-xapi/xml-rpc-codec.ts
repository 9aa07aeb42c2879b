/**
 * XML-RPC as XAPI speaks it (drivers.md §4.2), on xml2js: a `methodCall` in, a `methodResponse` whose one value is
 * the `{Status, Value}` / `{Status, ErrorDescription}` struct out. Ints are written as strings, as XAPI writes them.
 */
import { Builder, parseStringPromise } from 'xml2js';
import { XapiDate, XapiFloat, type XapiValue, XmlRpcDouble } from './xapi-values.js';

type XmlNode = { [key: string]: XmlNode[] | string[] } | string;

/** A decoded method call. */
export interface XmlRpcCall {
  methodName: string;
  params: XapiValue[];
}

function first(node: XmlNode, key: string): XmlNode | undefined {
  if (typeof node === 'string') return undefined;
  const list = node[key];
  return list?.[0];
}

function text(node: XmlNode | undefined): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node;
  const t = (node as Record<string, unknown>)._;
  return typeof t === 'string' ? t : '';
}

function decodeValue(node: XmlNode | undefined): XapiValue {
  if (node === undefined || typeof node === 'string') return node ?? '';
  const keys = Object.keys(node).filter((k) => k !== '_' && k !== '$');
  if (keys.length === 0) return text(node);
  const type = keys[0]!;
  const inner = first(node, type);
  switch (type) {
    case 'string':
      return text(inner);
    case 'int':
    case 'i4':
    case 'i8':
      return Number.parseInt(text(inner), 10);
    case 'double':
      return new XmlRpcDouble(Number.parseFloat(text(inner)));
    case 'boolean':
      return text(inner).trim() === '1';
    case 'dateTime.iso8601':
      return text(inner);
    case 'array': {
      const data = inner === undefined ? undefined : first(inner, 'data');
      const values = data === undefined || typeof data === 'string' ? [] : ((data.value as XmlNode[]) ?? []);
      return values.map((v) => decodeValue(v));
    }
    case 'struct': {
      const out: Record<string, XapiValue> = {};
      const members = inner === undefined || typeof inner === 'string' ? [] : ((inner.member as XmlNode[]) ?? []);
      for (const m of members) out[text(first(m, 'name'))] = decodeValue(first(m, 'value'));
      return out;
    }
    case 'nil':
      return '';
    default:
      throw new Error(`unknown XML-RPC type <${type}>`);
  }
}

/** Parse a `methodCall` body; throws on anything else. */
export async function decodeMethodCall(xml: string): Promise<XmlRpcCall> {
  const doc = (await parseStringPromise(xml, { explicitArray: true, explicitRoot: true })) as Record<string, XmlNode>;
  const call = doc.methodCall;
  if (call === undefined) throw new Error('not a methodCall');
  const methodName = text(first(call, 'methodName')).trim();
  const params = first(call, 'params');
  const list = params === undefined || typeof params === 'string' ? [] : ((params.param as XmlNode[]) ?? []);
  return { methodName, params: list.map((p) => decodeValue(first(p, 'value'))) };
}

/** Parse a `methodResponse` body to its single value (the XAPI status struct). */
export async function decodeMethodResponse(xml: string): Promise<XapiValue> {
  const doc = (await parseStringPromise(xml, { explicitArray: true })) as Record<string, XmlNode>;
  const response = doc.methodResponse;
  if (response === undefined) throw new Error('not a methodResponse');
  const params = first(response, 'params');
  if (params === undefined) throw new Error('XML-RPC fault or empty response');
  return decodeValue(first(first(params, 'param') ?? '', 'value'));
}

type Built = string | { [key: string]: unknown };

/** The xml2js builder tree of one `<value>`'s content. */
export function encodeValue(value: XapiValue | undefined | null): Built {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : { double: String(value) };
  if (typeof value === 'boolean') return { boolean: value ? '1' : '0' };
  if (value instanceof XapiFloat || value instanceof XmlRpcDouble) return { double: String(value.value) };
  if (value instanceof XapiDate) return { 'dateTime.iso8601': value.toString() };
  if (Array.isArray(value))
    return { array: { data: value.length === 0 ? '' : { value: value.map((v) => encodeValue(v)) } } };
  const members = Object.entries(value).map(([name, v]) => ({ name, value: encodeValue(v) }));
  return { struct: members.length === 0 ? '' : { member: members } };
}

const builder = new Builder({ headless: false, renderOpts: { pretty: false }, xmldec: { version: '1.0' } });

/** A `methodResponse` carrying one value. */
export function encodeMethodResponse(value: XapiValue): string {
  return builder.buildObject({ methodResponse: { params: { param: { value: encodeValue(value) } } } });
}

/** A `methodCall` (what a client sends). */
export function encodeMethodCall(methodName: string, params: readonly XapiValue[]): string {
  return builder.buildObject({
    methodCall: {
      methodName,
      params: params.length === 0 ? '' : { param: params.map((p) => ({ value: encodeValue(p) })) },
    },
  });
}
