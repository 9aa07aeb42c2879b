import type { Kysely } from 'kysely';
import { type StoreEngine, withId } from '../dialect.js';

/**
 * Usage events (spec/operations.md §9.1): one row per usage-relevant change — a VM created,
 * started, stopped, upgraded or destroyed; a volume created or deleted; a public IP assigned or
 * released; a snapshot or template stored or removed — with the account, zone, resource, offering,
 * template and size a usage job needs to turn them into usage records.
 */
export function usage(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await withId(engine, db.schema.createTable('usage_events'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint')
        .addColumn('resource_id', 'bigint', (c) => c.notNull())
        .addColumn('resource_name', 'text')
        .addColumn('offering_id', 'bigint')
        .addColumn('template_id', 'bigint')
        .addColumn('size', 'bigint')
        .addColumn('resource_type', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('usage_events_account_idx')
        .on('usage_events')
        .columns(['account_id', 'created'])
        .execute();
    },
  };
}
