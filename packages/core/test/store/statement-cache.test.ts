/**
 * The store's statement cache (`store/statement-cache.ts`): a statement binds the values its
 * builder placed, by name, so a binding cannot disagree with the query — in the types (a wrong
 * name or type does not compile) and at run time (the order values are given in does not matter;
 * a missing one is refused; a builder that computes with a parameter fails when it is built).
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { statement, statementFamily } from '../../src/store/statement.js';
import { runStatement } from '../../src/store/statement-cache.js';
import type { Store } from '../../src/store/store.js';

const pair = statement('pair', (db, p: { a: number; b: number }) =>
  db.selectNoFrom([sql<number>`${p.a}`.as('a'), sql<number>`${p.b}`.as('b')]),
);

const epochAbove = statementFamily(
  'epochAbove',
  (forUpdate: boolean) => String(forUpdate),
  (db, p: { min: number }, orderDesc: boolean) =>
    db
      .selectFrom('placementEpoch')
      .select('epoch')
      .where('epoch', '>=', p.min)
      .orderBy('epoch', orderDesc ? 'desc' : 'asc'),
);

let store: Store;
beforeAll(async () => {
  store = sqliteStore();
  await store.migrate();
});
afterAll(() => store.close());

describe('statement cache', () => {
  it('binds the values by name, whatever order they are given in', async () => {
    expect((await runStatement(store.db, pair, { a: 5, b: 6 })).rows).toEqual([{ a: 5, b: 6 }]);
    expect((await runStatement(store.db, pair, { b: 2, a: 1 })).rows).toEqual([{ a: 1, b: 2 }]);
    // Compiled once: the second run reused the first run's statement.
    const before = store.statements.size;
    await runStatement(store.db, pair, { a: 3, b: 4 });
    expect(store.statements.size).toBe(before);
  });

  it('binds the same way inside a transaction and on a connection no store made', async () => {
    const inTx = await store.transaction((tx) => runStatement(tx, pair, { a: 7, b: 8 }));
    expect(inTx.rows).toEqual([{ a: 7, b: 8 }]);
    const plain = await runStatement(store.db.withoutPlugins(), pair, { a: 9, b: 10 });
    expect(plain.rows).toEqual([{ a: 9, b: 10 }]);
  });

  it('compiles each shape of a family once and keeps its constants', async () => {
    const asc = await runStatement(store.db, epochAbove, { min: 0 }, false);
    const desc = await runStatement(store.db, epochAbove, { min: 0 }, true);
    expect(asc.rows.length).toBeGreaterThan(0);
    expect(desc.rows).toEqual([...asc.rows].reverse());
    expect((await runStatement(store.db, epochAbove, { min: Number.MAX_SAFE_INTEGER }, false)).rows).toEqual([]);
  });

  it('refuses a run missing a value, and a builder that reads a parameter as a value', async () => {
    await expect(runStatement(store.db, pair, { a: 1 } as { a: number; b: number })).rejects.toThrow(
      /no value for parameter "b"/,
    );
    const computes = statement('computes', (db, p: { n: number }) => db.selectNoFrom(sql<number>`${p.n + 1}`.as('n')));
    await expect(runStatement(store.db, computes, { n: 1 })).rejects.toThrow(/"n" was read as a value/);
  });

  it('does not compile a mismatched binding', () => {
    // Type-level only (checked by `npm run typecheck`): never run.
    const typeChecks = () => {
      // @ts-expect-error b must be a number
      void runStatement(store.db, pair, { a: 1, b: 'x' });
      // @ts-expect-error c is not a parameter of pair
      void runStatement(store.db, pair, { a: 1, b: 2, c: 3 });
      // @ts-expect-error a family needs its shape
      void runStatement(store.db, epochAbove, { min: 0 });
      // @ts-expect-error a statement with one shape takes none
      void runStatement(store.db, pair, { a: 1, b: 2 }, true);
    };
    expect(typeof typeChecks).toBe('function');
  });
});
