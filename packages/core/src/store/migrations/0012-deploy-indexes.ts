import type { Kysely } from 'kysely';

/** An index for the deploy path's lookup of a VM's volumes, which scanned the whole table. */
export function deployIndexes() {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('volumes_instance_idx').on('volumes').column('instance_id').execute();
    },
  };
}
