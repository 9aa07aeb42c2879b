import type { Kysely } from 'kysely';

/**
 * Indexes for two lookups every VM start and deploy makes, which otherwise read a row per VM on
 * the network: a network's (or VPC's) source-NAT IP among its allocations, and whether a host
 * name is taken on a network (the VMs of that name, then their NICs).
 */
export function lookupIndexes() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      // Leads with network_id: it serves every lookup the network_id index did.
      await db.schema.dropIndex('ip_allocations_network_idx').execute();
      await db.schema
        .createIndex('ip_allocations_network_snat_idx')
        .on('ip_allocations')
        .columns(['network_id', 'space', 'source_nat'])
        .execute();
      await db.schema
        .createIndex('ip_allocations_vpc_snat_idx')
        .on('ip_allocations')
        .columns(['vpc_id', 'space', 'source_nat'])
        .execute();
      await db.schema.createIndex('vm_instances_host_name_idx').on('vm_instances').column('host_name').execute();
    },
  };
}
