import type { Compilable, CompiledQuery, QueryResult } from 'kysely';
import { type Db, runDirect } from '../store/store.js';

/** Builds a query whose varying values come from `slot(i)` (the i-th argument of each run). */
export type QueryTemplate<R> = (db: Db, slot: (i: number) => number) => Compilable<R>;

const SENTINEL_BASE = -987_654_321_000;

/**
 * Kysely queries built and compiled once, then re-run with new parameter values (the hot paths of
 * capacity booking run the same few statements thousands of times; building and compiling them
 * each time costs more than running them). A template marks each varying value with `slot(i)`;
 * the compiled statement keeps its SQL and replaces those parameters on every run. Compiled SQL
 * depends only on the dialect and plugins, so one cache serves every transaction of one store.
 */
export class PreparedQueries {
  private readonly cache = new Map<string, { compiled: CompiledQuery<unknown>; slots: number[] }>();

  /** Runs template `name` (built on first use) with `args` in `db` (a transaction or the store). */
  async run<R>(db: Db, name: string, template: QueryTemplate<R>, args: readonly unknown[]): Promise<QueryResult<R>> {
    let entry = this.cache.get(name);
    if (!entry) {
      const compiled = template(db, (i) => SENTINEL_BASE - i).compile() as CompiledQuery<unknown>;
      // slots[k] = argument index for parameter k, or -1 for a constant of the template.
      const slots = compiled.parameters.map((p) => {
        if (typeof p !== 'number' || p > SENTINEL_BASE || p < SENTINEL_BASE - 1000) return -1;
        return SENTINEL_BASE - p;
      });
      entry = { compiled, slots };
      this.cache.set(name, entry);
    }
    const { compiled, slots } = entry;
    const parameters = new Array<unknown>(slots.length);
    for (let k = 0; k < slots.length; k++) {
      const i = slots[k] as number;
      parameters[k] = i < 0 ? compiled.parameters[k] : args[i];
    }
    const query = { ...compiled, parameters } as CompiledQuery<R>;
    return (runDirect(db, query) as QueryResult<R> | undefined) ?? db.executeQuery(query);
  }
}
