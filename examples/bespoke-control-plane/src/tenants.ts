import type { Account, Cloud, Network } from '@stratus/core';
import type { Tier } from './tier-allocator.js';

/** A customer of the control plane: its account, its view of the cloud and its network. */
export interface Tenant {
  name: string;
  tier: Tier;
  account: Account;
  /** The cloud acting as the tenant's user: limits and permissions apply to what goes through it. */
  cloud: Cloud;
  network: Network;
}

/** The customers: two premium, two standard; initech is on a trial capped at two VMs. */
const TENANTS: ReadonlyArray<{ name: string; tier: Tier; maxVms?: number }> = [
  { name: 'acme', tier: 'premium' },
  { name: 'umbrella', tier: 'premium' },
  { name: 'globex', tier: 'standard' },
  { name: 'initech', tier: 'standard', maxVms: 2 },
];

/**
 * Creates each tenant's account (with the trial's VM limit) and an isolated network on
 * CloudStack's default offering with source NAT, implemented when its first VM starts.
 */
export async function createTenants(cloud: Cloud, zoneId: number): Promise<Map<string, Tenant>> {
  // CloudStack's default account limits (20 VMs, 40 cores, 40 GiB) raised: tenants are capped by contract.
  await cloud.settings.set('max.account.cpus', 128);
  await cloud.settings.set('max.account.memory', 256 * 1024);
  const offering = await cloud.network.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
  const tenants = new Map<string, Tenant>();
  for (const { name, tier, maxVms } of TENANTS) {
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: name,
      user: { username: `${name}-ops`, password: `${name}-secret` },
    });
    if (maxVms !== undefined) await cloud.limits.set({ type: 'user_vm', accountId: account.id, max: maxVms });
    // The tenant logs in as CloudStack's `login` takes it; the control plane acts as the caller the store vouched for.
    const caller = await cloud.resolveCaller({ username: user.username, password: `${name}-secret` });
    const tenantCloud = cloud.as(caller);
    const network = await tenantCloud.network.networks.create({
      zoneId,
      name: `${name}-net`,
      networkOfferingId: offering.id,
    });
    tenants.set(name, { name, tier, account, cloud: tenantCloud, network });
  }
  return tenants;
}
