import { performance } from 'node:perf_hooks';
import type { Writer } from '../context.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db, Store } from '../store/store.js';

/** A stored setting value by `name|scope|scopeId`. */
export type ConfigurationRows = ReadonlyMap<string, string>;

/** The key of one stored value in {@link ConfigurationRows}. */
export const configurationKey = (name: string, scope: string, scopeId: number): string => `${name}|${scope}|${scopeId}`;

/**
 * How long the configuration table read once serves every read in this process. A change made
 * here is seen at once; one made by another process sharing the store, within this time.
 */
export const CONFIGURATION_CACHE_MS = 5_000;

/**
 * The `configuration` table, read whole and kept for {@link CONFIGURATION_CACHE_MS}: an operation
 * reads a dozen settings (limits, retries, naming, capacity thresholds), each a query otherwise.
 * A transaction that changed a setting reads the table itself until it ends (it sees its own
 * change, nobody else does before commit); its commit drops the kept copy.
 */
export class ConfigurationCache {
  private rows: Promise<ConfigurationRows> | undefined;
  /** {@link rows} once read. */
  private resolved: ConfigurationRows | undefined;
  private readAt = 0;
  /** Transactions that changed settings and have not ended. */
  private readonly changing = new WeakSet<Db>();

  /** Every stored value, as `db` sees it. */
  all(db: Db): Promise<ConfigurationRows> {
    if (this.changing.has(db)) return readConfiguration(db);
    const now = performance.now();
    if (this.rows === undefined || now - this.readAt > CONFIGURATION_CACHE_MS) {
      this.readAt = now;
      this.resolved = undefined;
      const rows = readConfiguration(db);
      this.rows = rows;
      rows.then(
        (read) => {
          if (this.rows === rows) this.resolved = read;
        },
        () => {
          // A failed read is not kept.
          if (this.rows === rows) this.rows = undefined;
        },
      );
    }
    return this.rows;
  }

  /** Every stored value as `db` sees it, when the kept copy serves it and is read: no waiting. */
  kept(db: Db): ConfigurationRows | undefined {
    if (this.resolved === undefined || this.changing.has(db)) return undefined;
    if (performance.now() - this.readAt > CONFIGURATION_CACHE_MS) return undefined;
    return this.resolved;
  }

  /** Marks `w`'s transaction as changing settings: it reads the table itself, and its commit drops the copy. */
  changed(w: Writer): void {
    if (this.changing.has(w.db)) return;
    this.changing.add(w.db);
    const done = () => {
      this.changing.delete(w.db);
      this.rows = undefined;
      this.resolved = undefined;
    };
    w.afterCommit(done);
    w.afterRollback(done);
  }
}

const caches = new WeakMap<Store, ConfigurationCache>();

/** The cache of this store's configuration (one per store, shared by every service on it). */
export function configurationCache(store: Store): ConfigurationCache {
  let cache = caches.get(store);
  if (cache === undefined) {
    cache = new ConfigurationCache();
    caches.set(store, cache);
  }
  return cache;
}

async function readConfiguration(db: Db): Promise<ConfigurationRows> {
  const { rows } = await runStatement(db, configurationAll, {});
  return new Map(rows.map((r) => [configurationKey(r.name, r.scope, Number(r.scopeId)), r.value]));
}

const configurationAll = statement('configuration.all', (q, _p: Record<string, never>) =>
  q.selectFrom('configuration').select(['name', 'scope', 'scopeId', 'value']),
);
