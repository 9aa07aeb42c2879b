import type { PoolRef } from './storage-spec.js';

/** Kind of VM (CloudStack `VirtualMachine.Type`). */
export type VmSpecType =
  | 'User'
  | 'DomainRouter'
  | 'ConsoleProxy'
  | 'SecondaryStorageVm'
  | 'InternalLoadBalancerVm'
  | (string & {});

/** Kind of disk in a {@link DiskSpec}. */
export type DiskType = 'ROOT' | 'DATADISK' | 'ISO';

/** Disk and image formats: QCOW2 and RAW (KVM), VHD (XenServer), VMDK/OVA (vSphere), ISO (all). */
export type DiskFormat = 'qcow2' | 'raw' | 'vhd' | 'vmdk' | 'ova' | 'iso';

/** Traffic type of a NIC. */
export type NicTrafficType = 'Guest' | 'Public' | 'Management' | 'Storage' | 'Control';

/** Boot device, in the order tried. */
export type BootDevice = 'hd' | 'cdrom' | 'network';

/** A disk of a VM (`DiskTO` in CloudStack), drivers.md §2.4. */
export interface DiskSpec {
  /** The volume's uuid; for an ISO, the ISO template's uuid. */
  volumeUuid: string;
  type: DiskType;
  /** Device slot: 0 is the root disk, 3 the CD-ROM by CloudStack convention. */
  deviceId: number;
  /** Pool holding the volume; absent for an ISO read straight from secondary storage. */
  poolRef?: PoolRef;
  /** Path of the volume on the pool (from `VolumeResult.path`), or the ISO's path/URL. */
  path: string;
  format: DiskFormat;
  sizeBytes: number;
  readOnly: boolean;
  /** Storage QoS. */
  iops?: { min?: number; max?: number };
}

/** A NIC of a VM (`NicTO` in CloudStack), drivers.md §2.4. */
export interface NicSpec {
  deviceId: number;
  /** MAC chosen by core (`mac.address.prefix`, default `06`); the driver never lets the hypervisor invent one. */
  mac: string;
  /** Absent on networks without IP management (L2). */
  ip?: string;
  netmask?: string;
  gateway?: string;
  isDefault: boolean;
  trafficType: NicTrafficType;
  /**
   * The physical network's per-hypervisor tag: KVM bridge name, XenServer network name-label,
   * vSphere `"<vSwitch|dvSwitch>[,<vlan>[,<type>]]"`.
   */
  trafficLabel: string;
  /** e.g. `vlan://100`, `vlan://untagged`. */
  broadcastUri: string;
  isolationUri?: string;
  /** Rate limit; absent or 0 means unlimited. */
  networkRateMbps?: number;
}

/**
 * What `startVm` needs to define and boot a VM: CloudStack's `VirtualMachineTO` (drivers.md §2.4).
 */
export interface VmSpec {
  /** Instance name, the identity on the hypervisor, e.g. `i-2-10-VM`. */
  name: string;
  uuid: string;
  type: VmSpecType;
  cpus: number;
  /** Per-vCPU speed, used for shares/weight. */
  cpuMhz: number;
  minRamBytes: number;
  maxRamBytes: number;
  bootOrder: readonly BootDevice[];
  /** Guest OS type name as the hypervisor knows it. */
  osType: string;
  /** Kernel command line passed to system VMs; empty for user VMs. */
  bootArgs: string;
  vncPassword: string;
  /** e.g. `host-passthrough`, `host-model`, `custom`. */
  cpuMode?: string;
  uefi?: boolean;
  disks: readonly DiskSpec[];
  nics: readonly NicSpec[];
  /** Extra key/values (`VirtualMachineTO.details`). */
  details: Readonly<Record<string, string>>;
}
