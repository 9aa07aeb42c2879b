import { type Kysely, sql } from 'kysely';
import type { StoreEngine } from '../dialect.js';

/**
 * The columns whose change can change a placement decision, per table (the placement index reads
 * them; ARCHITECTURE.md "Placement follows the store"). Inserting or deleting a row of these tables
 * counts too. Columns a ping or a booking touches on every call (`last_pinged`, the counters in
 * `host_capacity`) are deliberately absent: bookings are checked by the store at commit instead.
 */
export const PLACEMENT_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  zones: ['allocation_state', 'dedicated_domain_id', 'removed'],
  pods: ['allocation_state', 'zone_id', 'removed'],
  clusters: [
    'allocation_state',
    'pod_id',
    'zone_id',
    'hypervisor_type',
    'cpu_overcommit_ratio',
    'memory_overcommit_ratio',
    'removed',
  ],
  hosts: [
    'name',
    'type',
    'zone_id',
    'pod_id',
    'cluster_id',
    'hypervisor_type',
    'hypervisor_version',
    'cpus',
    'speed',
    'total_memory',
    'reserved_memory',
    'host_tags',
    'os_category_preference',
    'status',
    'resource_state',
    'capabilities',
    'removed',
  ],
  storage_pools: [
    'name',
    'scope',
    'zone_id',
    'pod_id',
    'cluster_id',
    'host_id',
    'hypervisor_type',
    'pool_type',
    'tags',
    'capacity_bytes',
    'used_bytes',
    'capacity_iops',
    'status',
    'removed',
  ],
  dedicated_resources: ['zone_id', 'pod_id', 'cluster_id', 'host_id', 'domain_id', 'account_id', 'removed'],
  hypervisor_capabilities: ['hypervisor_type', 'hypervisor_version', 'max_guests_limit'],
  configuration: ['name', 'scope', 'scope_id', 'value'],
};

/**
 * The placement epoch: one row whose counter every change to {@link PLACEMENT_COLUMNS} bumps, in
 * the changing transaction, through triggers (so a change made by any process, any service or by
 * hand in SQL counts). A process keeps the epoch its placement index was loaded at and reloads the
 * index when the stored one differs.
 *
 * On PostgreSQL the bump is a deferred constraint trigger: it runs at commit, after every other
 * lock the transaction takes, so two transactions bumping the epoch never deadlock on it, and the
 * epoch order is the commit order.
 */
export function placementEpoch(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('placement_epoch')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('epoch', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into placement_epoch (id, epoch) values (1, 0)`.execute(db);
      const bump = 'update placement_epoch set epoch = epoch + 1 where id = 1';
      if (engine === 'postgres') {
        await sql
          .raw(
            `create or replace function placement_epoch_bump() returns trigger language plpgsql as $$ begin ${bump}; return null; end $$`,
          )
          .execute(db);
      }
      for (const [table, columns] of Object.entries(PLACEMENT_COLUMNS)) {
        const changed = columns
          .map((c) => (engine === 'postgres' ? `old.${c} is distinct from new.${c}` : `old.${c} is not new.${c}`))
          .join(' or ');
        if (engine === 'sqlite') {
          await sql
            .raw(`create trigger ${table}_placement_ins after insert on ${table} begin ${bump}; end`)
            .execute(db);
          await sql
            .raw(`create trigger ${table}_placement_del after delete on ${table} begin ${bump}; end`)
            .execute(db);
          await sql
            .raw(`create trigger ${table}_placement_upd after update on ${table} when ${changed} begin ${bump}; end`)
            .execute(db);
        } else {
          const deferred = 'deferrable initially deferred for each row';
          await sql
            .raw(
              `create constraint trigger ${table}_placement_insdel after insert or delete on ${table} ${deferred} execute function placement_epoch_bump()`,
            )
            .execute(db);
          await sql
            .raw(
              `create constraint trigger ${table}_placement_upd after update on ${table} ${deferred} when (${changed}) execute function placement_epoch_bump()`,
            )
            .execute(db);
        }
      }
    },
  };
}
