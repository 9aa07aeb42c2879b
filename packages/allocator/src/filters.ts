import {
  type ClusterState,
  capacityFit,
  cpuCapability,
  type Dedication,
  type DeploymentPlan,
  type ExcludeList,
  type HostState,
  hostAvailability,
  ownReservation,
  type PlacementState,
  type ReasonCode,
  tagsSubset,
  type VmProfile,
} from '@stratus/core';
import type { Rng } from './rng.js';

/** Everything a filter, scorer or ordering sees for one placement. */
export interface PlacementContext {
  readonly state: PlacementState;
  readonly vm: VmProfile;
  readonly plan: DeploymentPlan;
  /** The avoid set of this attempt (persisted across `start.retry` attempts by the caller). */
  readonly avoid: ExcludeList;
  readonly rng: Rng;
  /**
   * Seed of this decision when the allocator orders hosts or pools at random: each cluster's host
   * order and each host's pool order come from a stream derived from it, so a decision is the same
   * whichever candidates were skipped on the way (`rng` is that decision's own stream).
   */
  readonly seed?: number;
  /** True while evaluating the VM's last host (its own reservation counts). */
  lastHost?: boolean;
}

/**
 * A host predicate: returns `null` to keep the host, or the reason code that drops it (a built-in
 * code from spec/allocation.md §11.2 or any custom string). Filters run in order; the first
 * rejection stops work on that host and is what the explanation reports.
 */
export interface HostFilter {
  readonly name: string;
  test(ctx: PlacementContext, host: HostState, cluster: ClusterState): ReasonCode | null;
}

/** Shorthand for a filter from a function. */
export function hostFilter(name: string, test: HostFilter['test']): HostFilter {
  return { name, test };
}

/**
 * Is the dedication the VM owner's: dedicated to its account, or to its domain or a domain above
 * it (a domain dedication covers the subdomains)?
 */
export function dedicatedToOwner(vm: VmProfile, d: Dedication | null): boolean {
  if (!d) return false;
  if (d.accountId !== null) return d.accountId === vm.accountId;
  if (d.domainId === vm.domainId) return true;
  return d.domainPath !== undefined && vm.domainPath?.startsWith(d.domainPath) === true;
}

/**
 * May the VM use a resource with this dedication (§9.1)? A dedicated resource takes only its
 * owner's VMs; an undedicated one anybody's (strictness is judged by {@link strictDedicationMet}).
 */
export function dedicationAllows(vm: VmProfile, d: Dedication | null): boolean {
  return d === null || dedicatedToOwner(vm, d);
}

/**
 * A VM with strict explicit dedication runs only where the host, its cluster, its pod or its zone
 * is dedicated to its owner.
 */
export function strictDedicationMet(
  state: PlacementState,
  vm: VmProfile,
  host: HostState,
  cluster: ClusterState,
): boolean {
  if (dedicatedToOwner(vm, host.dedication) || dedicatedToOwner(vm, cluster.dedication)) return true;
  if (dedicatedToOwner(vm, state.pods.get(host.podId)?.dedication ?? null)) return true;
  return dedicatedToOwner(vm, state.zones.get(host.zoneId)?.dedication ?? null);
}

/** Up and Enabled only (§6.2 step 1). */
export const availabilityFilter = hostFilter('availability', (_ctx, host) => hostAvailability(host));

/** Hosts in the avoid set (own id, cluster, pod or zone). */
export const avoidFilter = hostFilter('avoid', (ctx, host) => {
  const r = ctx.avoid.hostReason(host);
  return r === undefined ? null : 'AVOIDED_AFTER_FAILURE';
});

/**
 * Explicit dedication of the host (cluster/pod dedication is judged at cluster level, and again
 * here for strict VMs): never a host dedicated to someone else; a strict VM only a host dedicated
 * to its owner at some level (`NOT_DEDICATED`).
 */
export const dedicationFilter = hostFilter('dedication', (ctx, host, cluster) => {
  const { vm, state } = ctx;
  if (!dedicationAllows(vm, host.dedication) || !dedicationAllows(vm, cluster.dedication)) return 'DEDICATED_ELSEWHERE';
  // The last-host and pinned-host paths skip the cluster checks: the pod and zone are judged here too.
  const pod = state.pods.get(host.podId);
  if (pod?.dedication && !dedicationAllows(vm, pod.dedication)) return 'DEDICATED_ELSEWHERE';
  const zone = state.zones.get(host.zoneId);
  if (zone?.dedication && !vm.ownerIsRootAdmin && !dedicationAllows(vm, zone.dedication)) return 'DEDICATED_ELSEWHERE';
  if (vm.strictDedication && !strictDedicationMet(state, vm, host, cluster)) return 'NOT_DEDICATED';
  return null;
});

/**
 * Host affinity groups (CloudStack 4.x): `host anti-affinity` — not on a host where another member
 * holds capacity (`ANTI_AFFINITY`); `host affinity` — on a host the members use, once they use one
 * (`AFFINITY`). Reads `AffinityRule.hostIds`, which core fills before placing.
 */
export const affinityFilter = hostFilter('affinity', (ctx, host) => {
  const rules = ctx.vm.affinity;
  if (rules === undefined) return null;
  for (const rule of rules) {
    const hosts = rule.hostIds ?? [];
    if (rule.type === 'host anti-affinity') {
      if (hosts.includes(host.id)) return 'ANTI_AFFINITY';
    } else if (hosts.length > 0 && !hosts.includes(host.id)) return 'AFFINITY';
  }
  return null;
});

/**
 * `ha.tag`: hosts carrying it take only HA restarts (pitfall 12); an HA restart with `ha.tag` set
 * uses only such hosts.
 */
export const haTagFilter = hostFilter('ha-tag', (ctx, host) => {
  const tag = ctx.state.settings.haTag;
  if (!tag) return null;
  const has = host.tags.has(tag);
  if (ctx.vm.haRestart) return has ? null : 'TAG_MISMATCH';
  return has ? 'HA_HOST_RESERVED' : null;
});

/** Offering (and template) host tags ⊆ host tags (§8). */
export const hostTagFilter = hostFilter('host-tags', (ctx, host) =>
  tagsSubset(ctx.vm.hostTags, host.tags) ? null : 'TAG_MISMATCH',
);

/** Templates needing HVM skip hosts that cannot run it (`xenserver.check.hvm`). */
export const hvmFilter = hostFilter('hvm', (ctx, host) =>
  ctx.vm.requiresHvm && ctx.state.settings.checkHvm && !host.hvm ? 'NOT_HVM' : null,
);

/**
 * Implicit dedication (§5.5): never a host holding another account's strict-implicit VMs; a
 * strict-implicit VM never shares a host with other accounts' VMs.
 */
export const implicitDedicationFilter = hostFilter('implicit-dedication', (ctx, host) => {
  for (const [account, mode] of host.implicitAccounts) {
    if (account !== ctx.vm.accountId && mode === 'Strict') return 'DEDICATED_ELSEWHERE';
  }
  if (ctx.vm.implicitDedication === 'Strict') {
    for (const account of host.accountVms.keys()) if (account !== ctx.vm.accountId) return 'DEDICATED_ELSEWHERE';
    for (const account of host.implicitAccounts.keys()) if (account !== ctx.vm.accountId) return 'DEDICATED_ELSEWHERE';
  }
  return null;
});

/** Max guests per host (§10); `null` = unlimited. */
export const maxGuestsFilter = hostFilter('max-guests', (_ctx, host) =>
  host.maxGuests !== null && host.vmCount >= host.maxGuests ? 'MAX_GUESTS' : null,
);

/** Cores and per-core speed (§2.2, pitfall 2). */
export const cpuCapabilityFilter = hostFilter('cpu-capability', (ctx, host) => cpuCapability(host, ctx.vm.demand));

/**
 * CPU MHz and memory after over-provisioning, counting reserved capacity; on the VM's last host its
 * own reservation is used first (pitfall 7).
 */
export const capacityFilter = hostFilter('capacity', (ctx, host, cluster) => {
  const own = ctx.lastHost || ctx.vm.lastHostId === host.id ? ownReservation(ctx.state, host, ctx.vm.id) : undefined;
  return capacityFit(host, cluster, ctx.vm.demand, own);
});

/** The standard host filters, in the order §6.2 applies them. */
export function standardHostFilters(): HostFilter[] {
  return [
    availabilityFilter,
    avoidFilter,
    dedicationFilter,
    haTagFilter,
    hostTagFilter,
    hvmFilter,
    implicitDedicationFilter,
    affinityFilter,
    maxGuestsFilter,
    cpuCapabilityFilter,
    capacityFilter,
  ];
}
