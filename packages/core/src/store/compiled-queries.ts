import type { CompiledQuery, KyselyPlugin, QueryResult } from 'kysely';
import { type Db, runDirect } from './store.js';

/**
 * Hot statements compiled once and re-executed with new parameters. Building a Kysely query and
 * compiling it costs more than SQLite takes to run a point query; a statement run several times
 * per deployment (a lookup by id, an event insert) is built once per store flavour instead.
 *
 * The cache is keyed by the store's name-mapping plugin (one per store engine: a store's root
 * connection and its transactions share it, and it fixes both dialect and naming) and by a key
 * naming the statement's shape. A `db` with another plugin setup (e.g. `withoutPlugins()`) is
 * not cached.
 */
const caches = new WeakMap<KyselyPlugin, Map<string, CompiledQuery>>();

/** How many shapes one store flavour keeps (a bound against a caller generating keys). */
const MAX_SHAPES = 2_000;

/** Each `db`'s plugin when it has exactly one (the store's name mapping), else null. */
const soloPlugins = new WeakMap<Db, KyselyPlugin | null>();

function soloPlugin(db: Db): KyselyPlugin | undefined {
  let plugin = soloPlugins.get(db);
  if (plugin === undefined) {
    const plugins = db.getExecutor().plugins;
    plugin = plugins.length === 1 ? plugins[0]! : null;
    soloPlugins.set(db, plugin);
  }
  return plugin ?? undefined;
}

/**
 * Runs the statement `key` with `parameters` (in the order the compiled SQL binds them). `build`
 * makes the query — with this call's values, which fix that order — the first time; its compiled
 * parameter count must equal `parameters.length`. Without a key, `build`'s query runs uncached.
 */
export async function executeCached<R>(
  db: Db,
  key: string | undefined,
  parameters: readonly unknown[],
  build: (db: Db) => { compile(): CompiledQuery },
): Promise<QueryResult<R>> {
  const plugin = soloPlugin(db);
  // No key (a shape the caller cannot name) or another plugin setup: built and run as usual.
  if (plugin === undefined || key === undefined) return db.executeQuery<R>(build(db).compile());
  let cache = caches.get(plugin);
  if (cache === undefined) {
    cache = new Map();
    caches.set(plugin, cache);
  }
  let compiled = cache.get(key);
  if (compiled === undefined) {
    compiled = build(db).compile();
    if (compiled.parameters.length !== parameters.length)
      throw new Error(
        `compiled statement ${key} binds ${compiled.parameters.length} parameters, ${parameters.length} given`,
      );
    if (cache.size < MAX_SHAPES) cache.set(key, compiled);
  }
  const query = { query: compiled.query, queryId: compiled.queryId, sql: compiled.sql, parameters };
  return (runDirect(db, query) as QueryResult<R> | undefined) ?? db.executeQuery<R>(query);
}
