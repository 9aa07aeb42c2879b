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
export type HypervisorType = (typeof HYPERVISOR_TYPES)[number];

export const NETWORK_TYPES = ['Basic', 'Advanced'] as const;
export type NetworkType = (typeof NETWORK_TYPES)[number];

export const CLUSTER_TYPES = ['CloudManaged', 'ExternalManaged'] as const;
export type ClusterType = (typeof CLUSTER_TYPES)[number];

export const TRAFFIC_TYPES = ['Guest', 'Public', 'Management', 'Storage', 'Control'] as const;
export type TrafficType = (typeof TRAFFIC_TYPES)[number];

export const ISOLATION_METHODS = ['VLAN', 'VXLAN', 'VCDNI', 'STT', 'GRE', 'L3'] as const;
export type IsolationMethod = (typeof ISOLATION_METHODS)[number];

export const STORAGE_SCOPES = ['HOST', 'CLUSTER', 'ZONE'] as const;
export type StorageScope = (typeof STORAGE_SCOPES)[number];

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

export const IMAGE_FORMATS = ['QCOW2', 'RAW', 'VHD', 'VHDX', 'OVA', 'ISO', 'TAR', 'VMDK'] as const;
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

export const TEMPLATE_TYPES = ['USER', 'SYSTEM', 'BUILTIN', 'PERHOST', 'ROUTING'] as const;
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
export type OsCategory = (typeof OS_CATEGORIES)[number];

/** CloudStack's `ImplicitDedicationMode` offering detail (spec/allocation.md §5.5). */
export const IMPLICIT_DEDICATION_MODES = ['Strict', 'Preferred'] as const;
export type ImplicitDedicationModeName = (typeof IMPLICIT_DEDICATION_MODES)[number];

export const STORAGE_TYPES = ['shared', 'local'] as const;
export type StorageType = (typeof STORAGE_TYPES)[number];

export const SYSTEM_VM_TYPES = [
  'domainrouter',
  'consoleproxy',
  'secondarystoragevm',
  'internalloadbalancervm',
] as const;
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
export type HostType = (typeof HOST_TYPES)[number];
