import type { Kysely } from 'kysely';
import { live, type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/**
 * The resource model: tenancy, the physical hierarchy, storage, physical networks, offerings,
 * templates, VM and volume records, settings, hypervisor capabilities and events.
 * Uniqueness scopes from spec/resource-model.md §13 are unique indexes over live rows, so two
 * control planes sharing one database cannot both create the same name.
 */
export function foundation(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;
      await withBase(engine, s.createTable('domains'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'bigint')
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('network_domain', 'text')
        .execute();
      await s.createIndex('domains_path_uq').on('domains').column('path').unique().where(live).execute();

      await withBase(engine, s.createTable('accounts'))
        .addColumn('account_name', 'text', (c) => c.notNull())
        .addColumn('type', 'integer', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('network_domain', 'text')
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('accounts_name_uq')
        .on('accounts')
        .columns(['domain_id', 'account_name'])
        .unique()
        .where(live)
        .execute();

      await withBase(engine, s.createTable('users'))
        .addColumn('username', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('first_name', 'text')
        .addColumn('last_name', 'text')
        .addColumn('email', 'text')
        .addColumn('timezone', 'text')
        .addColumn('api_key', 'text')
        .addColumn('secret_key', 'text')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('users_name_uq')
        .on('users')
        .columns(['domain_id', 'username'])
        .unique()
        .where(live)
        .execute();
      await s.createIndex('users_api_key_uq').on('users').column('api_key').unique().execute();

      await withBase(engine, s.createTable('zones'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('network_type', 'text', (c) => c.notNull())
        .addColumn('dns1', 'text', (c) => c.notNull())
        .addColumn('dns2', 'text')
        .addColumn('internal_dns1', 'text', (c) => c.notNull())
        .addColumn('internal_dns2', 'text')
        .addColumn('guest_cidr', 'text')
        .addColumn('network_domain', 'text')
        .addColumn('dedicated_domain_id', 'bigint')
        .addColumn('local_storage_enabled', 'integer', (c) => c.notNull())
        .addColumn('security_group_enabled', 'integer', (c) => c.notNull())
        .addColumn('allocation_state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('zones_name_uq').on('zones').column('name').unique().where(live).execute();

      await withBase(engine, s.createTable('pods'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('start_ip', 'text', (c) => c.notNull())
        .addColumn('end_ip', 'text', (c) => c.notNull())
        .addColumn('allocation_state', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('pods_name_uq').on('pods').columns(['zone_id', 'name']).unique().where(live).execute();

      await withBase(engine, s.createTable('clusters'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('pod_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('hypervisor_type', 'text', (c) => c.notNull())
        .addColumn('cluster_type', 'text', (c) => c.notNull())
        .addColumn('allocation_state', 'text', (c) => c.notNull())
        .addColumn('managed_state', 'text', (c) => c.notNull())
        .addColumn('cpu_overcommit_ratio', 'double precision', (c) => c.notNull())
        .addColumn('memory_overcommit_ratio', 'double precision', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await s.createIndex('clusters_name_uq').on('clusters').columns(['pod_id', 'name']).unique().where(live).execute();

      await withBase(engine, s.createTable('hosts'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('guid', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('pod_id', 'bigint', (c) => c.notNull())
        .addColumn('cluster_id', 'bigint', (c) => c.notNull())
        .addColumn('hypervisor_type', 'text', (c) => c.notNull())
        .addColumn('hypervisor_version', 'text')
        .addColumn('private_ip', 'text')
        .addColumn('public_ip', 'text')
        .addColumn('storage_ip', 'text')
        .addColumn('cpus', 'integer', (c) => c.notNull())
        .addColumn('cpu_sockets', 'integer')
        .addColumn('speed', 'integer', (c) => c.notNull())
        .addColumn('total_memory', 'bigint', (c) => c.notNull())
        .addColumn('reserved_memory', 'bigint', (c) => c.notNull())
        .addColumn('host_tags', 'text', (c) => c.notNull())
        .addColumn('os_category_preference', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('resource_state', 'text', (c) => c.notNull())
        .addColumn('last_pinged', 'bigint')
        .addColumn('capabilities', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('hosts_guid_uq').on('hosts').column('guid').unique().where(live).execute();
      await s.createIndex('hosts_private_ip_uq').on('hosts').column('private_ip').unique().where(live).execute();
      await s.createIndex('hosts_cluster_idx').on('hosts').column('cluster_id').execute();

      await withBase(engine, s.createTable('storage_pools'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('pod_id', 'bigint')
        .addColumn('cluster_id', 'bigint')
        .addColumn('host_id', 'bigint')
        .addColumn('hypervisor_type', 'text')
        .addColumn('pool_type', 'text', (c) => c.notNull())
        .addColumn('host_address', 'text')
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('capacity_bytes', 'bigint', (c) => c.notNull())
        .addColumn('used_bytes', 'bigint', (c) => c.notNull())
        .addColumn('capacity_iops', 'bigint')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('storage_pools_url_uq')
        .on('storage_pools')
        .columns(['zone_id', 'url'])
        .unique()
        .where(live)
        .execute();

      await withBase(engine, s.createTable('image_stores'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('image_stores_url_uq')
        .on('image_stores')
        .columns(['zone_id', 'url'])
        .unique()
        .where(live)
        .execute();

      await withBase(engine, s.createTable('physical_networks'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('isolation_methods', 'text', (c) => c.notNull())
        .addColumn('vlan_ranges', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('speed', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s
        .createIndex('physical_networks_name_uq')
        .on('physical_networks')
        .columns(['zone_id', 'name'])
        .unique()
        .where(live)
        .execute();

      await withId(engine, s.createTable('physical_network_traffic_types'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('physical_network_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('traffic_type', 'text', (c) => c.notNull())
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('traffic_types_uq')
        .on('physical_network_traffic_types')
        .columns(['physical_network_id', 'traffic_type'])
        .unique()
        .execute();

      await withBase(engine, s.createTable('service_offerings'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('cpu_number', 'integer', (c) => c.notNull())
        .addColumn('cpu_speed', 'integer', (c) => c.notNull())
        .addColumn('memory', 'integer', (c) => c.notNull())
        .addColumn('storage_type', 'text', (c) => c.notNull())
        .addColumn('offer_ha', 'integer', (c) => c.notNull())
        .addColumn('limit_cpu_use', 'integer', (c) => c.notNull())
        .addColumn('network_rate', 'integer')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('host_tag', 'text')
        .addColumn('domain_id', 'bigint')
        .addColumn('is_system', 'integer', (c) => c.notNull())
        .addColumn('system_vm_type', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .execute();

      await withBase(engine, s.createTable('disk_offerings'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('disk_size', 'bigint')
        .addColumn('customized', 'integer', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('storage_type', 'text', (c) => c.notNull())
        .addColumn('domain_id', 'bigint')
        .addColumn('state', 'text', (c) => c.notNull())
        .execute();

      await withBase(engine, s.createTable('templates'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('url', 'text')
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('hypervisor_type', 'text')
        .addColumn('os_type', 'text', (c) => c.notNull())
        .addColumn('os_category', 'text', (c) => c.notNull())
        .addColumn('is_iso', 'integer', (c) => c.notNull())
        .addColumn('is_public', 'integer', (c) => c.notNull())
        .addColumn('is_featured', 'integer', (c) => c.notNull())
        .addColumn('is_extractable', 'integer', (c) => c.notNull())
        .addColumn('password_enabled', 'integer', (c) => c.notNull())
        .addColumn('ssh_key_enabled', 'integer', (c) => c.notNull())
        .addColumn('requires_hvm', 'integer', (c) => c.notNull())
        .addColumn('bits', 'integer', (c) => c.notNull())
        .addColumn('bootable', 'integer', (c) => c.notNull())
        .addColumn('cross_zones', 'integer', (c) => c.notNull())
        .addColumn('zone_id', 'bigint')
        .addColumn('template_type', 'text', (c) => c.notNull())
        .addColumn('checksum', 'text')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();

      await s
        .createTable('template_permissions')
        .addColumn('template_id', 'bigint', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('template_permissions_pk', ['template_id', 'account_id'])
        .execute();

      await withId(engine, s.createTable('hypervisor_capabilities'))
        .addColumn('hypervisor_type', 'text', (c) => c.notNull())
        .addColumn('hypervisor_version', 'text', (c) => c.notNull())
        .addColumn('max_hosts_per_cluster', 'integer', (c) => c.notNull())
        .addColumn('max_guests_limit', 'integer')
        .addColumn('max_data_volumes_limit', 'integer', (c) => c.notNull())
        .addUniqueConstraint('hypervisor_capabilities_uq', ['hypervisor_type', 'hypervisor_version'])
        .execute();

      await withId(engine, s.createTable('configuration'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('scope_id', 'bigint', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('configuration_uq', ['name', 'scope', 'scope_id'])
        .execute();

      await withBase(engine, s.createTable('vm_instances'))
        .addColumn('instance_name', 'text', (c) => c.notNull())
        .addColumn('host_name', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('service_offering_id', 'bigint', (c) => c.notNull())
        .addColumn('template_id', 'bigint')
        .addColumn('hypervisor_type', 'text')
        .addColumn('host_id', 'bigint')
        .addColumn('last_host_id', 'bigint')
        .addColumn('pod_id_to_deploy_in', 'bigint')
        .addColumn('ha_enabled', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('power_state', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('vm_instances_host_idx').on('vm_instances').column('host_id').execute();
      await s.createIndex('vm_instances_zone_idx').on('vm_instances').column('zone_id').execute();

      await withBase(engine, s.createTable('volumes'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('volume_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('pod_id', 'bigint')
        .addColumn('pool_id', 'bigint')
        .addColumn('instance_id', 'bigint')
        .addColumn('device_id', 'integer')
        .addColumn('disk_offering_id', 'bigint')
        .addColumn('template_id', 'bigint')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('format', 'text')
        .addColumn('path', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('volumes_pool_idx').on('volumes').column('pool_id').execute();

      await withId(engine, s.createTable('events'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('user_id', 'bigint')
        .addColumn('account_id', 'bigint')
        .addColumn('domain_id', 'bigint')
        .addColumn('resource_type', 'text')
        .addColumn('resource_id', 'bigint')
        .addColumn('resource_uuid', 'text')
        .addColumn('start_id', 'bigint')
        .addColumn('parameters', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('archived', 'integer', (c) => c.notNull())
        .execute();
      await s.createIndex('events_created_idx').on('events').column('created').execute();
      await s.createIndex('events_resource_idx').on('events').columns(['resource_type', 'resource_id']).execute();
    },
  };
}
