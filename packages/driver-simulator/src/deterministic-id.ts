import { createHash } from 'node:crypto';

/**
 * A uuid derived from a name (RFC 4122 version 5 layout over SHA-1), so the same simulated object always gets
 * the same identity: no randomness anywhere in the simulator.
 */
export function nameUuid(name: string): string {
  const hex = createHash('sha1').update(`stratus-simulator:${name}`).digest('hex');
  const variant = ((Number.parseInt(hex.slice(16, 18), 16) & 0x3f) | 0x80).toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(18, 20)}-${hex.slice(20, 32)}`;
}
