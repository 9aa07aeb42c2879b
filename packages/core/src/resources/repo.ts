import { NotFoundError } from '../errors.js';
import type { TableName } from '../store/schema.js';
import type { Db } from '../store/store.js';

/**
 * Typed reads of one entity table: live rows only (soft-deleted rows are invisible), decoded
 * into records. Lookups of a missing id throw NotFoundError naming the field the caller passed.
 */
export class Repo<Rec extends { id: number }> {
  constructor(
    readonly table: TableName,
    readonly entity: string,
    readonly decode: (row: object) => Rec,
  ) {}

  async find(db: Db, id: number): Promise<Rec | undefined> {
    const row = await db
      .selectFrom(this.table as never)
      .selectAll()
      .where('id' as never, '=', id as never)
      .where('removed' as never, 'is', null as never)
      .executeTakeFirst();
    return row ? this.decode(row) : undefined;
  }

  /** The live record with this id; NotFoundError(entity, field, id) otherwise. */
  async get(db: Db, id: number, field = 'id'): Promise<Rec> {
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) throw new NotFoundError(this.entity, field, id);
    const rec = await this.find(db, id);
    if (!rec) throw new NotFoundError(this.entity, field, id);
    return rec;
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

  /** Live rows matching every given column = value (undefined filters are ignored), by id. */
  async list(db: Db, filter: Record<string, unknown> = {}): Promise<Rec[]> {
    let q = db
      .selectFrom(this.table as never)
      .selectAll()
      .where('removed' as never, 'is', null as never);
    for (const [column, value] of Object.entries(filter)) {
      if (value === undefined) continue;
      q =
        value === null ? q.where(column as never, 'is', null as never) : q.where(column as never, '=', value as never);
    }
    const rows = await q.orderBy('id' as never).execute();
    return rows.map(this.decode);
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
  let q = db
    .selectFrom(table as never)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('removed' as never, 'is', null as never);
  for (const [column, value] of Object.entries(filter)) {
    if (value === undefined) continue;
    q = value === null ? q.where(column as never, 'is', null as never) : q.where(column as never, '=', value as never);
  }
  const row = (await q.executeTakeFirst()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
