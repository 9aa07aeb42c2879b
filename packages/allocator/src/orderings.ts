import { type ClusterState, type HostState, usedFraction } from '@stratus/core';
import type { PlacementContext } from './filters.js';
import { shuffle } from './rng.js';

/**
 * How a strategy orders the hosts of one cluster (the "score" stage). `phase`, when present, splits
 * hosts into groups tried in order across all clusters: vertical puts hosts already running VMs in
 * phase 0 and empty hosts in phase 1, so an empty host is opened only when no used host fits.
 */
export interface HostOrdering {
  readonly name: string;
  /**
   * `true` when `phase` and `order` depend only on the state (hosts' counters, the cluster, the
   * settings) — not on the VM, the RNG or the avoid set. The pipeline then keeps each cluster's
   * ordered hosts between decisions and recomputes them only when that cluster changes.
   */
  readonly cacheable?: boolean;
  /**
   * `true` when `order` is a uniform random permutation (Fisher–Yates from `ctx.rng`, see
   * `shuffle`) of the hosts sorted by id. The pipeline then keeps each cluster's hosts in id
   * order and draws them one at a time, only as many as it tries — the same distribution without
   * shuffling a whole cluster per decision.
   */
  readonly uniformShuffle?: boolean;
  phase?(ctx: PlacementContext, host: HostState): number;
  /** Orders `hosts` (may sort in place) and returns them. */
  order(ctx: PlacementContext, hosts: HostState[], cluster: ClusterState): HostState[];
}

/**
 * A numeric scorer for custom pipelines: higher is better. Scores of all scorers are min-max
 * normalised to [0,1] per cluster (all equal ⇒ 0) and summed with their weights, Nova-style (§13.2).
 */
export interface HostScorer {
  readonly name: string;
  readonly weight?: number;
  score(ctx: PlacementContext, host: HostState, cluster: ClusterState): number;
}

const byId = (a: HostState, b: HostState) => a.id - b.id;
const used = (h: HostState) => h.vmCount > 0 || h.cpuUsed > 0 || h.memoryUsed > 0;

/** `firstfit`: stable store order (host id). */
export const firstFitOrdering: HostOrdering = {
  name: 'firstfit',
  cacheable: true,
  order: (_ctx, hosts) => hosts.sort(byId),
};

/**
 * `vertical`: hosts already running VMs first, then empty hosts, stable by id inside each group;
 * the phase makes it zone-wide (a used host in any eligible cluster beats opening an empty one).
 */
export const verticalOrdering: HostOrdering = {
  name: 'vertical',
  cacheable: true,
  phase: (_ctx, h) => (used(h) ? 0 : 1),
  order: (_ctx, hosts) => hosts.sort((a, b) => Number(!used(a)) - Number(!used(b)) || a.id - b.id),
};

/**
 * `horizontal` (= `firstfitleastconsumed`): most free fraction first, then fewest VMs, then id, so
 * identical hosts receive VMs in rotation and mixed sizes stay balanced by fraction.
 */
export const horizontalOrdering: HostOrdering = {
  name: 'horizontal',
  cacheable: true,
  order(ctx, hosts, cluster) {
    const type = ctx.state.settings.capacityTypeToOrderClusters;
    const w = ctx.state.settings.cpuToMemoryWeight;
    // Insertion sort on precomputed keys (a cluster's hosts are few; no per-call closures).
    const keys = new Float64Array(hosts.length);
    for (let i = 0; i < hosts.length; i++) {
      const h = hosts[i] as HostState;
      const f = usedFraction(h, cluster, type, w);
      let j = i;
      while (j > 0) {
        const g = hosts[j - 1] as HostState;
        const fg = keys[j - 1] as number;
        if (fg < f || (fg === f && (g.vmCount < h.vmCount || (g.vmCount === h.vmCount && g.id < h.id)))) break;
        hosts[j] = g;
        keys[j] = fg;
        j--;
      }
      hosts[j] = h;
      keys[j] = f;
    }
    return hosts;
  },
};

/**
 * `random`: uniform shuffle from the injected seeded RNG (CloudStack's RandomAllocator shuffles
 * the cluster's candidate hosts); the pipeline draws it lazily (`uniformShuffle`).
 */
export const randomOrdering: HostOrdering = {
  name: 'random',
  uniformShuffle: true,
  order: (ctx, hosts) => shuffle(hosts.sort(byId), ctx.rng),
};

/** `userdispersing`: fewest of this account's VMs first, then id. */
export const userDispersingOrdering: HostOrdering = {
  name: 'userdispersing',
  order: (ctx, hosts) =>
    hosts.sort(
      (a, b) => (a.accountVms.get(ctx.vm.accountId) ?? 0) - (b.accountVms.get(ctx.vm.accountId) ?? 0) || a.id - b.id,
    ),
};

/** Nomad-style binpack scorer: fuller hosts score higher (an optional scorer for custom pipelines). */
export const binpackScorer: HostScorer = {
  name: 'binpack',
  score: (ctx, h, c) => usedFraction(h, c, 'COMBINED', ctx.state.settings.cpuToMemoryWeight),
};

/** Nomad-style spread scorer: emptier hosts score higher. */
export const spreadScorer: HostScorer = {
  name: 'spread',
  score: (ctx, h, c) => 1 - usedFraction(h, c, 'COMBINED', ctx.state.settings.cpuToMemoryWeight),
};

/** Re-orders `hosts` by the weighted sum of min-max normalised scores; ties keep the incoming order. */
export function applyScorers(
  ctx: PlacementContext,
  hosts: HostState[],
  cluster: ClusterState,
  scorers: readonly HostScorer[],
): HostState[] {
  if (scorers.length === 0 || hosts.length < 2) return hosts;
  const total = new Map<number, number>();
  for (const s of scorers) {
    const raw = hosts.map((h) => s.score(ctx, h, cluster));
    const min = Math.min(...raw);
    const max = Math.max(...raw);
    const span = max - min;
    hosts.forEach((h, i) => {
      const n = span > 0 ? ((raw[i] ?? min) - min) / span : 0;
      total.set(h.id, (total.get(h.id) ?? 0) + (s.weight ?? 1) * n);
    });
  }
  const rank = new Map(hosts.map((h, i) => [h.id, i]));
  return hosts.sort(
    (a, b) => (total.get(b.id) ?? 0) - (total.get(a.id) ?? 0) || (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0),
  );
}

/**
 * Stable prioritisation after ordering (§6.2 step 4): hosts preferring the template's OS category
 * first, hosts preferring another category last (ordering, never a filter — pitfall 11); for VMs not
 * asking for special hardware, hosts with `implicit.host.tags` move to the end; for implicit
 * dedication, the account's own dedicated hosts first, then empty hosts.
 */
export function prioritise(ctx: PlacementContext, hosts: HostState[]): HostState[] {
  const os = ctx.vm.osCategory ?? null;
  const implicitTags = ctx.state.settings.implicitHostTags;
  const wantsSpecial = ctx.vm.hostTags.some((t) => implicitTags.includes(t));
  const implicit = ctx.vm.implicitDedication ?? null;
  const rankOf = (h: HostState): number => {
    let r = 0;
    if (os !== null && h.osCategoryPreference !== null) r += h.osCategoryPreference === os ? 0 : 2;
    else r += 1;
    if (!wantsSpecial && implicitTags.some((t) => h.tags.has(t))) r += 10;
    if (implicit) {
      const own = h.implicitAccounts.get(ctx.vm.accountId) !== undefined;
      r += own ? 0 : h.vmCount === 0 && h.held.size === 0 ? 100 : 200;
    }
    return r;
  };
  if (os === null && implicitTags.length === 0 && !implicit) return hosts;
  const rank = new Map(hosts.map((h, i) => [h.id, rankOf(h) * 1e6 + i]));
  return hosts.sort((a, b) => (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
}
