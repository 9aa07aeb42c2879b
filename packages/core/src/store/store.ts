import { CamelCasePlugin, type Kysely, type KyselyPlugin, Migrator, sql, type Transaction } from 'kysely';
import type { StoreEngine } from './dialect.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

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

  constructor(connection: StoreConnection) {
    this.engine = connection.engine;
    this.db = connection.kysely.withPlugin(connection.namePlugin ?? new CamelCasePlugin());
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
    return this.db.transaction().execute(fn);
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
