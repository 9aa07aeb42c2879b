import {
  type CapacityIndex,
  type DeploymentPlanner,
  ExcludeList,
  PlacementError,
  type PlacementState,
} from '@stratus/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  capacityFilter,
  type HostOrdering,
  horizontalAllocator,
  hostFilter,
  type PipelineAllocator,
  randomAllocator,
  seededRng,
  standardHostFilters,
  userDispersingAllocator,
  verticalAllocator,
} from '../src/index.js';
import { deriveSeed, shuffle } from '../src/rng.js';
import { buildCloud, vmOf } from './fixture.js';

/** The same index without change tracking: nothing can be kept between decisions. */
function untracked(index: CapacityIndex): PlacementState {
  return {
    zones: index.zones,
    pods: index.pods,
    clusters: index.clusters,
    hosts: index.hosts,
    pools: index.pools,
    get settings() {
      return index.settings;
    },
    now: () => index.now(),
    accountVmsInPod: (a, p) => index.accountVmsInPod(a, p),
    accountVmsInCluster: (a, c) => index.accountVmsInCluster(a, c),
    accountVmsInZone: (a, z) => index.accountVmsInZone(a, z),
    clusterUsage: (id) => index.clusterUsage(id),
  };
}

/**
 * The exhaustive reference of an allocator: no lazy cluster sequence (every cluster checked and
 * sorted on every decision), no capacity pruning (the capacity filter is a different object), and
 * run on an untracked state (no kept host orderings).
 */
function reference(a: PipelineAllocator): PipelineAllocator {
  const p = a.planner;
  const planner: DeploymentPlanner = {
    name: p.name,
    canHandle: (...args) => p.canHandle(...args),
    orderClusters: (...args) => p.orderClusters(...args),
    resourceUsage: (...args) => p.resourceUsage(...args),
  };
  const filters = a.filters.map((f) => (f === capacityFilter ? hostFilter('capacity', capacityFilter.test) : f));
  return a.derive({ planner, filters, ...(a.ordering.uniformShuffle ? { ordering: wholeShuffle } : {}) });
}

/**
 * The reference of a random ordering, as CloudStack's RandomAllocator does it: every host of the
 * cluster (id order) shuffled whole, from the stream the decision gives that cluster, then the
 * hosts still to try kept in that order. The pipeline draws the same permutation lazily.
 */
const wholeShuffle: HostOrdering = {
  name: 'random',
  order(ctx, hosts, cluster) {
    const all = cluster.hostIds.flatMap((id) => ctx.state.hosts.get(id) ?? []).sort((x, y) => x.id - y.id);
    const permuted = shuffle(all, seededRng(deriveSeed(ctx.seed ?? 0, cluster.id)));
    const wanted = new Set(hosts.map((h) => h.id));
    return permuted.filter((h) => wanted.has(h.id));
  },
};

type Op =
  | { kind: 'deploy'; cpu: number; mem: number; account: number; tag: number }
  | { kind: 'stop' | 'start' | 'destroy'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('deploy' as const),
      cpu: fc.integer({ min: 1, max: 4 }),
      mem: fc.integer({ min: 1, max: 6 }),
      account: fc.integer({ min: 1, max: 3 }),
      tag: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constantFrom('stop' as const, 'start' as const, 'destroy' as const),
      pick: fc.nat(),
    }),
  },
);

const TAGS = [[], ['ssd'], ['gpu'], ['ssd', 'fast']];

function outcome(a: PipelineAllocator, state: PlacementState, vm: ReturnType<typeof vmOf>, avoid?: ExcludeList) {
  try {
    const p = a.place(state, vm, { zoneId: 1, ...(avoid ? { avoid } : {}) });
    return { host: p.destination.hostId, pools: [...p.destination.pools], lastHost: p.explanation.lastHost };
  } catch (e) {
    if (!(e instanceof PlacementError)) throw e;
    return { error: e.message, explanation: e.explanation };
  }
}

describe('fast path = exhaustive path', () => {
  const strategies: Array<[string, () => PipelineAllocator]> = [
    ['vertical', () => verticalAllocator()],
    ['vertical packClusters', () => verticalAllocator({ packClusters: true })],
    ['horizontal', () => horizontalAllocator()],
    ['userDispersing', () => userDispersingAllocator()],
    ['firstFit planner + custom filter', () => verticalAllocator().withFilter(hostFilter('noop', () => null))],
    // Random: the reference shuffles every visited cluster whole (the pipeline's full path with
    // `randomOrdering.order`), the fast path draws hosts lazily from pruned clusters; both consume
    // one draw of the allocator's RNG per decision, so they must agree decision by decision.
    ['random', () => randomAllocator({ seed: 5 })],
    ['random + custom filter', () => randomAllocator({ seed: 11 }).withFilter(hostFilter('noop', () => null))],
  ];
  for (const [name, make] of strategies) {
    it(`${name}: same host, pools and failure explanation for every decision`, () => {
      fc.assert(
        fc.property(fc.array(opArb, { maxLength: 150 }), fc.boolean(), (ops, gpuImplicit) => {
          const index = buildCloud({
            pods: 2,
            clustersPerPod: 3,
            hostsPerCluster: 3,
            threshold: 0.9,
            cpuRatio: 1.5,
            hostTags: (id) => (id % 5 === 0 ? ['ssd', 'fast'] : id % 7 === 0 ? ['gpu'] : id % 3 === 0 ? ['ssd'] : []),
            settings: { implicitHostTags: gpuImplicit ? ['gpu'] : [] },
          });
          // mixed host sizes
          for (const h of index.hosts.values()) {
            if (h.id % 4 === 0) Object.assign(h, { cpus: 8, cpuTotal: 8 * h.speed, memoryTotal: h.memoryTotal * 2 });
          }
          for (const c of index.clusters.values()) index.recomputeCluster(c.id);
          const fast = make();
          const ref = reference(make());
          const view = untracked(index);
          const running = new Map<number, { host: number; vm: ReturnType<typeof vmOf> }>();
          const stopped = new Map<number, { host: number; vm: ReturnType<typeof vmOf> }>();
          let nextId = 1;
          for (const op of ops) {
            if (op.kind === 'deploy') {
              const id = nextId++;
              const vm = vmOf({
                id,
                cpuNumber: op.cpu,
                cpuSpeed: 500,
                memoryMiB: op.mem * 1024,
                accountId: op.account,
                hostTags: TAGS[op.tag] ?? [],
              });
              const a = outcome(fast, index, vm, new ExcludeList());
              const b = outcome(ref, view, vm, new ExcludeList());
              expect(a).toEqual(b);
              if ('host' in a && a.host !== undefined) {
                index.bookStart(id, vm.accountId, a.host, vm.demand);
                running.set(id, { host: a.host, vm });
              }
            } else {
              const pool = op.kind === 'start' ? stopped : running;
              const ids = [...pool.keys()];
              if (ids.length === 0) continue;
              const id = ids[op.pick % ids.length] as number;
              const rec = pool.get(id)!;
              if (op.kind === 'stop') {
                index.stopToReserved(id);
                running.delete(id);
                stopped.set(id, rec);
              } else if (op.kind === 'destroy') {
                index.releaseVm(id);
                running.delete(id);
              } else {
                const vm = { ...rec.vm, lastHostId: rec.host };
                const a = outcome(fast, index, vm);
                const b = outcome(ref, view, vm);
                expect(a).toEqual(b);
                if ('host' in a && a.host !== undefined) {
                  if (a.host !== rec.host) index.releaseVm(id);
                  index.bookStart(id, vm.accountId, a.host, vm.demand);
                  stopped.delete(id);
                  running.set(id, { host: a.host, vm });
                }
              }
            }
          }
        }),
        { numRuns: 40 },
      );
    });
  }

  it('a failed placement leaves the same avoid set as the exhaustive path', () => {
    const index = buildCloud({ pods: 2, clustersPerPod: 2, hostsPerCluster: 3, threshold: 1 });
    for (let i = 1; i <= 12; i++) index.bookStart(i, 1, i, vmOf({ cpuNumber: 3, cpuSpeed: 2000 }).demand);
    const vm = vmOf({ cpuNumber: 2, cpuSpeed: 2000 });
    const a = new ExcludeList();
    const b = new ExcludeList();
    expect(() => verticalAllocator().place(index, vm, { zoneId: 1, avoid: a })).toThrow(PlacementError);
    expect(() => reference(verticalAllocator()).place(untracked(index), vm, { zoneId: 1, avoid: b })).toThrow(
      PlacementError,
    );
    expect([...a.hosts].sort()).toEqual([...b.hosts].sort());
    expect([...a.clusters].sort()).toEqual([...b.clusters].sort());
    expect(a.hosts.size).toBe(12);
  });

  it('a no-op custom filter is called only for hosts that passed every standard filter', () => {
    const index = buildCloud({ pods: 2, clustersPerPod: 5, hostsPerCluster: 10, threshold: 1 });
    let calls = 0;
    const a = verticalAllocator().withFilter(
      hostFilter('counting', () => {
        calls++;
        return null;
      }),
    );
    for (let i = 1; i <= 200; i++) {
      const vm = vmOf({ id: i, cpuNumber: 1, cpuSpeed: 1000 });
      const p = a.place(index, vm, { zoneId: 1 });
      index.bookStart(i, vm.accountId, p.destination.hostId, vm.demand);
    }
    expect(calls).toBe(200);
    expect(standardHostFilters()).toContain(capacityFilter);
  });
});
