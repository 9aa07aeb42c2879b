/**
 * Helpers for tests that need the run's PostgreSQL (started by `global-setup.ts`).
 *
 * ```ts
 * describe.skipIf(!pgAvailable())(`store on postgres${pgSkipSuffix()}`, () => {
 *   let db: TestDatabase;
 *   beforeAll(async () => { db = await createTestDatabase('store'); });
 *   afterAll(async () => { await db?.drop(); });
 *   it('works', async () => { ... new pg.Client(db.url) ... });
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { PG_ENV, type PgFacts } from './pg-env.js';

export type { PgFacts } from './pg-env.js';

const NOT_STARTED =
  'PostgreSQL was not started (the vitest globalSetup packages/testkit/src/harness/global-setup.ts did not run)';

interface Provided {
  pg: PgFacts | null;
  reason: string | null;
}

/** What the globalSetup provided, or `undefined` outside a vitest worker / when nothing was provided. */
function provided(): Provided | undefined {
  try {
    const facts = inject('pg');
    if (facts === undefined) return undefined;
    return { pg: facts, reason: inject('pgSkipReason') ?? null };
  } catch {
    return undefined;
  }
}

function fromEnv(): Provided {
  const url = process.env[PG_ENV.url];
  const adminUrl = process.env[PG_ENV.adminUrl];
  const port = Number(process.env[PG_ENV.port]);
  if (url && adminUrl && Number.isInteger(port) && port > 0) {
    return {
      pg: {
        host: process.env[PG_ENV.host] ?? '127.0.0.1',
        port,
        socketDir: process.env[PG_ENV.socketDir] ?? '',
        url,
        adminUrl,
        version: process.env[PG_ENV.version] ?? '',
      },
      reason: null,
    };
  }
  return { pg: null, reason: process.env[PG_ENV.skip] ?? NOT_STARTED };
}

function current(): Provided {
  return provided() ?? fromEnv();
}

/** Connection facts of the run's PostgreSQL, or `null` when it is not available. */
export function pgFacts(): PgFacts | null {
  return current().pg;
}

/** True when the run's PostgreSQL is up. */
export function pgAvailable(): boolean {
  return current().pg !== null;
}

/** Why PostgreSQL is not available, or `null` when it is. */
export function pgSkipReason(): string | null {
  const c = current();
  return c.pg === null ? (c.reason ?? NOT_STARTED) : null;
}

/** `''` when PostgreSQL is available, else ` (skipped: <reason>)`: append it to a suite name. */
export function pgSkipSuffix(): string {
  const reason = pgSkipReason();
  return reason === null ? '' : ` (skipped: ${reason})`;
}

/** A database created for one test file on the harness's PostgreSQL, with its URL and a drop function. */
export interface TestDatabase {
  /** Connection URL for role `stratus` to the new database. */
  url: string;
  /** The database name. */
  database: string;
  /** Terminates every connection to the database and drops it. Idempotent. */
  drop(): Promise<void>;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `${prefix}_${VITEST_POOL_ID}_${random}`, lower-case, at most 63 bytes (PostgreSQL's identifier limit). */
export function testDatabaseName(prefix: string): string {
  let p = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 32);
  if (!/^[a-z_]/.test(p)) p = `db_${p}`;
  const pool = (process.env.VITEST_POOL_ID ?? '0').replace(/[^0-9a-z]/gi, '').slice(0, 8) || '0';
  return `${p}_${pool}_${randomBytes(5).toString('hex')}`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function urlFor(base: string, database: string): string {
  const u = new URL(base);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/**
 * Creates a fresh, uniquely named database owned by role `stratus`, so test files (and tests) are independent.
 * Throws when PostgreSQL is not available: guard the suite with `describe.skipIf(!pgAvailable())`.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const facts = pgFacts();
  if (facts === null) throw new Error(`createTestDatabase: ${pgSkipReason() ?? NOT_STARTED}`);
  const database = testDatabaseName(prefix);
  // role stratus has CREATEDB; the database it creates is owned by it
  await withClient(facts.url, (c) => c.query(`CREATE DATABASE ${quoteIdent(database)}`));
  let dropped: Promise<void> | null = null;
  const drop = (): Promise<void> => {
    dropped ??= withClient(facts.adminUrl, async (c) => {
      await c.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
    }).catch((err: unknown) => {
      dropped = null; // allow a retry
      throw err;
    });
    return dropped;
  };
  return { url: urlFor(facts.url, database), database, drop };
}
