import {
  type ClusterSequence,
  type ClusterState,
  clusterThreshold,
  type DeploymentPlan,
  type DeploymentPlanner,
  type ExcludeList,
  type PlacementState,
  type PodState,
  type VmProfile,
  type ZoneState,
} from '@stratus/core';
import { dedicatedToOwner, dedicationAllows } from './filters.js';

/** Options of {@link firstFitPlanner}. */
export interface FirstFitOptions {
  /** Order clusters most-utilised first (among those below threshold) instead of least-utilised. */
  packClusters?: boolean;
  /** Planner name reported in explanations. */
  name?: string;
  /** Re-orders the eligible clusters (already in capacity order); used by the account-aware planners. */
  reorder?: (state: PlacementState, vm: VmProfile, clusters: ClusterState[]) => ClusterState[];
}

const tagUnionCache = new WeakMap<PlacementState, Map<number, Set<string>>>();

/** Union of the host tags of a cluster's hosts (host tags do not change while an index lives). */
export function clusterTags(state: PlacementState, cluster: ClusterState): Set<string> {
  let byCluster = tagUnionCache.get(state);
  if (!byCluster) {
    byCluster = new Map();
    tagUnionCache.set(state, byCluster);
  }
  let tags = byCluster.get(cluster.id);
  if (!tags) {
    tags = new Set();
    for (const id of cluster.hostIds) for (const t of state.hosts.get(id)?.tags ?? []) tags.add(t);
    byCluster.set(cluster.id, tags);
  }
  return tags;
}

/** Utilisation used to order clusters (`host.capacityType.to.order.clusters`). */
export function clusterUtilisation(state: PlacementState, clusterId: number): number {
  const u = state.clusterUsage(clusterId);
  const cpu = u.cpuCapacity > 0 ? u.cpuAllocated / u.cpuCapacity : 1;
  const mem = u.memoryCapacity > 0 ? u.memoryAllocated / u.memoryCapacity : 1;
  const s = state.settings;
  if (s.capacityTypeToOrderClusters === 'CPU') return cpu;
  if (s.capacityTypeToOrderClusters === 'RAM') return mem;
  return s.cpuToMemoryWeight * cpu + (1 - s.cpuToMemoryWeight) * mem;
}

/** May the VM use disabled zones, pods, clusters (§4.2 step 3)? */
export function allowedOnDisabled(state: PlacementState, vm: VmProfile): boolean {
  if ((vm.type ?? 'User') === 'DomainRouter') return state.settings.allowRouterOnDisabledResources;
  return vm.ownerIsRootAdmin === true && state.settings.allowAdminVmOnDisabledResources;
}

/**
 * Explicit dedication at cluster level (§9.1): a zone dedicated elsewhere (root-admin owners
 * excepted), a pod or cluster dedicated elsewhere → `DEDICATED_ELSEWHERE`; a strict VM in a cluster
 * where neither the zone, pod, cluster nor any host is dedicated to its owner → `NOT_DEDICATED`.
 */
export function dedicationRejection(
  state: PlacementState,
  vm: VmProfile,
  cluster: ClusterState,
  pod: PodState | undefined,
  zone: ZoneState | undefined,
): string | null {
  if (zone?.dedication && !dedicationAllows(vm, zone.dedication) && !vm.ownerIsRootAdmin) return 'DEDICATED_ELSEWHERE';
  if (!dedicationAllows(vm, pod?.dedication ?? null) || !dedicationAllows(vm, cluster.dedication))
    return 'DEDICATED_ELSEWHERE';
  if (vm.strictDedication) {
    if (
      dedicatedToOwner(vm, zone?.dedication ?? null) ||
      dedicatedToOwner(vm, pod?.dedication ?? null) ||
      dedicatedToOwner(vm, cluster.dedication)
    )
      return null;
    for (const id of cluster.hostIds) if (dedicatedToOwner(vm, state.hosts.get(id)?.dedication ?? null)) return null;
    return 'NOT_DEDICATED';
  }
  return null;
}

/** A `host affinity` group whose members already run somewhere needs one of those hosts in the cluster. */
function affinityReachable(vm: VmProfile, cluster: ClusterState): boolean {
  for (const rule of vm.affinity ?? []) {
    if (rule.type !== 'host affinity' || !rule.hostIds || rule.hostIds.length === 0) continue;
    if (!rule.hostIds.some((h) => cluster.hostIds.includes(h))) return false;
  }
  return true;
}

/**
 * Why a cluster cannot be used at all (scope, hypervisor, disabled, dedication, thresholds counting
 * the request, host tags), or null. Shared by the planners and the failure explanation.
 */
export function clusterRejection(
  state: PlacementState,
  vm: VmProfile,
  cluster: ClusterState,
  avoid: ExcludeList,
): string | null {
  if (avoid.isClusterAvoided(cluster)) return 'AVOIDED_AFTER_FAILURE';
  if (vm.hypervisorType && vm.hypervisorType !== cluster.hypervisorType) return 'HYPERVISOR_MISMATCH';
  const pod = state.pods.get(cluster.podId);
  const zone = state.zones.get(cluster.zoneId);
  if (!allowedOnDisabled(state, vm)) {
    if (zone && zone.allocationState === 'Disabled') return 'ZONE_DISABLED';
    if (pod && pod.allocationState === 'Disabled') return 'POD_DISABLED';
    if (cluster.allocationState === 'Disabled') return 'CLUSTER_DISABLED';
  }
  const dedication = dedicationRejection(state, vm, cluster, pod, zone);
  if (dedication) return dedication;
  if (vm.affinity && !affinityReachable(vm, cluster)) return 'AFFINITY';
  if (vm.hostTags.length > 0) {
    const tags = clusterTags(state, cluster);
    for (const t of vm.hostTags) if (!tags.has(t)) return 'TAG_MISMATCH';
  }
  if (state.settings.clusterThresholdEnabled) {
    const r = clusterThreshold(state.clusterUsage(cluster.id), cluster, vm.demand);
    if (r) return r;
  }
  return null;
}

/** One cluster in a planner's kept order: what does not change while the topology stays the same. */
interface OrderEntry {
  c: ClusterState;
  pod: PodState | undefined;
  zone: ZoneState | undefined;
  tags: Set<string>;
  /** Utilisation key the entry is sorted by (`sign × utilisation`, then id). */
  u: number;
  /** Index of the entry in the kept order. */
  pos: number;
}

/** A zone's clusters kept sorted by utilisation between decisions (one per planner, state and zone). */
interface ZoneOrder {
  topology: number;
  cursor: number;
  settingsKey: string;
  entries: OrderEntry[];
  /** `entries[i].c`, kept in step. */
  clusters: ClusterState[];
  /** Whether some cluster has a host with one of `implicit.host.tags` (for the tags in `specialKey`). */
  specialKey: string | null;
  anySpecial: boolean;
  byId: Map<number, OrderEntry>;
}

/**
 * The zone's clusters ordered least-utilised first (or most, `sign = -1`), then by id. On a state
 * that tracks changes (CapacityIndex) the order is kept between decisions: one booking changes one
 * cluster, which is moved to its new place (binary search) instead of re-sorting all of them.
 */
function zoneOrder(
  caches: WeakMap<PlacementState, Map<number, ZoneOrder>>,
  state: PlacementState,
  zone: ZoneState,
  sign: number,
): ZoneOrder {
  const s = state.settings;
  const settingsKey = `${s.capacityTypeToOrderClusters}|${s.cpuToMemoryWeight}`;
  const topology = state.topologyVersion?.();
  const cursor = state.changeCursor?.();
  let byZone = caches.get(state);
  if (!byZone) {
    byZone = new Map();
    caches.set(state, byZone);
  }
  let z = byZone.get(zone.id);
  let changed: readonly number[] | null = null;
  if (z && topology !== undefined && cursor !== undefined && z.topology === topology && z.settingsKey === settingsKey) {
    changed = state.clustersChangedSince?.(z.cursor) ?? null;
  }
  if (!z || changed === null) {
    const entries: OrderEntry[] = [];
    for (const id of zone.clusterIds) {
      const c = state.clusters.get(id);
      if (!c || c.zoneId !== zone.id) continue;
      entries.push({ c, pod: state.pods.get(c.podId), zone, tags: clusterTags(state, c), u: 0, pos: 0 });
    }
    for (const e of entries) e.u = sign * clusterUtilisation(state, e.c.id);
    entries.sort(byKey);
    entries.forEach((e, i) => {
      e.pos = i;
    });
    z = {
      topology: topology ?? Number.NaN,
      cursor: cursor ?? 0,
      settingsKey,
      entries,
      clusters: entries.map((e) => e.c),
      specialKey: null,
      anySpecial: false,
      byId: new Map(entries.map((e) => [e.c.id, e])),
    };
    byZone.set(zone.id, z);
    return z;
  }
  z.cursor = cursor ?? 0;
  const seen = new Set<number>();
  for (const id of changed) {
    if (seen.has(id)) continue;
    seen.add(id);
    const e = z.byId.get(id);
    if (!e) continue;
    const u = sign * clusterUtilisation(state, e.c.id);
    if (u === e.u) continue;
    reposition(z, e, u);
  }
  return z;
}

/** The kept order: utilisation key, then id. */
const byKey = (x: OrderEntry, y: OrderEntry) => x.u - y.u || x.c.id - y.c.id;

/** Moves `e` to where its new key `u` belongs in the sorted array. */
function reposition(z: ZoneOrder, e: OrderEntry, u: number) {
  const cmp = byKey;
  const { entries, clusters } = z;
  const at = e.pos;
  entries.splice(at, 1);
  clusters.splice(at, 1);
  e.u = u;
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(entries[mid] as OrderEntry, e) < 0) lo = mid + 1;
    else hi = mid;
  }
  entries.splice(lo, 0, e);
  clusters.splice(lo, 0, e.c);
  for (let k = Math.min(at, lo); k <= Math.max(at, lo); k++) (entries[k] as OrderEntry).pos = k;
}

/**
 * `clusterRejection` for a kept entry: the same checks in the same order, reading the pod, zone and
 * tag union the entry holds (their mutable fields are read live).
 */
function entryRejection(
  state: PlacementState,
  vm: VmProfile,
  e: OrderEntry,
  avoid: ExcludeList,
  checkAvoid: boolean,
  onDisabled: boolean,
): string | null {
  const cluster = e.c;
  if (checkAvoid && avoid.isClusterAvoided(cluster)) return 'AVOIDED_AFTER_FAILURE';
  if (vm.hypervisorType && vm.hypervisorType !== cluster.hypervisorType) return 'HYPERVISOR_MISMATCH';
  const { pod, zone } = e;
  if (!onDisabled) {
    if (zone && zone.allocationState === 'Disabled') return 'ZONE_DISABLED';
    if (pod && pod.allocationState === 'Disabled') return 'POD_DISABLED';
    if (cluster.allocationState === 'Disabled') return 'CLUSTER_DISABLED';
  }
  if (zone?.dedication || pod?.dedication || cluster.dedication || vm.strictDedication) {
    const dedication = dedicationRejection(state, vm, cluster, pod, zone);
    if (dedication) return dedication;
  }
  if (vm.affinity && !affinityReachable(vm, cluster)) return 'AFFINITY';
  if (vm.hostTags.length > 0) {
    for (const t of vm.hostTags) if (!e.tags.has(t)) return 'TAG_MISMATCH';
  }
  if (state.settings.clusterThresholdEnabled) {
    const r = clusterThreshold(state.clusterUsage(cluster.id), cluster, vm.demand);
    if (r) return r;
  }
  return null;
}

/**
 * CloudStack's FirstFitPlanner (§5.2): clusters of the plan's scope, least utilised first (or
 * most utilised first with `packClusters`), without avoided, disabled, dedicated-elsewhere,
 * tag-less and threshold-crossing clusters (those are added to `avoid` with their reason); non-GPU
 * VMs prefer clusters without `implicit.host.tags` hosts.
 *
 * A zone-wide scan keeps the utilisation order between decisions (see `zoneOrder`); every
 * eligibility check is still made on every call against the live state.
 */
export function firstFitPlanner(options: FirstFitOptions = {}): DeploymentPlanner {
  const name = options.name ?? 'FirstFitPlanner';
  const sign = options.packClusters ? -1 : 1;
  const caches = new WeakMap<PlacementState, Map<number, ZoneOrder>>();
  const lazy = (state: PlacementState, plan: DeploymentPlan) =>
    !options.reorder &&
    plan.clusterId === undefined &&
    plan.podId === undefined &&
    !state.settings.applyAllocationAlgorithmToPods;
  return {
    name,
    canHandle: () => true,
    resourceUsage: (_state, vm) => (vm.implicitDedication === 'Strict' ? 'Dedicated' : 'Shared'),
    clusterSequence(state, vm, plan, avoid): ClusterSequence | null {
      const zone = state.zones.get(plan.zoneId);
      if (!zone || avoid.zones.has(zone.id) || !lazy(state, plan)) return null;
      const z = zoneOrder(caches, state, zone, sign);
      const entries = z.entries;
      const implicitTags = state.settings.implicitHostTags;
      if (implicitTags.length > 0 && !vm.hostTags.some((t) => implicitTags.includes(t))) {
        // Special-hardware clusters reorder the list after the checks: use the full path then.
        const key = implicitTags.join(',');
        if (z.specialKey !== key) {
          z.specialKey = key;
          z.anySpecial = entries.some((e) => implicitTags.some((t) => e.tags.has(t)));
        }
        if (z.anySpecial) return null;
      }
      const checkAvoid = avoid.clusters.size > 0 || avoid.pods.size > 0 || avoid.zones.size > 0;
      const onDisabled = allowedOnDisabled(state, vm);
      const { cpu, memory } = vm.demand;
      return {
        clusters: z.clusters,
        indexOf(clusterId: number) {
          return z.byId.get(clusterId)?.pos;
        },
        check(i: number): string | null {
          const e = entries[i] as OrderEntry;
          const reason = entryRejection(state, vm, e, avoid, checkAvoid, onDisabled);
          if (reason) return reason;
          const u = state.clusterUsage(e.c.id);
          if (u.cpuCapacity - u.cpuAllocated < cpu) return 'INSUFFICIENT_CPU';
          if (u.memoryCapacity - u.memoryAllocated < memory) return 'INSUFFICIENT_MEMORY';
          return null;
        },
      };
    },
    orderClusters(state: PlacementState, vm: VmProfile, plan: DeploymentPlan, avoid: ExcludeList): number[] {
      const zone = state.zones.get(plan.zoneId);
      if (!zone || avoid.zones.has(zone.id)) return [];
      if (
        plan.clusterId === undefined &&
        plan.podId === undefined &&
        !(state.settings.applyAllocationAlgorithmToPods && plan.podId === undefined && plan.clusterId === undefined)
      ) {
        return zoneScan(state, vm, avoid, zoneOrder(caches, state, zone, sign).entries);
      }
      let scope: number[];
      if (plan.clusterId !== undefined) scope = [plan.clusterId];
      else if (plan.podId !== undefined) scope = state.pods.get(plan.podId)?.clusterIds ?? [];
      else scope = zone.clusterIds;
      const eligible: Array<{ c: ClusterState; u: number; special: number }> = [];
      const implicitTags = state.settings.implicitHostTags;
      const wantsSpecial = vm.hostTags.some((t) => implicitTags.includes(t));
      for (const id of scope) {
        const c = state.clusters.get(id);
        if (!c || c.zoneId !== plan.zoneId) continue;
        if (plan.podId !== undefined && c.podId !== plan.podId) continue;
        const reason = clusterRejection(state, vm, c, avoid);
        if (reason) {
          if (reason !== 'AVOIDED_AFTER_FAILURE') avoid.addCluster(c.id, reason);
          continue;
        }
        // Necessary condition for "some host has room": the cluster as a whole has room.
        const u = state.clusterUsage(c.id);
        if (u.cpuCapacity - u.cpuAllocated < vm.demand.cpu || u.memoryCapacity - u.memoryAllocated < vm.demand.memory)
          continue;
        let special = 0;
        if (!wantsSpecial && implicitTags.length > 0) {
          const tags = clusterTags(state, c);
          for (const t of implicitTags) if (tags.has(t)) special++;
        }
        eligible.push({ c, u: clusterUtilisation(state, c.id), special });
      }
      if (state.settings.applyAllocationAlgorithmToPods && plan.podId === undefined && plan.clusterId === undefined) {
        const podU = new Map<number, { a: number; n: number }>();
        for (const e of eligible) {
          const p = podU.get(e.c.podId) ?? { a: 0, n: 0 };
          p.a += e.u;
          p.n += 1;
          podU.set(e.c.podId, p);
        }
        const pu = (id: number) => {
          const p = podU.get(id);
          return p ? p.a / p.n : 0;
        };
        eligible.sort(
          (x, y) =>
            sign * (pu(x.c.podId) - pu(y.c.podId)) || x.c.podId - y.c.podId || sign * (x.u - y.u) || x.c.id - y.c.id,
        );
      } else {
        eligible.sort((x, y) => sign * (x.u - y.u) || x.c.id - y.c.id);
      }
      eligible.sort((x, y) => x.special - y.special);
      const ordered = eligible.map((e) => e.c);
      return (options.reorder ? options.reorder(state, vm, ordered) : ordered).map((c) => c.id);
    },
  };

  /** The zone-wide scan over the kept order: same checks, same result as the generic path. */
  function zoneScan(state: PlacementState, vm: VmProfile, avoid: ExcludeList, entries: OrderEntry[]): number[] {
    const implicitTags = state.settings.implicitHostTags;
    const wantsSpecial = vm.hostTags.some((t) => implicitTags.includes(t));
    const checkAvoid = avoid.clusters.size > 0 || avoid.pods.size > 0 || avoid.zones.size > 0;
    const onDisabled = allowedOnDisabled(state, vm);
    const { cpu, memory } = vm.demand;
    const ordered: ClusterState[] = [];
    let specials: Array<{ c: ClusterState; special: number }> | null = null;
    for (const e of entries) {
      const c = e.c;
      const reason = entryRejection(state, vm, e, avoid, checkAvoid, onDisabled);
      if (reason) {
        if (reason !== 'AVOIDED_AFTER_FAILURE') avoid.addCluster(c.id, reason);
        continue;
      }
      const u = state.clusterUsage(c.id);
      if (u.cpuCapacity - u.cpuAllocated < cpu || u.memoryCapacity - u.memoryAllocated < memory) continue;
      let special = 0;
      if (!wantsSpecial && implicitTags.length > 0) for (const t of implicitTags) if (e.tags.has(t)) special++;
      if (special > 0 && !specials) specials = ordered.map((x) => ({ c: x, special: 0 }));
      if (specials) specials.push({ c, special });
      else ordered.push(c);
    }
    let out = ordered;
    if (specials) {
      specials.sort((x, y) => x.special - y.special); // stable: keeps utilisation order inside a group
      out = specials.map((x) => x.c);
    }
    if (options.reorder) out = options.reorder(state, vm, out);
    const ids = new Array<number>(out.length);
    for (let i = 0; i < out.length; i++) ids[i] = (out[i] as ClusterState).id;
    return ids;
  }
}

/**
 * UserDispersingPlanner (§5.3): with `vm.user.dispersion.weight` w = 1, clusters with fewer of the
 * account's VMs first; otherwise by `capacityRatio × (1 − w) + accountShare × w`.
 */
export function userDispersingPlanner(): DeploymentPlanner {
  return firstFitPlanner({
    name: 'UserDispersingPlanner',
    reorder: (state, vm, clusters) => {
      const w = state.settings.userDispersionWeight;
      const total = Math.max(1, state.accountVmsInZone(vm.accountId, clusters[0]?.zoneId ?? 0));
      const rank = new Map(clusters.map((c, i) => [c.id, i]));
      const score = (c: ClusterState) => {
        const mine = state.accountVmsInCluster(vm.accountId, c.id);
        return w === 1 ? mine : clusterUtilisation(state, c.id) * (1 - w) + (mine / total) * w;
      };
      const s = new Map(clusters.map((c) => [c.id, score(c)]));
      return clusters.sort(
        (a, b) => (s.get(a.id) ?? 0) - (s.get(b.id) ?? 0) || (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0),
      );
    },
  });
}

/**
 * UserConcentratedPodPlanner (§5.4): clusters of pods where the account already has VMs first
 * (capacity order inside each group), then the rest.
 */
export function userConcentratedPodPlanner(): DeploymentPlanner {
  return firstFitPlanner({
    name: 'UserConcentratedPodPlanner',
    reorder: (state, vm, clusters) => {
      const has = (c: ClusterState) => (state.accountVmsInPod(vm.accountId, c.podId) > 0 ? 0 : 1);
      const rank = new Map(clusters.map((c, i) => [c.id, i]));
      return clusters.sort((a, b) => has(a) - has(b) || (rank.get(a.id) ?? 0) - (rank.get(b.id) ?? 0));
    },
  });
}
