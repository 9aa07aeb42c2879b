import type { OperationContext } from './operation-context.js';

/**
 * A VM's power state as a host reports it (CloudStack `PowerState`, drivers.md §2.3). `PowerReportMissing`
 * is for a VM core expects on the host that the host does not list: it is not the same as stopped.
 */
export type VmPowerState = 'PowerOn' | 'PowerOff' | 'PowerUnknown' | 'PowerReportMissing';

/** One VM in a ping report. */
export interface VmPowerReport {
  powerState: VmPowerState;
  /** Guid of the host that reported it. */
  host?: string;
}

/** Options of `ping`. */
export interface PingOptions extends OperationContext {
  /**
   * VM names core believes are on this host. Those the host does not list are reported as
   * `PowerReportMissing`; without it, core fills in the missing ones itself.
   */
  expectedVms?: readonly string[];
}

/**
 * Answer of `ping`, mirroring `PingRoutingCommand` (drivers.md §2.3). A ping answers in seconds and never waits
 * behind a mutation; an unreachable host is `reachable: false`, not an exception.
 */
export interface PingReport {
  reachable: boolean;
  /** The hypervisor daemon answers and the host is fit to run VMs. */
  healthy: boolean;
  /** Every VM on the host by name, foreign ones included (core flags those and never touches them). */
  vmStates: Record<string, VmPowerReport>;
  gatewayAccessible?: boolean;
  vnetAccessible?: boolean;
  hostHealthCheckResult?: boolean;
}

/** Answer of `getHostStats` (`GetHostStatsCommand`). */
export interface HostStats {
  /** CPU utilisation over the last sampling interval, 0…100. */
  cpuUtilizationPercent: number;
  totalMemoryBytes: number;
  freeMemoryBytes: number;
  /** Cumulative network counters. */
  networkRxBytes: number;
  networkTxBytes: number;
  /** 1-minute load average, where the hypervisor has one. */
  loadAverage?: number;
}

/** Answer of `checkHealth` (`CheckHealthCommand`). */
export interface HealthCheckResult {
  healthy: boolean;
  message?: string;
}
