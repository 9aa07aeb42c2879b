import type { HypervisorType, StoragePoolType, StorageScope } from '../model/enums.js';

/** What a VM asks of a host: MHz, bytes, cores and per-core speed (spec/allocation.md §1). */
export interface Demand {
  /** `cpuNumber × cpuSpeed` MHz. */
  cpu: number;
  /** `memory MiB × 2^20` bytes. */
  memory: number;
  /** `cpuNumber`. */
  cores: number;
  /** `cpuSpeed`, MHz per core. */
  speed: number;
}

/** Implicit-dedication mode of a VM's offering (spec/allocation.md §5.5). */
export type ImplicitDedicationMode = 'Strict' | 'Preferred';

/** An explicit dedication of a zone, pod, cluster or host to a domain or an account (§9.1). */
export interface Dedication {
  domainId: number;
  accountId: number | null;
  /** Path of the domain (`/sales/`): a domain dedication covers the subdomains under this path. */
  domainPath?: string;
}

/** A stopped VM's capacity held on its last host (§2.5). */
export interface HeldReservation {
  cpu: number;
  memory: number;
  /** Epoch ms of the stop. */
  since: number;
}

/** One host as placement sees it: identity, hardware, state and capacity counters. */
export interface HostState {
  readonly id: number;
  readonly name: string;
  readonly zoneId: number;
  readonly podId: number;
  readonly clusterId: number;
  readonly hypervisorType: HypervisorType;
  readonly hypervisorVersion: string | null;
  status: string;
  resourceState: string;
  /** Cores. */
  readonly cpus: number;
  /** MHz per core. */
  readonly speed: number;
  /** `cpus × speed` MHz, before over-provisioning. */
  readonly cpuTotal: number;
  /** Usable memory bytes (`totalMemory − reservedMemory`), before over-provisioning. */
  readonly memoryTotal: number;
  cpuUsed: number;
  cpuReserved: number;
  memoryUsed: number;
  memoryReserved: number;
  readonly tags: ReadonlySet<string>;
  readonly osCategoryPreference: string | null;
  /** `false` only when the host reports it cannot run HVM guests. */
  readonly hvm: boolean;
  /** `null` = unlimited (§10). */
  readonly maxGuests: number | null;
  /** VMs using capacity here (Starting/Running/Migrating). */
  vmCount: number;
  /** This host's running VMs per account. */
  readonly accountVms: Map<number, number>;
  /** Accounts with implicitly dedicated VMs on the host (running, or stopped within the skip window). */
  readonly implicitAccounts: Map<number, ImplicitDedicationMode>;
  /** Stopped VMs' reservations on this host, by VM id. */
  readonly held: Map<number, HeldReservation>;
  /** Explicit dedication (changed in place when an admin dedicates or releases). */
  dedication: Dedication | null;
}

/** One cluster with its over-provisioning ratios, thresholds and aggregates over Enabled hosts. */
export interface ClusterState {
  readonly id: number;
  readonly name: string;
  readonly podId: number;
  readonly zoneId: number;
  readonly hypervisorType: HypervisorType;
  allocationState: string;
  cpuRatio: number;
  memoryRatio: number;
  /** `cluster.cpu.allocated.capacity.disablethreshold` for this cluster. */
  cpuThreshold: number;
  /** `cluster.memory.allocated.capacity.disablethreshold` for this cluster. */
  memoryThreshold: number;
  readonly hostIds: number[];
  readonly poolIds: number[];
  /** Explicit dedication (changed in place when an admin dedicates or releases). */
  dedication: Dedication | null;
}

/** A pod as the placement index holds it: its zone, allocation state, clusters and explicit dedication. */
export interface PodState {
  readonly id: number;
  readonly zoneId: number;
  allocationState: string;
  readonly clusterIds: number[];
  /** Explicit dedication (changed in place when an admin dedicates or releases). */
  dedication: Dedication | null;
}

/** A zone as the placement index holds it: its allocation state, pods and explicit dedication. */
export interface ZoneState {
  readonly id: number;
  allocationState: string;
  readonly dedicatedDomainId: number | null;
  readonly podIds: number[];
  readonly clusterIds: number[];
  /** Zone-wide pools. */
  readonly poolIds: number[];
  /** Explicit dedication (changed in place when an admin dedicates or releases). */
  dedication: Dedication | null;
}

/** One primary storage pool with its allocation and thresholds. */
export interface PoolState {
  readonly id: number;
  readonly name: string;
  readonly scope: StorageScope;
  readonly zoneId: number;
  readonly podId: number | null;
  readonly clusterId: number | null;
  readonly hostId: number | null;
  readonly hypervisorType: HypervisorType | null;
  readonly poolType: StoragePoolType;
  readonly tags: ReadonlySet<string>;
  status: string;
  readonly capacityBytes: number;
  usedBytes: number;
  allocatedBytes: number;
  /** Effective storage factor (1 for types that take none and for local pools). */
  factor: number;
  /** `pool.storage.capacity.disablethreshold` for this pool. */
  usedThreshold: number;
  /** `pool.storage.allocated.capacity.disablethreshold` for this pool. */
  allocatedThreshold: number;
  readonly capacityIops: number | null;
  usedIops: number;
}

/** Global settings placement reads (spec/allocation.md §12). */
export interface PlacementSettings {
  haTag: string;
  implicitHostTags: readonly string[];
  clusterThresholdEnabled: boolean;
  capacityTypeToOrderClusters: 'CPU' | 'RAM' | 'COMBINED';
  cpuToMemoryWeight: number;
  applyAllocationAlgorithmToPods: boolean;
  userDispersionWeight: number;
  startRetry: number;
  /** `capacity.skipcounting.hours`, in seconds. */
  skipCountingSeconds: number;
  checkHvm: boolean;
  allowAdminVmOnDisabledResources: boolean;
  allowRouterOnDisabledResources: boolean;
  allocationAlgorithm: string;
}

/**
 * The read model a planner and its allocators work on. `CapacityIndex` implements it from the
 * store; tests and what-if simulations may build their own.
 */
export interface PlacementState {
  readonly zones: ReadonlyMap<number, ZoneState>;
  readonly pods: ReadonlyMap<number, PodState>;
  readonly clusters: ReadonlyMap<number, ClusterState>;
  readonly hosts: ReadonlyMap<number, HostState>;
  readonly pools: ReadonlyMap<number, PoolState>;
  readonly settings: PlacementSettings;
  /** Epoch ms the state describes (reservation expiry is judged against it). */
  now(): number;
  /** VMs of this account in the pod (running or holding a reservation). */
  accountVmsInPod(accountId: number, podId: number): number;
  /** VMs of this account in the cluster. */
  accountVmsInCluster(accountId: number, clusterId: number): number;
  /** VMs of this account in the zone. */
  accountVmsInZone(accountId: number, zoneId: number): number;
  /** Σ over the cluster's Enabled hosts: used+reserved and total×ratio, for CPU and memory. */
  clusterUsage(clusterId: number): ClusterUsage;
  /**
   * Optional change tracking that lets allocators keep per-cluster orderings between decisions
   * instead of recomputing them (a state without it is simply re-read on every decision).
   * Bumped whenever a zone, pod, cluster, host or pool is added.
   */
  topologyVersion?(): number;
  /** Optional: a cursor for {@link PlacementState.clustersChangedSince} (the current position). */
  changeCursor?(): number;
  /**
   * Optional: ids of the clusters whose hosts' counters or aggregates changed since `cursor`
   * (duplicates allowed), or `null` when that history is no longer kept (treat everything as changed).
   */
  clustersChangedSince?(cursor: number): readonly number[] | null;
}

/** A cluster's allocated and total CPU (MHz) and memory (bytes), the figures a planner orders clusters by. */
export interface ClusterUsage {
  cpuAllocated: number;
  cpuCapacity: number;
  memoryAllocated: number;
  memoryCapacity: number;
}
