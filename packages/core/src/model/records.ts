import type {
  ClusterType,
  HostType,
  HypervisorType,
  ImageFormat,
  ImplicitDedicationModeName,
  IsolationMethod,
  NetworkType,
  OsCategory,
  StoragePoolType,
  StorageScope,
  StorageType,
  SystemVmType,
  TemplateType,
  TrafficType,
} from './enums.js';
import type {
  AccountState,
  AllocationState,
  ClusterManagedState,
  HostResourceState,
  HostStatus,
  PhysicalNetworkState,
  StoragePoolState,
  TemplateState,
  VmState,
  VolumeState,
} from './state-machines/index.js';

/**
 * The records the services return. `id` is the internal numeric key (foreign keys use it);
 * `uuid` is the stable external identity. `removed` is set once a record is deleted.
 */
export interface EntityBase {
  id: number;
  uuid: string;
  created: Date;
  removed: Date | null;
}

/** A domain: a node of the account tree (ROOT at the top), with its path. */
export interface Domain extends EntityBase {
  name: string;
  parentId: number | null;
  /** `/` for ROOT, `/Comp1/sales/` below it. */
  path: string;
  level: number;
  networkDomain: string | null;
}

/** An account: the owner of resources, in one domain (spec/resource-model.md §11). */
export interface Account extends EntityBase {
  accountName: string;
  /** Ordinal, see {@link AccountType}. */
  type: number;
  domainId: number;
  state: AccountState;
  networkDomain: string | null;
  updatedCount: number;
}

/** A user of an account. */
export interface User extends EntityBase {
  username: string;
  firstName: string | null;
  lastName: string | null;
  email: string | null;
  timezone: string | null;
  apiKey: string | null;
  accountId: number;
  domainId: number;
  state: AccountState;
  updatedCount: number;
}

/** A zone: a datacentre with its network type, DNS servers, guest CIDR and allocation state. */
export interface Zone extends EntityBase {
  name: string;
  networkType: NetworkType;
  dns1: string;
  dns2: string | null;
  internalDns1: string;
  internalDns2: string | null;
  guestCidr: string | null;
  networkDomain: string | null;
  dedicatedDomainId: number | null;
  localStorageEnabled: boolean;
  securityGroupEnabled: boolean;
  allocationState: AllocationState;
  updatedCount: number;
}

/** A pod: a rack of a zone, with its management IP range and gateway. */
export interface Pod extends EntityBase {
  name: string;
  zoneId: number;
  gateway: string;
  cidr: string;
  /** Reserved system range (system VMs' management NICs). */
  startIp: string;
  endIp: string;
  allocationState: AllocationState;
}

/** A cluster: hosts of one hypervisor type in one pod, sharing primary storage. */
export interface Cluster extends EntityBase {
  name: string;
  podId: number;
  zoneId: number;
  hypervisorType: HypervisorType;
  clusterType: ClusterType;
  allocationState: AllocationState;
  managedState: ClusterManagedState;
  cpuOvercommitRatio: number;
  memoryOvercommitRatio: number;
  /** vCenter url/datacenter for VMware clusters (never the password). */
  details: Record<string, string>;
}

/** A hypervisor host: its resources, status, state, allocation state and where it sits (zone, pod, cluster). */
export interface Host extends EntityBase {
  name: string;
  guid: string;
  url: string;
  type: HostType;
  zoneId: number;
  podId: number;
  clusterId: number;
  hypervisorType: HypervisorType;
  hypervisorVersion: string | null;
  privateIp: string | null;
  publicIp: string | null;
  storageIp: string | null;
  /** Logical CPUs. */
  cpus: number;
  cpuSockets: number | null;
  /** MHz per core; CPU capacity = cpus × speed. */
  speed: number;
  /** Bytes. */
  totalMemory: number;
  /** Bytes the hypervisor keeps for itself. */
  reservedMemory: number;
  hostTags: string[];
  osCategoryPreference: OsCategory | null;
  status: HostStatus;
  resourceState: HostResourceState;
  lastPinged: Date | null;
  capabilities: Record<string, unknown>;
  details: Record<string, unknown>;
  updatedCount: number;
}

/** A primary storage pool: its type, scope, capacity, tags and status. */
export interface StoragePool extends EntityBase {
  name: string;
  scope: StorageScope;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
  hostId: number | null;
  hypervisorType: HypervisorType | null;
  poolType: StoragePoolType;
  hostAddress: string | null;
  path: string;
  url: string;
  tags: string[];
  capacityBytes: number;
  usedBytes: number;
  capacityIops: number | null;
  status: StoragePoolState;
  updatedCount: number;
}

/** Secondary storage (an image store) of a zone: where templates, ISOs and snapshot backups are kept. */
export interface ImageStore extends EntityBase {
  name: string;
  url: string;
  protocol: 'nfs';
  zoneId: number;
  role: 'Image';
}

/** An inclusive range of VLAN ids. */
export interface VlanRange {
  start: number;
  end: number;
}

/** A physical network of a zone: its isolation methods, VLAN ranges, tags and state. */
export interface PhysicalNetwork extends EntityBase {
  name: string;
  zoneId: number;
  isolationMethods: IsolationMethod[];
  vlanRanges: VlanRange[];
  tags: string[];
  speed: string | null;
  state: PhysicalNetworkState;
  updatedCount: number;
}

/** A traffic type a physical network carries, with its per-hypervisor label. */
export interface PhysicalNetworkTrafficType {
  id: number;
  uuid: string;
  physicalNetworkId: number;
  zoneId: number;
  trafficType: TrafficType;
  /** Per-hypervisor traffic label: KVM bridge, XenServer network name-label, VMware vSwitch. */
  labels: Partial<Record<HypervisorType, string>>;
  created: Date;
}

/** CloudStack's affinity-group types Stratus enforces (4.x host processors, and explicit dedication). */
export type AffinityGroupType = 'host affinity' | 'host anti-affinity' | 'ExplicitDedication';

/**
 * An affinity group: an account's `host affinity` or `host anti-affinity` group, or the
 * `ExplicitDedication` group of an account or a domain that dedicating a resource creates.
 */
export interface AffinityGroup extends EntityBase {
  name: string;
  description: string | null;
  type: AffinityGroupType;
  /** Null for a domain-level explicit-dedication group (usable by the domain's accounts). */
  accountId: number | null;
  domainId: number;
}

/** The level of an explicit dedication. */
export type DedicationLevel = 'zone' | 'pod' | 'cluster' | 'host';

/**
 * An explicit dedication of a zone, pod, cluster or host to a domain (and its subdomains) or to an
 * account (spec/allocation.md §9.1). The row names its target's ancestors too.
 */
export interface DedicatedResource extends EntityBase {
  level: DedicationLevel;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
  hostId: number | null;
  domainId: number;
  /** Null: dedicated to the whole domain. */
  accountId: number | null;
  /** The owner's `ExplicitDedication` affinity group (deploy with it to use dedicated resources only). */
  affinityGroupId: number | null;
}

/** The offering details Stratus knows (CloudStack's `service_offering_details`). */
export interface ServiceOfferingDetails {
  /** Deploy the offering's VMs implicitly dedicated in this mode (spec/allocation.md §5.5). */
  ImplicitDedicationMode?: ImplicitDedicationModeName;
}

/** A service offering: the CPUs, speed, memory, host tags and storage type of a VM. */
export interface ServiceOffering extends EntityBase {
  name: string;
  displayText: string;
  cpuNumber: number;
  /** MHz per core. */
  cpuSpeed: number;
  /** MiB. */
  memory: number;
  storageType: StorageType;
  offerHa: boolean;
  limitCpuUse: boolean;
  /** Mbps; null = `vm.network.throttling.rate`. */
  networkRate: number | null;
  /** Storage tags the root-disk pool must carry. */
  tags: string[];
  /** Host tags, comma-joined; every one must be on the host (see `offeringHostTags`). */
  hostTag: string | null;
  /** CloudStack offering details (`ImplicitDedicationMode`). */
  details: ServiceOfferingDetails;
  domainId: number | null;
  isSystem: boolean;
  systemVmType: SystemVmType | null;
  /** `Inactive`: deleted while in use, hidden from new deployments. */
  state: 'Active' | 'Inactive';
}

/** A disk offering: the size (or custom size), tags and storage type of a data volume. */
export interface DiskOffering extends EntityBase {
  name: string;
  displayText: string;
  /** Bytes; null when customized. */
  diskSize: number | null;
  customized: boolean;
  tags: string[];
  storageType: StorageType;
  domainId: number | null;
  state: 'Active' | 'Inactive';
}

/** A template or ISO registered in the cloud: format, OS, owner, visibility and where it is ready. */
export interface Template extends EntityBase {
  name: string;
  displayText: string;
  url: string | null;
  format: ImageFormat;
  hypervisorType: HypervisorType | null;
  osType: string;
  osCategory: OsCategory;
  isIso: boolean;
  isPublic: boolean;
  isFeatured: boolean;
  isExtractable: boolean;
  passwordEnabled: boolean;
  sshKeyEnabled: boolean;
  requiresHvm: boolean;
  bits: 32 | 64;
  bootable: boolean;
  crossZones: boolean;
  zoneId: number | null;
  templateType: TemplateType;
  checksum: string | null;
  accountId: number;
  domainId: number;
  state: TemplateState;
  updatedCount: number;
}

/** Limits of a hypervisor version (CloudStack's hypervisor_capabilities): hosts per cluster, guests, data volumes. */
export interface HypervisorCapability {
  id: number;
  hypervisorType: HypervisorType;
  hypervisorVersion: string;
  maxHostsPerCluster: number;
  /** null = unlimited. */
  maxGuestsLimit: number | null;
  maxDataVolumesLimit: number;
}

/** A guest VM: its owner, offering, template, state, host, and the host it last ran on. */
export interface VirtualMachine extends EntityBase {
  instanceName: string;
  hostName: string;
  displayName: string;
  type: string;
  accountId: number;
  domainId: number;
  zoneId: number;
  serviceOfferingId: number;
  templateId: number | null;
  /** The ISO in the virtual CD-ROM: the one the VM was deployed from, or one attached since. */
  isoId: number | null;
  hypervisorType: HypervisorType | null;
  hostId: number | null;
  lastHostId: number | null;
  podIdToDeployIn: number | null;
  haEnabled: boolean;
  state: VmState;
  powerState: 'PowerUnknown' | 'PowerOn' | 'PowerOff' | 'PowerReportMissing';
  details: Record<string, unknown>;
  updatedCount: number;
}

/** A volume: a VM's ROOT or data disk, its size, pool, path and state. */
export interface Volume extends EntityBase {
  name: string;
  volumeType: 'ROOT' | 'DATADISK' | 'SWAP' | 'ISO' | 'UNKNOWN';
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
  state: VolumeState;
  updatedCount: number;
}
