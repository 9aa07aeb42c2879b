import { ExcludeList, PlacementError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { horizontalAllocator, implicitDedicationAllocator, verticalAllocator } from '../src/index.js';
import { buildCloud, makePool, vmOf } from './fixture.js';

const place = (index: ReturnType<typeof buildCloud>, vm: ReturnType<typeof vmOf>, plan = { zoneId: 1 }) =>
  verticalAllocator().place(index, vm, plan);
const reasonsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlacementError) return e.explanation.hosts.reasons;
    throw e;
  }
  throw new Error('expected a PlacementError');
};

describe('spec/allocation.md cases', () => {
  it('host tags: offering tags ⊆ host tags; extra host tags are fine (§8)', () => {
    const index = buildCloud({
      hostsPerCluster: 3,
      threshold: 1,
      hostTags: (id) => (id === 2 ? ['ssd', 'fast'] : id === 3 ? ['ssd'] : []),
    });
    expect(place(index, vmOf({ hostTags: ['ssd', 'fast'] })).destination.hostId).toBe(2);
    expect(place(index, vmOf({ hostTags: ['ssd'] })).destination.hostId).toBe(2);
    expect(reasonsOf(() => place(index, vmOf({ hostTags: ['gpu'] })))).toEqual({ TAG_MISMATCH: 3 });
  });

  it('ha.tag hosts take only HA restarts (pitfall 12)', () => {
    const index = buildCloud({
      hostsPerCluster: 2,
      threshold: 1,
      hostTags: (id) => (id === 1 ? ['ha'] : []),
      settings: { haTag: 'ha' },
    });
    expect(place(index, vmOf()).destination.hostId).toBe(2);
    expect(place(index, { ...vmOf(), haRestart: true }).destination.hostId).toBe(1);
  });

  it('storage tags: every offering tag on the pool, no fallback to untagged pools (pitfall 10)', () => {
    const index = buildCloud({ hostsPerCluster: 1, threshold: 1 });
    index.addPool(makePool(50, 1, 1, 2 ** 40, { tags: new Set(['ssd', 'x']) }));
    const vm = { ...vmOf(), disks: [{ id: 1, size: 2 ** 30, tags: ['ssd'], storageType: 'shared' as const }] };
    expect(place(index, vm).destination.pools.get(1)).toBe(50);
    const miss = { ...vmOf(), disks: [{ id: 1, size: 2 ** 30, tags: ['nvme'], storageType: 'shared' as const }] };
    expect(() => place(index, miss)).toThrow(/storage pools available: .*storage-tag mismatch/);
  });

  it('CPU capability needs cores and per-core speed, not only total MHz (pitfall 2)', () => {
    const index = buildCloud({ hostsPerCluster: 1, threshold: 1, cpus: 4, speed: 1000 });
    expect(reasonsOf(() => place(index, vmOf({ cpuNumber: 1, cpuSpeed: 2000 })))).toEqual({ CPU_SPEED: 1 });
    expect(reasonsOf(() => place(index, vmOf({ cpuNumber: 8, cpuSpeed: 100 })))).toEqual({ CPU_CORES: 1 });
  });

  it('CPU and memory over-provisioning factors apply per cluster at check time', () => {
    const index = buildCloud({ hostsPerCluster: 1, threshold: 1, cpuRatio: 2, memoryRatio: 1.5 });
    const vm = vmOf({ cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 6144 }); // 8000 MHz, 6 GiB
    index.bookStart(1, 10, 1, vm.demand);
    index.bookStart(2, 10, 1, { ...vm.demand, memory: 6144 * 2 ** 20 });
    // CPU 16000/16000 used; memory 12 GiB of 12 GiB
    expect(reasonsOf(() => place(index, vmOf({ cpuNumber: 1, cpuSpeed: 1, memoryMiB: 1 })))).toEqual({
      CLUSTER_THRESHOLD_CPU: 1,
    });
    index.clusters.get(1)!.cpuThreshold = 2;
    index.clusters.get(1)!.memoryThreshold = 2;
    expect(reasonsOf(() => place(index, vmOf({ cpuNumber: 1, cpuSpeed: 1, memoryMiB: 1 })))).toEqual({
      INSUFFICIENT_CPU: 1,
    });
  });

  it('cluster thresholds count the request and skip the cluster (pitfall 5); cluster.threshold.enabled=false disables them', () => {
    const index = buildCloud({ clustersPerPod: 2, hostsPerCluster: 1 });
    const big = vmOf({ cpuNumber: 4, cpuSpeed: 1600, memoryMiB: 1024 }); // 6400 of 8000 = 0.8
    index.bookStart(1, 10, 1, big.demand);
    const small = vmOf({ cpuNumber: 1, cpuSpeed: 500, memoryMiB: 128 }); // 6900/8000 = 0.8625 > 0.85 on cluster 1
    expect(() => verticalAllocator().place(index, small, { zoneId: 1, clusterId: 1 } as never)).toThrow(
      /cluster CPU above disable threshold/,
    );
    expect(verticalAllocator().place(index, small, { zoneId: 1 }).destination.clusterId).toBe(2);
    index.settings.clusterThresholdEnabled = false;
    expect(verticalAllocator().place(index, small, { zoneId: 1, clusterId: 1 } as never).destination.hostId).toBe(1);
  });

  it('pool thresholds: physical fill and allocated fill count the request; factor only for eligible types', () => {
    const index = buildCloud({ hostsPerCluster: 1, threshold: 1, poolBytes: 100 * 2 ** 30 });
    const disk = (size: number) => ({ ...vmOf(), disks: [{ id: 1, size, tags: [], storageType: 'shared' as const }] });
    expect(place(index, disk(170 * 2 ** 30)).destination.pools.get(1)).toBe(1); // 100 × 2 × 0.85
    expect(() => place(index, disk(171 * 2 ** 30))).toThrow(PlacementError);
    index.pools.get(1)!.usedBytes = 85 * 2 ** 30;
    expect(() => place(index, disk(1))).toThrow(PlacementError);
  });

  it('local disks only go to the local pool of that very host (§7.3)', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    index.addPool(
      makePool(60, null, 1, 2 ** 40, { scope: 'HOST', hostId: 2, clusterId: 1, factor: 1, poolType: 'Filesystem' }),
    );
    const vm = { ...vmOf(), disks: [{ id: 1, size: 2 ** 30, tags: [], storageType: 'local' as const }] };
    const p = place(index, vm);
    expect(p.destination).toMatchObject({ hostId: 2 });
    expect(p.destination.pools.get(1)).toBe(60);
  });

  it('last host: a restart may use its own reservation on a full host (pitfall 7)', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    const full = vmOf({ id: 1, cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192 });
    index.bookStart(1, 10, 1, full.demand);
    index.stopToReserved(1);
    const again = vmOf({ id: 1, cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192, lastHostId: 1 });
    const p = horizontalAllocator().place(index, again, { zoneId: 1 });
    expect(p.destination.hostId).toBe(1);
    expect(p.explanation.lastHost).toBe(true);
    // another VM cannot take the reserved host
    const other = vmOf({ id: 2, cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192 });
    expect(verticalAllocator().place(index, other, { zoneId: 1 }).destination.hostId).toBe(2);
  });

  it('a reservation older than capacity.skipcounting.hours seconds no longer counts', () => {
    let t = 0;
    const index = buildCloud({ hostsPerCluster: 1, threshold: 1 });
    index.setClock(() => t);
    const full = vmOf({ id: 1, cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192 });
    index.bookStart(1, 10, 1, full.demand);
    index.stopToReserved(1);
    t = 3599_000;
    expect(index.expireReservations()).toEqual([]);
    t = 3600_000;
    expect(index.expireReservations()).toHaveLength(1);
    expect(place(index, vmOf({ id: 2, cpuNumber: 4, cpuSpeed: 2000, memoryMiB: 8192 })).destination.hostId).toBe(1);
  });

  it('pinned host never falls back (pitfall 15); max guests avoids the host (§10)', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    (index.hosts.get(1) as { maxGuests: number | null }).maxGuests = 1;
    index.bookStart(1, 10, 1, vmOf().demand);
    expect(() => place(index, vmOf(), { zoneId: 1, hostId: 1 } as never)).toThrow(/max guests reached/);
    const avoid = new ExcludeList();
    expect(verticalAllocator().place(index, vmOf(), { zoneId: 1, avoid }).destination.hostId).toBe(2);
    expect(avoid.hosts.get(1)).toBe('MAX_GUESTS');
  });

  it('OS preference orders but never filters (pitfall 11)', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    (index.hosts.get(2) as { osCategoryPreference: string | null }).osCategoryPreference = 'Windows';
    (index.hosts.get(1) as { osCategoryPreference: string | null }).osCategoryPreference = 'Ubuntu';
    expect(
      horizontalAllocator().place(index, { ...vmOf(), osCategory: 'Windows' }, { zoneId: 1 }).destination.hostId,
    ).toBe(2);
    index.hosts.get(2)!.resourceState = 'Maintenance';
    expect(
      horizontalAllocator().place(index, { ...vmOf(), osCategory: 'Windows' }, { zoneId: 1 }).destination.hostId,
    ).toBe(1);
  });

  it('implicit dedication: strict never shares a host with other accounts; preferred falls back', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    index.bookStart(1, 20, 1, vmOf().demand);
    index.bookStart(2, 20, 2, vmOf().demand);
    expect(() =>
      implicitDedicationAllocator({ mode: 'Strict' }).place(index, vmOf({ accountId: 10 }), { zoneId: 1 }),
    ).toThrow(/dedicated elsewhere/);
    expect(
      implicitDedicationAllocator({ mode: 'Preferred' }).place(index, vmOf({ accountId: 10 }), { zoneId: 1 })
        .destination.hostId,
    ).toBeGreaterThan(0);
  });
});
