import type { IpAllocation, Network, NetworkRule } from '@stratus/core';
import type { Tenant } from './tenants.js';

/** What one tenant published on the Internet. */
export interface PublishedServices {
  tenant: Tenant;
  network: Network;
  /** SSH to one VM: public port 2222 → 22. */
  ssh: { ip: IpAllocation; rule: NetworkRule; vmId: number };
  /** A web tier: public port 80 → 8080, round robin over several VMs. */
  web: { ip: IpAllocation; rule: NetworkRule; vmIds: number[] };
}

/** How many VMs the web load balancer spreads over. */
const LB_MEMBERS = 4;

/**
 * For each tenant, on its first network: acquires a public IP with a port-forwarding rule for SSH
 * to the network's first VM, and another with a round-robin load-balancer rule over the next
 * {@link LB_MEMBERS} VMs; both open the matching ingress firewall rule (public IPs deny all inbound
 * traffic until a firewall rule allows it). Everything goes through the tenant's own view of the
 * cloud, as a tenant's API calls would.
 */
export async function publishServices(tenants: readonly Tenant[]): Promise<PublishedServices[]> {
  const published: PublishedServices[] = [];
  for (const tenant of tenants) {
    const net = tenant.networks[0]!;
    const network = tenant.cloud.network;
    const vmIds = (await network.networks.listNics({ networkId: net.id })).map((nic) => nic.instanceId);
    const [sshVm, ...rest] = vmIds;
    if (sshVm === undefined || rest.length === 0) throw new Error(`network ${net.name} has too few VMs to publish`);

    const sshIp = await network.publicIps.acquire({ networkId: net.id });
    const sshRule = await network.rules.createPortForwarding({
      ipId: sshIp.id,
      protocol: 'tcp',
      publicStartPort: 2222,
      privateStartPort: 22,
      vmId: sshVm,
      openFirewall: true,
    });

    const webIp = await network.publicIps.acquire({ networkId: net.id });
    const webRule = await network.rules.createLoadBalancer({
      ipId: webIp.id,
      name: `${tenant.account.accountName}-web`,
      algorithm: 'roundrobin',
      publicPort: 80,
      privatePort: 8080,
      openFirewall: true,
    });
    const members = rest.slice(0, LB_MEMBERS);
    await network.rules.assignToLoadBalancer(webRule.id, members);

    published.push({
      tenant,
      network: await network.networks.get(net.id),
      ssh: { ip: await network.publicIps.get(sshIp.id), rule: sshRule, vmId: sshVm },
      web: { ip: await network.publicIps.get(webIp.id), rule: webRule, vmIds: members },
    });
  }
  return published;
}
