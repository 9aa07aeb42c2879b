import type { ColumnType, Generated } from 'kysely';

/**
 * The persisted schema, in the camelCase names TypeScript sees. Kysely's CamelCasePlugin maps them
 * to snake_case columns in both engines. Conventions shared by every table:
 * - `id` is the internal numeric key (foreign keys use it); `uuid` is the stable external id.
 * - booleans are stored as 0/1 integers and times as epoch milliseconds, so SQLite and PostgreSQL
 *   hold the same values; list and map columns hold JSON text.
 * - `removed` is the soft-delete time (null while the row is live).
 * - `updatedCount` is the version column every compare-and-set transition checks and bumps.
 */

type Id = Generated<number>;
/** epoch milliseconds */
type Millis = number;
/** 0 | 1 */
type Bool = number;
/** JSON text */
type Json = string;

interface Base {
  id: Id;
  uuid: string;
  created: Millis;
  removed: Millis | null;
}

interface Versioned {
  updatedCount: ColumnType<number, number | undefined, number>;
}

export interface DomainTable extends Base {
  name: string;
  parentId: number | null;
  path: string;
  level: number;
  networkDomain: string | null;
}

export interface AccountTable extends Base, Versioned {
  accountName: string;
  type: number;
  domainId: number;
  state: string;
  networkDomain: string | null;
}

export interface UserTable extends Base, Versioned {
  username: string;
  passwordHash: string | null;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  timezone: string | null;
  apiKey: string | null;
  secretKey: string | null;
  accountId: number;
  domainId: number;
  state: string;
}

export interface ZoneTable extends Base, Versioned {
  name: string;
  networkType: string;
  dns1: string;
  dns2: string | null;
  internalDns1: string;
  internalDns2: string | null;
  guestCidr: string | null;
  networkDomain: string | null;
  dedicatedDomainId: number | null;
  localStorageEnabled: Bool;
  securityGroupEnabled: Bool;
  allocationState: string;
}

export interface PodTable extends Base {
  name: string;
  zoneId: number;
  gateway: string;
  cidr: string;
  startIp: string;
  endIp: string;
  allocationState: string;
}

export interface ClusterTable extends Base {
  name: string;
  podId: number;
  zoneId: number;
  hypervisorType: string;
  clusterType: string;
  allocationState: string;
  managedState: string;
  cpuOvercommitRatio: number;
  memoryOvercommitRatio: number;
  details: Json;
}

export interface HostTable extends Base, Versioned {
  name: string;
  guid: string;
  url: string;
  type: string;
  zoneId: number;
  podId: number;
  clusterId: number;
  hypervisorType: string;
  hypervisorVersion: string | null;
  privateIp: string | null;
  publicIp: string | null;
  storageIp: string | null;
  cpus: number;
  cpuSockets: number | null;
  speed: number;
  totalMemory: number;
  reservedMemory: number;
  hostTags: Json;
  osCategoryPreference: string | null;
  status: string;
  resourceState: string;
  lastPinged: Millis | null;
  capabilities: Json;
  details: Json;
}

export interface StoragePoolTable extends Base, Versioned {
  name: string;
  scope: string;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
  hostId: number | null;
  hypervisorType: string | null;
  poolType: string;
  hostAddress: string | null;
  path: string;
  url: string;
  tags: Json;
  capacityBytes: number;
  usedBytes: number;
  capacityIops: number | null;
  status: string;
}

export interface ImageStoreTable extends Base {
  name: string;
  url: string;
  protocol: string;
  zoneId: number;
  role: string;
}

export interface PhysicalNetworkTable extends Base, Versioned {
  name: string;
  zoneId: number;
  isolationMethods: Json;
  vlanRanges: Json;
  tags: Json;
  speed: string | null;
  state: string;
}

export interface TrafficTypeTable {
  id: Id;
  uuid: string;
  physicalNetworkId: number;
  zoneId: number;
  trafficType: string;
  labels: Json;
  created: Millis;
}

export interface ServiceOfferingTable extends Base {
  name: string;
  displayText: string;
  cpuNumber: number;
  cpuSpeed: number;
  memory: number;
  storageType: string;
  offerHa: Bool;
  limitCpuUse: Bool;
  networkRate: number | null;
  tags: Json;
  hostTag: string | null;
  /** JSON: CloudStack offering details (0014-allocation-rules). */
  details: ColumnType<string, string | undefined, string>;
  domainId: number | null;
  isSystem: Bool;
  systemVmType: string | null;
  state: string;
}

export interface DiskOfferingTable extends Base {
  name: string;
  displayText: string;
  diskSize: number | null;
  customized: Bool;
  tags: Json;
  storageType: string;
  domainId: number | null;
  state: string;
}

export interface TemplateTable extends Base, Versioned {
  name: string;
  displayText: string;
  url: string | null;
  format: string;
  hypervisorType: string | null;
  osType: string;
  osCategory: string;
  isIso: Bool;
  isPublic: Bool;
  isFeatured: Bool;
  isExtractable: Bool;
  passwordEnabled: Bool;
  sshKeyEnabled: Bool;
  requiresHvm: Bool;
  bits: number;
  bootable: Bool;
  crossZones: Bool;
  zoneId: number | null;
  templateType: string;
  checksum: string | null;
  accountId: number;
  domainId: number;
  state: string;
}

export interface TemplatePermissionTable {
  templateId: number;
  accountId: number;
}

export interface HypervisorCapabilityTable {
  id: Id;
  hypervisorType: string;
  hypervisorVersion: string;
  maxHostsPerCluster: number;
  /** null = unlimited */
  maxGuestsLimit: number | null;
  maxDataVolumesLimit: number;
}

export interface ConfigurationTable {
  id: Id;
  name: string;
  scope: string;
  scopeId: number;
  value: string;
  updated: Millis;
}

export interface VmInstanceTable extends Base, Versioned {
  instanceName: string;
  hostName: string;
  displayName: string;
  type: string;
  accountId: number;
  domainId: number;
  zoneId: number;
  serviceOfferingId: number;
  templateId: number | null;
  isoId: number | null;
  hypervisorType: string | null;
  hostId: number | null;
  lastHostId: number | null;
  podIdToDeployIn: number | null;
  haEnabled: Bool;
  state: string;
  powerState: string;
  details: Json;
}

export interface VolumeTable extends Base, Versioned {
  name: string;
  volumeType: string;
  size: number;
  zoneId: number;
  podId: number | null;
  poolId: number | null;
  instanceId: number | null;
  deviceId: number | null;
  diskOfferingId: number | null;
  templateId: number | null;
  accountId: number;
  domainId: number;
  format: string | null;
  path: string | null;
  state: string;
}

export interface EventTable {
  id: Id;
  uuid: string;
  type: string;
  state: string;
  level: string;
  description: string;
  userId: number | null;
  accountId: number | null;
  domainId: number | null;
  resourceType: string | null;
  resourceId: number | null;
  resourceUuid: string | null;
  startId: number | null;
  parameters: Json;
  created: Millis;
  archived: Bool;
}

export interface IpRangeTable extends Base, Versioned {
  /** 'public' | 'guest' (IpRangeSpace). */
  space: string;
  /** 'VirtualNetwork' | 'DirectAttached'. */
  vlanType: string;
  zoneId: number;
  podId: number | null;
  networkId: number | null;
  physicalNetworkId: number | null;
  /** 'untagged' or 'vlan://<id>'. */
  vlanTag: string;
  gateway: string;
  netmask: string;
  cidr: string;
  startIp: string;
  endIp: string;
  /** startIp / endIp as unsigned 32-bit integers. */
  startNum: number;
  endNum: number;
  /** JSON array of addresses (integers) inside start–end that are never allocatable. */
  excluded: Json;
  domainId: number | null;
  accountId: number | null;
  forSystemVms: Bool;
}

export interface IpAllocationTable {
  id: Id;
  uuid: string;
  /** 'public' | 'guest' | 'management' | 'linklocal' (IpSpace). */
  space: string;
  /** Uniqueness scope: 0 (cloud-wide), network id (guest) or pod id (link-local). */
  scopeId: number;
  /** The range id (public, guest) or pod id (management, link-local). */
  poolId: number;
  address: number;
  ip: string;
  zoneId: number;
  state: string;
  ownerType: string;
  ownerId: number | null;
  accountId: number | null;
  domainId: number | null;
  networkId: number | null;
  vpcId: number | null;
  sourceNat: Bool;
  created: Millis;
  updatedCount: ColumnType<number, number | undefined, number>;
}

export interface GuestVlanTable {
  id: Id;
  physicalNetworkId: number;
  zoneId: number;
  vnet: number;
  networkId: number;
  accountId: number;
  taken: Millis;
}

export interface GuestVlanDedicationTable extends Base {
  physicalNetworkId: number;
  zoneId: number;
  startVnet: number;
  endVnet: number;
  accountId: number;
  domainId: number;
}

export interface MacAddressTable {
  id: Id;
  zoneId: number;
  mac: string;
  ownerType: string;
  ownerId: number | null;
  created: Millis;
}

/** Used and reserved CPU (MHz) and memory (bytes) of one host (allocation.md §2.1); 0003-capacity. */
export interface HostCapacityTable {
  hostId: number;
  cpuUsed: number;
  cpuReserved: number;
  memoryUsed: number;
  memoryReserved: number;
  updated: Millis;
  updatedCount: ColumnType<number, number | undefined, number>;
}

/** One VM's booking on one host: `used` (Starting/Running/Migrating) or `reserved` (stopped, last host). */
export interface CapacityBookingTable {
  id: Id;
  vmId: number;
  hostId: number;
  accountId: number;
  kind: string;
  cpu: number;
  memory: number;
  cpuRatio: number;
  memoryRatio: number;
  implicitMode: string | null;
  since: Millis;
}

/** Allocated bytes (and IOPS) of one primary storage pool; 0003-capacity. */
export interface PoolCapacityTable {
  poolId: number;
  allocatedBytes: number;
  usedIops: number;
  updated: Millis;
  updatedCount: ColumnType<number, number | undefined, number>;
}

/** One volume's allocation on a pool. */
export interface StorageAllocationTable {
  id: Id;
  volumeId: number;
  poolId: number;
  accountId: number;
  bytes: number;
  iops: number;
  since: Millis;
}

/** Explicit dedication of a zone, pod, cluster or host to a domain or an account (allocation.md §9.1). */
/** One row (id 1): bumped by triggers on every placement-relevant change (migration 0015). */
export interface PlacementEpochTable {
  id: number;
  epoch: number;
}

export interface DedicatedResourceTable extends Base {
  zoneId: number | null;
  podId: number | null;
  clusterId: number | null;
  hostId: number | null;
  domainId: number;
  accountId: number | null;
  /** The owner's `ExplicitDedication` affinity group (0014-allocation-rules). */
  affinityGroupId: number | null;
}

/** A `host affinity`, `host anti-affinity` or `ExplicitDedication` group (0014-allocation-rules). */
export interface AffinityGroupTable extends Base {
  name: string;
  description: string | null;
  type: string;
  /** Null for a domain-level (explicit-dedication) group. */
  accountId: number | null;
  domainId: number;
}

/** A VM's membership of an affinity group (0014-allocation-rules). */
export interface AffinityGroupVmTable {
  id: Id;
  groupId: number;
  vmId: number;
}

// ---- network layer (0005-network) ----

/** A network offering (networking.md §5): services → providers, guest type, conserve mode. */
export interface NetworkOfferingTable extends Base, Versioned {
  name: string;
  displayText: string;
  trafficType: string;
  /** 'Isolated' | 'Shared'. */
  guestType: string;
  /** JSON map Service → Provider[]. */
  services: Json;
  /** JSON map Service → { Capability: value }. */
  capabilities: Json;
  conserveMode: Bool;
  specifyVlan: Bool;
  specifyIpRanges: Bool;
  availability: string;
  /** 'allow' | 'deny'. */
  egressDefaultPolicy: string;
  networkRate: number | null;
  serviceOfferingId: number | null;
  tags: Json;
  forVpc: Bool;
  persistent: Bool;
  isDefault: Bool;
  state: string;
}

/** A guest network (resource-model.md §10; networking.md §6). */
export interface NetworkTable extends Base, Versioned {
  name: string;
  displayText: string;
  zoneId: number;
  physicalNetworkId: number;
  networkOfferingId: number;
  trafficType: string;
  guestType: string;
  cidr: string | null;
  gateway: string | null;
  netmask: string | null;
  broadcastDomainType: string;
  /** `vlan://<id>` once implemented (or given), else null. */
  broadcastUri: string | null;
  /** The admin-given VLAN of a shared network (specify VLAN). */
  specifiedVlan: number | null;
  aclType: string;
  networkDomain: string | null;
  guruName: string;
  specifyIpRanges: Bool;
  restartRequired: Bool;
  vpcId: number | null;
  aclId: number | null;
  accountId: number;
  domainId: number;
  /** When the garbage collector first saw the implemented network idle. */
  idleSince: Millis | null;
  state: string;
}

/** A VM's NIC on a network (resource-model.md §9, §12.10). */
export interface NicTable extends Base, Versioned {
  instanceId: number;
  networkId: number;
  deviceId: number;
  ip4Address: string | null;
  ipAllocationId: number | null;
  netmask: string | null;
  gateway: string | null;
  macAddress: string;
  isDefault: Bool;
  broadcastUri: string | null;
  isolationUri: string | null;
  mode: string;
  reservationStrategy: string;
  reserver: string | null;
  reservationId: string | null;
  state: string;
}

/** Firewall, port-forwarding and load-balancing rules (networking.md §8). */
export interface NetworkRuleTable extends Base, Versioned {
  /** 'Firewall' | 'PortForwarding' | 'LoadBalancing'. */
  purpose: string;
  networkId: number;
  /** The public IP (ip_allocations.id); null for egress firewall rules. */
  ipAllocationId: number | null;
  accountId: number;
  domainId: number;
  /** 'Ingress' | 'Egress'. */
  trafficType: string;
  protocol: string;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: Json;
  vmId: number | null;
  nicId: number | null;
  privateIp: string | null;
  privateStartPort: number | null;
  privateEndPort: number | null;
  name: string | null;
  algorithm: string | null;
  stickiness: Json | null;
  healthCheck: Json | null;
  /** 'Add' | 'Active' | 'Revoke'. */
  state: string;
}

export interface LbMemberTable {
  id: Id;
  ruleId: number;
  vmId: number;
  nicId: number;
  ip: string;
  created: Millis;
}

export interface StaticNatTable {
  id: Id;
  ipAllocationId: number;
  networkId: number;
  vmId: number;
  nicId: number;
  privateIp: string;
  created: Millis;
}

export interface SecurityGroupTable extends Base {
  name: string;
  description: string | null;
  accountId: number;
  domainId: number;
}

export interface SecurityGroupRuleTable {
  id: Id;
  uuid: string;
  securityGroupId: number;
  /** 'ingress' | 'egress'. */
  direction: string;
  protocol: string;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: Json;
  /** JSON array of security group ids whose members' addresses the rule names. */
  groupRefs: Json;
  created: Millis;
}

export interface SecurityGroupMemberTable {
  id: Id;
  securityGroupId: number;
  vmId: number;
  created: Millis;
}

export interface VpcTable extends Base, Versioned {
  name: string;
  displayText: string;
  zoneId: number;
  cidr: string;
  networkDomain: string | null;
  accountId: number;
  domainId: number;
  state: string;
}

export interface NetworkAclTable extends Base {
  name: string;
  description: string | null;
  /** null for the built-in `default_allow` / `default_deny`. */
  vpcId: number | null;
}

export interface NetworkAclItemTable {
  id: Id;
  uuid: string;
  aclId: number;
  number: number;
  action: string;
  trafficType: string;
  protocol: string;
  startPort: number | null;
  endPort: number | null;
  icmpType: number | null;
  icmpCode: number | null;
  cidrs: Json;
  created: Millis;
}

export interface PrivateGatewayTable extends Base {
  vpcId: number;
  zoneId: number;
  physicalNetworkId: number;
  vlan: number;
  ip: string;
  gateway: string;
  netmask: string;
  /** JSON array of destination CIDRs routed through the gateway. */
  staticRoutes: Json;
}

export interface ManagementServerTable {
  id: Generated<number>;
  /** This process's identity (a uuid made at start). */
  msid: string;
  name: string;
  pid: number;
  started: Millis;
  lastHeartbeat: Millis;
  /** Up | Down */
  state: string;
}

export interface AsyncJobTable extends Versioned {
  id: Generated<number>;
  uuid: string;
  userId: number | null;
  accountId: number | null;
  cmd: string;
  cmdInfo: Json;
  status: string;
  /** Progress 0–100 (CloudStack's jobprocstatus). */
  processStatus: number;
  progressMessage: string | null;
  /** 0 while running or on success; the error's httpCode on failure. */
  resultCode: number;
  result: Json | null;
  instanceType: string | null;
  instanceId: number | null;
  initMsid: string;
  executingMsid: string | null;
  completeMsid: string | null;
  scheduledEventId: number | null;
  created: Millis;
  lastUpdated: Millis;
  completed: Millis | null;
  removed: Millis | null;
}

export interface SshKeyPairTable extends Base {
  name: string;
  accountId: number;
  domainId: number;
  publicKey: string;
  fingerprint: string;
}

export interface UsageEventTable {
  id: Generated<number>;
  /** e.g. VM.CREATE, VM.START, VM.STOP, VM.DESTROY, VM.UPGRADE, VOLUME.CREATE, VOLUME.DELETE, NET.IPASSIGN. */
  type: string;
  accountId: number;
  domainId: number;
  zoneId: number | null;
  resourceId: number;
  resourceName: string | null;
  offeringId: number | null;
  templateId: number | null;
  /** Bytes, for volumes, snapshots and templates. */
  size: number | null;
  /** The hypervisor type, for VMs. */
  resourceType: string | null;
  created: Millis;
}

export interface ResourceLimitTable {
  id: Generated<number>;
  /** user_vm, public_ip, volume, …, primary_storage (GiB), secondary_storage (GiB). */
  type: string;
  ownerType: 'account' | 'domain';
  ownerId: number;
  /** -1 = unlimited. */
  max: number;
}

/** Every table of the store. */
export interface Database {
  resourceLimits: ResourceLimitTable;
  usageEvents: UsageEventTable;
  managementServers: ManagementServerTable;
  asyncJobs: AsyncJobTable;
  sshKeypairs: SshKeyPairTable;
  domains: DomainTable;
  accounts: AccountTable;
  users: UserTable;
  zones: ZoneTable;
  pods: PodTable;
  clusters: ClusterTable;
  hosts: HostTable;
  storagePools: StoragePoolTable;
  imageStores: ImageStoreTable;
  physicalNetworks: PhysicalNetworkTable;
  physicalNetworkTrafficTypes: TrafficTypeTable;
  serviceOfferings: ServiceOfferingTable;
  diskOfferings: DiskOfferingTable;
  templates: TemplateTable;
  templatePermissions: TemplatePermissionTable;
  hypervisorCapabilities: HypervisorCapabilityTable;
  configuration: ConfigurationTable;
  vmInstances: VmInstanceTable;
  volumes: VolumeTable;
  events: EventTable;
  ipRanges: IpRangeTable;
  ipAllocations: IpAllocationTable;
  guestVlans: GuestVlanTable;
  guestVlanDedications: GuestVlanDedicationTable;
  macAddresses: MacAddressTable;
  hostCapacity: HostCapacityTable;
  capacityBookings: CapacityBookingTable;
  poolCapacity: PoolCapacityTable;
  storageAllocations: StorageAllocationTable;
  dedicatedResources: DedicatedResourceTable;
  placementEpoch: PlacementEpochTable;
  affinityGroups: AffinityGroupTable;
  affinityGroupVms: AffinityGroupVmTable;
  networkOfferings: NetworkOfferingTable;
  networks: NetworkTable;
  nics: NicTable;
  networkRules: NetworkRuleTable;
  lbMembers: LbMemberTable;
  staticNats: StaticNatTable;
  securityGroups: SecurityGroupTable;
  securityGroupRules: SecurityGroupRuleTable;
  securityGroupMembers: SecurityGroupMemberTable;
  vpcs: VpcTable;
  networkAcls: NetworkAclTable;
  networkAclItems: NetworkAclItemTable;
  privateGateways: PrivateGatewayTable;
  templateStoreRefs: TemplateStoreRefTable;
  templatePoolRefs: TemplatePoolRefTable;
  snapshots: SnapshotTable;
  snapshotPolicies: SnapshotPolicyTable;
  remoteAccessVpns: RemoteAccessVpnTable;
  vpnUsers: VpnUserTable;
}

export type TableName = keyof Database;

// ---- storage orchestration (0007-storage) ----

/** Columns 0007-storage adds to `volumes` (declaration merging with the interface above). */
export interface VolumeTable {
  /** The hypervisor the volume's format belongs to, fixed once created physically. */
  hypervisorType: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the volume entered `Destroy` (the storage GC expunges it after `storage.cleanup.delay`). */
  destroyedAt: ColumnType<number | null, number | null | undefined, number | null>;
  /** The pool the volume was last on (kept while destroyed/expunged, for reports). */
  lastPoolId: ColumnType<number | null, number | null | undefined, number | null>;
}

/** A template or ISO in one image store (CloudStack `template_store_ref`), storage.md §6.3. */
export interface TemplateStoreRefTable extends Versioned {
  id: Id;
  templateId: number;
  storeId: number;
  zoneId: number;
  /** DataObjectInStore state. */
  state: string;
  /** NOT_DOWNLOADED | DOWNLOAD_IN_PROGRESS | DOWNLOADED | DOWNLOAD_ERROR | ABANDONED. */
  downloadState: string;
  downloadPercent: number;
  errorString: string | null;
  installPath: string | null;
  /** Virtual size in bytes (0 until downloaded). */
  size: number;
  physicalSize: number;
  created: Millis;
  lastUpdated: Millis;
  removed: Millis | null;
}

/** A template staged on one primary pool (CloudStack `template_spool_ref`), storage.md §6.4. */
export interface TemplatePoolRefTable extends Versioned {
  id: Id;
  templateId: number;
  poolId: number;
  /** DataObjectInStore state: Allocated → Creating (one claimant copies) → Ready. */
  state: string;
  installPath: string | null;
  size: number;
  physicalSize: number;
  /** Token of the process/call copying it while Creating. */
  claimedBy: string | null;
  claimedAt: Millis | null;
  errorString: string | null;
  created: Millis;
  lastUpdated: Millis;
  removed: Millis | null;
}

/** A volume snapshot (resource-model.md §12.8, storage.md §5). */
export interface SnapshotTable extends Base, Versioned {
  name: string;
  volumeId: number;
  volumeType: string;
  zoneId: number;
  poolId: number | null;
  accountId: number;
  domainId: number;
  hypervisorType: string | null;
  /** MANUAL | HOURLY | DAILY | WEEKLY | MONTHLY. */
  snapshotType: string;
  policyId: number | null;
  size: number;
  physicalSize: number;
  /** Whether the volume was active (attached to a Running VM) when taken (inactive-volume rule). */
  volumeActive: Bool;
  primaryPath: string | null;
  parentUuid: string | null;
  backupStoreId: number | null;
  backupPath: string | null;
  state: string;
}

/** A recurring snapshot policy with its pending schedule (storage.md §5.3). */
export interface SnapshotPolicyTable extends Base, Versioned {
  volumeId: number;
  intervalType: string;
  schedule: string;
  timezone: string;
  maxSnaps: number;
  active: Bool;
  accountId: number;
  domainId: number;
  nextRun: Millis;
  lastRun: Millis | null;
}

/** A remote-access VPN on a network's source-NAT IP (networking.md §10.1; migration 0008). */
export interface RemoteAccessVpnTable extends Base, Versioned {
  networkId: number;
  ipAllocationId: number;
  zoneId: number;
  accountId: number;
  domainId: number;
  /** The VPN server's address: the first address of the configured client range. */
  localIp: string;
  /** The clients' pool `first-last` (the configured range without its first address). */
  ipRange: string;
  /** IPsec pre-shared key; never logged. */
  presharedKey: string;
  /** 'Added' | 'Running' | 'Removed'. */
  state: string;
}

/** A VPN user of an account, valid on every VPN of the account (networking.md §10.1; migration 0008). */
export interface VpnUserTable extends Base, Versioned {
  accountId: number;
  domainId: number;
  username: string;
  /** Never logged. */
  password: string;
  /** 'Add' | 'Active' | 'Revoke'. */
  state: string;
}

/** Migration 0008 adds `revoked` to static NATs (declaration merging keeps the change an append). */
export interface StaticNatTable {
  /** 1 while a disabled static NAT waits for the providers to confirm its removal. */
  revoked: ColumnType<number, number | undefined, number>;
}
