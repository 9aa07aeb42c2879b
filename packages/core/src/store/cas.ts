import { sql, type Transaction } from 'kysely';
import { ConcurrentModificationError, NotFoundError } from '../errors.js';
import type { StateMachine } from '../model/state-machine.js';
import { executeCached } from './compiled-queries.js';
import type { Database } from './schema.js';
import type { Db } from './store.js';

/** Tables whose rows move through a state machine, and the column that holds the state. */
export type StatefulTable =
  | 'asyncJobs'
  | 'accounts'
  | 'users'
  | 'zones'
  | 'hosts'
  | 'storagePools'
  | 'physicalNetworks'
  | 'templates'
  | 'vmInstances'
  | 'volumes'
  | 'networks'
  | 'nics'
  | 'networkOfferings'
  | 'vpcs'
  | 'templateStoreRefs'
  | 'templatePoolRefs'
  | 'snapshots';

/** A compare-and-set transition to apply: the table and row, the state machine, the event (and a second one, `then`), and what the caller read. */
export interface CasTransition<S extends string, E extends string> {
  table: StatefulTable;
  id: number;
  machine: StateMachine<S, E>;
  event: E;
  /**
   * A second event applied in the same UPDATE, from the state `event` leads to: two steps one
   * transaction takes back to back (the middle state is never visible outside it).
   */
  then?: E;
  /** The state column (default `state`; hosts have `status` and `resourceState`). */
  column?: string;
  /**
   * What the caller read before deciding. When given, the transition succeeds only if the row
   * still holds exactly this state and version; otherwise the row is read in this transaction.
   */
  expect?: { state: S; version: number };
  /** Further columns to write in the same UPDATE. */
  set?: Record<string, unknown>;
}

/** The outcome of a {@link casTransition}: the state before, between (with `then`) and after, and the row's new version. */
export interface CasResult<S extends string> {
  from: S;
  /** The state between `event` and `then`, when a second event was given. */
  via?: S;
  to: S;
  /** The row's new version. */
  version: number;
}

/**
 * Moves one row through its state machine with compare-and-set on (state, updatedCount): the
 * UPDATE matches only if nobody changed the row since it was read, so two writers can never
 * both move the same record. Throws NoTransitionError for an illegal transition and
 * ConcurrentModificationError when the row changed underneath.
 */
export async function casTransition<S extends string, E extends string>(
  tx: Transaction<Database>,
  t: CasTransition<S, E>,
): Promise<CasResult<S>> {
  const column = t.column ?? 'state';
  let from: S;
  let version: number;
  if (t.expect) {
    from = t.expect.state;
    version = t.expect.version;
  } else {
    const { rows } = await executeCached<{ current: S; updatedCount: number }>(
      tx,
      `cas.read:${t.table}:${column}`,
      [t.id],
      (db) =>
        db
          .selectFrom(t.table)
          .select([sql.ref(column).as('current'), 'updatedCount'])
          .where('id', '=', t.id),
    );
    const row = rows[0];
    if (!row) throw new NotFoundError(t.machine.name, 'id', t.id);
    from = row.current;
    version = Number(row.updatedCount);
  }
  const first = t.machine.transition(from, t.event);
  const to = t.then === undefined ? first : t.machine.transition(first, t.then);
  const set = { ...(t.set ?? {}), [column]: to, updatedCount: version + 1 };
  const build = (db: Db) =>
    db
      .updateTable(t.table)
      .set(set as never)
      .where('id', '=', t.id)
      .where(sql.ref(column), '=', from)
      .where('updatedCount', '=', version);
  // Plain values (Kysely leaves out undefined ones) bind in key order: one compiled shape per key list.
  let key = `cas.update:${t.table}:${column}:`;
  const parameters: unknown[] = [];
  let plain = true;
  for (const [name, value] of Object.entries(set)) {
    if (value === undefined) continue;
    key += `${name},`;
    parameters.push(value);
    if (value !== null && typeof value === 'object') plain = false;
  }
  parameters.push(t.id, from, version);
  const changed = plain
    ? Number((await executeCached(tx, key, parameters, build)).numAffectedRows)
    : Number((await build(tx).executeTakeFirst()).numUpdatedRows);
  if (changed !== 1) {
    throw new ConcurrentModificationError(t.machine.name, t.id, { state: from, version });
  }
  return t.then === undefined ? { from, to, version: version + 1 } : { from, via: first, to, version: version + 1 };
}
