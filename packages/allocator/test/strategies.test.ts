import { ExcludeList, InsufficientCapacityError, PlacementError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { allocatorByName, horizontalAllocator, randomAllocator, verticalAllocator, whatIf } from '../src/index.js';
import { buildCloud, vmOf } from './fixture.js';

describe('named strategies', () => {
  it('vertical fills one host before opening the next', () => {
    const index = buildCloud({ hostsPerCluster: 3, threshold: 1 });
    const a = verticalAllocator();
    const chosen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const vm = vmOf({ id: i + 1 });
      const p = a.place(index, vm, { zoneId: 1 });
      index.bookStart(i + 1, vm.accountId, p.destination.hostId, vm.demand);
      chosen.push(p.destination.hostId);
    }
    // 4 cores × 2000 MHz = 8000 MHz per host; 1000 MHz VMs ⇒ 8 per host by CPU, 8 by 8 GiB memory.
    expect(chosen).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('horizontal rotates across identical hosts', () => {
    const index = buildCloud({ hostsPerCluster: 3, threshold: 1 });
    const a = horizontalAllocator();
    const chosen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const vm = vmOf({ id: i + 1 });
      const p = a.place(index, vm, { zoneId: 1 });
      index.bookStart(i + 1, vm.accountId, p.destination.hostId, vm.demand);
      chosen.push(p.destination.hostId);
    }
    expect(chosen).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('random is reproducible for a seed', () => {
    const run = (seed: number) => {
      const index = buildCloud({ hostsPerCluster: 8, threshold: 1 });
      const a = randomAllocator({ seed });
      return Array.from({ length: 10 }, (_, i) => {
        const vm = vmOf({ id: i + 1 });
        const p = a.place(index, vm, { zoneId: 1 });
        index.bookStart(i + 1, vm.accountId, p.destination.hostId, vm.demand);
        return p.destination.hostId;
      });
    };
    expect(run(7)).toEqual(run(7));
    expect(new Set(run(7)).size).toBeGreaterThan(1);
  });

  it('selects by vm.allocation.algorithm names', () => {
    expect(allocatorByName('firstfit').name).toBe('vertical');
    expect(allocatorByName('firstfitleastconsumed').name).toBe('horizontal');
    expect(allocatorByName('random').name).toBe('random');
    expect(allocatorByName('userdispersing').name).toBe('userDispersing');
    expect(allocatorByName('userconcentratedpod_random').name).toBe('userConcentratedPod_random');
    expect(() => allocatorByName('nope')).toThrow(/vm.allocation.algorithm/);
  });

  it('a failed placement throws a typed error with a per-reason breakdown', () => {
    const index = buildCloud({ hostsPerCluster: 4, threshold: 1, hostTags: (id) => (id === 4 ? ['ssd'] : []) });
    index.hosts.get(3)!.resourceState = 'Maintenance';
    index.recomputeCluster(1);
    const big = vmOf({ memoryMiB: 16384 });
    try {
      verticalAllocator().place(index, big, { zoneId: 1 });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PlacementError);
      expect(e).toBeInstanceOf(InsufficientCapacityError);
      expect((e as PlacementError).httpCode).toBe(533);
      expect((e as Error).message).toContain('0/4 hosts available: 3 insufficient memory, 1 in maintenance');
    }
    try {
      verticalAllocator().place(index, vmOf({ hostTags: ['gpu'] }), { zoneId: 1 });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain('3 host-tag mismatch, 1 in maintenance');
    }
  });

  it('what-if counts fits without changing the index', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    const before = JSON.stringify([...index.hosts.values()].map((h) => [h.cpuUsed, h.memoryUsed]));
    const r = whatIf(verticalAllocator(), index, { vm: vmOf({ memoryMiB: 2048 }), zoneId: 1 });
    expect(r.fits).toBe(8); // 4 per host by memory (8 GiB / 2 GiB), 2 hosts
    expect(r.stoppedBy).toBeInstanceOf(PlacementError);
    expect(JSON.stringify([...index.hosts.values()].map((h) => [h.cpuUsed, h.memoryUsed]))).toBe(before);
  });

  it('keeps one avoid set across attempts and never returns an avoided host', () => {
    const index = buildCloud({ hostsPerCluster: 2, threshold: 1 });
    const avoid = new ExcludeList();
    avoid.addHost(1, 'AVOIDED_AFTER_FAILURE');
    const p = verticalAllocator().place(index, vmOf(), { zoneId: 1, avoid });
    expect(p.destination.hostId).toBe(2);
  });
});
