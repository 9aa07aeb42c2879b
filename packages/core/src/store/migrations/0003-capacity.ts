import type { Kysely } from 'kysely';
import { live, type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/**
 * Capacity accounting (spec/allocation.md §2, spec/operations.md §2.1):
 * - `host_capacity`: one row per host with used and reserved CPU (MHz) and memory (bytes), the
 *   contended counters every booking updates with a conditional, version-bumping UPDATE;
 * - `capacity_bookings`: the per-VM ledger behind those counters (one row per VM and host, kind
 *   `used` or `reserved`, with the over-provisioning ratios in force when it was booked);
 * - `pool_capacity` and `storage_allocations`: allocated bytes per pool and their per-volume ledger;
 * - `dedicated_resources`: explicit dedication of a zone, pod, cluster or host (§9.1).
 * Totals are never stored multiplied by a factor (pitfall 3): factors apply at check time.
 */
export function capacity(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .createTable('host_capacity')
        .addColumn('host_id', 'bigint', (c) => c.primaryKey())
        .addColumn('cpu_used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('cpu_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('memory_used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('memory_reserved', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();

      await withId(engine, s.createTable('capacity_bookings'))
        .addColumn('vm_id', 'bigint', (c) => c.notNull())
        .addColumn('host_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('cpu', 'bigint', (c) => c.notNull())
        .addColumn('memory', 'bigint', (c) => c.notNull())
        .addColumn('cpu_ratio', 'double precision', (c) => c.notNull())
        .addColumn('memory_ratio', 'double precision', (c) => c.notNull())
        .addColumn('implicit_mode', 'text')
        .addColumn('since', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('capacity_bookings_vm_host_uq')
        .on('capacity_bookings')
        .columns(['vm_id', 'host_id'])
        .unique()
        .execute();
      await s.createIndex('capacity_bookings_host_idx').on('capacity_bookings').columns(['host_id', 'kind']).execute();

      await s
        .createTable('pool_capacity')
        .addColumn('pool_id', 'bigint', (c) => c.primaryKey())
        .addColumn('allocated_bytes', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('used_iops', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();

      await withId(engine, s.createTable('storage_allocations'))
        .addColumn('volume_id', 'bigint', (c) => c.notNull())
        .addColumn('pool_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('iops', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('since', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('storage_allocations_volume_uq')
        .on('storage_allocations')
        .column('volume_id')
        .unique()
        .execute();
      await s.createIndex('storage_allocations_pool_idx').on('storage_allocations').column('pool_id').execute();

      await withBase(engine, s.createTable('dedicated_resources'))
        .addColumn('zone_id', 'bigint')
        .addColumn('pod_id', 'bigint')
        .addColumn('cluster_id', 'bigint')
        .addColumn('host_id', 'bigint')
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint')
        .execute();
      await s
        .createIndex('dedicated_resources_target_uq')
        .on('dedicated_resources')
        .columns(['zone_id', 'pod_id', 'cluster_id', 'host_id'])
        .unique()
        .where(live)
        .execute();
    },
  };
}
