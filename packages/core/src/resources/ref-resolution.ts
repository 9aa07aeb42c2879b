import { InvalidParameterError, NotFoundError } from '../errors.js';
import { isUuid, type Ref, type Resolved } from '../model/ref.js';
import type { TableName } from '../store/schema.js';
import type { Db } from '../store/store.js';

/**
 * Where a {@link Ref} of one kind of record is looked up: its table, the entity named in a
 * {@link NotFoundError}, and whether the table soft-deletes (a removed row's uuid names nothing).
 * Every `Repo` is one; tables without a repo declare one with {@link refTable}.
 */
export interface RefTable {
  readonly table: TableName;
  readonly entity: string;
  /** False for tables whose rows are deleted outright (no `removed` column). */
  readonly softDeletes?: boolean;
}

/** A {@link RefTable} for a table that has no `Repo`. */
export function refTable(table: TableName, entity: string, softDeletes = true): RefTable {
  return { table, entity, softDeletes };
}

/**
 * The numeric id `ref` names in `target`: a number is returned as it is (the lookup that follows
 * reports a missing id as before); a uuid is looked up among the live rows — one naming nothing is
 * a {@link NotFoundError} naming `field`; anything else is an {@link InvalidParameterError}.
 */
export async function resolveRef(db: Db, target: RefTable, ref: Ref, field: string): Promise<number> {
  if (typeof ref === 'number') return ref;
  if (!isUuid(ref)) throw new InvalidParameterError(field, ref, `must be a numeric id or a ${target.entity} uuid`);
  let query = db
    .selectFrom(target.table as never)
    .select('id' as never)
    .where('uuid' as never, '=', ref.toLowerCase() as never);
  if (target.softDeletes !== false) query = query.where('removed' as never, 'is', null as never);
  const row = (await query.executeTakeFirst()) as { id: number } | undefined;
  if (!row) throw new NotFoundError(target.entity, field, ref);
  return Number(row.id);
}

/** {@link resolveRef} for an optional reference: `undefined` and `null` pass through. */
export async function resolveOptionalRef<R extends Ref | null | undefined>(
  db: Db,
  target: RefTable,
  ref: R,
  field: string,
): Promise<Exclude<R, string>> {
  if (ref === undefined || ref === null) return ref as Exclude<R, string>;
  return (await resolveRef(db, target, ref as Ref, field)) as Exclude<R, string>;
}

/**
 * `input` with the references it holds resolved, each through the table `targets` names for its
 * field (a list of references element by element, a missing one reported under the list's
 * field). The input is not changed; fields not in `targets` are copied as they are.
 */
export async function resolveRefs<T extends object>(
  db: Db,
  input: T,
  targets: { [K in keyof T]?: RefTable },
): Promise<Resolved<T>> {
  if (input === null || typeof input !== 'object') return input as Resolved<T>;
  const out = { ...input } as Record<string, unknown>;
  for (const [field, target] of Object.entries(targets) as [string, RefTable][]) {
    const value = out[field];
    if (value === undefined || value === null) continue;
    // Numeric ids (what callers inside Stratus pass) are kept without waiting on anything.
    if (typeof value === 'number') continue;
    if (Array.isArray(value)) {
      if (value.every((element) => typeof element === 'number')) continue;
      const ids: number[] = [];
      for (const element of value) ids.push(await resolveRef(db, target, element as Ref, field));
      out[field] = ids;
    } else out[field] = await resolveRef(db, target, value as Ref, field);
  }
  return out as Resolved<T>;
}
