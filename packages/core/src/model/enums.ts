/** Constants of the resource model (spec/resource-model.md). */

export const HYPERVISOR_TYPES = [
  'KVM',
  'XenServer',
  'VMware',
  'Hyperv',
  'LXC',
  'Ovm',
  'BareMetal',
  'Simulator',
] as const;
/** One of {@link HYPERVISOR_TYPES}. */
export type HypervisorType = (typeof HYPERVISOR_TYPES)[number];

/** Zone network types: Basic (one flat network, security groups) or Advanced (isolated and VPC networks). */
export const NETWORK_TYPES = ['Basic', 'Advanced'] as const;
/** One of {@link NETWORK_TYPES}. */
export type NetworkType = (typeof NETWORK_TYPES)[number];

/** Cluster types: managed by CloudStack, or by an external manager (vCenter). */
export const CLUSTER_TYPES = ['CloudManaged', 'ExternalManaged'] as const;
/** One of {@link CLUSTER_TYPES}. */
export type ClusterType = (typeof CLUSTER_TYPES)[number];

/** Traffic types a physical network carries (spec/networking.md). */
export const TRAFFIC_TYPES = ['Guest', 'Public', 'Management', 'Storage', 'Control'] as const;
/** One of {@link TRAFFIC_TYPES}. */
export type TrafficType = (typeof TRAFFIC_TYPES)[number];

/** Guest traffic isolation methods of a physical network (spec/networking.md). */
export const ISOLATION_METHODS = ['VLAN', 'VXLAN', 'VCDNI', 'STT', 'GRE', 'L3'] as const;
/** One of {@link ISOLATION_METHODS}. */
export type IsolationMethod = (typeof ISOLATION_METHODS)[number];

/** The scope of a primary storage pool: one host (local), a cluster, or a zone. */
export const STORAGE_SCOPES = ['HOST', 'CLUSTER', 'ZONE'] as const;
/** One of {@link STORAGE_SCOPES}. */
export type StorageScope = (typeof STORAGE_SCOPES)[number];

/** Primary storage pool types (spec/storage.md §2). */
export const STORAGE_POOL_TYPES = [
  'NetworkFilesystem',
  'IscsiLUN',
  'Iscsi',
  'LVM',
  'CLVM',
  'RBD',
  'SharedMountPoint',
  'VMFS',
  'PreSetup',
  'EXT',
  'Filesystem',
  'OCFS2',
  'SMB',
  'Gluster',
  'ManagedNFS',
] as const;
/** One of {@link STORAGE_POOL_TYPES}. */
export type StoragePoolType = (typeof STORAGE_POOL_TYPES)[number];

/**
 * Shared (cluster- or zone-scope) pool types each hypervisor can use (spec/storage.md §2.1,
 * spec/drivers.md §2.6). Local pools (`Filesystem`, `EXT`, `LVM`) come from host discovery.
 */
export const SHARED_POOL_TYPES_BY_HYPERVISOR: Readonly<Record<HypervisorType, readonly StoragePoolType[]>> = {
  KVM: ['NetworkFilesystem', 'SharedMountPoint', 'CLVM', 'RBD', 'Gluster'],
  XenServer: ['NetworkFilesystem', 'IscsiLUN', 'Iscsi', 'PreSetup'],
  VMware: ['NetworkFilesystem', 'VMFS', 'PreSetup'],
  Hyperv: ['SMB'],
  LXC: ['NetworkFilesystem', 'SharedMountPoint', 'RBD'],
  Ovm: ['NetworkFilesystem', 'OCFS2'],
  BareMetal: [],
  Simulator: ['NetworkFilesystem', 'SharedMountPoint', 'Iscsi', 'RBD', 'PreSetup', 'VMFS'],
};

/** Hypervisors that accept zone-wide primary storage (CloudStack 4.2+). */
export const ZONE_WIDE_STORAGE_HYPERVISORS: readonly HypervisorType[] = ['KVM', 'VMware', 'Hyperv', 'Simulator'];

/** Pool types whose capacity is multiplied by `storage.overprovisioning.factor`. */
export const OVERPROVISIONED_POOL_TYPES: readonly StoragePoolType[] = [
  'NetworkFilesystem',
  'RBD',
  'SharedMountPoint',
  'VMFS',
  'PreSetup',
  'EXT',
];

/** Disk image formats of templates, ISOs and volumes. */
export const IMAGE_FORMATS = ['QCOW2', 'RAW', 'VHD', 'VHDX', 'OVA', 'ISO', 'TAR', 'VMDK'] as const;
/** One of {@link IMAGE_FORMATS}. */
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** Which template formats each hypervisor runs (spec/resource-model.md §7). */
export const FORMATS_BY_HYPERVISOR: Readonly<Record<HypervisorType, readonly ImageFormat[]>> = {
  KVM: ['QCOW2', 'RAW'],
  XenServer: ['VHD'],
  VMware: ['OVA'],
  Hyperv: ['VHD', 'VHDX'],
  LXC: ['TAR'],
  Ovm: ['RAW'],
  BareMetal: [],
  Simulator: ['QCOW2', 'RAW', 'VHD', 'OVA', 'VMDK'],
};

/** Template types (spec/storage.md): user, system, built-in, per-host, routing. */
export const TEMPLATE_TYPES = ['USER', 'SYSTEM', 'BUILTIN', 'PERHOST', 'ROUTING'] as const;
/** One of {@link TEMPLATE_TYPES}. */
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

/** Guest OS categories; hosts may prefer one, templates belong to one. */
export const OS_CATEGORIES = [
  'CentOS',
  'Debian',
  'Oracle',
  'RedHat',
  'SUSE',
  'Windows',
  'Novel',
  'Unix',
  'Ubuntu',
  'Other',
] as const;
/** One of {@link OS_CATEGORIES}. */
export type OsCategory = (typeof OS_CATEGORIES)[number];

/** CloudStack's `ImplicitDedicationMode` offering detail (spec/allocation.md §5.5). */
export const IMPLICIT_DEDICATION_MODES = ['Strict', 'Preferred'] as const;
/** One of {@link IMPLICIT_DEDICATION_MODES}. */
export type ImplicitDedicationModeName = (typeof IMPLICIT_DEDICATION_MODES)[number];

/** Where an offering's disks live: shared primary storage or host-local storage. */
export const STORAGE_TYPES = ['shared', 'local'] as const;
/** One of {@link STORAGE_TYPES}. */
export type StorageType = (typeof STORAGE_TYPES)[number];

/** System VM types (virtual router, console proxy, secondary storage VM, internal load balancer). */
export const SYSTEM_VM_TYPES = [
  'domainrouter',
  'consoleproxy',
  'secondarystoragevm',
  'internalloadbalancervm',
] as const;
/** One of {@link SYSTEM_VM_TYPES}. */
export type SystemVmType = (typeof SYSTEM_VM_TYPES)[number];

/** Account types and their stored ordinals (spec/resource-model.md §11). */
export const AccountType = {
  NORMAL: 0,
  ADMIN: 1,
  DOMAIN_ADMIN: 2,
  RESOURCE_DOMAIN_ADMIN: 3,
  READ_ONLY_ADMIN: 4,
  PROJECT: 5,
} as const;
/** The name of an account type (`NORMAL`, `ADMIN`, `DOMAIN_ADMIN`, …). */
export type AccountTypeName = keyof typeof AccountType;

/** Host types (spec/resource-model.md §2.4); hypervisor hosts are `Routing`. */
export const HOST_TYPES = [
  'Routing',
  'SecondaryStorage',
  'SecondaryStorageVM',
  'ConsoleProxy',
  'ExternalFirewall',
  'ExternalLoadBalancer',
  'Storage',
  'LocalSecondaryStorage',
] as const;
/** One of {@link HOST_TYPES}. */
export type HostType = (typeof HOST_TYPES)[number];
