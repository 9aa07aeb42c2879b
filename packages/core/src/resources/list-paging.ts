import { type SelectQueryBuilder, sql } from 'kysely';
import type { CloudContext } from '../context.js';
import { type ListOptions, type Paging, toPaging, wantsPaging } from '../model/list-options.js';
import { SettingsService } from '../settings/settings-service.js';
import type { Db } from '../store/store.js';

/**
 * The validated paging of a list call, or `undefined` when it asks for none (then the list runs as
 * it did without options). The largest page is the `default.page.size` setting, as in CloudStack.
 */
export async function listPaging(
  ctx: CloudContext,
  options: ListOptions,
  db: Db = ctx.db,
): Promise<Paging | undefined> {
  if (!wantsPaging(options)) return undefined;
  const max = await new SettingsService(ctx).get('default.page.size', {}, db);
  return toPaging(options, max);
}

/**
 * `query` with a list's paging applied in SQL: the keyword as a case-insensitive substring of any
 * of `keywordColumns` (qualified names such as `vmInstances.displayName` where the query joins),
 * then `LIMIT`/`OFFSET`. The caller orders the query by a unique key (its id) so pages neither
 * overlap nor skip rows.
 */
// biome-ignore lint/suspicious/noExplicitAny: applies to any table's select
export function applyPaging<Q extends SelectQueryBuilder<any, any, any>>(
  query: Q,
  paging: Paging | undefined,
  keywordColumns: readonly string[],
): Q {
  if (paging === undefined) return query;
  let q = query;
  const pattern = paging.keywordPattern;
  if (pattern !== undefined && keywordColumns.length > 0) {
    q = q.where((eb) =>
      eb.or(keywordColumns.map((column) => sql<boolean>`lower(${sql.ref(column)}) like ${pattern} escape '\\'`)),
    ) as Q;
  }
  if (paging.limit !== undefined) q = q.limit(paging.limit).offset(paging.offset ?? 0) as Q;
  return q;
}

/** Pages an array already in id order (for the few lists assembled in memory). */
export function pageArray<T>(
  rows: readonly T[],
  paging: Paging | undefined,
  keywordOf: (row: T) => readonly (string | null | undefined)[],
): T[] {
  if (paging === undefined) return [...rows];
  let out = [...rows];
  const pattern = paging.keywordPattern;
  if (pattern !== undefined) {
    const needle = pattern.slice(1, -1).replace(/\\([\\%_])/g, '$1');
    out = out.filter((row) => keywordOf(row).some((text) => text?.toLowerCase().includes(needle)));
  }
  if (paging.limit !== undefined) out = out.slice(paging.offset ?? 0, (paging.offset ?? 0) + paging.limit);
  return out;
}
