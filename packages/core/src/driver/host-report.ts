import type { HypervisorTypeName } from './hypervisor-type.js';
import type { PoolType } from './storage-spec.js';

/** Credentials for `connect`; secrets are never logged by a driver. */
export interface DriverCredentials {
  username: string;
  password?: string;
  /** PEM private key (KVM over SSH). */
  privateKey?: string;
}

/**
 * What to connect to: CloudStack's `addHost`/`addCluster` input as the Discoverer gets it (drivers.md §2.1,
 * `connect(target, creds)`; the credentials travel inside the target).
 */
export interface ConnectTarget {
  /**
   * Where the host (KVM), pool master (XenServer) or vCenter cluster (vSphere) is, e.g.
   * `qemu+ssh://root@10.0.0.11/system`, `https://10.0.0.20`, `https://vc.example/dc1/host/cluster1`, `sim://host1`.
   */
  url: string;
  credentials?: DriverCredentials;
  /**
   * Core's identity of the cluster the hosts join. Drivers that group hosts themselves (XenServer pool,
   * vSphere cluster) report `poolUuid`; others may use this to know which hosts share a cluster.
   */
  clusterRef?: string;
  /** Host tags given at add time; the driver returns them (plus any it discovers) in `HostReport.hostTags`. */
  hostTags?: readonly string[];
  /** Free-form driver-specific parameters (e.g. vSphere `vmware.reserve.cpu`). */
  details?: Readonly<Record<string, string>>;
}

/** CPU and platform facts of a host, used by core's homogeneous-cluster check (drivers.md §2.2). */
export interface HostCpuCapabilities {
  /** Hardware virtualisation available. */
  hvm: boolean;
  /** CPU model name, e.g. `Intel(R) Xeon(R) Gold 6230`. */
  cpuModel?: string;
  /** CPU feature flags, e.g. `vmx`, `avx2`. */
  cpuFlags: readonly string[];
  /** UEFI boot supported for guests. */
  uefi: boolean;
  /** GPU groups available for vGPU/pass-through. */
  gpuGroups: readonly string[];
}

/** A local storage pool found on a host (CloudStack's `StartupStorageCommand`). */
export interface LocalStorageReport {
  /** Stable pool uuid. */
  uuid: string;
  name: string;
  /** Path on the host, e.g. `/var/lib/libvirt/images`. */
  path: string;
  type: PoolType;
  capacityBytes: number;
  availableBytes: number;
}

/**
 * One host found by `connect`, mirroring CloudStack's `StartupRoutingCommand` (drivers.md §2.2).
 */
export interface HostReport {
  /** Stable host identity (XAPI host uuid, vSphere host moref + vCenter uuid, KVM FQDN + libvirt host uuid). */
  guid: string;
  name: string;
  /** Management IP. */
  ip: string;
  /** URL to reach this host again; core stores it in `HostRef.url`. */
  url?: string;
  /** Logical CPUs. */
  cpus: number;
  cpuSockets: number;
  /** Per-core MHz; core computes CPU capacity = cpus × cpuMhz. */
  cpuMhz: number;
  /** Total RAM. */
  memoryBytes: number;
  /** RAM the hypervisor keeps for itself (dom0, host overhead). */
  reservedMemoryBytes: number;
  hypervisorType: HypervisorTypeName;
  /** e.g. libvirt/QEMU versions for KVM, `product_version` for XenServer, the ESXi build for vSphere. */
  hypervisorVersion: string;
  capabilities: HostCpuCapabilities;
  /** XenServer pool uuid or vSphere cluster moref; absent for KVM. */
  poolUuid?: string;
  hostTags: readonly string[];
  /** Free-form facts: OS, kernel, CPU model, network backend (`bridge`/`openvswitch`)… */
  details: Readonly<Record<string, string>>;
  /** Local storage pools found on the host. */
  localStorage: readonly LocalStorageReport[];
}
