/** The few IPv4 facts the driver needs: prefix length of a CIDR, and whether an address lies in it. */

function toInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new Error(`not an IPv4 address: ${ip}`);
  return (
    (((parts[0] as number) << 24) |
      ((parts[1] as number) << 16) |
      ((parts[2] as number) << 8) |
      (parts[3] as number)) >>>
    0
  );
}

/** Is `value` a dotted-quad IPv4 address? */
export function isIpv4(value: string): boolean {
  try {
    toInt(value);
    return true;
  } catch {
    return false;
  }
}

/** Prefix length of `a.b.c.d/n`; throws when it is not one. */
export function prefixLength(cidr: string): number {
  const [ip, len] = cidr.split('/');
  const n = Number(len);
  if (ip === undefined || !isIpv4(ip) || !Number.isInteger(n) || n < 0 || n > 32)
    throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return n;
}

/** Is `ip` inside `cidr`? */
export function inCidr(ip: string, cidr: string): boolean {
  const n = prefixLength(cidr);
  const base = toInt(cidr.split('/')[0] as string);
  const mask = n === 0 ? 0 : (~0 << (32 - n)) >>> 0;
  return (toInt(ip) & mask) >>> 0 === (base & mask) >>> 0;
}
