import { v7 } from 'uuid';

/**
 * A new row's uuid: time-ordered (RFC 9562 version 7: a millisecond timestamp, then random bits),
 * so each insert lands at the end of its table's uuid index instead of on a random page — on
 * SQLite a random uuid dirtied one more index page per row, and every dirty page is written to
 * the WAL at commit.
 */
export const newUuid = (): string => v7();
