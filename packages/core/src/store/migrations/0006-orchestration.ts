import type { Kysely } from 'kysely';
import { live, type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/**
 * Orchestration: asynchronous jobs (spec/operations.md §10), the management-server registry that
 * tells which process runs which job (so jobs of a process that died can be failed by recovery),
 * and SSH key pairs (§2.13).
 */
export function orchestration(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await withId(engine, s.createTable('management_servers'))
        .addColumn('msid', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started', 'bigint', (c) => c.notNull())
        .addColumn('last_heartbeat', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .execute();

      await withId(engine, s.createTable('async_jobs'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('user_id', 'bigint')
        .addColumn('account_id', 'bigint')
        .addColumn('cmd', 'text', (c) => c.notNull())
        .addColumn('cmd_info', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('process_status', 'integer', (c) => c.notNull())
        .addColumn('progress_message', 'text')
        .addColumn('result_code', 'integer', (c) => c.notNull())
        .addColumn('result', 'text')
        .addColumn('instance_type', 'text')
        .addColumn('instance_id', 'bigint')
        .addColumn('init_msid', 'text', (c) => c.notNull())
        .addColumn('executing_msid', 'text')
        .addColumn('complete_msid', 'text')
        .addColumn('scheduled_event_id', 'bigint')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('last_updated', 'bigint', (c) => c.notNull())
        .addColumn('completed', 'bigint')
        .addColumn('removed', 'bigint')
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('async_jobs_status_idx').on('async_jobs').columns(['status', 'executing_msid']).execute();
      await s
        .createIndex('async_jobs_instance_idx')
        .on('async_jobs')
        .columns(['instance_type', 'instance_id'])
        .execute();

      await withBase(engine, s.createTable('ssh_keypairs'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('ssh_keypairs_name_uq')
        .on('ssh_keypairs')
        .columns(['account_id', 'name'])
        .unique()
        .where(live)
        .execute();
    },
  };
}
