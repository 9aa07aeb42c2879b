import {
  type ClusterSequence,
  type ClusterState,
  type HostState,
  overprovisionedLimit,
  type PlacementSettings,
  type PlacementState,
} from '@stratus/core';
import type { PlacementContext } from './filters.js';
import { MaxTree } from './max-tree.js';
import type { HostOrdering } from './orderings.js';

/** One group of a cluster's hosts (a phase of the ordering, or all of them) with capacity bounds. */
export interface HostGroup {
  /** In strategy order (only for cacheable orderings). */
  hosts: HostState[];
  /** Largest `total × ratio − used − reserved` over the group, CPU MHz and memory bytes. */
  maxCpu: number;
  maxMemory: number;
  /** Some host of the group carries an `implicit.host.tags` tag (prioritisation may reorder it). */
  special: boolean;
}

/** What the pipeline keeps about one cluster between decisions. */
export interface ClusterHosts {
  validAt: number;
  cpuRatio: number;
  memoryRatio: number;
  all: HostGroup;
  /** Phase → group (phase -1 = no phases); only for cacheable orderings without scorers. */
  phases: Map<number, HostGroup> | null;
  /** The group of phase 0 / of no phase (-1), for a quick look-up. */
  first: HostGroup | undefined;
}

/** Per-state cache of a pipeline; see {@link PruningCache.cacheFor}. */
export interface PipelineCache {
  topology: number;
  cursor: number;
  epoch: number;
  /** Settings the kept orderings depend on; a change invalidates every entry. */
  settingsKey: string;
  /** Scratch for the lazy cluster checks of one decision. */
  stamp: number;
  stamps: Int32Array;
  verdicts: Uint8Array;
  clusters: Map<number, ClusterHosts>;
  zoneHosts: Map<number, number>;
  /** The state tracks changes: every cluster's entry is kept valid eagerly. */
  tracked: boolean;
  /**
   * Per phase (-1 = no phases), the capacity bounds of every cluster's group in a max tree (tracked
   * states only): the root says whether any host of that phase anywhere could fit a demand.
   */
  bounds: Map<number, MaxTree>;
  /** Cluster id → leaf of the max trees, and back. */
  slots: Map<number, number>;
  slotClusters: number[];
}

const byHostId = (a: HostState, b: HostState) => a.id - b.id;

/** A group of hosts (in the given order) with its capacity bounds. */
function hostGroup(members: HostState[], cluster: ClusterState, s: PlacementSettings): HostGroup {
  let maxCpu = Number.NEGATIVE_INFINITY;
  let maxMemory = Number.NEGATIVE_INFINITY;
  let special = false;
  const tags = s.implicitHostTags;
  for (const h of members) {
    const freeCpu = overprovisionedLimit(h.cpuTotal, cluster.cpuRatio) - h.cpuUsed - h.cpuReserved;
    const freeMemory = overprovisionedLimit(h.memoryTotal, cluster.memoryRatio) - h.memoryUsed - h.memoryReserved;
    if (freeCpu > maxCpu) maxCpu = freeCpu;
    if (freeMemory > maxMemory) maxMemory = freeMemory;
    if (!special) for (const t of tags) if (h.tags.has(t)) special = true;
  }
  return { hosts: members, maxCpu, maxMemory, special };
}

/**
 * What a pipeline keeps between decisions so it can skip clusters and hosts that cannot fit a demand: per
 * placement state, each cluster's hosts in strategy order, grouped by phase, with capacity bounds, and (on
 * states that track changes) the bounds of every cluster in max trees. Entries of clusters changed since the
 * last decision are rebuilt; hand-built states start afresh on every decision.
 */
export class PruningCache {
  private readonly caches = new WeakMap<PlacementState, PipelineCache>();

  constructor(
    private readonly ordering: HostOrdering,
    /** Each cluster's hosts are kept ordered (or, for a uniform shuffle, sorted by id) between decisions. */
    private readonly keepsGroups: boolean,
  ) {}

  /**
   * The pipeline's cache for `ctx.state`. On a state that tracks changes (CapacityIndex), entries of
   * clusters changed since the last decision are invalidated; any other state starts afresh on
   * every decision (nothing is reused, so hand-built states stay correct).
   */
  cacheFor(ctx: PlacementContext): PipelineCache {
    const state = ctx.state;
    const topology = state.topologyVersion?.();
    const cursor = state.changeCursor?.();
    const s = state.settings;
    let cache = this.caches.get(state);
    const tags = s.implicitHostTags;
    const settingsKey = `${s.capacityTypeToOrderClusters}|${s.cpuToMemoryWeight}|${tags.length === 1 ? tags[0] : tags.join(',')}`;
    if (!cache || topology === undefined || cursor === undefined || cache.topology !== topology) {
      cache = {
        topology: topology ?? Number.NaN,
        cursor: cursor ?? 0,
        epoch: 1,
        settingsKey,
        stamp: 0,
        stamps: new Int32Array(0),
        verdicts: new Uint8Array(0),
        clusters: new Map(),
        zoneHosts: new Map(),
        tracked: topology !== undefined && cursor !== undefined,
        bounds: new Map(),
        slots: new Map(),
        slotClusters: [],
      };
      this.caches.set(state, cache);
      if (cache.tracked) for (const c of state.clusters.values()) this.clusterHosts(ctx, cache, c, false);
      return cache;
    }
    const changed = state.clustersChangedSince?.(cache.cursor) ?? null;
    cache.cursor = cursor;
    if (changed === null || settingsKey !== cache.settingsKey) {
      cache.epoch++;
      cache.settingsKey = settingsKey;
      for (const c of state.clusters.values()) this.clusterHosts(ctx, cache, c, false);
    } else
      for (const id of changed) {
        const info = cache.clusters.get(id);
        if (info) info.validAt = -1;
        const c = state.clusters.get(id);
        if (c) this.clusterHosts(ctx, cache, c, false);
      }
    return cache;
  }

  /** A cluster's host groups and capacity bounds, rebuilt when the cluster, its ratios or the settings changed. */
  clusterHosts(ctx: PlacementContext, cache: PipelineCache, cluster: ClusterState, kept: boolean): ClusterHosts {
    const s = ctx.state.settings;
    let info = cache.clusters.get(cluster.id);
    if (
      info !== undefined &&
      info.validAt === cache.epoch &&
      info.cpuRatio === cluster.cpuRatio &&
      info.memoryRatio === cluster.memoryRatio &&
      (!kept || info.phases !== null)
    ) {
      return info;
    }
    const hosts: HostState[] = [];
    for (const id of cluster.hostIds) {
      const h = ctx.state.hosts.get(id);
      if (h) hosts.push(h);
    }
    let phases: Map<number, HostGroup> | null = null;
    if (kept || this.keepsGroups) {
      const byPhase = new Map<number, HostState[]>();
      for (const h of hosts) {
        const p = this.ordering.phase ? this.ordering.phase(ctx, h) : -1;
        const list = byPhase.get(p);
        if (list) list.push(h);
        else byPhase.set(p, [h]);
      }
      phases = new Map();
      // A uniform shuffle is drawn per decision (see `scan`): its groups keep the id order it starts from.
      const draws = this.ordering.uniformShuffle === true;
      for (const [p, list] of byPhase)
        phases.set(p, hostGroup(draws ? list.sort(byHostId) : this.ordering.order(ctx, list, cluster), cluster, s));
    }
    const old = info;
    info = {
      validAt: cache.epoch,
      cpuRatio: cluster.cpuRatio,
      memoryRatio: cluster.memoryRatio,
      all: hostGroup(hosts, cluster, s),
      phases,
      first: phases?.get(this.ordering.phase ? 0 : -1),
    };
    cache.clusters.set(cluster.id, info);
    if (cache.tracked) {
      let slot = cache.slots.get(cluster.id);
      if (slot === undefined) {
        slot = cache.slots.size;
        cache.slots.set(cluster.id, slot);
        cache.slotClusters[slot] = cluster.id;
      }
      const leaves = Math.max(ctx.state.clusters.size, slot + 1);
      const keys = new Set<number>(info.phases?.keys() ?? []);
      if (old?.phases) for (const k of old.phases.keys()) keys.add(k);
      for (const k of keys) {
        let tree = cache.bounds.get(k);
        if (!tree) {
          tree = new MaxTree(leaves);
          cache.bounds.set(k, tree);
        }
        const g = info.phases?.get(k);
        tree.set(slot, g?.maxCpu ?? Number.NEGATIVE_INFINITY, g?.maxMemory ?? Number.NEGATIVE_INFINITY);
      }
    }
    return info;
  }

  /**
   * Indexes (in `sequence`) of the clusters whose `phase` bound fits the demand, ascending; null when
   * that would not save work (most clusters fit).
   */
  fittingInOrder(
    cache: PipelineCache,
    sequence: ClusterSequence,
    phase: number | null,
    cpu: number,
    memory: number,
    scratch: number[],
  ): number[] | null {
    const tree = cache.bounds.get(phase ?? -1);
    if (!tree || !sequence.indexOf) return null;
    scratch.length = 0;
    if (!tree.collect(cpu, memory, scratch, sequence.clusters.length >> 2)) return null;
    const out: number[] = [];
    for (const slot of scratch) {
      const i = sequence.indexOf(cache.slotClusters[slot] as number);
      if (i !== undefined) out.push(i);
    }
    return out.sort((a, b) => a - b);
  }

  /**
   * Whether no host of `phase` in any cluster can fit (tracked states, where every cluster's bounds
   * are kept current; always false elsewhere).
   */
  phaseCannotFit(cache: PipelineCache, phase: number | null, cpu: number, memory: number): boolean {
    if (!cache.tracked) return false;
    const tree = cache.bounds.get(phase ?? -1);
    if (!tree) return true;
    return tree.maxCpu < cpu || tree.maxMemory < memory;
  }
}
