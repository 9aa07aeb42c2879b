/**
 * Checks and converts wire parameters to stored values, failing as XAPI does (`FIELD_TYPE_ERROR [field]`) on a value
 * of the wrong type. Ints may arrive as decimal strings (XML-RPC, as XAPI sends them) or numbers (JSON-RPC).
 */
import { XapiFailure } from './xapi-failure.js';
import type { FieldType } from './xapi-schema.js';
import { XmlRpcDouble } from './xapi-values.js';

/** A stored value of `type` from a wire value, or `FIELD_TYPE_ERROR [field]`. */
export function coerce(type: FieldType, value: unknown, field: string): unknown {
  const bad = () => new XapiFailure('FIELD_TYPE_ERROR', field);
  switch (type) {
    case 's':
    case 'r':
      if (typeof value !== 'string') throw bad();
      return value;
    case 'i':
      if (typeof value === 'number' && Number.isInteger(value)) return value;
      if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
      throw bad();
    case 'f':
      if (value instanceof XmlRpcDouble) return value.value;
      if (typeof value === 'number') return value;
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      throw bad();
    case 'b':
      if (typeof value === 'boolean') return value;
      throw bad();
    case 'd':
      if (typeof value === 'string') return Date.parse(value) || 0;
      throw bad();
    case 'R':
    case 'S':
      if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) throw bad();
      return [...value];
    case 'm': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad();
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new XapiFailure('FIELD_TYPE_ERROR', `${field}.${k}`);
        out[k] = v;
      }
      return out;
    }
  }
}

/** A string parameter. */
export const str = (v: unknown, field: string): string => coerce('s', v, field) as string;
/** An int parameter. */
export const int = (v: unknown, field: string): number => coerce('i', v, field) as number;
/** A bool parameter. */
export const bool = (v: unknown, field: string): boolean => coerce('b', v, field) as boolean;
/** A string-map parameter. */
export const map = (v: unknown, field: string): Record<string, string> =>
  coerce('m', v, field) as Record<string, string>;
