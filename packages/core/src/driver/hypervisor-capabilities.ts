import type { PoolType } from './storage-spec.js';
import type { ConsoleProtocol } from './vm-operations.js';
import type { DiskFormat } from './vm-spec.js';

/**
 * What a hypervisor driver supports, declared up front (drivers.md §1, §2.9): core refuses an unsupported
 * operation before calling, instead of discovering it by failure. An optional `HypervisorDriver` method may be
 * called only when its flag is true; a driver whose flag is false either omits the method or throws `Unsupported`.
 */
export interface HypervisorCapabilities {
  /** What one `connect` adds: a host (KVM), a pool via its master (XenServer), a vCenter cluster (vSphere). */
  connectionUnit: 'host' | 'pool' | 'cluster';
  /** Live migration inside a cluster (`migrateVm` with `live: true`). */
  liveMigration: boolean;
  /**
   * Cold migration of a volume between two pools one host reaches (`migrateVolume` without `vmName`; core's
   * `volumes.migrate`). Optional: core refuses a volume migration with `UnsupportedError` before calling the driver
   * when it is not true.
   */
  volumeMigration?: boolean;
  /** Storage migration of a volume attached to a running VM (`migrateVolume` with `vmName`). */
  storageMigration: boolean;
  /** `attachVolume`/`detachVolume` on a running VM. */
  hotPlugDisk: boolean;
  /**
   * Volume snapshots: `createSnapshot`, `backupSnapshot`, `deleteSnapshot`, `createVolumeFromSnapshot`,
   * `createTemplateFromSnapshot`. Optional: core refuses a snapshot (and a snapshot policy) of a volume whose
   * hypervisor lacks it with `UnsupportedError` before calling the driver. Absent means false.
   */
  volumeSnapshots?: boolean;
  /** Incremental volume snapshot chains (XenServer). */
  incrementalSnapshots: boolean;
  /** `resizeVolume` (grow only). */
  volumeResize: boolean;
  /** Fast clone from a staged template (qcow2 backing file, `VDI.clone`, `CloneVM_Task`). */
  linkedClone: boolean;
  /** Security groups enforced on the host (iptables/ebtables). */
  securityGroups: boolean;
  /**
   * Whether the per-VLAN network objects `startVm` creates are removed when their last VM stops or leaves
   * (false on vSphere: port groups stay).
   */
  networkCleanup: boolean;
  poolTypes: readonly PoolType[];
  diskFormats: readonly DiskFormat[];
  console: ConsoleProtocol;
}
