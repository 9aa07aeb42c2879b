import type { DriverCredentials, HypervisorCapabilities, HypervisorTypeName } from '@stratus/core';
import type { LatencySetting } from './latency.js';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

/** What a discovered host has when its `sim://` URL does not say otherwise. */
export interface SimulatorHostDefaults {
  /** Logical CPUs (default 16). */
  cpus: number;
  /** CPU sockets (default 1). */
  cpuSockets: number;
  /** Per-core MHz (default 2400). */
  cpuMhz: number;
  /** RAM (default 64 GiB). */
  memoryBytes: number;
  /** RAM the hypervisor keeps (default 0). */
  reservedMemoryBytes: number;
  /** Local storage pool size; 0 (the default) means none. */
  localStorageBytes: number;
  /** Host tags (default none). */
  hostTags: readonly string[];
  /**
   * Traffic labels (bridge / network names) present on the host; a NIC or `checkNetwork` label outside the list
   * does not resolve. Absent (the default): every label resolves.
   */
  trafficLabels?: readonly string[];
}

/** Options of {@link simulatorDriver}. */
export interface SimulatorOptions {
  /** Hypervisor type to report (default `Simulator`); e.g. `KVM` to simulate a KVM cloud, with KVM's capabilities. */
  type?: HypervisorTypeName;
  /** `HostReport.hypervisorVersion` (default per type). */
  hypervisorVersion?: string;
  /**
   * Simulated latency of each call, in ms: one figure, or per operation with a `default`. At 0 (the default) no
   * timer is involved at all.
   */
  latencyMs?: LatencySetting;
  /** Defaults of discovered hosts. */
  defaults?: Partial<SimulatorHostDefaults>;
  /** Primary pools: capacity of a new pool (default 10 TiB; a pool's `details.capacityBytes` overrides it). */
  pools?: { capacityBytes?: number };
  /** Capability overrides, e.g. `{ liveMigration: false }`; unsupported operations then throw `Unsupported`. */
  capabilities?: Partial<HypervisorCapabilities>;
  /** When set, `connect` requires exactly these credentials and throws `AuthFailed` otherwise. */
  credentials?: DriverCredentials;
  /** How many operation-log entries to keep (default 10 000; counts are kept regardless). */
  logLimit?: number;
  /**
   * A JSON file the simulated world (hosts, VMs, pools, volumes, snapshots, secondary storage) is
   * loaded from at construction, if it exists, and saved to after every driver call — so the
   * "hypervisor" outlives the process, as real hosts outlive a management server (crash tests).
   * Faults, latency and the operation log are not persisted. Off by default.
   */
  stateFile?: string;
  /**
   * With `stateFile`: several processes (management servers) share one simulated world, as they
   * share real hosts. Every driver call takes an exclusive lock file beside the state file, reloads
   * the world, runs and saves it before releasing the lock. A process killed while holding the lock
   * leaves it behind (`<stateFile>.lock`): not for crash tests.
   */
  sharedState?: boolean;
}

/** Built-in host defaults. */
export const DEFAULT_HOST: SimulatorHostDefaults = {
  cpus: 16,
  cpuSockets: 1,
  cpuMhz: 2400,
  memoryBytes: 64 * GiB,
  reservedMemoryBytes: 0,
  localStorageBytes: 0,
  hostTags: [],
};

/** Built-in capacity of a new primary pool. */
export const DEFAULT_POOL_CAPACITY_BYTES = 10 * TiB;
