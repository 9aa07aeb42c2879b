import type { Account, Cloud, Network, SettingKey } from '@stratus/core';

/** A tenant account, its view of the cloud and its isolated guest networks. */
export interface Tenant {
  account: Account;
  /** The cloud acting as the account's user: what the tenant deploys and configures goes through it. */
  cloud: Cloud;
  networks: Network[];
}

/** Each tenant's isolated networks (one VLAN and one source-NAT IP each, once implemented). */
const TENANTS = [
  { name: 'acme', networks: ['acme-web', 'acme-db'] },
  { name: 'globex', networks: ['globex-app', 'globex-batch'] },
];

/**
 * Default per-account limits raised above CloudStack's (20 VMs, 40 cores, 40 GiB…), which a
 * tenant running 50 VMs would hit. `max.account.*` are global settings, the defaults of every
 * account's limits.
 */
const LIMITS: ReadonlyArray<[SettingKey, number]> = [
  ['max.account.user.vms', 100],
  ['max.account.cpus', 400],
  ['max.account.memory', 512 * 1024],
  ['max.account.volumes', 100],
  ['max.account.primary.storage', 10_000],
];

/**
 * Creates the tenant accounts (each in its own domain), raises their limits and creates their
 * isolated networks on CloudStack's default isolated offering with source NAT. The networks are
 * implemented (VLAN, source-NAT IP, virtual router) when their first VM starts.
 */
export async function createTenants(cloud: Cloud, zoneId: number): Promise<Tenant[]> {
  const offering = await cloud.network.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
  for (const [key, value] of LIMITS) await cloud.settings.set(key, value);
  const tenants: Tenant[] = [];
  for (const spec of TENANTS) {
    const domain = await cloud.tenancy.createDomain({ name: spec.name });
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: spec.name,
      domainId: domain.id,
      user: { username: `${spec.name}-admin`, password: `${spec.name}-password` },
    });
    // The tenant's admin logs in to its domain (the path without ROOT), as CloudStack's `login` takes it.
    const tenantCloud = cloud.as(
      await cloud.resolveCaller({ username: user.username, password: `${spec.name}-password`, domain: spec.name }),
    );
    const networks: Network[] = [];
    for (const name of spec.networks) {
      networks.push(await tenantCloud.network.networks.create({ zoneId, name, networkOfferingId: offering.id }));
    }
    tenants.push({ account, cloud: tenantCloud, networks });
  }
  return tenants;
}
