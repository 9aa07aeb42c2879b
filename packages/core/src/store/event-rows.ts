import type { Insertable } from 'kysely';
import type { StoreEngine } from './dialect.js';
import type { Database } from './schema.js';
import { statementFamily } from './statement.js';
import { runStatement } from './statement-cache.js';
import type { Db } from './store.js';

/** An event row as a transaction writes it (the store gives the id). */
export type EventRow = Required<Omit<Insertable<Database['events']>, 'id'>>;

/** A usage event row as a transaction writes it (the store gives the id). */
export type UsageEventRow = Required<Omit<Insertable<Database['usageEvents']>, 'id'>>;

const EVENT_COLUMNS = [
  'uuid',
  'type',
  'state',
  'level',
  'description',
  'userId',
  'accountId',
  'domainId',
  'resourceType',
  'resourceId',
  'resourceUuid',
  'startId',
  'parameters',
  'created',
  'archived',
] as const satisfies ReadonlyArray<keyof EventRow>;

const USAGE_COLUMNS = [
  'type',
  'accountId',
  'domainId',
  'zoneId',
  'resourceId',
  'resourceName',
  'offeringId',
  'templateId',
  'size',
  'resourceType',
  'created',
] as const satisfies ReadonlyArray<keyof UsageEventRow>;

/** The values of a batch of rows, one parameter per row and column: `<column>.<row>`. */
type Batch = Record<string, unknown>;

function flatten<Row extends object>(rows: readonly Row[], columns: ReadonlyArray<keyof Row & string>): Batch {
  const batch: Batch = {};
  rows.forEach((row, i) => {
    for (const c of columns) batch[`${c}.${i}`] = row[c];
  });
  return batch;
}

function rowsOf<Row>(p: Batch, columns: readonly string[], count: number): Row[] {
  return Array.from({ length: count }, (_, i) => Object.fromEntries(columns.map((c) => [c, p[`${c}.${i}`]])) as Row);
}

const byCount = (count: number) => String(count);

const insertEvents = statementFamily('insertEvents', byCount, (db, p: Batch, count: number) =>
  db.insertInto('events').values(rowsOf<EventRow>(p, EVENT_COLUMNS, count)),
);

const insertEventsReturning = statementFamily('insertEventsReturning', byCount, (db, p: Batch, count: number) =>
  db
    .insertInto('events')
    .values(rowsOf<EventRow>(p, EVENT_COLUMNS, count))
    .returning(['id', 'uuid']),
);

const insertUsageEvents = statementFamily('insertUsageEvents', byCount, (db, p: Batch, count: number) =>
  db.insertInto('usageEvents').values(rowsOf<UsageEventRow>(p, USAGE_COLUMNS, count)),
);

/**
 * Inserts `rows` into the event log in one statement and returns their ids, in order. SQLite: one
 * INSERT gives its rows consecutive rowids, in order, ending at the last insert id; PostgreSQL:
 * the ids the INSERT returns, matched by uuid.
 */
export async function insertEventRows(engine: StoreEngine, db: Db, rows: readonly EventRow[]): Promise<number[]> {
  const batch = flatten(rows, EVENT_COLUMNS);
  if (engine === 'sqlite') {
    const { insertId } = await runStatement(db, insertEvents, batch, rows.length);
    const first = Number(insertId) - rows.length + 1;
    return rows.map((_, i) => first + i);
  }
  const { rows: ids } = await runStatement(db, insertEventsReturning, batch, rows.length);
  const byUuid = new Map(ids.map((r) => [r.uuid, Number(r.id)]));
  return rows.map((r) => byUuid.get(r.uuid)!);
}

/** Inserts usage event rows in one statement. */
export async function insertUsageEventRows(db: Db, rows: readonly UsageEventRow[]): Promise<void> {
  await runStatement(db, insertUsageEvents, flatten(rows, USAGE_COLUMNS), rows.length);
}
