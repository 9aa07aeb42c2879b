import { type Kysely, sql } from 'kysely';
import type { StoreEngine } from '../dialect.js';
import type { Database } from '../schema.js';

/** Account types, stored as ordinals (spec/resource-model.md §11). */
const ADMIN = 1;

/**
 * Rows every cloud starts with: the ROOT domain (id 1), the `system` account (id 1), the root
 * admin account `admin` (id 2) with its user `admin` (no password: an embedding program sets one
 * or issues API keys), and the default hypervisor capabilities (max hosts per cluster 8/16/8 for
 * XenServer/KVM/VMware, stored as editable rows; version `default` is the fallback).
 */
export function seed(engine: StoreEngine) {
  return {
    async up(untyped: Kysely<unknown>): Promise<void> {
      const db = untyped as Kysely<Database>;
      const now = Date.now();
      await db
        .insertInto('domains')
        .values({
          id: 1,
          uuid: 'ROOT',
          name: 'ROOT',
          parentId: null,
          path: '/',
          level: 0,
          networkDomain: null,
          created: now,
          removed: null,
        })
        .execute();
      await db
        .insertInto('accounts')
        .values([
          {
            id: 1,
            uuid: 'system',
            accountName: 'system',
            type: ADMIN,
            domainId: 1,
            state: 'enabled',
            networkDomain: null,
            created: now,
            removed: null,
          },
          {
            id: 2,
            uuid: 'admin',
            accountName: 'admin',
            type: ADMIN,
            domainId: 1,
            state: 'enabled',
            networkDomain: null,
            created: now,
            removed: null,
          },
        ])
        .execute();
      await db
        .insertInto('users')
        .values([
          {
            id: 1,
            uuid: 'system',
            username: 'system',
            passwordHash: null,
            firstName: 'system',
            lastName: 'cloud',
            email: null,
            timezone: null,
            apiKey: null,
            secretKey: null,
            accountId: 1,
            domainId: 1,
            state: 'enabled',
            created: now,
            removed: null,
          },
          {
            id: 2,
            uuid: 'admin',
            username: 'admin',
            passwordHash: null,
            firstName: 'Admin',
            lastName: 'User',
            email: null,
            timezone: null,
            apiKey: null,
            secretKey: null,
            accountId: 2,
            domainId: 1,
            state: 'enabled',
            created: now,
            removed: null,
          },
        ])
        .execute();
      await db
        .insertInto('hypervisorCapabilities')
        .values([
          {
            hypervisorType: 'XenServer',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 8,
            maxGuestsLimit: 50,
            maxDataVolumesLimit: 6,
          },
          {
            hypervisorType: 'KVM',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 16,
            maxGuestsLimit: null,
            maxDataVolumesLimit: 24,
          },
          {
            hypervisorType: 'VMware',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 8,
            maxGuestsLimit: 128,
            maxDataVolumesLimit: 13,
          },
          {
            hypervisorType: 'Hyperv',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 16,
            maxGuestsLimit: 1024,
            maxDataVolumesLimit: 64,
          },
          {
            hypervisorType: 'LXC',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 16,
            maxGuestsLimit: null,
            maxDataVolumesLimit: 24,
          },
          {
            hypervisorType: 'Simulator',
            hypervisorVersion: 'default',
            maxHostsPerCluster: 16,
            maxGuestsLimit: null,
            maxDataVolumesLimit: 24,
          },
        ])
        .execute();
      if (engine === 'postgres') {
        // Explicit ids do not advance an identity column's sequence; move it past them.
        for (const table of ['domains', 'accounts', 'users']) {
          await sql`select setval(pg_get_serial_sequence(${table}, 'id'), (select max(id) from ${sql.table(table)}))`.execute(
            db,
          );
        }
      }
    },
  };
}
