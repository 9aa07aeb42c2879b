import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-groups-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Transactions that wait for the writer while another runs share its SQLite transaction and one
 * COMMIT. Each must still be atomic on its own, and none may be reported before it is committed.
 */
describe('SQLite commit groups', () => {
  let file: string;
  let store: Store;
  /** Another process's view: only what has been committed. */
  let observer: BetterSqlite3.Database;
  let n = 0;

  beforeEach(async () => {
    file = join(dir, `groups-${++n}.db`);
    store = sqliteStore({ file });
    await sql`create table parent (id integer primary key, v text not null)`.execute(store.db);
    await sql`create table child (id integer primary key, parent_id integer not null references parent(id))`.execute(
      store.db,
    );
    observer = new BetterSqlite3(file, { readonly: true });
  });
  afterEach(async () => {
    observer.close();
    await store.close();
  });

  const committed = () =>
    (observer.prepare('select v from parent order by id').all() as { v: string }[]).map((r) => r.v);
  const insert = (db: Parameters<Parameters<Store['transaction']>[0]>[0], v: string) =>
    sql`insert into parent (v) values (${v})`.execute(db);

  it('reports a transaction that joined a group only once the group has committed', async () => {
    const inB = deferred();
    const releaseB = deferred();
    let aDone = false;
    const a = store
      .transaction(async (tx) => {
        await insert(tx, 'a');
        await tick();
      })
      .then(() => {
        aDone = true;
      });
    const b = store.transaction(async (tx) => {
      await insert(tx, 'b');
      inB.release();
      await releaseB.promise;
    });
    await inB.promise;
    // A has finished its work, but it shares B's SQLite transaction: neither is committed yet.
    await tick();
    expect(aDone).toBe(false);
    expect(committed()).toEqual([]);
    releaseB.release();
    await Promise.all([a, b]);
    expect(committed()).toEqual(['a', 'b']);
  });

  it('rolls back a failing member alone; the others commit', async () => {
    const results = await Promise.allSettled(
      ['a', 'b', 'c', 'd'].map((v) =>
        store.transaction(async (tx) => {
          await insert(tx, v);
          await tick();
          if (v === 'b' || v === 'd') throw new Error(`member ${v} fails`);
          await insert(tx, `${v}2`);
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected']);
    expect(committed()).toEqual(['a', 'a2', 'c', 'c2']);
  });

  it('fails every member when the shared COMMIT fails, and keeps none of their rows', async () => {
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        await insert(tx, 'a');
        await tick();
      }),
      store.transaction(async (tx) => {
        // A deferred foreign key is checked at COMMIT: this member makes the shared COMMIT fail.
        await sql`pragma defer_foreign_keys = on`.execute(tx);
        await sql`insert into child (parent_id) values (999)`.execute(tx);
      }),
      store.transaction(async (tx) => {
        await insert(tx, 'c');
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const r of results) expect(String((r as PromiseRejectedResult).reason)).toMatch(/FOREIGN KEY/);
    expect(committed()).toEqual([]);
    // The writer is free and the store works on.
    await store.transaction((tx) => insert(tx, 'after'));
    expect(committed()).toEqual(['after']);
  });

  it('lets a statement outside any transaction join an open group and return after its COMMIT', async () => {
    const memory = sqliteStore();
    await sql`create table parent (id integer primary key, v text not null)`.execute(memory.db);
    const order: string[] = [];
    const a = memory
      .transaction(async (tx) => {
        await insert(tx, 'a');
        await tick();
      })
      .then(() => order.push('a'));
    // In memory there is one connection: this read waits for the writer and runs in A's group.
    const read = sql<{ n: number }>`select count(*) as n from parent`
      .execute(memory.db)
      .then((r) => order.push(`read ${r.rows[0]!.n}`));
    const b = memory.transaction((tx) => insert(tx, 'b')).then(() => order.push('b'));
    await Promise.all([a, read, b]);
    expect(order.sort()).toEqual(['a', 'b', 'read 1']);
    const rows = await sql<{ v: string }>`select v from parent order by id`.execute(memory.db);
    expect(rows.rows.map((r) => r.v)).toEqual(['a', 'b']);
    await memory.close();
  });

  it('commits 500 concurrent transactions in fewer COMMITs, every row present once', async () => {
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        store.transaction(async (tx) => {
          await insert(tx, `v${i}`);
          await tick();
          await insert(tx, `w${i}`);
        }),
      ),
    );
    const rows = committed();
    expect(rows).toHaveLength(1000);
    expect(new Set(rows).size).toBe(1000);
    // Each transaction's two rows are adjacent: members never interleave.
    for (let i = 0; i < rows.length; i += 2) expect(rows[i + 1]).toBe(`w${rows[i]!.slice(1)}`);
    // Every COMMIT appends at least one page frame (4 KiB + a 24-byte header) to the WAL: one
    // COMMIT per transaction would leave at least 500 frames.
    const frames = statSync(`${file}-wal`).size / (4096 + 24);
    expect(frames).toBeLessThan(100);
  });
});
