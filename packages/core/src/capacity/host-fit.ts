import type { ReasonCode } from '../allocation/reason-codes.js';
import type { ClusterState, ClusterUsage, Demand, HostState, PlacementState } from './placement-state.js';

/**
 * CPU capability (hard, before capacity): enough cores and fast enough cores. Total MHz alone is
 * not enough: a 4 × 1 GHz host cannot take a 1 × 2 GHz VM (spec/allocation.md §2.2, pitfall 2).
 */
export function cpuCapability(host: HostState, d: Demand): ReasonCode | null {
  if (host.cpus < d.cores) return 'CPU_CORES';
  if (host.speed < d.speed) return 'CPU_SPEED';
  return null;
}

/**
 * Capacity check: `used + reserved + demand ≤ total × factor` for CPU and memory; the factor
 * multiplies the total at check time only (§2.5, pitfall 3). `own` is the VM's own reservation on
 * this host (restart on its last host, pitfall 7): when it covers the demand the VM fits, else it
 * is subtracted from what is counted.
 */
/**
 * `total × ratio` as the largest whole unit that may be allocated. Counters are integers, so
 * `x ≤ total × ratio` ⟺ `x ≤ floor(total × ratio)`; the store's conditional UPDATE uses the same value.
 */
export function overprovisionedLimit(total: number, ratio: number): number {
  return Math.floor(total * ratio + 1e-6);
}

/**
 * Whether `d` fits on `host` after over-provisioning (the cluster's CPU and memory ratios), counting
 * used and reserved capacity but not `own` (what this VM already holds there): `null` if it fits, else
 * the reason it does not (`INSUFFICIENT_CPU`, `INSUFFICIENT_MEMORY`).
 */
export function capacityFit(
  host: HostState,
  cluster: ClusterState,
  d: Demand,
  own?: { cpu: number; memory: number },
): ReasonCode | null {
  if (own && own.cpu >= d.cpu && own.memory >= d.memory) return null;
  const ownCpu = own?.cpu ?? 0;
  const ownMemory = own?.memory ?? 0;
  if (host.cpuUsed + host.cpuReserved - ownCpu + d.cpu > overprovisionedLimit(host.cpuTotal, cluster.cpuRatio))
    return 'INSUFFICIENT_CPU';
  if (
    host.memoryUsed + host.memoryReserved - ownMemory + d.memory >
    overprovisionedLimit(host.memoryTotal, cluster.memoryRatio)
  ) {
    return 'INSUFFICIENT_MEMORY';
  }
  return null;
}

/** The VM's own unexpired reservation on `host`, if any. */
export function ownReservation(
  state: PlacementState,
  host: HostState,
  vmId: number | undefined,
): { cpu: number; memory: number } | undefined {
  if (vmId === undefined) return undefined;
  const held = host.held.get(vmId);
  if (!held) return undefined;
  if (held.since + state.settings.skipCountingSeconds * 1000 <= state.now()) return undefined;
  return held;
}

/**
 * Cluster disable thresholds, counting the request being placed (§3, pitfall 5):
 * `(Σused + Σreserved + demand) / Σ(total × factor) > t` skips the cluster.
 */
export function clusterThreshold(usage: ClusterUsage, cluster: ClusterState, d: Demand): ReasonCode | null {
  if (usage.cpuCapacity <= 0 || (usage.cpuAllocated + d.cpu) / usage.cpuCapacity > cluster.cpuThreshold)
    return 'CLUSTER_THRESHOLD_CPU';
  if (
    usage.memoryCapacity <= 0 ||
    (usage.memoryAllocated + d.memory) / usage.memoryCapacity > cluster.memoryThreshold
  ) {
    return 'CLUSTER_THRESHOLD_MEMORY';
  }
  return null;
}

/** Host is Up and its resource state Enabled (§6.2 step 1, pitfall 17); otherwise why not. */
export function hostAvailability(host: HostState): ReasonCode | null {
  if (host.resourceState !== 'Enabled') {
    return host.resourceState === 'Disabled' ? 'HOST_DISABLED' : 'HOST_MAINTENANCE';
  }
  if (host.status !== 'Up') return 'HOST_NOT_UP';
  return null;
}

/** Used fraction `(used + reserved) / (total × ratio)` of the chosen capacity type. */
export function usedFraction(
  host: HostState,
  cluster: ClusterState,
  type: 'CPU' | 'RAM' | 'COMBINED',
  cpuWeight = 0.5,
): number {
  const cpu = (host.cpuUsed + host.cpuReserved) / (host.cpuTotal * cluster.cpuRatio || 1);
  const mem = (host.memoryUsed + host.memoryReserved) / (host.memoryTotal * cluster.memoryRatio || 1);
  if (type === 'CPU') return cpu;
  if (type === 'RAM') return mem;
  return cpuWeight * cpu + (1 - cpuWeight) * mem;
}

/** Offering tags ⊆ host tags (spec/allocation.md §8); tags compare case-sensitively after trimming. */
export function tagsSubset(required: readonly string[], have: ReadonlySet<string>): boolean {
  for (const t of required) if (!have.has(t)) return false;
  return true;
}
