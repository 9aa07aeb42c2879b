import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase, pgAvailable, pgFacts, pgSkipSuffix, testDatabaseName } from '../src/harness/postgres.js';

async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const res = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return res.rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('testDatabaseName', () => {
  it('is a safe, unique identifier within 63 bytes', () => {
    const a = testDatabaseName('My Suite/With-Odd chars and a very long name that goes on and on');
    const b = testDatabaseName('My Suite/With-Odd chars and a very long name that goes on and on');
    expect(a).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(testDatabaseName('9lives')).toMatch(/^db_9lives_/);
  });
});

describe.skipIf(!pgAvailable())(`postgres harness${pgSkipSuffix()}`, () => {
  it('provides the same facts through inject and the environment', () => {
    const facts = pgFacts();
    expect(facts).not.toBeNull();
    expect(inject('pg')).toEqual(facts);
    expect(process.env.STRATUS_PG_URL).toBe(facts?.url);
    expect(facts?.version).toMatch(/^15\./);
  });

  it('createTestDatabase gives a URL a pg.Client can use; drop removes it', async () => {
    const db = await createTestDatabase('harness');
    const admin = pgFacts()!.adminUrl;
    expect(await databaseExists(admin, db.database)).toBe(true);

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const res = await client.query<{ one: number; db: string; who: string }>(
        'select 1 as one, current_database() as db, current_user as who',
      );
      expect(res.rows).toEqual([{ one: 1, db: db.database, who: 'stratus' }]);
      await client.query('create table t (id int primary key)');
    } finally {
      await client.end();
    }

    // a connection left open must not stop drop()
    const lingering = new pg.Client({ connectionString: db.url });
    lingering.on('error', () => undefined);
    await lingering.connect();
    await db.drop();
    await db.drop(); // idempotent
    expect(await databaseExists(admin, db.database)).toBe(false);
    await lingering.end().catch(() => undefined);
  });

  it('gives independent databases', async () => {
    const [a, b] = await Promise.all([createTestDatabase('indep'), createTestDatabase('indep')]);
    try {
      expect(a.database).not.toBe(b.database);
      const ca = new pg.Client({ connectionString: a.url });
      const cb = new pg.Client({ connectionString: b.url });
      await Promise.all([ca.connect(), cb.connect()]);
      try {
        await ca.query('create table only_in_a (x int)');
        const res = await cb.query("select to_regclass('only_in_a') as r");
        expect(res.rows[0]?.r).toBeNull();
      } finally {
        await Promise.all([ca.end(), cb.end()]);
      }
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });
});
