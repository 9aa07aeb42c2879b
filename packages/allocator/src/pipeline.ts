import {
  type Allocator,
  type ClusterSequence,
  type ClusterState,
  countReason,
  type DeploymentPlan,
  type DeploymentPlanner,
  ExcludeList,
  emptyLevel,
  type HostAllocator,
  type HostState,
  hostAvailability,
  type ImplicitDedicationMode,
  type Placement,
  PlacementError,
  type PlacementExplanation,
  type PlacementState,
  type ReasonCode,
  type StoragePoolAllocator,
  type VmProfile,
} from '@stratus/core';
import { capacityFilter, type HostFilter, type PlacementContext, standardHostFilters } from './filters.js';
import { applyScorers, type HostOrdering, type HostScorer, prioritise } from './orderings.js';
import { clusterRejection, firstFitPlanner } from './planners.js';
import { type PipelineCache, PruningCache } from './pruning-cache.js';
import { deriveSeed, drawAt, type Rng, seededRng, shuffle } from './rng.js';
import { type PoolOrder, type PoolTally, pairPools, scopedStoragePoolAllocator } from './storage.js';

/** What one `place` call carries between its steps. */
interface Decision {
  readonly ctx: PlacementContext;
  readonly expl: PlacementExplanation;
  readonly tally: PoolTally;
  /** Hosts whose filters have been run in this decision. */
  readonly evaluated: Set<number>;
}

/** The stages of a placement pipeline; every one can be replaced or extended. */
export interface PipelineOptions {
  /** Name reported in explanations. */
  name: string;
  /** Orders clusters (PreFilter + planner). Default FirstFitPlanner. */
  planner?: DeploymentPlanner;
  /** Host predicates, in order. Default {@link standardHostFilters}. */
  filters?: readonly HostFilter[];
  /** Extra predicates appended after the standard ones (convenience for custom allocators). */
  extraFilters?: readonly HostFilter[];
  /** Host ordering of the strategy. */
  ordering: HostOrdering;
  /** Optional Nova-style scorers applied after the ordering. */
  scorers?: readonly HostScorer[];
  /** Pool ordering. Default follows the strategy (`random` → random, else first fit). */
  poolOrder?: PoolOrder;
  /** Seed (or RNG) for random choices; same seed, same decisions. */
  seed?: number;
  rng?: Rng;
  /** Treat every VM as implicitly dedicated in this mode unless it says otherwise (§5.5). */
  implicitDedication?: ImplicitDedicationMode;
}

/**
 * A composable filter → score → pick allocator (spec/allocation.md §13.5): the planner orders
 * clusters; hosts of each cluster are ordered by the strategy (optionally re-weighted by scorers),
 * prioritised by OS preference, then filtered in order; the first host whose disks all find a
 * reachable pool wins. Every dropped candidate is counted with its reason and added to the avoid set.
 */
export class PipelineAllocator implements Allocator {
  readonly name: string;
  readonly planner: DeploymentPlanner;
  readonly filters: readonly HostFilter[];
  readonly ordering: HostOrdering;
  readonly scorers: readonly HostScorer[];
  readonly poolOrder: PoolOrder;
  readonly hostAllocator: HostAllocator;
  readonly storagePoolAllocator: StoragePoolAllocator;
  readonly implicitDedication: ImplicitDedicationMode | undefined;
  private readonly rng: Rng;
  /** Hosts failing the standard capacity filter can be skipped by bounds (it is among the filters). */
  private readonly prunable: boolean;
  /** Each cluster's hosts are kept ordered (or, for a uniform shuffle, sorted by id) between decisions. */
  private readonly keepsGroups: boolean;
  /** Decisions draw from per-decision seeds (random host or pool order); see {@link PlacementContext.seed}. */
  private readonly seeded: boolean;
  private readonly pruning: PruningCache;

  constructor(options: PipelineOptions) {
    this.implicitDedication = options.implicitDedication;
    this.name = options.name;
    this.planner = options.planner ?? firstFitPlanner();
    this.filters = [...(options.filters ?? standardHostFilters()), ...(options.extraFilters ?? [])];
    this.ordering = options.ordering;
    this.scorers = options.scorers ?? [];
    this.poolOrder = options.poolOrder ?? (options.ordering.name === 'random' ? 'random' : 'firstfit');
    this.rng = options.rng ?? seededRng(options.seed ?? 1);
    this.prunable = this.filters.includes(capacityFilter);
    this.keepsGroups =
      (this.ordering.cacheable === true || this.ordering.uniformShuffle === true) && this.scorers.length === 0;
    this.seeded = this.ordering.uniformShuffle === true || this.poolOrder === 'random';
    this.pruning = new PruningCache(this.ordering, this.keepsGroups);
    this.hostAllocator = this.makeHostAllocator();
    this.storagePoolAllocator = scopedStoragePoolAllocator(this.poolOrder, () => this.rng);
  }

  /** A copy with more filters (e.g. `verticalAllocator().withFilter(myFilter)`). */
  withFilter(...filters: HostFilter[]): PipelineAllocator {
    return this.derive({ extraFilters: filters });
  }

  /** A copy with more scorers. */
  withScorer(...scorers: HostScorer[]): PipelineAllocator {
    return this.derive({ scorers: [...this.scorers, ...scorers] });
  }

  /** A copy with one stage replaced. */
  derive(changes: Partial<PipelineOptions>): PipelineAllocator {
    return new PipelineAllocator({
      name: this.name,
      planner: this.planner,
      filters: [...this.filters, ...(changes.extraFilters ?? [])],
      ordering: this.ordering,
      scorers: this.scorers,
      poolOrder: this.poolOrder,
      rng: this.rng,
      ...(this.implicitDedication ? { implicitDedication: this.implicitDedication } : {}),
      ...changes,
      extraFilters: [],
    });
  }

  /** First failing filter for the host, or null. */
  evaluate(ctx: PlacementContext, host: HostState, cluster: ClusterState): ReasonCode | null {
    for (const f of this.filters) {
      const r = f.test(ctx, host, cluster);
      if (r !== null) return r;
    }
    return null;
  }

  /** Orders one cluster's hosts: strategy, scorers, then stable prioritisation. */
  orderHosts(ctx: PlacementContext, hosts: HostState[], cluster: ClusterState): HostState[] {
    let out = this.ordering.order(ctx, hosts, cluster);
    if (this.scorers.length) out = applyScorers(ctx, out, cluster, this.scorers);
    return prioritise(ctx, out);
  }

  place(state: PlacementState, vmIn: VmProfile, plan: DeploymentPlan): Placement {
    const vm =
      this.implicitDedication && !vmIn.implicitDedication
        ? { ...vmIn, implicitDedication: this.implicitDedication }
        : vmIn;
    const avoid = plan.avoid ?? new ExcludeList();
    let ctx: PlacementContext;
    if (this.seeded) {
      // One draw per decision, whatever the decision visits: every random order below is derived
      // from it (per cluster, per host), so skipping work never changes what is chosen.
      const seed = Math.floor(this.rng() * 4294967296) >>> 0;
      ctx = { state, vm, plan, avoid, rng: seededRng(seed), seed };
    } else ctx = { state, vm, plan, avoid, rng: this.rng };
    const expl: PlacementExplanation = {
      pods: emptyLevel(),
      clusters: emptyLevel(),
      hosts: emptyLevel(),
      pools: emptyLevel(),
      lastHost: false,
      strategy: this.name,
    };
    const tally: PoolTally = { seen: new Set(), reasons: new Map() };
    const evaluated = new Set<number>();
    const d: Decision = { ctx, expl, tally, evaluated };
    const zone = state.zones.get(plan.zoneId);
    if (!zone || avoid.zones.has(plan.zoneId)) return this.fail(ctx, expl, tally, evaluated);
    const cache = this.pruning.cacheFor(ctx);

    // Pinned host: that host only, no fallback (pitfall 15).
    if (plan.hostId !== undefined) {
      const host = state.hosts.get(plan.hostId);
      const cluster = host ? state.clusters.get(host.clusterId) : undefined;
      if (host && cluster && host.zoneId === plan.zoneId) {
        const pools = this.tryHost(d, host, cluster);
        if (pools) return this.succeed(d, cache, host, pools);
      }
      return this.fail(ctx, expl, tally, evaluated, plan.hostId);
    }

    // Last-host preference (§4.2 step 7): not for HA restarts.
    if (vm.lastHostId != null && !vm.haRestart) {
      const host = state.hosts.get(vm.lastHostId);
      const cluster = host ? state.clusters.get(host.clusterId) : undefined;
      if (
        host &&
        cluster &&
        host.zoneId === plan.zoneId &&
        (plan.podId === undefined || host.podId === plan.podId) &&
        (plan.clusterId === undefined || host.clusterId === plan.clusterId) &&
        !avoid.isHostAvoided(host) &&
        (!vm.hypervisorType || vm.hypervisorType === cluster.hypervisorType)
      ) {
        ctx.lastHost = true;
        const reason = this.evaluate(ctx, host, cluster);
        ctx.lastHost = false;
        if (reason === null) {
          const pools = pairPools(this.poolContext(ctx, host), host, vm.disks, this.poolOrder, tally);
          if (pools) {
            expl.lastHost = true;
            expl.hosts.suitable++;
            evaluated.add(host.id);
            return this.succeed(d, cache, host, pools);
          }
        }
      }
    }

    // Planner loop (§4.2 step 8). Planner-added avoid entries stay local to this round.
    const phases = this.phasesOf(ctx);
    // Fast path: the planner's order checked lazily, clusters (or phase groups) whose capacity
    // bounds show no host can fit skipped; what is left unchecked after the winner is reported
    // NOT_EVALUATED (§11.1). When it finds nothing, the full path below runs the exact CloudStack
    // flow (every cluster checked, every host evaluated), so the avoid set and the failure
    // explanation are those of a full scan.
    const sequence = this.planner.clusterSequence?.(state, vm, plan, avoid) ?? null;
    if (sequence) {
      const lazy = this.scan(d, cache, sequence.clusters, phases, this.prunable, sequence);
      if (lazy.host) return this.succeed(d, cache, lazy.host, lazy.pools);
      expl.clusters = emptyLevel();
    }
    const plannerAvoid = avoid.clone();
    const clusterIds = this.planner.orderClusters(state, vm, plan, plannerAvoid);
    const clusters: ClusterState[] = [];
    const checkAvoid = avoid.clusters.size > 0 || avoid.pods.size > 0 || avoid.zones.size > 0;
    for (const id of clusterIds) {
      const c = state.clusters.get(id);
      if (c && (!checkAvoid || !avoid.isClusterAvoided(c))) clusters.push(c);
    }
    expl.clusters.suitable = clusters.length;
    const first = this.scan(d, cache, clusters, phases, this.prunable && !sequence);
    if (first.host) return this.succeed(d, cache, first.host, first.pools);
    if (first.pruned) {
      const second = this.scan(d, cache, clusters, phases, false);
      if (second.host) return this.succeed(d, cache, second.host, second.pools);
    }
    // §4.3 step 5: avoid a cluster when every Up/Enabled host of it is now avoided.
    for (const c of clusters) {
      let all = true;
      for (const id of c.hostIds) {
        const h = state.hosts.get(id);
        if (h && hostAvailability(h) === null && !avoid.hosts.has(id)) {
          all = false;
          break;
        }
      }
      if (all) avoid.addCluster(c.id, 'AVOIDED_AFTER_FAILURE');
    }
    return this.fail(ctx, expl, tally, evaluated);
  }

  /** The placement of a chosen host, with the success explanation. */
  private succeed(d: Decision, cache: PipelineCache, host: HostState, pools: Map<number, number>): Placement {
    const { expl } = d;
    expl.hosts.winner = host.id;
    expl.clusters.winner = host.clusterId;
    expl.pods.winner = host.podId;
    this.fillSuccess(d.ctx, expl, d.tally, cache);
    return {
      destination: { zoneId: host.zoneId, podId: host.podId, clusterId: host.clusterId, hostId: host.id, pools },
      explanation: expl,
    };
  }

  /** Runs the filters on a host, then pairs its pools; counts and avoids what fails. */
  private tryHost(d: Decision, host: HostState, cluster: ClusterState): Map<number, number> | null {
    const { ctx, expl } = d;
    d.evaluated.add(host.id);
    const reason = this.evaluate(ctx, host, cluster);
    if (reason !== null) {
      countReason(expl.hosts, reason);
      if (hostAvailability(host) === null) ctx.avoid.addHost(host.id, reason);
      return null;
    }
    expl.hosts.suitable++;
    const pools = pairPools(this.poolContext(ctx, host), host, ctx.vm.disks, this.poolOrder, d.tally);
    if (!pools) {
      countReason(expl.hosts, 'NO_REACHABLE_POOL');
      ctx.avoid.addHost(host.id, 'NO_REACHABLE_POOL');
      return null;
    }
    return pools;
  }

  /**
   * The context pools are paired in: on a seeded decision, pool order comes from a stream of that
   * host (so it does not depend on which other hosts were paired before).
   */
  private poolContext(ctx: PlacementContext, host: HostState): PlacementContext {
    if (ctx.seed === undefined || this.poolOrder !== 'random') return ctx;
    return { ...ctx, rng: seededRng(deriveSeed(ctx.seed, -1 - host.id)) };
  }

  /**
   * Tries hosts cluster by cluster (and phase by phase) in preference order; returns the first host
   * that passes every filter and pairs with pools. With `prune`, a cluster (or phase group) whose
   * capacity bounds show no host can fit the demand is skipped without evaluating its hosts.
   */
  private scan(
    d: Decision,
    cache: PipelineCache,
    clusters: readonly ClusterState[],
    phases: ReadonlyArray<number | null>,
    prune: boolean,
    sequence?: ClusterSequence,
  ): { host: HostState | null; pools: Map<number, number>; pruned: boolean } {
    const { ctx, evaluated } = d;
    const expl = sequence ? d.expl : undefined;
    const { state, vm } = ctx;
    const { cpu, memory } = vm.demand;
    const lastHostCluster =
      vm.lastHostId != null ? (state.hosts.get(vm.lastHostId)?.clusterId ?? Number.NaN) : Number.NaN;
    const kept = this.keepsGroups && !vm.implicitDedication;
    const drawn = kept && this.ordering.uniformShuffle === true;
    const implicitTags = state.settings.implicitHostTags;
    const wantsSpecial = vm.hostTags.some((t) => implicitTags.includes(t));
    const os = vm.osCategory ?? null;
    let pruned = false;
    const useBounds = prune && kept && Number.isNaN(lastHostCluster);
    // Lazily checked clusters: stamp[i] === this decision's stamp ⇒ verdict[i] holds 1 = eligible, 2 = rejected.
    let stamp = 0;
    if (sequence) {
      if (cache.stamps.length < clusters.length) {
        cache.stamps = new Int32Array(clusters.length * 2);
        cache.verdicts = new Uint8Array(clusters.length * 2);
      }
      stamp = ++cache.stamp;
    }
    const stamps = cache.stamps;
    const verdicts = cache.verdicts;
    let checkedCount = 0;
    let eligibleCount = 0;
    const n = clusters.length;
    const candidates: number[] = [];
    for (const phase of phases) {
      if (useBounds && this.pruning.phaseCannotFit(cache, phase, cpu, memory)) {
        pruned = true;
        continue;
      }
      // With bounds kept for every cluster, visit only the clusters whose bound fits, in order:
      // the same clusters the loop below would not prune, without walking past the others.
      const order =
        useBounds && sequence?.indexOf
          ? this.pruning.fittingInOrder(cache, sequence, phase, cpu, memory, candidates)
          : null;
      if (order) pruned = true;
      const m = order ? order.length : n;
      for (let o = 0; o < m; o++) {
        const i = order ? (order[o] as number) : o;
        const cluster = clusters[i] as ClusterState;
        const info = this.pruning.clusterHosts(ctx, cache, cluster, kept);
        const group = kept ? (phase === null || phase === 0 ? info.first : info.phases?.get(phase)) : undefined;
        if (kept && !group) continue;
        if (prune && cluster.id !== lastHostCluster) {
          const bound = group ?? info.all;
          if (bound.maxCpu < cpu || bound.maxMemory < memory) {
            pruned = true;
            continue;
          }
        }
        if (sequence) {
          let m = verdicts[i];
          if (stamps[i] !== stamp) {
            const reason = sequence.check(i);
            m = reason === null ? 1 : 2;
            stamps[i] = stamp;
            verdicts[i] = m;
            checkedCount++;
            if (reason === null) eligibleCount++;
            else if (expl) countReason(expl.clusters, reason);
          }
          if (m === 2) continue;
        }
        let hosts: HostState[];
        if (group) {
          hosts = group.hosts;
          if (drawn) {
            // A uniform shuffle of the cluster's hosts (id order kept), drawn one host at a time from
            // this cluster's stream: the first suitable host is taken without shuffling the rest.
            const rng = seededRng(deriveSeed(ctx.seed ?? 0, cluster.id));
            if (os !== null || (group.special && !wantsSpecial)) hosts = prioritise(ctx, shuffle([...hosts], rng));
            else {
              const pick = hosts.slice();
              for (let k = 0; k < pick.length; k++) {
                const host = drawAt(pick, k, rng);
                if (evaluated.has(host.id)) continue;
                const pools = this.tryHost(d, host, cluster);
                if (pools) return this.found(host, pools, pruned, expl, eligibleCount, n, checkedCount);
              }
              continue;
            }
          } else if (os !== null || (group.special && !wantsSpecial)) hosts = prioritise(ctx, [...hosts]);
        } else {
          hosts = [];
          for (const id of cluster.hostIds) {
            const h = state.hosts.get(id);
            if (!h || evaluated.has(id)) continue;
            if (phase !== null && this.phaseOf(ctx, h) !== phase) continue;
            hosts.push(h);
          }
          if (hosts.length === 0) continue;
          hosts = this.orderHosts(ctx, hosts, cluster);
        }
        for (const host of hosts) {
          if (group && evaluated.has(host.id)) continue;
          const pools = this.tryHost(d, host, cluster);
          if (pools) return this.found(host, pools, pruned, expl, eligibleCount, n, checkedCount);
        }
      }
    }
    return { host: null, pools: new Map(), pruned };
  }

  /** A scan's success: on the lazy sequence, the cluster counts (unchecked ones NOT_EVALUATED). */
  private found(
    host: HostState,
    pools: Map<number, number>,
    pruned: boolean,
    expl: PlacementExplanation | undefined,
    eligibleCount: number,
    n: number,
    checkedCount: number,
  ): { host: HostState; pools: Map<number, number>; pruned: boolean } {
    if (expl) {
      expl.clusters.suitable = eligibleCount;
      if (n > checkedCount) countReason(expl.clusters, 'NOT_EVALUATED', n - checkedCount);
    }
    return { host, pools, pruned };
  }

  private phaseOf(ctx: PlacementContext, h: HostState): number {
    let p = this.ordering.phase ? this.ordering.phase(ctx, h) : 0;
    if (ctx.vm.implicitDedication) {
      const own = h.implicitAccounts.get(ctx.vm.accountId) !== undefined;
      p += 10 * (own ? 0 : h.vmCount === 0 && h.held.size === 0 ? 1 : 2);
    }
    return p;
  }

  private phasesOf(ctx: PlacementContext): Array<number | null> {
    const base = this.ordering.phase ? [0, 1] : [0];
    if (!ctx.vm.implicitDedication) return this.ordering.phase ? base : [null];
    const out: number[] = [];
    for (const i of [0, 1, 2]) for (const b of base) out.push(10 * i + b);
    return out;
  }

  /** Totals and NOT_EVALUATED counts for a successful placement. */
  private fillSuccess(ctx: PlacementContext, expl: PlacementExplanation, tally: PoolTally, cache: PipelineCache): void {
    const zone = ctx.state.zones.get(ctx.plan.zoneId);
    let hostCount = cache.zoneHosts.get(ctx.plan.zoneId);
    if (hostCount === undefined) {
      hostCount = 0;
      for (const id of zone?.clusterIds ?? []) hostCount += ctx.state.clusters.get(id)?.hostIds.length ?? 0;
      cache.zoneHosts.set(ctx.plan.zoneId, hostCount);
    }
    expl.hosts.candidates = hostCount;
    const counted = Object.values(expl.hosts.reasons).reduce((a, b) => a + b, 0) + 1;
    if (hostCount > counted) countReason(expl.hosts, 'NOT_EVALUATED', hostCount - counted);
    expl.hosts.suitable = Math.max(1, expl.hosts.suitable);
    expl.clusters.candidates = zone?.clusterIds.length ?? 0;
    expl.pods.candidates = zone?.podIds.length ?? 0;
    expl.pods.suitable = expl.pods.candidates;
    this.fillPools(expl, tally);
  }

  private fillPools(expl: PlacementExplanation, tally: PoolTally): void {
    expl.pools.candidates = tally.seen.size;
    expl.pools.suitable = tally.seen.size - tally.reasons.size;
    for (const r of tally.reasons.values()) countReason(expl.pools, r);
  }

  /**
   * Full breakdown on failure: every host of the scope gets its first reason (availability, then
   * cluster-level rejection, then host filters, then pool pairing), then a PlacementError.
   */
  private fail(
    ctx: PlacementContext,
    expl: PlacementExplanation,
    tally: PoolTally,
    evaluated: Set<number>,
    pinned?: number,
  ): never {
    const { state, vm, plan } = ctx;
    expl.hosts = emptyLevel();
    expl.clusters = emptyLevel();
    expl.pods = emptyLevel();
    const zone = state.zones.get(plan.zoneId);
    const hostIds: number[] = [];
    if (pinned !== undefined) hostIds.push(pinned);
    else if (zone) {
      for (const cid of zone.clusterIds) {
        const c = state.clusters.get(cid);
        if (!c) continue;
        if (plan.podId !== undefined && c.podId !== plan.podId) continue;
        if (plan.clusterId !== undefined && c.id !== plan.clusterId) continue;
        hostIds.push(...c.hostIds);
      }
    }
    const clusterReasons = new Map<number, ReasonCode | null>();
    const probe = new ExcludeList();
    probe.addAll(ctx.avoid);
    for (const id of hostIds) {
      const host = state.hosts.get(id);
      expl.hosts.candidates++;
      if (!host) {
        countReason(expl.hosts, 'HOST_NOT_UP');
        continue;
      }
      const cluster = state.clusters.get(host.clusterId);
      if (!cluster) continue;
      const avail = hostAvailability(host);
      if (avail) {
        countReason(expl.hosts, avail);
        continue;
      }
      if (!zone || ctx.avoid.zones.has(zone.id)) {
        countReason(expl.hosts, 'AVOIDED_AFTER_FAILURE');
        continue;
      }
      let cr = clusterReasons.get(cluster.id);
      if (cr === undefined) {
        cr = clusterRejection(state, vm, cluster, new ExcludeList());
        clusterReasons.set(cluster.id, cr);
      }
      if (cr && pinned === undefined) {
        countReason(expl.hosts, cr);
        continue;
      }
      const reason = ctx.avoid.hosts.get(host.id) ?? this.evaluate({ ...ctx, avoid: new ExcludeList() }, host, cluster);
      if (reason) {
        countReason(expl.hosts, reason);
        continue;
      }
      if (
        !evaluated.has(host.id) &&
        pairPools({ ...this.poolContext(ctx, host), avoid: probe }, host, vm.disks, this.poolOrder, tally) !== null
      ) {
        // Eligible but never reached (cluster skipped as a whole): report why its cluster was not used.
        countReason(expl.hosts, ctx.avoid.clusters.get(cluster.id) ?? 'NOT_EVALUATED');
        continue;
      }
      countReason(expl.hosts, 'NO_REACHABLE_POOL');
    }
    for (const [id, r] of clusterReasons) {
      expl.clusters.candidates++;
      if (r) countReason(expl.clusters, r);
      void id;
    }
    expl.pods.candidates = zone?.podIds.length ?? 0;
    this.fillPools(expl, tally);
    const onlyPools =
      expl.hosts.reasons.NO_REACHABLE_POOL !== undefined && Object.keys(expl.hosts.reasons).length === 1;
    throw new PlacementError(
      expl,
      onlyPools ? 'pools' : 'hosts',
      `Unable to place VM${vm.id !== undefined ? ` ${vm.id}` : ''}`,
    );
  }

  private makeHostAllocator(): HostAllocator {
    return {
      name: `${this.name}HostAllocator`,
      allocateTo: (state, vm, plan, avoid, returnUpTo) => {
        const ctx: PlacementContext = { state, vm, plan, avoid, rng: this.rng };
        const scope: HostState[] = [];
        for (const h of state.hosts.values()) {
          if (h.zoneId !== plan.zoneId) continue;
          if (plan.podId !== undefined && h.podId !== plan.podId) continue;
          if (plan.clusterId !== undefined && h.clusterId !== plan.clusterId) continue;
          if (plan.hostId !== undefined && h.id !== plan.hostId) continue;
          if (hostAvailability(h) !== null) continue; // candidates are Up and Enabled hosts (§11.1)
          scope.push(h);
        }
        const byCluster = new Map<number, HostState[]>();
        for (const h of scope) {
          const list = byCluster.get(h.clusterId) ?? [];
          list.push(h);
          byCluster.set(h.clusterId, list);
        }
        const out: HostState[] = [];
        for (const [cid, hosts] of [...byCluster].sort((a, b) => a[0] - b[0])) {
          const cluster = state.clusters.get(cid);
          if (!cluster) continue;
          for (const h of this.orderHosts(ctx, hosts, cluster)) {
            if (returnUpTo >= 0 && out.length >= returnUpTo) return out;
            if (avoid.hosts.has(h.id)) continue;
            const reason = this.evaluate(ctx, h, cluster);
            if (reason) avoid.addHost(h.id, reason);
            else out.push(h);
          }
        }
        return out;
      },
    };
  }
}
