import { type ColumnDefinitionBuilder, type CreateTableBuilder, sql } from 'kysely';

/** The SQL engines the store runs on. */
export type StoreEngine = 'sqlite' | 'postgres';

/**
 * Adds the internal numeric primary key in the engine's own idiom: SQLite's rowid alias,
 * PostgreSQL's identity column. Everything else in the schema is portable as written.
 */
export function withId<T extends string>(engine: StoreEngine, table: CreateTableBuilder<T, never>) {
  return engine === 'sqlite'
    ? table.addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    : table.addColumn('id', 'bigint', (c) => c.primaryKey().generatedByDefaultAsIdentity());
}

/** Columns every entity table has: uuid, created, removed. */
export function withBase<T extends string>(engine: StoreEngine, table: CreateTableBuilder<T, never>) {
  return withId(engine, table)
    .addColumn('uuid', 'text', (c) => c.notNull().unique())
    .addColumn('created', 'bigint', (c) => c.notNull())
    .addColumn('removed', 'bigint');
}

/** The compare-and-set version column. */
export const versioned = (c: ColumnDefinitionBuilder) => c.notNull().defaultTo(0);

/** A partial-index predicate: only live (not soft-deleted) rows take part in a uniqueness rule. */
export const live = sql<boolean>`removed is null`;
