import { randomUUID } from 'node:crypto';

/**
 * A new row's uuid: time-ordered (RFC 9562 version 7: a 48-bit millisecond timestamp, the version,
 * then random bits), so each insert lands at the end of its table's uuid index instead of on a
 * random page — on SQLite a random uuid dirtied one more index page per row, and every dirty page is
 * written to the WAL at commit. The random part and the variant bits are those of Node's (pooled)
 * version-4 generator.
 */
export function newUuid(): string {
  const now = Date.now();
  if (now !== prefixMs) {
    const ms = now.toString(16).padStart(12, '0');
    prefix = `${ms.slice(0, 8)}-${ms.slice(8)}-7`;
    prefixMs = now;
  }
  // xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx: everything after the version digit.
  return prefix + randomUUID().slice(15);
}

/** The timestamp and version part of this millisecond's uuids. */
let prefix = '';
let prefixMs = -1;
