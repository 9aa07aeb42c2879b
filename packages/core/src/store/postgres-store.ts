import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { loadOptionalPeer } from './optional-peer.js';
import type { Database } from './schema.js';
import { Store } from './store.js';

/** Options of {@link postgresStore}: the connection string, the pool size and further `pg` pool settings. */
export interface PostgresStoreOptions {
  /** e.g. `postgres://stratus:secret@db:5432/stratus` */
  connectionString: string;
  /** Pool size (default 10). */
  max?: number;
  /** Further pg pool settings (ssl, timeouts, …); the type parsers are Stratus's own. */
  poolConfig?: Omit<pg.PoolConfig, 'types'>;
}

const BIGINT_OID = 20;
const NUMERIC_OID = 1700;

/**
 * PostgreSQL store, for several control planes sharing one database. 64-bit integers are parsed
 * to JavaScript numbers (exact up to 2^53, far beyond any id, byte or MHz count Stratus keeps).
 *
 * pg is an optional peer dependency of `@stratus/core`, loaded here, when the store is created.
 * @throws MissingDependencyError (`field` `package`, `value` `pg`) when it is not installed.
 */
export function postgresStore(options: PostgresStoreOptions): Store {
  const pg = loadOptionalPeer<typeof import('pg')>('pg', 'postgresStore()');
  const pool = new pg.Pool({
    ...options.poolConfig,
    ...(options.connectionString ? { connectionString: options.connectionString } : {}),
    max: options.max ?? options.poolConfig?.max ?? 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
        if (oid === BIGINT_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
        return pg.types.getTypeParser(oid, format);
      }) as typeof pg.types.getTypeParser,
    },
  });
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new Store({ engine: 'postgres', kysely });
}
