import type { Kysely } from 'kysely';

/**
 * The ISO in a VM's virtual CD-ROM (CloudStack's `vm_instance.iso_id`): the one it was deployed
 * from, or one attached later (`vms.attachIso`); null when none.
 */
export function vmIso() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('vm_instances').addColumn('iso_id', 'bigint').execute();
    },
  };
}
