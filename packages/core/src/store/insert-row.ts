import type { Insertable } from 'kysely';
import type { Database, TableName } from './schema.js';
import { statementFamily } from './statement.js';
import { runStatement } from './statement-cache.js';
import type { Db } from './store.js';

/** The shape of an inserted row: its table, the columns it gives, and the columns returned. */
interface InsertShape {
  readonly table: TableName;
  readonly columns: readonly string[];
  readonly returning: '*' | readonly string[];
  readonly key: string;
}

/** Inserts one row; each value is the parameter named by its column. */
const insertOne = statementFamily(
  'insertRow',
  (s: InsertShape) => s.key,
  (db, p: Record<string, unknown>, s: InsertShape) => {
    const insert = db
      .insertInto(s.table)
      .values(Object.fromEntries(s.columns.map((c) => [c, p[c]])) as Insertable<Database[TableName]>);
    if (s.returning === '*') return insert.returningAll();
    return s.returning.length > 0 ? insert.returning(s.returning as never) : insert;
  },
);

/**
 * Inserts one row and returns the `returning` columns of it (all columns for `'*'`), with a
 * statement compiled once per table, column list and returned columns; each value binds to its
 * column by name. The values must be plain (numbers, strings, null; no undefined, no SQL
 * expressions).
 */
export async function insertRow<T extends TableName, R = Record<string, unknown>>(
  db: Db,
  table: T,
  values: Insertable<Database[T]>,
  returning: '*' | readonly string[] = [],
): Promise<R> {
  const columns = Object.keys(values);
  const key = `${table}:${columns.join(',')}:${typeof returning === 'string' ? returning : returning.join(',')}`;
  const { rows } = await runStatement(db, insertOne, values as Record<string, unknown>, {
    table,
    columns,
    returning,
    key,
  });
  return rows[0] as R;
}
