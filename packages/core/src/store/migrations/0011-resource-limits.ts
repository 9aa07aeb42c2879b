import type { Kysely } from 'kysely';
import { type StoreEngine, withId } from '../dialect.js';

/** Explicit resource limits of accounts and domains (spec/operations.md §12). */
export function resourceLimits(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(engine, db.schema.createTable('resource_limits'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'bigint', (c) => c.notNull())
        .addColumn('max', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('resource_limits_uq', ['type', 'owner_type', 'owner_id'])
        .execute();
    },
  };
}
