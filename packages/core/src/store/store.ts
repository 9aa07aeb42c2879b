import {
  CamelCasePlugin,
  type CompiledQuery,
  type Kysely,
  type KyselyPlugin,
  Migrator,
  type QueryResult,
  sql,
  type Transaction,
} from 'kysely';
import type { StoreEngine } from './dialect.js';
import { type EventRow, insertEventRows, insertUsageEventRows, type UsageEventRow } from './event-rows.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';
import { StatementCache } from './statement-cache.js';
import { bindConnection, connectionOf, unbindConnection } from './store-connections.js';

/** A transaction, or the store's root connection, with the schema's types. */
export type Db = Kysely<Database> | Transaction<Database>;

/** What an engine adapter gives the {@link Store}. */
export interface StoreConnection {
  engine: StoreEngine;
  /** A Kysely instance without the camel-case plugin; the store adds it. Destroying it releases the engine. */
  kysely: Kysely<Database>;
  /**
   * The plugin that maps the schema's camelCase names to the engine's snake_case (default Kysely's
   * CamelCasePlugin); an engine may give an equivalent one that does the work more cheaply.
   */
  namePlugin?: KyselyPlugin;
  /**
   * Calls `listener` after each commit of this store's own connection that wrote `table` (snake_case
   * name), where the engine can tell (the embedded one); see {@link Store.watchWrites}.
   */
  watchWrites?(table: string, listener: () => void): boolean;
  /**
   * Runs a compiled query at once, past Kysely's executor, where the engine can (an embedded,
   * synchronous one): `inTransaction` on the connection of the transaction in progress,
   * `outside` for a statement outside any transaction. Either returns undefined where it cannot,
   * and the query goes through Kysely.
   */
  direct?: {
    inTransaction(query: CompiledQuery): QueryResult<unknown> | undefined;
    outside(query: CompiledQuery): QueryResult<unknown> | undefined;
  };
}

/**
 * Runs `query` at once on `db`'s own connection when its store can (an embedded engine, `db` its
 * root connection or a transaction still in progress); undefined otherwise.
 */
export function runDirect(db: Db, query: CompiledQuery): QueryResult<unknown> | undefined {
  return connectionOf(db)?.direct?.(query);
}

/**
 * The persistence layer: one schema and one set of migrations on SQLite or PostgreSQL. Every
 * multi-row change runs in {@link Store.transaction}; contended rows are protected by unique
 * indexes and version columns (see `cas.ts`), never by in-process locks alone, so several
 * processes can share one database.
 */
export class Store {
  readonly engine: StoreEngine;
  readonly db: Kysely<Database>;
  private migrated = false;

  /** The statements this store has compiled (see `runStatement`). */
  readonly statements = new StatementCache();

  private readonly direct: StoreConnection['direct'];
  private readonly watch: StoreConnection['watchWrites'];

  constructor(connection: StoreConnection) {
    this.engine = connection.engine;
    this.watch = connection.watchWrites;
    this.db = connection.kysely.withPlugin(connection.namePlugin ?? new CamelCasePlugin());
    this.direct = connection.direct;
    const direct = this.direct;
    bindConnection(this.db, {
      statements: this.statements,
      direct: direct ? (query) => direct.outside(query) : undefined,
    });
  }

  /** Applies pending migrations. Safe to call from several processes at once. */
  async migrate(): Promise<void> {
    if (this.migrated) return;
    const list = migrations(this.engine);
    const migrator = new Migrator({
      db: this.db,
      provider: { getMigrations: async () => list },
      migrationTableName: 'stratus_migrations',
      migrationLockTableName: 'stratus_migrations_lock',
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`store migration ${failed?.migrationName ?? ''} failed: ${String(error)}`, { cause: error });
    }
    this.migrated = true;
  }

  /**
   * Runs `fn` in one transaction: all of its writes commit together or none do. On SQLite the
   * transaction takes the write lock up front (BEGIN IMMEDIATE), so concurrent writers queue
   * instead of failing mid-transaction.
   */
  transaction<T>(fn: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    const direct = this.direct;
    return this.db.transaction().execute(async (tx) => {
      // Bound only while the transaction is in progress: afterwards `tx` goes through Kysely,
      // which refuses a finished transaction.
      bindConnection(tx, {
        statements: this.statements,
        direct: direct ? (query) => direct.inTransaction(query) : undefined,
      });
      try {
        return await fn(tx);
      } finally {
        unbindConnection(tx);
      }
    });
  }

  /**
   * Calls `listener` after each commit of this store that wrote `table` (its SQL name, e.g.
   * `placement_epoch`; the schema's own triggers' writes count). Only this store's writes are seen,
   * not another process's. False where the engine cannot tell (PostgreSQL), or cannot yet (the
   * table is not migrated, or a transaction is in progress): the caller reads the table instead.
   */
  watchWrites(table: string, listener: () => void): boolean {
    return this.watch?.(table, listener) ?? false;
  }

  /**
   * Writes `rows` to the event log in one statement and returns their ids, in order (how the ids
   * are learnt depends on the engine; see `insertEventRows`).
   */
  insertEvents(db: Db, rows: readonly EventRow[]): Promise<number[]> {
    return insertEventRows(this.engine, db, rows);
  }

  /** Writes usage event rows in one statement. */
  insertUsageEvents(db: Db, rows: readonly UsageEventRow[]): Promise<void> {
    return insertUsageEventRows(db, rows);
  }

  /**
   * Serialises transactions that check-then-insert under a rule no unique index can express
   * (e.g. "pod reserved ranges never overlap"). PostgreSQL: a transaction-scoped advisory lock
   * on the name. SQLite: nothing to do, every write transaction already holds the database lock.
   */
  async lock(tx: Transaction<Database>, name: string): Promise<void> {
    if (this.engine === 'postgres') {
      await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(tx);
    }
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
