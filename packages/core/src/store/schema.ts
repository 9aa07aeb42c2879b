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

/** Every table of the store. */
export interface Database {
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
}

export type TableName = keyof Database;
