/**
 * XML-RPC for XAPI on xml2js (drivers.md §4.2): a `methodCall` out (ints as decimal strings, as XAPI expects them;
 * {@link XapiDouble} as `<double>`), the `{Status, Value | ErrorDescription}` struct back.
 */
import { Builder, parseStringPromise } from 'xml2js';

/** A number that must travel as a float (`event.from`'s timeout): `<double>` in XML-RPC. */
export class XapiDouble {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

type Built = string | { [key: string]: unknown };

function encode(value: unknown): Built {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : { double: String(value) };
  if (typeof value === 'boolean') return { boolean: value ? '1' : '0' };
  if (value instanceof XapiDouble) return { double: String(value.value) };
  if (Array.isArray(value)) return { array: { data: value.length === 0 ? '' : { value: value.map(encode) } } };
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([name, v]) => ({ name, value: encode(v) }));
  return { struct: members.length === 0 ? '' : { member: members } };
}

const builder = new Builder({ renderOpts: { pretty: false }, xmldec: { version: '1.0' } });

/** The body of an XML-RPC call. */
export function xmlRpcRequest(method: string, params: readonly unknown[]): string {
  return builder.buildObject({
    methodCall: {
      methodName: method,
      params: params.length === 0 ? '' : { param: params.map((p) => ({ value: encode(p) })) },
    },
  });
}

type Node = Record<string, unknown[]> | string;

function text(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node;
  const t = (node as Record<string, unknown>)._;
  return typeof t === 'string' ? t : '';
}

function decode(node: Node | undefined): unknown {
  if (node === undefined || typeof node === 'string') return node ?? '';
  const type = Object.keys(node).find((k) => k !== '_' && k !== '$');
  if (type === undefined) return text(node);
  const inner = node[type]?.[0] as Node | undefined;
  switch (type) {
    case 'string':
    case 'dateTime.iso8601':
      return text(inner);
    case 'int':
    case 'i4':
    case 'i8':
      return Number.parseInt(text(inner), 10);
    case 'double':
      return Number.parseFloat(text(inner));
    case 'boolean':
      return text(inner).trim() === '1';
    case 'array': {
      const data = typeof inner === 'object' ? (inner.data?.[0] as Node | undefined) : undefined;
      const values = typeof data === 'object' ? ((data.value as Node[]) ?? []) : [];
      return values.map(decode);
    }
    case 'struct': {
      const out: Record<string, unknown> = {};
      const members = typeof inner === 'object' ? ((inner.member as Node[]) ?? []) : [];
      for (const m of members)
        if (typeof m === 'object') out[text(m.name?.[0])] = decode(m.value?.[0] as Node | undefined);
      return out;
    }
    default:
      return text(inner);
  }
}

/** The single value of a `methodResponse` (XAPI's status struct); throws on a fault or anything else. */
export async function xmlRpcResponse(xml: string): Promise<unknown> {
  const doc = (await parseStringPromise(xml)) as Record<string, Node>;
  const response = doc.methodResponse;
  if (typeof response !== 'object') throw new Error('not an XML-RPC methodResponse');
  if (response.fault)
    throw new Error(
      `XML-RPC fault: ${JSON.stringify(decode((response.fault[0] as Record<string, Node[]>).value?.[0]))}`,
    );
  const params = response.params?.[0] as Record<string, Node[]> | undefined;
  const param = params?.param?.[0] as Record<string, Node[]> | undefined;
  return decode(param?.value?.[0]);
}
