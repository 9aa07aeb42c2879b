import { ExcludeList, PlacementError, type VmProfile } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { horizontalAllocator, randomAllocator, verticalAllocator } from '../src/index.js';
import { buildCloud, vmOf } from './fixture.js';

const reasonsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlacementError) return e.explanation.hosts.reasons;
    throw e;
  }
  throw new Error('expected a PlacementError');
};

const allocators = {
  vertical: verticalAllocator,
  horizontal: horizontalAllocator,
  random: () => randomAllocator({ seed: 7 }),
};

describe('explicit dedication (§9.1)', () => {
  for (const [name, make] of Object.entries(allocators)) {
    it(`${name}: a dedicated host takes only its owner; strict owners take only dedicated hosts`, () => {
      const index = buildCloud({ clustersPerPod: 2, hostsPerCluster: 2, threshold: 1 });
      index.setDedication('host', 2, { domainId: 1, accountId: 10 });
      const alloc = make();
      const stranger = vmOf({ accountId: 20 });
      for (let i = 0; i < 20; i++) expect(alloc.place(index, stranger, { zoneId: 1 }).destination.hostId).not.toBe(2);
      const strict: VmProfile = { ...vmOf({ accountId: 10 }), strictDedication: true };
      for (let i = 0; i < 10; i++) expect(alloc.place(index, strict, { zoneId: 1 }).destination.hostId).toBe(2);
      // The owner without strictness may go anywhere.
      const seen = new Set<number>();
      for (let i = 0; i < 40; i++)
        seen.add(alloc.place(index, vmOf({ accountId: 10, cpuSpeed: 100 }), { zoneId: 1 }).destination.hostId);
      expect([...seen].every((h) => h >= 1 && h <= 4)).toBe(true);
    });
  }

  it('explains both sides: DEDICATED_ELSEWHERE for strangers, NOT_DEDICATED for strict owners', () => {
    const index = buildCloud({ clustersPerPod: 2, hostsPerCluster: 1, threshold: 1 });
    index.setDedication('cluster', 1, { domainId: 1, accountId: 10 });
    index.setDedication('cluster', 2, { domainId: 1, accountId: 30 });
    expect(reasonsOf(() => verticalAllocator().place(index, vmOf({ accountId: 20 }), { zoneId: 1 }))).toEqual({
      DEDICATED_ELSEWHERE: 2,
    });
    index.setDedication('cluster', 1, null);
    const strict: VmProfile = { ...vmOf({ accountId: 10 }), strictDedication: true };
    expect(reasonsOf(() => verticalAllocator().place(index, strict, { zoneId: 1 }))).toEqual({
      NOT_DEDICATED: 1,
      DEDICATED_ELSEWHERE: 1,
    });
  });

  it('a domain dedication covers subdomains by path; a pinned or last host is still checked', () => {
    const index = buildCloud({ clustersPerPod: 1, hostsPerCluster: 2, threshold: 1 });
    index.setDedication('pod', 1, { domainId: 5, accountId: null, domainPath: '/sales/' });
    const sub: VmProfile = {
      ...vmOf({ accountId: 10 }),
      domainId: 6,
      domainPath: '/sales/emea/',
      strictDedication: true,
    };
    expect(verticalAllocator().place(index, sub, { zoneId: 1 }).destination.hostId).toBe(1);
    const outside: VmProfile = { ...vmOf({ accountId: 11 }), domainId: 7, domainPath: '/ops/', lastHostId: 1 };
    expect(reasonsOf(() => verticalAllocator().place(index, outside, { zoneId: 1 }))).toEqual({
      DEDICATED_ELSEWHERE: 2,
    });
    expect(reasonsOf(() => verticalAllocator().place(index, outside, { zoneId: 1, hostId: 2 }))).toEqual({
      DEDICATED_ELSEWHERE: 1,
    });
  });
});

describe('host affinity and anti-affinity', () => {
  for (const [name, make] of Object.entries(allocators)) {
    it(`${name}: anti-affinity avoids every host a member holds; affinity keeps to them`, () => {
      const index = buildCloud({ clustersPerPod: 2, hostsPerCluster: 2, threshold: 1 });
      const alloc = make();
      const anti: VmProfile = {
        ...vmOf(),
        affinity: [{ groupId: 1, type: 'host anti-affinity', vmIds: [100, 101], hostIds: [1, 3] }],
      };
      for (let i = 0; i < 20; i++) expect([2, 4]).toContain(alloc.place(index, anti, { zoneId: 1 }).destination.hostId);
      const together: VmProfile = {
        ...vmOf(),
        affinity: [{ groupId: 2, type: 'host affinity', vmIds: [100], hostIds: [4] }],
      };
      for (let i = 0; i < 20; i++) expect(alloc.place(index, together, { zoneId: 1 }).destination.hostId).toBe(4);
      // No member placed yet: anywhere.
      const first: VmProfile = { ...vmOf(), affinity: [{ groupId: 2, type: 'host affinity', vmIds: [], hostIds: [] }] };
      expect(alloc.place(index, first, { zoneId: 1 }).destination.hostId).toBeGreaterThan(0);
    });
  }

  it('explains an unsatisfiable group, at host and cluster level', () => {
    const index = buildCloud({ clustersPerPod: 2, hostsPerCluster: 2, threshold: 1 });
    const anti: VmProfile = {
      ...vmOf(),
      affinity: [{ groupId: 1, type: 'host anti-affinity', vmIds: [1, 2, 3, 4], hostIds: [1, 2, 3, 4] }],
    };
    const e = (() => {
      try {
        verticalAllocator().place(index, anti, { zoneId: 1 });
      } catch (error) {
        return error as PlacementError;
      }
      throw new Error('expected a PlacementError');
    })();
    expect(e.explanation.hosts.reasons).toEqual({ ANTI_AFFINITY: 4 });
    expect(e.message).toMatch(/0\/4 hosts available: 4 anti-affinity conflict/);
    // Affinity to a host that is full: its cluster is the only one left, the other cluster's hosts are AFFINITY.
    const full = buildCloud({
      clustersPerPod: 2,
      hostsPerCluster: 1,
      cpus: 1,
      speed: 1000,
      settings: { clusterThresholdEnabled: false },
    });
    const together: VmProfile = {
      ...vmOf({ cpuSpeed: 1000 }),
      affinity: [{ groupId: 2, type: 'host affinity', vmIds: [9], hostIds: [1] }],
    };
    full.bookStart(9, 10, 1, together.demand, null);
    expect(reasonsOf(() => verticalAllocator().place(full, together, { zoneId: 1 }))).toEqual({
      INSUFFICIENT_CPU: 1,
      AFFINITY: 1,
    });
  });

  it('the last host is not reused when a member now holds it (restart)', () => {
    const index = buildCloud({ clustersPerPod: 1, hostsPerCluster: 2, threshold: 1 });
    const restart: VmProfile = {
      ...vmOf({ id: 50, lastHostId: 1 }),
      affinity: [{ groupId: 1, type: 'host anti-affinity', vmIds: [51], hostIds: [1] }],
    };
    const p = verticalAllocator().place(index, restart, { zoneId: 1, avoid: new ExcludeList() });
    expect(p.destination.hostId).toBe(2);
    expect(p.explanation.lastHost).toBe(false);
  });

  it('hostsOfVms: used bookings, and reservations of stopped VMs within the skip window', () => {
    const index = buildCloud({ clustersPerPod: 1, hostsPerCluster: 3, threshold: 1 });
    const demand = vmOf().demand;
    index.bookStart(1, 10, 1, demand, null);
    index.bookStart(2, 10, 2, demand, null);
    index.stopToReserved(2);
    expect(index.hostsOfVms([1, 2, 3]).sort()).toEqual([1, 2]);
    index.settings = { ...index.settings, skipCountingSeconds: 0 };
    expect(index.hostsOfVms([1, 2, 3])).toEqual([1]);
  });
});
