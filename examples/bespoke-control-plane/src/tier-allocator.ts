import { horizontalAllocator, hostFilter, verticalAllocator } from '@stratus/allocator';
import type { Allocator } from '@stratus/core';

/** A tenant's service tier; hosts carry the tier they serve as a host tag. */
export type Tier = 'premium' | 'standard';

/** Reason codes the rules give in placement explanations. */
export const TIER_FENCE = 'TIER_FENCE';
export const ONE_PER_HOST = 'PREMIUM_ONE_PER_HOST';

/**
 * The control plane's allocator: a fence between tiers, then a strategy per tier.
 *
 * - Fence: a host serves only the tier named by its host tag, and a tenant's VMs go only to hosts
 *   of the tenant's tier, whatever the offering says. (CloudStack's host tags are one-sided: an
 *   untagged offering may land on a tagged host. This fence is two-sided and keyed on the tenant,
 *   which only this control plane knows about.)
 * - Premium: spread. A premium tenant never has two VMs on one host, so losing a host costs it at
 *   most one; among the hosts left, the least loaded wins (horizontal).
 * - Standard: packed (vertical: fill a host before opening the next), which keeps hosts free.
 *
 * The one-per-host rule reads the placement index, which counts a VM from the moment it is placed
 * (before its booking commits), so concurrent placements of one tenant see each other. `tierOf` is
 * the control plane's customer registry, read at every placement.
 */
export function tierAllocator(tierOf: (accountId: number) => Tier): Allocator {
  const fence = hostFilter('tier-fence', (ctx, host) => (host.tags.has(tierOf(ctx.vm.accountId)) ? null : TIER_FENCE));
  const onePerHost = hostFilter('premium-one-per-host', (ctx, host) =>
    (host.accountVms.get(ctx.vm.accountId) ?? 0) > 0 ? ONE_PER_HOST : null,
  );
  const premium = horizontalAllocator().withFilter(fence, onePerHost);
  const standard = verticalAllocator().withFilter(fence);
  const forAccount = (accountId: number) => (tierOf(accountId) === 'premium' ? premium : standard);
  return {
    name: 'tier-fenced',
    place: (state, vm, plan) => forAccount(vm.accountId).place(state, vm, plan),
    hostAllocator: {
      name: 'tier-fenced-hosts',
      allocateTo: (state, vm, ...rest) => forAccount(vm.accountId).hostAllocator.allocateTo(state, vm, ...rest),
    },
    // Both tiers order clusters first-fit and place disks on any reachable pool.
    storagePoolAllocator: standard.storagePoolAllocator,
    planner: standard.planner,
  };
}
