import { type Kysely, sql } from 'kysely';
import type { Database } from '../../src/store/schema.js';
import type { Store } from '../../src/store/store.js';

/** Every row of every table, keyed by the table's SQL name, each table in a fixed order. */
export type StoreSnapshot = Record<string, Array<Record<string, unknown>>>;

/**
 * The tables the store really has, read from the engine's catalogue rather than from the
 * `Database` interface, so a table appended to the schema by a later migration is covered without
 * touching this file (and the migration bookkeeping tables are covered too). SQLite's own
 * `sqlite_*` tables are left out.
 */
async function tableNames(store: Store, db: Kysely<Database>): Promise<string[]> {
  const rows =
    store.engine === 'sqlite'
      ? await sql<{ tbl: string }>`
          select name as tbl from sqlite_master
          where type = 'table' and name not like 'sqlite\\_%' escape '\\'
          order by name`.execute(db)
      : await sql<{ tbl: string }>`
          select table_name as tbl from information_schema.tables
          where table_schema = current_schema() and table_type = 'BASE TABLE'
          order by table_name`.execute(db);
  return rows.rows.map((r) => r.tbl);
}

async function columnNames(store: Store, db: Kysely<Database>, table: string): Promise<string[]> {
  const rows =
    store.engine === 'sqlite'
      ? await sql<{ col: string }>`select name as col from pragma_table_info(${table}) order by cid`.execute(db)
      : await sql<{ col: string }>`
          select column_name as col from information_schema.columns
          where table_schema = current_schema() and table_name = ${table}
          order by ordinal_position`.execute(db);
  return rows.rows.map((r) => r.col);
}

/**
 * Reads the whole store: `select *` from every table, ordered by `id` where the table has one and
 * by all of its columns otherwise. Two snapshots are `toEqual` exactly when no row was inserted,
 * updated or deleted in between — including the `events` table, so a rejected operation that
 * appended an event shows up as a difference.
 */
export async function snapshot(store: Store): Promise<StoreSnapshot> {
  // Raw SQL names (no camel-case mapping): the snapshot names tables and columns as the engine does.
  const db = store.db.withoutPlugins();
  const out: StoreSnapshot = {};
  for (const table of await tableNames(store, db)) {
    const columns = await columnNames(store, db, table);
    const order = columns.includes('id') ? ['id'] : columns;
    const result = await sql<Record<string, unknown>>`select * from ${sql.table(table)} order by ${sql.join(
      order.map((c) => sql.ref(c)),
    )}`.execute(db);
    out[table] = result.rows.map((row) => ({ ...row }));
  }
  return out;
}
