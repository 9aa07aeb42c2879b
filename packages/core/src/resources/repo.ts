import type { CloudContext } from '../context.js';
import { NotFoundError } from '../errors.js';
import { type ListOptions, type Paging, splitListOptions } from '../model/list-options.js';
import type { Ref } from '../model/ref.js';
import type { TableName } from '../store/schema.js';
import { statementFamily } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import { applyPaging, listPaging } from './list-paging.js';
import { type RefTable, resolveRef, resolveRefs } from './ref-resolution.js';

/**
 * Typed reads of one entity table: live rows only (soft-deleted rows are invisible), decoded
 * into records. Lookups of a missing id throw NotFoundError naming the field the caller passed.
 */
export class Repo<Rec extends { id: number }> implements RefTable {
  /**
   * @param keywordColumns - the columns a list's `keyword` is matched against (default `name`).
   */
  constructor(
    readonly table: TableName,
    readonly entity: string,
    readonly decode: (row: object) => Rec,
    readonly keywordColumns: readonly string[] = ['name'],
  ) {}

  /** The numeric id a caller's id or uuid names (see {@link resolveRef}). */
  resolve(db: Db, ref: Ref, field = 'id'): Promise<number> {
    return resolveRef(db, this, ref, field);
  }

  async find(db: Db, id: number): Promise<Rec | undefined> {
    const row = (await this.byId(db, id)).rows[0];
    return row ? this.decode(row) : undefined;
  }

  /** The live record with this id (or uuid); NotFoundError(entity, field, id) otherwise. */
  async get(db: Db, ref: Ref, field = 'id'): Promise<Rec> {
    const id = typeof ref === 'string' ? await this.resolve(db, ref, field) : ref;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new NotFoundError(this.entity, field, id);
    const row = (await this.byId(db, id)).rows[0];
    if (!row) throw new NotFoundError(this.entity, field, id);
    return this.decode(row);
  }

  private byId(db: Db, id: number) {
    return runStatement(db, liveById, { id }, this.table);
  }

  async getByUuid(db: Db, uuid: string, field = 'uuid'): Promise<Rec> {
    const row = await db
      .selectFrom(this.table as never)
      .selectAll()
      .where('uuid' as never, '=', uuid as never)
      .where('removed' as never, 'is', null as never)
      .executeTakeFirst();
    if (!row) throw new NotFoundError(this.entity, field, uuid);
    return this.decode(row);
  }

  /**
   * Live rows matching every given column = value (undefined filters are ignored), by id; with
   * `paging`, the keyword and page of them.
   */
  async list(db: Db, filter: Record<string, unknown> = {}, paging?: Paging): Promise<Rec[]> {
    if (paging !== undefined) {
      const query = applyPaging(
        liveWhere(db.selectFrom(this.table as never).selectAll(), filter).orderBy('id' as never),
        paging,
        this.keywordColumns,
      );
      return (await query.execute()).map(this.decode);
    }
    const shape = filterShape(this.table, filter);
    const { rows } =
      shape === undefined
        ? await db.executeQuery<object>(
            liveWhere(db.selectFrom(this.table as never).selectAll(), filter)
              .orderBy('id' as never)
              .compile(),
          )
        : await runStatement(db, liveList, filter, shape);
    return rows.map(this.decode);
  }

  /**
   * A public list call over this table: the filter's references (ids or uuids, through `refs`)
   * resolved, its paging validated and applied in SQL, live rows matching every column filter.
   */
  async listFor<F extends ListOptions>(
    ctx: CloudContext,
    filter: F,
    refs: { [K in keyof F]?: RefTable } = {},
    db: Db = ctx.db,
  ): Promise<Rec[]> {
    const { options, rest } = splitListOptions(filter);
    const resolved = await resolveRefs(db, rest, refs as never);
    return this.list(db, resolved as Record<string, unknown>, await listPaging(ctx, options, db));
  }

  /** How many live rows match. */
  count(db: Db, filter: Record<string, unknown> = {}): Promise<number> {
    return countLive(db, this.table, filter);
  }

  /** Soft-deletes a row. */
  async markRemoved(db: Db, id: number, now: number): Promise<void> {
    await db
      .updateTable(this.table as never)
      .set({ removed: now } as never)
      .where('id' as never, '=', id as never)
      .execute();
  }
}

/** How many live (not soft-deleted) rows of `table` have every column = value of `filter`. */
export async function countLive(db: Db, table: TableName, filter: Record<string, unknown>): Promise<number> {
  const shape = filterShape(table, filter);
  const { rows } =
    shape === undefined
      ? await db.executeQuery<{ n: number | string }>(
          liveWhere(
            db.selectFrom(table as never).select((eb) => eb.fn.countAll<number>().as('n')),
            filter,
          ).compile(),
        )
      : await runStatement(db, liveCount, filter, shape);
  return Number(rows[0]?.n ?? 0);
}

/**
 * `removed is null` and, for each defined filter entry in order, `column is null` or
 * `column = value`: one statement shape per key list and null pattern, binding the non-null values
 * in order.
 */
function liveWhere<Q extends { where(...args: unknown[]): Q }>(query: Q, filter: Record<string, unknown>): Q {
  let q = query.where('removed', 'is', null);
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    q = value === null ? q.where(column, 'is', null) : q.where(column, '=', value);
  }
  return q;
}

/** The shape of a live-rows filter: its table and defined columns in order, each `=` or `is null`. */
interface FilterShape {
  readonly table: TableName;
  readonly columns: ReadonlyArray<{ readonly column: string; readonly isNull: boolean }>;
  readonly key: string;
}

/** The shape of `filter` on `table`, or undefined when a value is not plain (then it runs uncached). */
function filterShape(table: TableName, filter: Record<string, unknown>): FilterShape | undefined {
  let key = `${table}:`;
  const columns: Array<{ column: string; isNull: boolean }> = [];
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    if (value !== null && typeof value === 'object') return undefined;
    columns.push({ column, isNull: value === null });
    key += value === null ? `${column} is null,` : `${column}=,`;
  }
  return { table, columns, key };
}

/** `removed is null` and each column of the shape `is null` or `=` its value in `p`. */
function shapedWhere<Q extends { where(...args: unknown[]): Q }>(
  query: Q,
  p: Record<string, unknown>,
  shape: FilterShape,
): Q {
  let q = query.where('removed', 'is', null);
  for (const { column, isNull } of shape.columns)
    q = isNull ? q.where(column, 'is', null) : q.where(column, '=', p[column]);
  return q;
}

const liveById = statementFamily(
  'repo.find',
  (table: TableName) => table,
  (db, p: { id: number }, table: TableName) =>
    db
      .selectFrom(table as never)
      .selectAll()
      .where('id' as never, '=', p.id as never)
      .where('removed' as never, 'is', null as never),
);

const liveList = statementFamily(
  'repo.list',
  (shape: FilterShape) => shape.key,
  (db, p: Record<string, unknown>, shape: FilterShape) =>
    shapedWhere(db.selectFrom(shape.table as never).selectAll(), p, shape).orderBy('id' as never),
);

const liveCount = statementFamily(
  'repo.count',
  (shape: FilterShape) => shape.key,
  (db, p: Record<string, unknown>, shape: FilterShape) =>
    shapedWhere(
      db.selectFrom(shape.table as never).select((eb) => eb.fn.countAll<number>().as('n')),
      p,
      shape,
    ),
);
