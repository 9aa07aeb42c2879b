import type { Kysely } from 'kysely';

/**
 * Indexes for the per-account counts every deploy runs (resource limits: the owner's VMs, CPUs and
 * memory; its volumes and primary storage), which otherwise scan every VM and volume of the cloud.
 */
export function accountIndexes() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('vm_instances_account_idx').on('vm_instances').column('account_id').execute();
      await db.schema.createIndex('volumes_account_idx').on('volumes').column('account_id').execute();
    },
  };
}
