import type { ConnectTarget, HostReport } from './host-report.js';
import type { PingOptions, PingReport } from './host-status.js';
import type { HypervisorCapabilities } from './hypervisor-capabilities.js';
import type { HypervisorTypeName } from './hypervisor-type.js';
import type { CheckNetworkResult, TrafficLabelCheck } from './network-plumbing.js';
import type { HostRef, OperationContext } from './operation-context.js';
import type {
  BackupSnapshotOptions,
  CreateVolumeOptions,
  MigrateVolumeOptions,
  PoolRef,
  PoolSpec,
  ResizeVolumeOptions,
  SecondaryStoreRef,
  SnapshotBackupResult,
  SnapshotRef,
  SnapshotResult,
  SnapshotSpec,
  StagedTemplate,
  StoragePoolReport,
  TemplateResult,
  TemplateSpec,
  TemplateTarget,
  VolumeRef,
  VolumeResult,
  VolumeSpec,
} from './storage-spec.js';
import type {
  MigrateVmOptions,
  MigrateVmResult,
  StartVmResult,
  StopVmOptions,
  VmRuntimeState,
} from './vm-operations.js';
import type { DiskSpec, VmSpec } from './vm-spec.js';

/**
 * The contract between core and one hypervisor type (drivers.md §2). One object per type, wired in by the
 * user: `createCloud({ hypervisors: [simulatorDriver(), kvmDriver({...})] })`.
 *
 * Rules every implementation follows (drivers.md §1):
 * - **Pure transport of decisions**: the driver never picks a host, pool or address; it is told. The first
 *   argument of every host-side method is the host to act on (CloudStack sends each command to a host).
 * - **Idempotent by name/uuid**: a create whose identity exists with the same spec succeeds; with a different
 *   spec it throws `AlreadyExists`; every delete treats "not found" as success.
 * - **Typed errors**: failures are `DriverError`s with a `scope` wherever a host/pool/cluster is to blame,
 *   so core can add it to its avoid set and re-plan.
 * - **`ping` is fast** and never waits behind a mutation on the same host.
 * - Every method takes an {@link OperationContext} (abort signal, progress callback) last.
 * - Optional methods are called only when the matching {@link HypervisorCapabilities} flag is true
 *   (a driver may still define them and throw `Unsupported` when the flag is off).
 */
export interface HypervisorDriver {
  /** The hypervisor type this driver serves, e.g. `KVM`. */
  readonly type: HypervisorTypeName;

  /** What the driver supports; constant for the driver's lifetime. */
  capabilities(): HypervisorCapabilities;

  // ── Hosts ────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Authenticate and enumerate the hosts behind `target` (KVM: one; XenServer: every pool member; vSphere: every
   * host of the cluster). Mirrors the Discoverer and `StartupRoutingCommand`. Connecting again to a known
   * target returns the same hosts.
   */
  connect(target: ConnectTarget, ctx?: OperationContext): Promise<HostReport[]>;

  /** Close the driver's sessions to the host (host removal, unmanage). State on the host is left alone. */
  disconnect(host: HostRef, ctx?: OperationContext): Promise<void>;

  /** Reachability, health and the power state of every VM on the host (`PingRoutingCommand`). */
  ping(host: HostRef, options?: PingOptions): Promise<PingReport>;

  // ── VM lifecycle ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Create or update the VM's definition on `host`, plumb its NICs (VLAN bridges created on demand),
   * attach its disks and power it on (`StartCommand(VirtualMachineTO)`). Already running with the same spec:
   * success. Not enough host memory: `InsufficientCapacity` scoped to the host.
   */
  startVm(host: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<StartVmResult>;

  /**
   * Graceful ACPI shutdown, then a forced power-off after `timeoutMs`; `force` powers off at once
   * (`StopCommand`). Already stopped or missing: success.
   */
  stopVm(host: HostRef, vmName: string, options?: StopVmOptions): Promise<void>;

  /** Reboot in place; the VM ends `running` on the same host (`RebootCommand`). */
  rebootVm(host: HostRef, vmName: string, ctx?: OperationContext): Promise<void>;

  /**
   * Power off if needed and remove the definition (`StopCommand` + undefine). Volumes stay: core deletes
   * them with `deleteVolume`. Missing: success.
   */
  destroyVm(host: HostRef, vmName: string, ctx?: OperationContext): Promise<void>;

  /** The VM's state on `host` (`CheckVirtualMachineCommand`); `missing` when the host has no such VM. */
  getVmState(host: HostRef, vmName: string, ctx?: OperationContext): Promise<VmRuntimeState>;

  /** Plumb the VM's networks and storage on the destination before a migration (`PrepareForMigrationCommand`). */
  prepareMigration(destination: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<void>;

  /**
   * Move the VM from `source` to `destination` inside one cluster, live by default (`MigrateCommand`).
   * Destination outside the source's cluster/pool, or not seeing the VM's storage: `InvalidState`.
   */
  migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options?: MigrateVmOptions,
  ): Promise<MigrateVmResult>;

  /** Move a volume to another pool (`MigrateVolumeCommand`/`CopyVolumeCommand`); live when `vmName` is given. */
  migrateVolume?(
    host: HostRef,
    volume: VolumeRef,
    destination: PoolRef,
    options?: MigrateVolumeOptions,
  ): Promise<VolumeResult>;

  // ── Storage ──────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Make the pool usable on `host` (`CreateStoragePoolCommand`, `ModifyStoragePoolCommand(add)`): mount NFS,
   * define the libvirt pool, create the SR/PBD… Answers capacity, available bytes and the staged templates.
   */
  createStoragePool(host: HostRef, pool: PoolSpec, ctx?: OperationContext): Promise<StoragePoolReport>;

  /** Remove the pool from `host` (`DeleteStoragePoolCommand`); the data stays. Not there: success. */
  deleteStoragePool(host: HostRef, pool: PoolRef, ctx?: OperationContext): Promise<void>;

  /**
   * Stage a template or ISO on a primary pool (`CopyCommand` → `copyTemplateToPrimaryStorage`). Safe for two
   * concurrent requests of the same (template, pool): one copy is made and both get it.
   */
  copyTemplateToPrimary(
    host: HostRef,
    template: TemplateSpec,
    pool: PoolRef,
    ctx?: OperationContext,
  ): Promise<StagedTemplate>;

  /**
   * Create a blank volume, or clone one from a staged template (`CreateObjectCommand`,
   * `cloneVolumeFromBaseTemplate`). Pool full: `InsufficientCapacity` scoped to the pool.
   */
  createVolume(host: HostRef, volume: VolumeSpec, options?: CreateVolumeOptions): Promise<VolumeResult>;

  /** Delete a volume (`DeleteCommand`). Not found: success. */
  deleteVolume(host: HostRef, volume: VolumeRef, ctx?: OperationContext): Promise<void>;

  /** Grow a volume (`ResizeVolumeCommand`); shrinking is `Unsupported`. Capability `volumeResize`. */
  resizeVolume?(
    host: HostRef,
    volume: VolumeRef,
    newSizeBytes: number,
    options?: ResizeVolumeOptions,
  ): Promise<VolumeResult>;

  /** Attach a volume: hot-plug when running, edit the definition when stopped (`AttachCommand`). */
  attachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void>;

  /** Detach a volume (`DettachCommand`). Not attached: success. */
  detachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void>;

  /** Insert an ISO into the virtual CD-ROM (`AttachCommand` for an ISO); `iso.type` is `ISO`. */
  attachIso(host: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void>;

  /** Eject the ISO (`DettachCommand` for an ISO). None inserted: success. */
  detachIso(host: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void>;

  /** Snapshot a volume on primary storage (`CreateObjectCommand`). Capability `volumeSnapshots`. */
  createSnapshot?(host: HostRef, snapshot: SnapshotSpec, ctx?: OperationContext): Promise<SnapshotResult>;

  /**
   * Copy a snapshot to secondary storage and (by default) remove it from primary (`CopyCommand` →
   * `backupSnapshot`). Already backed up: success. Capability `volumeSnapshots`.
   */
  backupSnapshot?(
    host: HostRef,
    snapshot: SnapshotRef,
    store: SecondaryStoreRef,
    options?: BackupSnapshotOptions,
  ): Promise<SnapshotBackupResult>;

  /**
   * Delete a snapshot wherever it is, primary and secondary (`DeleteCommand`). Not found: success.
   * Capability `volumeSnapshots`.
   */
  deleteSnapshot?(host: HostRef, snapshot: SnapshotRef, ctx?: OperationContext): Promise<void>;

  /** Create a volume from a snapshot (`CopyCommand` → `createVolumeFromSnapshot`). Capability `volumeSnapshots`. */
  createVolumeFromSnapshot?(
    host: HostRef,
    snapshot: SnapshotRef,
    volume: VolumeSpec,
    ctx?: OperationContext,
  ): Promise<VolumeResult>;

  /** Write a template to secondary storage from a volume of a stopped VM (`CopyCommand` → `createTemplateFromVolume`). */
  createTemplateFromVolume(
    host: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult>;

  /**
   * Write a template to secondary storage from a snapshot (`CopyCommand` → `createTemplateFromSnapshot`).
   * Capability `volumeSnapshots`.
   */
  createTemplateFromSnapshot?(
    host: HostRef,
    snapshot: SnapshotRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult>;

  // ── Network plumbing ─────────────────────────────────────────────────────────────────────────────────

  /** Verify each traffic label resolves on the host (`CheckNetworkCommand`, drivers.md §11 pitfall 10). */
  checkNetwork(
    host: HostRef,
    labels: readonly TrafficLabelCheck[],
    ctx?: OperationContext,
  ): Promise<CheckNetworkResult>;

  // ── Maintenance and HA ───────────────────────────────────────────────────────────────────────────────

  /** Hypervisor-side steps before host maintenance (`MaintainCommand`); evacuation is core's job (drivers.md §2.8). */
  prepareMaintenance(host: HostRef, ctx?: OperationContext): Promise<void>;

  /** Undo `prepareMaintenance`. */
  cancelMaintenance(host: HostRef, ctx?: OperationContext): Promise<void>;
}

/** The name of a `HypervisorDriver` method (for logs, fault injection, per-operation settings). */
export type HypervisorOperation = Exclude<keyof HypervisorDriver, 'type' | 'capabilities'>;

/** The optional `HypervisorDriver` methods, each gated by a capability flag. */
export type OptionalHypervisorOperation =
  | 'migrateVolume'
  | 'resizeVolume'
  | 'createSnapshot'
  | 'backupSnapshot'
  | 'deleteSnapshot'
  | 'createVolumeFromSnapshot'
  | 'createTemplateFromSnapshot';

/** The `HypervisorDriver` methods every driver has (core calls them whatever the capabilities). */
export type RequiredHypervisorOperation = Exclude<HypervisorOperation, OptionalHypervisorOperation>;

/** Every required operation, at run time (the registry refuses a driver that lacks one). */
export const REQUIRED_HYPERVISOR_OPERATIONS = [
  'connect',
  'disconnect',
  'ping',
  'startVm',
  'stopVm',
  'rebootVm',
  'destroyVm',
  'getVmState',
  'prepareMigration',
  'migrateVm',
  'createStoragePool',
  'deleteStoragePool',
  'copyTemplateToPrimary',
  'createVolume',
  'deleteVolume',
  'attachVolume',
  'detachVolume',
  'attachIso',
  'detachIso',
  'createTemplateFromVolume',
  'checkNetwork',
  'prepareMaintenance',
  'cancelMaintenance',
] as const satisfies readonly RequiredHypervisorOperation[];

/** The capability flag that gates each optional operation. */
export const OPTIONAL_OPERATION_CAPABILITY = {
  migrateVolume: 'volumeMigration',
  resizeVolume: 'volumeResize',
  createSnapshot: 'volumeSnapshots',
  backupSnapshot: 'volumeSnapshots',
  deleteSnapshot: 'volumeSnapshots',
  createVolumeFromSnapshot: 'volumeSnapshots',
  createTemplateFromSnapshot: 'volumeSnapshots',
} as const satisfies Record<OptionalHypervisorOperation, keyof HypervisorCapabilities>;

// Compile-time: the run-time list names every required operation.
type UnlistedRequiredOperation = Exclude<RequiredHypervisorOperation, (typeof REQUIRED_HYPERVISOR_OPERATIONS)[number]>;
const everyRequiredOperationListed: [UnlistedRequiredOperation] extends [never] ? true : UnlistedRequiredOperation =
  true;
void everyRequiredOperationListed;

/** The volume-snapshot operations of a driver that declares `volumeSnapshots` (see `volumeSnapshotOperations`). */
export type VolumeSnapshotOperations = Required<
  Pick<
    HypervisorDriver,
    'createSnapshot' | 'backupSnapshot' | 'deleteSnapshot' | 'createVolumeFromSnapshot' | 'createTemplateFromSnapshot'
  >
>;
