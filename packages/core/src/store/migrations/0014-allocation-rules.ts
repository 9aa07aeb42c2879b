import { type Kysely, sql } from 'kysely';
import { live, type StoreEngine, withBase, withId } from '../dialect.js';

/**
 * Allocation rules (spec/allocation.md §5.5, §9; CloudStack's affinity groups):
 * - `service_offerings.details`: CloudStack's offering details as JSON (`ImplicitDedicationMode`).
 * - `affinity_groups`: an account's `host affinity` / `host anti-affinity` groups, and the
 *   `ExplicitDedication` group of an account or a domain (`account_id` null) that dedication creates.
 *   Names are unique per account, and per domain among domain-level groups.
 * - `affinity_group_vms`: which VMs are in which group.
 * - `dedicated_resources.affinity_group_id`: the explicit-dedication group of the owner; and one
 *   live dedication per zone, pod, cluster and host. A row names its target's ancestors too
 *   (a host's row has its zone, pod and cluster), so the level is the most specific column set.
 */
export function allocationRules(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await s
        .alterTable('service_offerings')
        .addColumn('details', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();

      await withBase(engine, s.createTable('affinity_groups'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('account_id', 'bigint')
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('affinity_groups_account_name_uq')
        .on('affinity_groups')
        .columns(['account_id', 'name'])
        .unique()
        .where(sql<boolean>`removed is null and account_id is not null`)
        .execute();
      await s
        .createIndex('affinity_groups_domain_name_uq')
        .on('affinity_groups')
        .columns(['domain_id', 'name'])
        .unique()
        .where(sql<boolean>`removed is null and account_id is null`)
        .execute();

      await withId(engine, s.createTable('affinity_group_vms'))
        .addColumn('group_id', 'bigint', (c) => c.notNull())
        .addColumn('vm_id', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('affinity_group_vms_uq', ['group_id', 'vm_id'])
        .execute();
      await s.createIndex('affinity_group_vms_vm_idx').on('affinity_group_vms').column('vm_id').execute();

      await s.alterTable('dedicated_resources').addColumn('affinity_group_id', 'bigint').execute();
      const one = (name: string, column: string, where: string) =>
        s
          .createIndex(name)
          .on('dedicated_resources')
          .column(column)
          .unique()
          .where(sql<boolean>`${live} and ${sql.raw(where)}`)
          .execute();
      await one('dedicated_resources_host_uq', 'host_id', 'host_id is not null');
      await one('dedicated_resources_cluster_uq', 'cluster_id', 'host_id is null and cluster_id is not null');
      await one(
        'dedicated_resources_pod_uq',
        'pod_id',
        'host_id is null and cluster_id is null and pod_id is not null',
      );
      await one(
        'dedicated_resources_zone_uq',
        'zone_id',
        'host_id is null and cluster_id is null and pod_id is null and zone_id is not null',
      );
    },
  };
}
