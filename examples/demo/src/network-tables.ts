import type { Cloud, NetworkRule } from '@stratus/core';
import { heading, type Print, table } from './format.js';
import type { DemoOutcome } from './scenario.js';

/** Prints the tenants' isolated networks (VLAN, CIDR, source-NAT IP, VMs) and their public IPs with rules. */
export async function printNetworks(cloud: Cloud, outcome: DemoOutcome, print: Print): Promise<void> {
  const vmName = new Map((await cloud.vms.list({ zoneId: outcome.zone.zone.id })).map((vm) => [vm.id, vm.displayName]));
  const networks = table(['account', 'network', 'state', 'VLAN', 'CIDR', 'gateway', 'source NAT IP', 'VMs']);
  const ips = table(['public IP', 'account', 'network', 'state', 'rules']);
  for (const tenant of outcome.tenants) {
    const api = tenant.cloud.network;
    for (const net of await api.networks.list({ accountId: tenant.account.id })) {
      const publicIps = await api.publicIps.list({ networkId: net.id });
      const nics = await api.networks.listNics({ networkId: net.id });
      networks.push([
        tenant.account.accountName,
        net.name,
        net.state,
        net.broadcastUri?.replace('vlan://', '') ?? '-',
        net.cidr ?? '-',
        net.gateway ?? '-',
        publicIps.find((ip) => ip.sourceNat)?.ip ?? '-',
        String(nics.length),
      ]);
      for (const ip of publicIps) {
        const rules = (await api.rules.list({ ipId: ip.id })).filter((r) => r.state !== 'Revoke');
        const described = await Promise.all(rules.map((r) => describeRule(cloud, r, vmName)));
        ips.push([
          ip.ip,
          tenant.account.accountName,
          net.name,
          ip.state,
          [ip.sourceNat ? 'source NAT' : '', ...described].filter(Boolean).join('\n') || '-',
        ]);
      }
    }
  }
  heading(print, 'Isolated guest networks');
  print(networks.toString());
  heading(print, 'Public IPs and their rules');
  print(ips.toString());
}

async function describeRule(cloud: Cloud, rule: NetworkRule, vmName: Map<number, string>): Promise<string> {
  const ports = `${rule.protocol} ${rule.startPort}`;
  switch (rule.purpose) {
    case 'PortForwarding':
      return `PF ${ports} -> ${rule.privateIp}:${rule.privateStartPort} (${vmName.get(rule.vmId ?? -1)})`;
    case 'LoadBalancing': {
      const members = await cloud.store.db
        .selectFrom('lbMembers')
        .select(['vmId', 'ip'])
        .where('ruleId', '=', rule.id)
        .orderBy('id')
        .execute();
      const names = members.map((m) => vmName.get(Number(m.vmId)) ?? String(m.vmId));
      const lines = [`LB ${rule.name} ${ports} -> ${rule.privateStartPort} ${rule.algorithm}, ${names.length} VMs:`];
      for (let i = 0; i < names.length; i += 2) lines.push(`  ${names.slice(i, i + 2).join(', ')}`);
      return lines.join('\n');
    }
    default:
      return `firewall ${ports} from ${rule.cidrs.join(',')}`;
  }
}
