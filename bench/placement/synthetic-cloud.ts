import { CapacityIndex, type HostState, MIB, type PoolState, type VmProfile } from '@stratus/core';
import { seededRng } from '../../packages/allocator/src/rng.js';

/** Shape of the benchmark cloud (issue 3: 1 zone, 50 pods, 500 clusters, 10,000 hosts, 2,000 pools). */
export const SHAPE = { pods: 50, clustersPerPod: 10, hostsPerCluster: 20, poolsPerCluster: 4 } as const;

const TAGS = ['ssd', 'nvme', '10g', 'avx512', 'sriov'];
/** 20 host-tag combinations (the empty set among them). */
export const TAG_COMBOS: string[][] = Array.from({ length: 20 }, (_, i) => TAGS.filter((_, b) => (i >> b) & 1));

const HOST_SIZES = [
  { cpus: 16, speed: 2400, memoryMiB: 64 * 1024 },
  { cpus: 32, speed: 2600, memoryMiB: 128 * 1024 },
  { cpus: 64, speed: 2200, memoryMiB: 256 * 1024 },
] as const;

export interface CloudRows {
  hosts: Array<{
    id: number;
    podId: number;
    clusterId: number;
    cpus: number;
    speed: number;
    memoryMiB: number;
    tags: string[];
  }>;
  pools: Array<{ id: number; podId: number; clusterId: number; bytes: number }>;
}

/** Deterministic rows of the synthetic cloud. */
export function cloudRows(): CloudRows {
  const hosts: CloudRows['hosts'] = [];
  const pools: CloudRows['pools'] = [];
  let clusterId = 0;
  for (let p = 1; p <= SHAPE.pods; p++) {
    for (let c = 0; c < SHAPE.clustersPerPod; c++) {
      clusterId++;
      const tags = TAG_COMBOS[clusterId % TAG_COMBOS.length] ?? [];
      for (let h = 0; h < SHAPE.hostsPerCluster; h++) {
        const size = HOST_SIZES[(clusterId + h) % HOST_SIZES.length]!;
        hosts.push({ id: hosts.length + 1, podId: p, clusterId, ...size, tags });
      }
      for (let k = 0; k < SHAPE.poolsPerCluster; k++)
        pools.push({ id: pools.length + 1, podId: p, clusterId, bytes: 20 * 2 ** 40 });
    }
  }
  return { hosts, pools };
}

/** The synthetic cloud as an in-memory index. */
export function buildIndex(rows: CloudRows = cloudRows()): CapacityIndex {
  const index = new CapacityIndex({ clusterThresholdEnabled: true });
  index.addZone({ id: 1, allocationState: 'Enabled', dedicatedDomainId: null, dedication: null });
  for (let p = 1; p <= SHAPE.pods; p++)
    index.addPod({ id: p, zoneId: 1, allocationState: 'Enabled', dedication: null });
  for (let c = 1; c <= SHAPE.pods * SHAPE.clustersPerPod; c++) {
    index.addCluster({
      id: c,
      name: `c${c}`,
      podId: Math.ceil(c / SHAPE.clustersPerPod),
      zoneId: 1,
      hypervisorType: 'KVM',
      allocationState: 'Enabled',
      cpuRatio: 2,
      memoryRatio: 1,
      cpuThreshold: 0.85,
      memoryThreshold: 0.85,
      dedication: null,
    });
  }
  for (const h of rows.hosts) index.addHost(hostState(h));
  for (const p of rows.pools) index.addPool(poolState(p));
  return index;
}

function hostState(h: CloudRows['hosts'][number]): HostState {
  return {
    id: h.id,
    name: `h${h.id}`,
    zoneId: 1,
    podId: h.podId,
    clusterId: h.clusterId,
    hypervisorType: 'KVM',
    hypervisorVersion: null,
    status: 'Up',
    resourceState: 'Enabled',
    cpus: h.cpus,
    speed: h.speed,
    cpuTotal: h.cpus * h.speed,
    memoryTotal: h.memoryMiB * MIB,
    cpuUsed: 0,
    cpuReserved: 0,
    memoryUsed: 0,
    memoryReserved: 0,
    tags: new Set(h.tags),
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

function poolState(p: CloudRows['pools'][number]): PoolState {
  return {
    id: p.id,
    name: `p${p.id}`,
    scope: 'CLUSTER',
    zoneId: 1,
    podId: p.podId,
    clusterId: p.clusterId,
    hostId: null,
    hypervisorType: null,
    poolType: 'NetworkFilesystem',
    tags: new Set(),
    status: 'Up',
    capacityBytes: p.bytes,
    usedBytes: 0,
    allocatedBytes: 0,
    factor: 2,
    usedThreshold: 0.85,
    allocatedThreshold: 0.85,
    capacityIops: null,
    usedIops: 0,
  };
}

const OFFERINGS = [
  { cpuNumber: 1, cpuSpeed: 1000, memoryMiB: 1024 },
  { cpuNumber: 2, cpuSpeed: 1500, memoryMiB: 2048 },
  { cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192 },
  { cpuNumber: 2, cpuSpeed: 2000, memoryMiB: 4096 },
] as const;

/** A deterministic stream of deployments: mixed offerings, 20% with a host tag, 50 GiB root disks. */
export function deployments(count: number, seed = 42): VmProfile[] {
  const rng = seededRng(seed);
  const out: VmProfile[] = [];
  for (let i = 0; i < count; i++) {
    const o = OFFERINGS[Math.floor(rng() * OFFERINGS.length)]!;
    const tagged = rng() < 0.2 ? [TAGS[Math.floor(rng() * TAGS.length)]!] : [];
    out.push({
      id: i + 1,
      accountId: 100 + Math.floor(rng() * 500),
      domainId: 1,
      demand: { cpu: o.cpuNumber * o.cpuSpeed, memory: o.memoryMiB * MIB, cores: o.cpuNumber, speed: o.cpuSpeed },
      hostTags: tagged,
      disks: [{ id: i + 1, size: 50 * 2 ** 30, tags: [], storageType: 'shared' }],
    });
  }
  return out;
}
