import { type Kysely, sql } from 'kysely';
import { live, type StoreEngine, versioned, withBase } from '../dialect.js';

/**
 * Remote-access VPN (spec/networking.md §10.1) and revocable static NATs (§8.4, pitfall 16):
 * - `remote_access_vpns`: one per network (and per public IP), on the network's source-NAT IP,
 *   with the server address (the first of the client range), the client pool and the IPsec
 *   pre-shared key; states `Added` → `Running` → `Removed` (CloudStack's `RemoteAccessVpn.State`).
 * - `vpn_users`: per account, shared by every VPN of the account; states `Add`, `Active`,
 *   `Revoke` (CloudStack's `VpnUser.State`).
 * - `static_nats.revoked`: a disabled static NAT stays as a revoked row until the providers
 *   confirmed its removal, so full-set device drivers receive it once as `revoked: true`; the
 *   unique indexes then cover live (unrevoked) rows only.
 */
export function vpn(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await withBase(engine, s.createTable('remote_access_vpns'))
        .addColumn('network_id', 'bigint', (c) => c.notNull())
        .addColumn('ip_allocation_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('local_ip', 'text', (c) => c.notNull())
        .addColumn('ip_range', 'text', (c) => c.notNull())
        .addColumn('preshared_key', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('remote_access_vpns_network_uq')
        .on('remote_access_vpns')
        .column('network_id')
        .unique()
        .where(live)
        .execute();
      await s
        .createIndex('remote_access_vpns_ip_uq')
        .on('remote_access_vpns')
        .column('ip_allocation_id')
        .unique()
        .where(live)
        .execute();
      await s.createIndex('remote_access_vpns_account_ix').on('remote_access_vpns').column('account_id').execute();

      await withBase(engine, s.createTable('vpn_users'))
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('password', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('vpn_users_account_name_uq')
        .on('vpn_users')
        .columns(['account_id', 'username'])
        .unique()
        .where(live)
        .execute();

      await s
        .alterTable('static_nats')
        .addColumn('revoked', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await s.dropIndex('static_nats_ip_uq').execute();
      await s.dropIndex('static_nats_nic_uq').execute();
      await s
        .createIndex('static_nats_ip_uq')
        .on('static_nats')
        .column('ip_allocation_id')
        .unique()
        .where(sql.ref('revoked'), '=', 0)
        .execute();
      await s
        .createIndex('static_nats_nic_uq')
        .on('static_nats')
        .column('nic_id')
        .unique()
        .where(sql.ref('revoked'), '=', 0)
        .execute();
    },
  };
}
