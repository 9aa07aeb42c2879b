import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { postgresStore } from '../src/store/postgres-store.js';
import { sqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-watch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** `Store.watchWrites` on the embedded store: told of this store's commits to a table, at commit only. */
describe('SQLite store write watch', () => {
  let store: Store;
  let other: Store;
  let seen: number;
  let n = 0;

  beforeEach(async () => {
    const file = join(dir, `watch-${++n}.db`);
    store = sqliteStore({ file });
    other = sqliteStore({ file });
    await sql`create table watched (id integer primary key, v integer not null)`.execute(store.db);
    await sql`create table plain (id integer primary key, v integer not null)`.execute(store.db);
    // Writes to `plain` reach `watched` through the schema's own trigger, as placement-epoch bumps do.
    await sql`create trigger plain_bumps after insert on plain begin update watched set v = v + 1 where id = 1; end`.execute(
      store.db,
    );
    await sql`insert into watched (id, v) values (1, 0)`.execute(store.db);
    seen = 0;
    expect(store.watchWrites('watched', () => seen++)).toBe(true);
  });
  afterEach(async () => {
    await other.close();
    await store.close();
  });

  it('reports a committed transaction once, after its COMMIT, and never a rolled-back one', async () => {
    await store.transaction(async (tx) => {
      await sql`update watched set v = 5 where id = 1`.execute(tx);
      await sql`update watched set v = 6 where id = 1`.execute(tx);
      expect(seen).toBe(0);
    });
    expect(seen).toBe(1);

    await expect(
      store.transaction(async (tx) => {
        await sql`update watched set v = 7 where id = 1`.execute(tx);
        throw new Error('give up');
      }),
    ).rejects.toThrow('give up');
    expect(seen).toBe(1);
  });

  it('reports a single statement outside a transaction, and writes made by the schema’s triggers', async () => {
    await sql`update watched set v = 9 where id = 1`.execute(store.db);
    expect(seen).toBe(1);
    await store.transaction((tx) => sql`insert into plain (v) values (1)`.execute(tx));
    expect(seen).toBe(2);
  });

  it('reports a transaction that joined a commit group when the group commits', async () => {
    let releaseFirst!: () => void;
    const firstHolds = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    const first = store.transaction(async (tx) => {
      await sql`insert into plain (v) values (2)`.execute(tx);
      await firstHolds;
    });
    await tick();
    const second = store.transaction((tx) => sql`update watched set v = 11 where id = 1`.execute(tx));
    await tick();
    expect(seen).toBe(0);
    releaseFirst();
    await Promise.all([first, second]);
    expect(seen).toBeGreaterThanOrEqual(1);
    const { rows } = await sql<{ v: number }>`select v from watched where id = 1`.execute(store.db);
    expect(rows[0]!.v).toBe(11);
  });

  it('does not report other tables, or another connection’s writes to the file', async () => {
    await sql`update plain set v = 1`.execute(store.db);
    await sql`update watched set v = 3 where id = 1`.execute(other.db);
    expect(seen).toBe(0);
  });

  it('refuses to watch a table that does not exist yet', () => {
    expect(store.watchWrites('missing', () => {})).toBe(false);
  });
});

describe('PostgreSQL store write watch', () => {
  it('is not available (callers read the table instead)', async () => {
    const store = postgresStore({ connectionString: 'postgres://127.0.0.1:1/none' });
    try {
      expect(store.watchWrites('placement_epoch', () => {})).toBe(false);
    } finally {
      await store.close();
    }
  });
});
