import { type Kysely, sql } from 'kysely';
import { live, type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/**
 * Storage orchestration (spec/storage.md §4–§6): per-store copies of templates and ISOs
 * (CloudStack's `template_store_ref`), per-pool staged copies (`template_spool_ref`), volume
 * snapshots and recurring snapshot policies, plus the volume columns the lifecycle needs.
 */
export function storage(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await withId(engine, s.createTable('template_store_refs'))
        .addColumn('template_id', 'bigint', (c) => c.notNull())
        .addColumn('store_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('download_state', 'text', (c) => c.notNull())
        .addColumn('download_percent', 'integer', (c) => c.notNull())
        .addColumn('error_string', 'text')
        .addColumn('install_path', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('physical_size', 'bigint', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('last_updated', 'bigint', (c) => c.notNull())
        .addColumn('removed', 'bigint')
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('template_store_refs_live_uq')
        .on('template_store_refs')
        .columns(['template_id', 'store_id'])
        .unique()
        .where(live)
        .execute();

      await withId(engine, s.createTable('template_pool_refs'))
        .addColumn('template_id', 'bigint', (c) => c.notNull())
        .addColumn('pool_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('install_path', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('physical_size', 'bigint', (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_at', 'bigint')
        .addColumn('error_string', 'text')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('last_updated', 'bigint', (c) => c.notNull())
        .addColumn('removed', 'bigint')
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('template_pool_refs_live_uq')
        .on('template_pool_refs')
        .columns(['template_id', 'pool_id'])
        .unique()
        .where(live)
        .execute();

      await withBase(engine, s.createTable('snapshots'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('volume_id', 'bigint', (c) => c.notNull())
        .addColumn('volume_type', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('pool_id', 'bigint')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('hypervisor_type', 'text')
        .addColumn('snapshot_type', 'text', (c) => c.notNull())
        .addColumn('policy_id', 'bigint')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('physical_size', 'bigint', (c) => c.notNull())
        .addColumn('volume_active', 'integer', (c) => c.notNull())
        .addColumn('primary_path', 'text')
        .addColumn('parent_uuid', 'text')
        .addColumn('backup_store_id', 'bigint')
        .addColumn('backup_path', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('snapshots_volume_idx').on('snapshots').columns(['volume_id', 'created']).execute();

      await withBase(engine, s.createTable('snapshot_policies'))
        .addColumn('volume_id', 'bigint', (c) => c.notNull())
        .addColumn('interval_type', 'text', (c) => c.notNull())
        .addColumn('schedule', 'text', (c) => c.notNull())
        .addColumn('timezone', 'text', (c) => c.notNull())
        .addColumn('max_snaps', 'integer', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('next_run', 'bigint', (c) => c.notNull())
        .addColumn('last_run', 'bigint')
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('snapshot_policies_live_uq')
        .on('snapshot_policies')
        .columns(['volume_id', 'interval_type'])
        .unique()
        .where(live)
        .execute();

      await s.alterTable('volumes').addColumn('hypervisor_type', 'text').execute();
      await s.alterTable('volumes').addColumn('destroyed_at', 'bigint').execute();
      await s.alterTable('volumes').addColumn('last_pool_id', 'bigint').execute();
      // Two attaches can never take one device slot of one VM.
      await s
        .createIndex('volumes_device_uq')
        .on('volumes')
        .columns(['instance_id', 'device_id'])
        .unique()
        .where(sql<boolean>`removed is null and instance_id is not null and device_id is not null`)
        .execute();
    },
  };
}
