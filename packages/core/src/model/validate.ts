import ipaddr from 'ipaddr.js';
import { InvalidParameterError } from '../errors.js';

/**
 * Input checks shared by the services. Each throws InvalidParameterError naming the field and
 * the value, so a caller can tell exactly what to fix.
 */

export function requireString(field: string, value: unknown, opts: { max?: number } = {}): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new InvalidParameterError(field, value, 'a non-empty string is required');
  if (opts.max !== undefined && value.length > opts.max) {
    throw new InvalidParameterError(field, value, `at most ${opts.max} characters`);
  }
  return value;
}

export function optionalString(field: string, value: unknown, opts: { max?: number } = {}): string | null {
  if (value === undefined || value === null) return null;
  return requireString(field, value, opts);
}

export function requireOneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidParameterError(field, value, `must be one of ${allowed.join(', ')}`);
  }
  return value as T;
}

export function requireInteger(field: string, value: unknown, opts: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidParameterError(field, value, 'an integer is required');
  }
  checkBounds(field, value, opts);
  return value;
}

export function requireNumber(field: string, value: unknown, opts: { min?: number; max?: number } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new InvalidParameterError(field, value, 'a number is required');
  checkBounds(field, value, opts);
  return value;
}

function checkBounds(field: string, value: number, opts: { min?: number; max?: number }) {
  if (opts.min !== undefined && value < opts.min)
    throw new InvalidParameterError(field, value, `must be at least ${opts.min}`);
  if (opts.max !== undefined && value > opts.max)
    throw new InvalidParameterError(field, value, `must be at most ${opts.max}`);
}

/** Comma-separated string or array of strings → trimmed, de-duplicated, non-empty tags. */
export function parseTags(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const parts = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (!parts)
    throw new InvalidParameterError(field, value, 'a comma-separated string or an array of strings is required');
  const tags: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') throw new InvalidParameterError(field, value, 'every tag must be a string');
    const tag = part.trim();
    if (tag === '') continue;
    if (!/^[A-Za-z0-9_.:=-]+$/.test(tag))
      throw new InvalidParameterError(
        field,
        value,
        `tag ${JSON.stringify(tag)} has characters outside A-Z a-z 0-9 _ . : = -`,
      );
    if (!tags.includes(tag)) tags.push(tag);
  }
  return tags;
}

// ---- IPv4 ----

/** Dotted-quad IPv4 → unsigned 32-bit integer. */
export function ipv4ToInt(ip: string): number {
  const b = ipaddr.IPv4.parse(ip).octets;
  return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
}

/** The netmask of a prefix length as an integer. */
const prefixMask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

export function intToIpv4(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function requireIpv4(field: string, value: unknown): string {
  if (typeof value !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(value)) {
    throw new InvalidParameterError(field, value, 'a dotted-quad IPv4 address is required');
  }
  return value;
}

export function optionalIpv4(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  return requireIpv4(field, value);
}

/** An IPv4 CIDR, parsed: first and last address as integers, prefix length. */
export interface Cidr {
  text: string;
  prefix: number;
  first: number;
  last: number;
}

export function parseCidr(text: string): Cidr {
  const [addr, prefix] = ipaddr.IPv4.parseCIDR(text);
  const mask = prefixMask(prefix);
  const first = (ipv4ToInt(addr.toString()) & mask) >>> 0;
  return { text, prefix, first, last: (first | ~mask) >>> 0 };
}

/** A CIDR whose address is the network address (e.g. 10.1.1.0/24, not 10.1.1.7/24). */
export function requireCidr(
  field: string,
  value: unknown,
  opts: { minPrefix?: number; maxPrefix?: number } = {},
): Cidr {
  if (typeof value !== 'string' || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(value)) {
    throw new InvalidParameterError(field, value, 'an IPv4 CIDR such as 10.1.1.0/24 is required');
  }
  let cidr: Cidr;
  try {
    cidr = parseCidr(value);
  } catch {
    throw new InvalidParameterError(field, value, 'an IPv4 CIDR such as 10.1.1.0/24 is required');
  }
  if (ipv4ToInt(value.split('/')[0]!) !== cidr.first) {
    throw new InvalidParameterError(
      field,
      value,
      `the address must be the network address ${intToIpv4(cidr.first)}/${cidr.prefix}`,
    );
  }
  if (opts.minPrefix !== undefined && cidr.prefix < opts.minPrefix) {
    throw new InvalidParameterError(field, value, `prefix must be /${opts.minPrefix} or longer`);
  }
  if (opts.maxPrefix !== undefined && cidr.prefix > opts.maxPrefix) {
    throw new InvalidParameterError(field, value, `prefix must be /${opts.maxPrefix} or shorter`);
  }
  return cidr;
}

/** Netmask (255.255.255.0) → prefix length, or a typed error when it is not contiguous. */
export function netmaskToPrefix(field: string, netmask: unknown): number {
  const mask = ipv4ToInt(requireIpv4(field, netmask));
  let prefix = 0;
  while (prefix < 32 && (mask & (0x80000000 >>> prefix)) !== 0) prefix++;
  if (prefixMask(prefix) !== mask) throw new InvalidParameterError(field, netmask, 'not a contiguous netmask');
  return prefix;
}

export function cidrFromGatewayAndNetmask(gateway: string, netmask: string, netmaskField: string): Cidr {
  const prefix = netmaskToPrefix(netmaskField, netmask);
  return parseCidr(`${intToIpv4((ipv4ToInt(gateway) & prefixMask(prefix)) >>> 0)}/${prefix}`);
}

export const cidrContains = (cidr: Cidr, ip: string): boolean => {
  const n = ipv4ToInt(ip);
  return n >= cidr.first && n <= cidr.last;
};

export const rangesOverlap = (a: { first: number; last: number }, b: { first: number; last: number }): boolean =>
  a.first <= b.last && b.first <= a.last;

/** RFC 1918 private ranges. */
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map(parseCidr);
export const isPrivateCidr = (cidr: Cidr): boolean => PRIVATE.some((p) => cidr.first >= p.first && cidr.last <= p.last);

/** RFC 1123 host label: 1–63 of a-z 0-9 -, no leading digit or hyphen, no trailing hyphen. */
export function requireHostName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/.test(value)) {
    throw new InvalidParameterError(
      field,
      value,
      'must be an RFC 1123 label: 1-63 letters, digits or hyphens, starting with a letter, not ending with a hyphen',
    );
  }
  return value;
}
