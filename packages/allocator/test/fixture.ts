import {
  CapacityIndex,
  type HostState,
  MIB,
  type PlacementSettings,
  type PoolState,
  type VmProfile,
} from '@stratus/core';

/** A hand-built cloud for allocator tests. */
export interface CloudShape {
  pods?: number;
  clustersPerPod?: number;
  hostsPerCluster?: number;
  cpus?: number;
  speed?: number;
  memoryMiB?: number;
  cpuRatio?: number;
  memoryRatio?: number;
  threshold?: number;
  poolBytes?: number;
  settings?: Partial<PlacementSettings>;
  hostTags?: (hostId: number) => string[];
}

export function buildCloud(shape: CloudShape = {}): CapacityIndex {
  const index = new CapacityIndex({ clusterThresholdEnabled: true, ...shape.settings }, () => 1_000_000);
  index.addZone({ id: 1, allocationState: 'Enabled', dedicatedDomainId: null, dedication: null });
  let clusterId = 0;
  let hostId = 0;
  let poolId = 0;
  for (let p = 1; p <= (shape.pods ?? 1); p++) {
    index.addPod({ id: p, zoneId: 1, allocationState: 'Enabled', dedication: null });
    for (let c = 0; c < (shape.clustersPerPod ?? 1); c++) {
      clusterId++;
      index.addCluster({
        id: clusterId,
        name: `c${clusterId}`,
        podId: p,
        zoneId: 1,
        hypervisorType: 'KVM',
        allocationState: 'Enabled',
        cpuRatio: shape.cpuRatio ?? 1,
        memoryRatio: shape.memoryRatio ?? 1,
        cpuThreshold: shape.threshold ?? 0.85,
        memoryThreshold: shape.threshold ?? 0.85,
        dedication: null,
      });
      for (let h = 0; h < (shape.hostsPerCluster ?? 2); h++) {
        hostId++;
        index.addHost(
          makeHost(hostId, clusterId, p, {
            cpus: shape.cpus ?? 4,
            speed: shape.speed ?? 2000,
            memoryMiB: shape.memoryMiB ?? 8192,
            tags: shape.hostTags?.(hostId) ?? [],
          }),
        );
      }
      poolId++;
      index.addPool(makePool(poolId, clusterId, p, shape.poolBytes ?? 10 * 2 ** 40));
    }
  }
  return index;
}

export function makeHost(
  id: number,
  clusterId: number,
  podId: number,
  o: { cpus: number; speed: number; memoryMiB: number; tags?: string[]; status?: string; resourceState?: string },
): HostState {
  return {
    id,
    name: `h${id}`,
    zoneId: 1,
    podId,
    clusterId,
    hypervisorType: 'KVM',
    hypervisorVersion: null,
    status: o.status ?? 'Up',
    resourceState: o.resourceState ?? 'Enabled',
    cpus: o.cpus,
    speed: o.speed,
    cpuTotal: o.cpus * o.speed,
    memoryTotal: o.memoryMiB * MIB,
    cpuUsed: 0,
    cpuReserved: 0,
    memoryUsed: 0,
    memoryReserved: 0,
    tags: new Set(o.tags ?? []),
    osCategoryPreference: null,
    hvm: true,
    maxGuests: null,
    vmCount: 0,
    accountVms: new Map(),
    implicitAccounts: new Map(),
    held: new Map(),
    dedication: null,
  };
}

export function makePool(
  id: number,
  clusterId: number | null,
  podId: number | null,
  bytes: number,
  o: Partial<PoolState> = {},
): PoolState {
  return {
    id,
    name: `p${id}`,
    scope: clusterId === null ? 'ZONE' : 'CLUSTER',
    zoneId: 1,
    podId,
    clusterId,
    hostId: null,
    hypervisorType: null,
    poolType: 'NetworkFilesystem',
    tags: new Set(),
    status: 'Up',
    capacityBytes: bytes,
    usedBytes: 0,
    allocatedBytes: 0,
    factor: 2,
    usedThreshold: 0.85,
    allocatedThreshold: 0.85,
    capacityIops: null,
    usedIops: 0,
    ...o,
  };
}

export function vmOf(
  o: {
    cpuNumber?: number;
    cpuSpeed?: number;
    memoryMiB?: number;
    accountId?: number;
    hostTags?: string[];
    diskBytes?: number;
    id?: number;
    lastHostId?: number | null;
  } = {},
): VmProfile {
  const cpuNumber = o.cpuNumber ?? 1;
  const cpuSpeed = o.cpuSpeed ?? 1000;
  const memoryMiB = o.memoryMiB ?? 1024;
  return {
    ...(o.id !== undefined ? { id: o.id } : {}),
    accountId: o.accountId ?? 10,
    domainId: 1,
    demand: { cpu: cpuNumber * cpuSpeed, memory: memoryMiB * MIB, cores: cpuNumber, speed: cpuSpeed },
    hostTags: o.hostTags ?? [],
    lastHostId: o.lastHostId ?? null,
    disks: o.diskBytes ? [{ id: 1, size: o.diskBytes, tags: [], storageType: 'shared' }] : [],
  };
}
