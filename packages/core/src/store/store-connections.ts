import type { CompiledQuery, QueryResult } from 'kysely';
import type { StatementCache } from './statement-cache.js';

/** What a store gives each of its connections (its root one, and each transaction while it runs). */
export interface StoreConnectionBinding {
  /** The store's statement cache. */
  readonly statements: StatementCache;
  /** Runs a compiled query at once on this connection, where the engine can (see `StoreConnection.direct`). */
  readonly direct: ((query: CompiledQuery) => QueryResult<unknown> | undefined) | undefined;
}

/**
 * Which store a connection belongs to: the store registers its root connection when it is made and
 * each transaction while it is in progress, so a statement run on any of them finds the store's
 * cache. A connection not made by a store (e.g. `withoutPlugins()`) has none.
 */
const bindings = new WeakMap<object, StoreConnectionBinding>();

/** Registers `db` as a connection of the store that owns `binding`. */
export function bindConnection(db: object, binding: StoreConnectionBinding): void {
  bindings.set(db, binding);
}

/** Forgets `db` (a transaction that ended). */
export function unbindConnection(db: object): void {
  bindings.delete(db);
}

/** The store binding of `db`, if a store made it. */
export function connectionOf(db: object): StoreConnectionBinding | undefined {
  return bindings.get(db);
}
