import { type Kysely, sql } from 'kysely';
import { type StoreEngine, versioned, withBase, withId } from '../dialect.js';

/** A built-in network offering seeded by this migration (spec/resource-model.md §6.3). */
interface SeedOffering {
  name: string;
  displayText: string;
  guestType: 'Isolated' | 'Shared';
  services: Record<string, string[]>;
  conserveMode: boolean;
  specifyVlan: boolean;
  specifyIpRanges: boolean;
  availability: 'Required' | 'Optional' | 'Unavailable';
  egressDefaultPolicy: 'allow' | 'deny';
  forVpc: boolean;
  capabilities?: Record<string, Record<string, string>>;
}

const VR = 'VirtualRouter';
const VPC_VR = 'VpcVirtualRouter';

/**
 * CloudStack's default network offerings (networking.md §5; resource-model.md §6.3), seeded
 * `Enabled` as CloudStack ships them. The default isolated offering denies egress by default
 * (§8.2).
 */
export const DEFAULT_NETWORK_OFFERINGS: readonly SeedOffering[] = [
  {
    name: 'DefaultIsolatedNetworkOfferingWithSourceNatService',
    displayText: 'Offering for Isolated networks with Source Nat service enabled',
    guestType: 'Isolated',
    services: {
      Dhcp: [VR],
      Dns: [VR],
      UserData: [VR],
      Firewall: [VR],
      Gateway: [VR],
      Lb: [VR],
      SourceNat: [VR],
      StaticNat: [VR],
      PortForwarding: [VR],
      Vpn: [VR],
    },
    conserveMode: true,
    specifyVlan: false,
    specifyIpRanges: false,
    availability: 'Required',
    egressDefaultPolicy: 'deny',
    forVpc: false,
    capabilities: { SourceNat: { SupportedSourceNatTypes: 'peraccount' } },
  },
  {
    name: 'DefaultSharedNetworkOfferingWithSGService',
    displayText: 'Offering for Shared Security group enabled networks',
    guestType: 'Shared',
    services: { Dhcp: [VR], Dns: [VR], UserData: [VR], SecurityGroup: ['SecurityGroupProvider'] },
    conserveMode: false,
    specifyVlan: true,
    specifyIpRanges: true,
    availability: 'Optional',
    egressDefaultPolicy: 'allow',
    forVpc: false,
  },
  {
    name: 'DefaultSharedNetworkOffering',
    displayText: 'Offering for Shared networks',
    guestType: 'Shared',
    services: { Dhcp: [VR], Dns: [VR], UserData: [VR] },
    conserveMode: false,
    specifyVlan: true,
    specifyIpRanges: true,
    availability: 'Optional',
    egressDefaultPolicy: 'allow',
    forVpc: false,
  },
  {
    name: 'DefaultSharedNetscalerEIPandELBNetworkOffering',
    displayText: 'Offering for Shared networks with Elastic IP and Elastic LB capabilities',
    guestType: 'Shared',
    services: {
      Dhcp: [VR],
      Dns: [VR],
      UserData: [VR],
      SecurityGroup: ['SecurityGroupProvider'],
      StaticNat: ['Netscaler'],
      Lb: ['Netscaler'],
    },
    conserveMode: false,
    specifyVlan: true,
    specifyIpRanges: true,
    availability: 'Optional',
    egressDefaultPolicy: 'allow',
    forVpc: false,
    capabilities: {
      StaticNat: { ElasticIp: 'true', AssociatePublicIP: 'true' },
      Lb: { ElasticLb: 'true', SupportedLBIsolation: 'dedicated' },
    },
  },
  {
    name: 'DefaultIsolatedNetworkOfferingForVpcNetworks',
    displayText: 'Offering for Isolated VPC networks with Source Nat service enabled',
    guestType: 'Isolated',
    services: {
      Dhcp: [VPC_VR],
      Dns: [VPC_VR],
      UserData: [VPC_VR],
      Gateway: [VPC_VR],
      Lb: [VPC_VR],
      SourceNat: [VPC_VR],
      StaticNat: [VPC_VR],
      PortForwarding: [VPC_VR],
      NetworkACL: [VPC_VR],
      Vpn: [VPC_VR],
    },
    conserveMode: false,
    specifyVlan: false,
    specifyIpRanges: false,
    availability: 'Optional',
    egressDefaultPolicy: 'deny',
    forVpc: true,
  },
  {
    name: 'DefaultIsolatedNetworkOfferingForVpcNetworksNoLB',
    displayText: 'Offering for Isolated VPC networks with Source Nat service enabled and LB service disabled',
    guestType: 'Isolated',
    services: {
      Dhcp: [VPC_VR],
      Dns: [VPC_VR],
      UserData: [VPC_VR],
      Gateway: [VPC_VR],
      SourceNat: [VPC_VR],
      StaticNat: [VPC_VR],
      PortForwarding: [VPC_VR],
      NetworkACL: [VPC_VR],
      Vpn: [VPC_VR],
    },
    conserveMode: false,
    specifyVlan: false,
    specifyIpRanges: false,
    availability: 'Optional',
    egressDefaultPolicy: 'deny',
    forVpc: true,
  },
];

/** The VPC network ACL lists every cloud has (networking.md §11.1); neither can be deleted. */
export const DEFAULT_NETWORK_ACLS = [
  { name: 'default_allow', description: 'Default Network ACL Allow All', action: 'Allow' },
  { name: 'default_deny', description: 'Default Network ACL Deny All', action: 'Deny' },
] as const;

/**
 * The network layer (spec/networking.md §5–§11): network offerings (with CloudStack's built-in
 * ones), guest networks, NICs, rules on public IPs (firewall, port forwarding, static NAT, load
 * balancing), security groups, VPCs with their ACLs and private gateways. Unique indexes carry the
 * rules that must hold across processes: one static NAT per public IP and per VM address, one
 * default security group per account, ACL item numbers unique per list, a private gateway's
 * (VLAN, IP) unique per zone.
 */
export function network(engine: StoreEngine) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const s = db.schema;

      await withBase(engine, s.createTable('network_offerings'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('traffic_type', 'text', (c) => c.notNull())
        .addColumn('guest_type', 'text', (c) => c.notNull())
        .addColumn('services', 'text', (c) => c.notNull())
        .addColumn('capabilities', 'text', (c) => c.notNull())
        .addColumn('conserve_mode', 'integer', (c) => c.notNull())
        .addColumn('specify_vlan', 'integer', (c) => c.notNull())
        .addColumn('specify_ip_ranges', 'integer', (c) => c.notNull())
        .addColumn('availability', 'text', (c) => c.notNull())
        .addColumn('egress_default_policy', 'text', (c) => c.notNull())
        .addColumn('network_rate', 'integer')
        .addColumn('service_offering_id', 'bigint')
        .addColumn('tags', 'text', (c) => c.notNull())
        .addColumn('for_vpc', 'integer', (c) => c.notNull())
        .addColumn('persistent', 'integer', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('network_offerings_name_idx').on('network_offerings').column('name').execute();

      await withBase(engine, s.createTable('networks'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('physical_network_id', 'bigint', (c) => c.notNull())
        .addColumn('network_offering_id', 'bigint', (c) => c.notNull())
        .addColumn('traffic_type', 'text', (c) => c.notNull())
        .addColumn('guest_type', 'text', (c) => c.notNull())
        .addColumn('cidr', 'text')
        .addColumn('gateway', 'text')
        .addColumn('netmask', 'text')
        .addColumn('broadcast_domain_type', 'text', (c) => c.notNull())
        .addColumn('broadcast_uri', 'text')
        .addColumn('specified_vlan', 'integer')
        .addColumn('acl_type', 'text', (c) => c.notNull())
        .addColumn('network_domain', 'text')
        .addColumn('guru_name', 'text', (c) => c.notNull())
        .addColumn('specify_ip_ranges', 'integer', (c) => c.notNull())
        .addColumn('restart_required', 'integer', (c) => c.notNull())
        .addColumn('vpc_id', 'bigint')
        .addColumn('acl_id', 'bigint')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('idle_since', 'bigint')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('networks_zone_idx').on('networks').columns(['zone_id', 'state']).execute();
      await s.createIndex('networks_account_idx').on('networks').column('account_id').execute();
      await s.createIndex('networks_vpc_idx').on('networks').column('vpc_id').execute();

      await withBase(engine, s.createTable('nics'))
        .addColumn('instance_id', 'bigint', (c) => c.notNull())
        .addColumn('network_id', 'bigint', (c) => c.notNull())
        .addColumn('device_id', 'integer', (c) => c.notNull())
        .addColumn('ip4_address', 'text')
        .addColumn('ip_allocation_id', 'bigint')
        .addColumn('netmask', 'text')
        .addColumn('gateway', 'text')
        .addColumn('mac_address', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull())
        .addColumn('broadcast_uri', 'text')
        .addColumn('isolation_uri', 'text')
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('reservation_strategy', 'text', (c) => c.notNull())
        .addColumn('reserver', 'text')
        .addColumn('reservation_id', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('nics_instance_idx').on('nics').column('instance_id').execute();
      await s.createIndex('nics_network_idx').on('nics').columns(['network_id', 'state']).execute();

      // Firewall (ingress per public IP, egress per network), port-forwarding and load-balancing rules.
      await withBase(engine, s.createTable('network_rules'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('network_id', 'bigint', (c) => c.notNull())
        .addColumn('ip_allocation_id', 'bigint')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('traffic_type', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('start_port', 'integer')
        .addColumn('end_port', 'integer')
        .addColumn('icmp_type', 'integer')
        .addColumn('icmp_code', 'integer')
        .addColumn('cidrs', 'text', (c) => c.notNull())
        .addColumn('vm_id', 'bigint')
        .addColumn('nic_id', 'bigint')
        .addColumn('private_ip', 'text')
        .addColumn('private_start_port', 'integer')
        .addColumn('private_end_port', 'integer')
        .addColumn('name', 'text')
        .addColumn('algorithm', 'text')
        .addColumn('stickiness', 'text')
        .addColumn('health_check', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();
      await s.createIndex('network_rules_ip_idx').on('network_rules').column('ip_allocation_id').execute();
      await s.createIndex('network_rules_network_idx').on('network_rules').column('network_id').execute();

      await withId(engine, s.createTable('lb_members'))
        .addColumn('rule_id', 'bigint', (c) => c.notNull())
        .addColumn('vm_id', 'bigint', (c) => c.notNull())
        .addColumn('nic_id', 'bigint', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('lb_members_uq').on('lb_members').columns(['rule_id', 'nic_id']).unique().execute();

      // Static NAT: one per public IP, and one public IP per VM address (§8.4).
      await withId(engine, s.createTable('static_nats'))
        .addColumn('ip_allocation_id', 'bigint', (c) => c.notNull())
        .addColumn('network_id', 'bigint', (c) => c.notNull())
        .addColumn('vm_id', 'bigint', (c) => c.notNull())
        .addColumn('nic_id', 'bigint', (c) => c.notNull())
        .addColumn('private_ip', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s.createIndex('static_nats_ip_uq').on('static_nats').column('ip_allocation_id').unique().execute();
      await s.createIndex('static_nats_nic_uq').on('static_nats').column('nic_id').unique().execute();

      await withBase(engine, s.createTable('security_groups'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('security_groups_name_uq')
        .on('security_groups')
        .columns(['account_id', 'name'])
        .unique()
        .where(sql.ref('removed'), 'is', null)
        .execute();

      await withId(engine, s.createTable('security_group_rules'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('security_group_id', 'bigint', (c) => c.notNull())
        .addColumn('direction', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('start_port', 'integer')
        .addColumn('end_port', 'integer')
        .addColumn('icmp_type', 'integer')
        .addColumn('icmp_code', 'integer')
        .addColumn('cidrs', 'text', (c) => c.notNull())
        .addColumn('group_refs', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('security_group_rules_group_idx')
        .on('security_group_rules')
        .column('security_group_id')
        .execute();

      await withId(engine, s.createTable('security_group_members'))
        .addColumn('security_group_id', 'bigint', (c) => c.notNull())
        .addColumn('vm_id', 'bigint', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('security_group_members_uq')
        .on('security_group_members')
        .columns(['vm_id', 'security_group_id'])
        .unique()
        .execute();

      await withBase(engine, s.createTable('vpcs'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('display_text', 'text', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('network_domain', 'text')
        .addColumn('account_id', 'bigint', (c) => c.notNull())
        .addColumn('domain_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_count', 'integer', versioned)
        .execute();

      await withBase(engine, s.createTable('network_acls'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('vpc_id', 'bigint')
        .execute();

      await withId(engine, s.createTable('network_acl_items'))
        .addColumn('uuid', 'text', (c) => c.notNull().unique())
        .addColumn('acl_id', 'bigint', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('traffic_type', 'text', (c) => c.notNull())
        .addColumn('protocol', 'text', (c) => c.notNull())
        .addColumn('start_port', 'integer')
        .addColumn('end_port', 'integer')
        .addColumn('icmp_type', 'integer')
        .addColumn('icmp_code', 'integer')
        .addColumn('cidrs', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await s
        .createIndex('network_acl_items_uq')
        .on('network_acl_items')
        .columns(['acl_id', 'number'])
        .unique()
        .execute();

      await withBase(engine, s.createTable('private_gateways'))
        .addColumn('vpc_id', 'bigint', (c) => c.notNull())
        .addColumn('zone_id', 'bigint', (c) => c.notNull())
        .addColumn('physical_network_id', 'bigint', (c) => c.notNull())
        .addColumn('vlan', 'integer', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('gateway', 'text', (c) => c.notNull())
        .addColumn('netmask', 'text', (c) => c.notNull())
        .addColumn('static_routes', 'text', (c) => c.notNull())
        .execute();
      await s
        .createIndex('private_gateways_uq')
        .on('private_gateways')
        .columns(['zone_id', 'vlan', 'ip'])
        .unique()
        .where(sql.ref('removed'), 'is', null)
        .execute();

      const now = Date.now();
      let n = 0;
      for (const o of DEFAULT_NETWORK_OFFERINGS) {
        n++;
        await db
          .insertInto('network_offerings' as never)
          .values({
            uuid: `00000000-0000-4000-8000-0000000005${String(n).padStart(2, '0')}`,
            created: now,
            removed: null,
            name: o.name,
            display_text: o.displayText,
            traffic_type: 'Guest',
            guest_type: o.guestType,
            services: JSON.stringify(o.services),
            capabilities: JSON.stringify(o.capabilities ?? {}),
            conserve_mode: o.conserveMode ? 1 : 0,
            specify_vlan: o.specifyVlan ? 1 : 0,
            specify_ip_ranges: o.specifyIpRanges ? 1 : 0,
            availability: o.availability,
            egress_default_policy: o.egressDefaultPolicy,
            network_rate: null,
            service_offering_id: null,
            tags: '[]',
            for_vpc: o.forVpc ? 1 : 0,
            persistent: 0,
            is_default: 1,
            state: 'Enabled',
            updated_count: 0,
          } as never)
          .execute();
      }
      for (const [i, acl] of DEFAULT_NETWORK_ACLS.entries()) {
        await db
          .insertInto('network_acls' as never)
          .values({
            uuid: `00000000-0000-4000-8000-00000000060${i + 1}`,
            created: now,
            removed: null,
            name: acl.name,
            description: acl.description,
            vpc_id: null,
          } as never)
          .execute();
      }
    },
  };
}
