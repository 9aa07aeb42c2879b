import type { OperationContext } from './operation-context.js';

/** Console protocol a hypervisor offers (drivers.md §2.7). */
export type ConsoleProtocol = 'vnc' | 'rfb' | 'webmks';

/** Where to reach a VM's console (`GetVncPortCommand`), drivers.md §2.7. */
export interface ConsoleInfo {
  protocol: ConsoleProtocol;
  /** Host address to connect to. */
  host: string;
  /** TCP port (VNC). */
  port?: number;
  /** Full location (XenServer console `location`, vSphere WebMKS URL). */
  url?: string;
  /** One-time ticket (WebMKS, XenServer session). */
  ticket?: string;
  /** VNC password. */
  password?: string;
}

/** Answer of `startVm`. */
export interface StartVmResult {
  console: ConsoleInfo;
}

/** Options of `stopVm` (`StopCommand`). */
export interface StopVmOptions extends OperationContext {
  /** Power off at once ("pull the power cord") instead of asking the guest first. */
  force?: boolean;
  /** How long to wait for a graceful shutdown before powering off. */
  timeoutMs?: number;
}

/** A VM's state as `getVmState` sees it (`CheckVirtualMachineCommand`). */
export type VmRuntimeState = 'running' | 'stopped' | 'paused' | 'unknown' | 'missing';

/** Options of `migrateVm` (`MigrateCommand`). */
export interface MigrateVmOptions extends OperationContext {
  /** Live migration (default true). */
  live?: boolean;
  /** Give up after this long. */
  timeoutMs?: number;
}

/** Answer of `migrateVm`. */
export interface MigrateVmResult {
  /** Guid of the host the VM now runs on. */
  hostGuid: string;
}

/** New size of a running VM (`ScaleVmCommand`), within what it was started with. */
export interface ScaleVmSpec {
  cpus: number;
  cpuMhz: number;
  minRamBytes: number;
  maxRamBytes: number;
}

/** Per-VM counters (`GetVmStatsCommand`); disk and network counters are cumulative. */
export interface VmStats {
  /** 0…100 across the VM's vCPUs. */
  cpuUtilizationPercent: number;
  /** Memory the VM has. */
  memoryBytes: number;
  /** Memory the guest uses, when the hypervisor knows (balloon driver). */
  memoryUsedBytes?: number;
  diskReadBytes: number;
  diskWriteBytes: number;
  diskReadOps: number;
  diskWriteOps: number;
  networkRxBytes: number;
  networkTxBytes: number;
}

/** What to snapshot in `createVmSnapshot` (`CreateVMSnapshotCommand`). */
export interface VmSnapshotSpec {
  /** Core's uuid of the VM snapshot: the idempotency key. */
  uuid: string;
  name: string;
  description?: string;
  /** Include memory (VM must be running); otherwise disks only. */
  withMemory: boolean;
  /** Quiesce the guest file systems first. */
  quiesce?: boolean;
}

/** Answer of `createVmSnapshot`. */
export interface VmSnapshotResult {
  uuid: string;
  /** Space the snapshot takes, where the hypervisor reports it. */
  sizeBytes?: number;
}

/** Answer of `revertVmSnapshot`: the VM's power state after the revert. */
export interface RevertVmSnapshotResult {
  powerState: 'PowerOn' | 'PowerOff';
}

/** Answer of `investigate` (CloudStack's Investigator): is the VM alive? */
export type InvestigationResult = 'running' | 'stopped' | 'unknown';
