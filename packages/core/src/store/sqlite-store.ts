import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type DatabaseConnection, Kysely, SqliteDialect, SqliteDriver } from 'kysely';
import type { Database } from './schema.js';
import { Store } from './store.js';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' (the default) for a private in-memory database. */
  file?: string;
  /** How long a writer waits for another process's lock, in ms (default 10000). */
  busyTimeoutMs?: number;
}

/** SQLite's write transactions take the lock at BEGIN, so two processes never deadlock on upgrade. */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly options: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(options);
  }
  override createDriver() {
    return new ImmediateSqliteDriver(this.options);
  }
}

/**
 * The embedded default store: SQLite through better-sqlite3, in a file (WAL journal, so readers
 * never block the writer) or in memory.
 */
export function sqliteStore(options: SqliteStoreOptions = {}): Store {
  const file = options.file ?? ':memory:';
  const database = new BetterSqlite3(file);
  database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  if (file !== ':memory:') database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  const kysely = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database }) });
  return new Store({ engine: 'sqlite', kysely });
}
