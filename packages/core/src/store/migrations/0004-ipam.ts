import type { Kysely } from 'kysely';
import { type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/**
 * IPAM and guest VLANs (spec/networking.md §3–§4). Compact storage: an address range is one row
 * (`ip_ranges`) and only allocated addresses have a row (`ip_allocations`); a VLAN pool is the
 * physical network's `vlan_ranges` plus one row per taken VLAN (`guest_vlans`). The unique
 * indexes are the cross-process guarantee against double allocation (§4.11):
 * - `ip_allocations (space, scope_id, address)`: public and management addresses are unique
 *   cloud-wide (scope 0), guest addresses per network, link-local addresses per pod;
 * - `guest_vlans (physical_network_id, vnet)` and `guest_vlans (network_id)`: a VLAN is held by
 *   one network (so one account) at a time, and a network holds one VLAN;
 * - `mac_addresses (zone_id, mac)`.
 */
export function ipam(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;

      await withBase(engine, s.createTable('ip_ranges'))
        .addColumn('space', 'text', (c) => c.notNull())
        .addColumn('vlan_type', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('pod_id', 'bigint')
        .addColumn('network_id', 'bigint')
        .addColumn('physical_network_id', 'bigint')
        .addColumn('vlan_tag', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('netmask', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('start_ip', 'text', (c) => c.notNull())
        .addColumn('end_ip', 'text', (c) => c.notNull())
        .addColumn('start_num', 'bigint', (c) => c.notNull())
        .addColumn('end_num', 'bigint', (c) => c.notNull())
        .addColumn('excluded', 'text', (c) => c.notNull())
        .addColumn('domain_id', 'bigint')
        .addColumn('account_id', 'bigint')
        .addColumn('for_system_vms', 'integer', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('ip_ranges_zone_idx').on('ip_ranges').columns(['space', 'zone_id']).execute();
      await s.createIndex('ip_ranges_network_idx').on('ip_ranges').column('network_id').execute();

      await withId(engine, s.createTable('ip_allocations'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('space', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'bigint', (c) => c.notNull())
        .addColumn('pool_id', 'bigint', (c) => c.notNull())
        .addColumn('address', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'bigint')
        .addColumn('account_id', 'bigint')
        .addColumn('domain_id', 'bigint')
        .addColumn('network_id', 'bigint')
        .addColumn('vpc_id', 'bigint')
        .addColumn('source_nat', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('ip_allocations_address_uq')
        .on('ip_allocations')
        .columns(['space', 'scope_id', 'address'])
        .unique()
        .execute();
      await s.createIndex('ip_allocations_pool_idx').on('ip_allocations').columns(['space', 'pool_id']).execute();
      await s
        .createIndex('ip_allocations_owner_idx')
        .on('ip_allocations')
        .columns(['owner_type', 'owner_id'])
        .execute();
      await s.createIndex('ip_allocations_account_idx').on('ip_allocations').column('account_id').execute();
      await s.createIndex('ip_allocations_network_idx').on('ip_allocations').column('network_id').execute();

      await withId(engine, s.createTable('guest_vlans'))
        .addColumn('physical_network_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('vnet', 'integer', (c) => c.notNull())
        .addColumn('network_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('taken', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('guest_vlans_vnet_uq')
        .on('guest_vlans')
        .columns(['physical_network_id', 'vnet'])
        .unique()
        .execute();
      await s.createIndex('guest_vlans_network_uq').on('guest_vlans').column('network_id').unique().execute();

      await withBase(engine, s.createTable('guest_vlan_dedications'))
        .addColumn('physical_network_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('start_vnet', 'integer', (c) => c.notNull())
        .addColumn('end_vnet', 'integer', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('guest_vlan_dedications_pn_idx')
        .on('guest_vlan_dedications')
        .column('physical_network_id')
        .execute();

      await withId(engine, s.createTable('mac_addresses'))
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('mac', 'text', (c) => c.notNull())
        .addColumn('owner_type', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'bigint')
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('mac_addresses_uq').on('mac_addresses').columns(['zone_id', 'mac']).unique().execute();
    },
  };
}
