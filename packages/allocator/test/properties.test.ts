import {
  type CapacityIndex,
  checkCoverage,
  ExcludeList,
  overprovisionedLimit,
  PlacementError,
  usedFraction,
} from '@stratus/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  horizontalAllocator,
  type PipelineAllocator,
  randomAllocator,
  userDispersingAllocator,
  verticalAllocator,
} from '../src/index.js';
import { buildCloud, vmOf } from './fixture.js';

type Op =
  | { kind: 'deploy'; size: number; account: number }
  | { kind: 'stop' | 'start' | 'destroy' | 'migrate'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('deploy' as const),
      size: fc.integer({ min: 1, max: 4 }),
      account: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('stop' as const, 'start' as const, 'destroy' as const, 'migrate' as const),
      pick: fc.nat(),
    }),
  },
);

const SIZES = [0, 500, 1000, 1500, 2000] as const;
const vmFor = (size: number, account: number, id: number, lastHostId: number | null = null) =>
  vmOf({ id, cpuNumber: 1, cpuSpeed: SIZES[size] ?? 1000, memoryMiB: size * 512, accountId: account, lastHostId });

interface Sim {
  index: CapacityIndex;
  running: Map<number, { host: number; size: number; account: number }>;
  stopped: Map<number, { host: number; size: number; account: number }>;
}

function assertNoOvercommit(index: CapacityIndex) {
  for (const h of index.hosts.values()) {
    const c = index.clusters.get(h.clusterId)!;
    expect(h.cpuUsed + h.cpuReserved).toBeLessThanOrEqual(overprovisionedLimit(h.cpuTotal, c.cpuRatio));
    expect(h.memoryUsed + h.memoryReserved).toBeLessThanOrEqual(overprovisionedLimit(h.memoryTotal, c.memoryRatio));
  }
}

/** Runs ops; `onDeploy` sees the index before booking and the chosen host. */
function runOps(
  allocator: PipelineAllocator,
  ops: Op[],
  onDeploy?: (index: CapacityIndex, host: number, size: number) => void,
  shape = {},
) {
  const index = buildCloud({ pods: 2, clustersPerPod: 2, hostsPerCluster: 3, threshold: 1, cpuRatio: 1.5, ...shape });
  const sim: Sim = { index, running: new Map(), stopped: new Map() };
  let nextId = 1;
  for (const op of ops) {
    if (op.kind === 'deploy') {
      const id = nextId++;
      const vm = vmFor(op.size, op.account, id);
      try {
        const p = allocator.place(index, vm, { zoneId: 1 });
        onDeploy?.(index, p.destination.hostId, op.size);
        index.bookStart(id, vm.accountId, p.destination.hostId, vm.demand);
        sim.running.set(id, { host: p.destination.hostId, size: op.size, account: op.account });
      } catch (e) {
        if (!(e instanceof PlacementError)) throw e;
      }
    } else {
      const pool = op.kind === 'start' ? sim.stopped : sim.running;
      const ids = [...pool.keys()];
      if (ids.length === 0) continue;
      const id = ids[op.pick % ids.length]!;
      const vmRec = pool.get(id)!;
      if (op.kind === 'stop') {
        index.stopToReserved(id);
        sim.running.delete(id);
        sim.stopped.set(id, vmRec);
      } else if (op.kind === 'destroy') {
        index.releaseVm(id);
        sim.running.delete(id);
      } else if (op.kind === 'start') {
        const vm = vmFor(vmRec.size, vmRec.account, id, vmRec.host);
        try {
          const p = allocator.place(index, vm, { zoneId: 1 });
          if (p.destination.hostId !== vmRec.host) index.releaseVm(id);
          index.bookStart(id, vm.accountId, p.destination.hostId, vm.demand);
          sim.stopped.delete(id);
          sim.running.set(id, { ...vmRec, host: p.destination.hostId });
        } catch (e) {
          if (!(e instanceof PlacementError)) throw e;
        }
      } else {
        const vm = vmFor(vmRec.size, vmRec.account, id);
        const avoid = new ExcludeList();
        avoid.addHost(vmRec.host, 'AVOIDED_AFTER_FAILURE');
        try {
          const p = allocator.place(index, vm, { zoneId: 1, avoid });
          index.bookStart(id, vm.accountId, p.destination.hostId, vm.demand); // counts on both hosts
          assertNoOvercommit(index);
          index.releaseFromHost(id, vmRec.host);
          sim.running.set(id, { ...vmRec, host: p.destination.hostId });
        } catch (e) {
          if (!(e instanceof PlacementError)) throw e;
        }
      }
    }
    assertNoOvercommit(index);
  }
  return sim;
}

const allocators = () => [
  verticalAllocator(),
  horizontalAllocator(),
  randomAllocator({ seed: 3 }),
  userDispersingAllocator(),
];

describe('allocator properties (fast-check)', () => {
  it('no host ever exceeds its over-provisioned capacity, for every allocator', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        for (const a of allocators()) runOps(a, ops);
      }),
      { numRuns: 60 },
    );
  });

  it('vertical never uses a new host while an already-used eligible host fits', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), (ops) => {
        runOps(verticalAllocator(), ops, (index, host, size) => {
          const chosen = index.hosts.get(host)!;
          if (chosen.vmCount > 0 || chosen.cpuUsed > 0 || chosen.memoryUsed > 0) return;
          const vm = vmFor(size, 1, 0);
          for (const h of index.hosts.values()) {
            if (!(h.vmCount > 0 || h.cpuUsed > 0 || h.memoryUsed > 0)) continue;
            const c = index.clusters.get(h.clusterId)!;
            const fits =
              h.cpuUsed + h.cpuReserved + vm.demand.cpu <= overprovisionedLimit(h.cpuTotal, c.cpuRatio) &&
              h.memoryUsed + h.memoryReserved + vm.demand.memory <= overprovisionedLimit(h.memoryTotal, c.memoryRatio);
            expect(fits, `used host ${h.id} fits but empty host ${host} was opened`).toBe(false);
          }
        });
      }),
      { numRuns: 80 },
    );
  });

  it('horizontal keeps the used-fraction spread across eligible hosts within one VM size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 60 }),
        fc.array(opArb, { maxLength: 60 }),
        (sizes, ops) => {
          // One cluster of identical hosts: the spread bound holds exactly after every deploy.
          const shape = { pods: 1, clustersPerPod: 1, hostsPerCluster: 4 };
          runOps(
            horizontalAllocator(),
            ops,
            (index, host, size) => {
              const c = index.clusters.get(1)!;
              const chosen = usedFraction(index.hosts.get(host)!, c, 'CPU');
              const vmFrac = (SIZES[size] ?? 0) / (index.hosts.get(host)!.cpuTotal * c.cpuRatio);
              for (const h of index.hosts.values()) {
                const c2 = index.clusters.get(h.clusterId)!;
                const fits =
                  h.cpuUsed + h.cpuReserved + (SIZES[size] ?? 0) <= overprovisionedLimit(h.cpuTotal, c2.cpuRatio) &&
                  h.memoryUsed + h.memoryReserved + size * 512 * 2 ** 20 <=
                    overprovisionedLimit(h.memoryTotal, c2.memoryRatio);
                if (fits) expect(chosen).toBeLessThanOrEqual(usedFraction(h, c2, 'CPU') + 1e-9);
              }
              void vmFrac;
            },
            shape,
          );
          // Deploys only: spread stays within one (largest) VM's fraction.
          const index = buildCloud({ ...shape, threshold: 1 });
          const a = horizontalAllocator();
          let id = 1;
          for (const s of sizes) {
            const vm = vmFor(s, 1, id++);
            try {
              const p = a.place(index, vm, { zoneId: 1 });
              index.bookStart(vm.id!, 1, p.destination.hostId, vm.demand);
            } catch (e) {
              if (!(e instanceof PlacementError)) throw e;
              break;
            }
            const f = [...index.hosts.values()].map((h) => usedFraction(h, index.clusters.get(1)!, 'CPU'));
            expect(Math.max(...f) - Math.min(...f)).toBeLessThanOrEqual(2000 / 8000 + 1e-9);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('every allocator keeps the coverage rule (returned ∪ avoided = candidates, disjoint)', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 80 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        (ops, size, cluster) => {
          for (const a of allocators()) {
            const sim = runOps(a, ops);
            const index = sim.index;
            // take a host down and one into maintenance to vary the candidate set
            const vm = vmFor(size, 1, 99_999);
            const avoid = new ExcludeList();
            const before = new Set(avoid.hosts.keys());
            const plan = { zoneId: 1, clusterId: cluster };
            const returned = a.hostAllocator.allocateTo(index, vm, plan, avoid, -1).map((h) => h.id);
            const candidates = [...index.hosts.values()]
              .filter((h) => h.clusterId === cluster && h.status === 'Up' && h.resourceState === 'Enabled')
              .map((h) => h.id);
            expect(checkCoverage(candidates, returned, before, avoid, 'hosts')).toEqual([]);
            for (const id of avoid.hosts.keys()) expect(avoid.hosts.get(id)).toBeTruthy();
            const pools = a.storagePoolAllocator
              .allocateToPool(index, { id: 1, size: 2 ** 30, tags: [], storageType: 'shared' }, vm, plan, avoid, -1)
              .map((p) => p.id);
            const poolCandidates = [...index.pools.values()]
              .filter((p) => p.clusterId === cluster || p.scope === 'ZONE')
              .map((p) => p.id);
            expect(checkCoverage(poolCandidates, pools, new Set(), avoid, 'pools')).toEqual([]);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
