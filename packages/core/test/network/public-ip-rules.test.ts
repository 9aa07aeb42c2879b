import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.js';
import { NetworkRuleConflictError } from '../../src/network/network-rule-conflict-error.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { type NetworkWorld, networkWorld } from './network-world.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});
const conflict = (field: string, value: unknown) => ({
  error: NetworkRuleConflictError,
  code: 'NETWORK_RULE_CONFLICT',
  httpCode: 537,
  field,
  value,
});

/** An implemented isolated network of alice with two running VMs (web1 default NIC, web2). */
async function running(w: NetworkWorld, offeringId = w.isolatedOfferingId) {
  const alice = w.as(w.account.id);
  const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: offeringId });
  const vms: number[] = [];
  const nics: number[] = [];
  for (const name of ['web1', 'web2']) {
    const vmId = await w.vm(w.account.id, name);
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
    );
    await alice.networks.startNic(nic.id);
    vms.push(vmId);
    nics.push(nic.id);
  }
  return { alice, net, vms, nics };
}

/** spec/networking.md §4.8, §8 and pitfalls 8, 9, 10, 12, 13. */
describe('public IPs and rules', () => {
  it('acquire on an implemented network is Allocated at once; inbound is denied until a firewall rule exists', async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    expect(ip).toMatchObject({ state: 'Allocated', ip: '203.0.113.11', networkId: net.id, accountId: w.account.id });
    const pf = await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId: vms[0]!,
    });
    expect(pf.state).toBe('Active');
    // PF never opens the firewall implicitly (§8.2 decision): no ingress rule, inbound denied.
    const cfg = w.vr.configuration(net.id)!;
    expect(cfg.portForwarding).toHaveLength(1);
    expect(cfg.firewall).toEqual([]);
    await alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 22, cidrs: ['198.51.100.0/24'] });
    expect(w.vr.configuration(net.id)!.firewall).toMatchObject([
      {
        publicIp: '203.0.113.11',
        protocol: 'tcp',
        portStart: 22,
        portEnd: 22,
        sourceCidrs: ['198.51.100.0/24'],
        direction: 'ingress',
      },
    ]);
  });

  it('acquire on a network not yet implemented stays Allocating until the implement pushes it', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    expect(ip.state).toBe('Allocating');
    await alice.networks.implement(net.id);
    expect((await alice.publicIps.get(ip.id)).state).toBe('Allocated');
  });

  it('the source NAT IP is not releasable and cannot be static-NATed (pitfall 8)', async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const snat = (await alice.publicIps.list({ networkId: net.id })).find((i) => i.sourceNat)!;
    await expectRejected(w.cloud, () => alice.publicIps.release(snat.id), invalid('id', snat.id));
    await expectRejected(
      w.cloud,
      () => alice.rules.enableStaticNat({ ipId: snat.id, vmId: vms[0]! }),
      invalid('ipId', snat.id),
    );
  });

  it('static NAT is exclusive with port forwarding and LB on one IP, one per VM address, default network only', async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const a = await alice.publicIps.acquire({ networkId: net.id });
    const b = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: a.id,
      protocol: 'tcp',
      publicStartPort: 80,
      privateStartPort: 8080,
      vmId: vms[0]!,
    });
    await expectRejected(
      w.cloud,
      () => alice.rules.enableStaticNat({ ipId: a.id, vmId: vms[1]! }),
      conflict('ipId', a.id),
    );
    await alice.rules.enableStaticNat({ ipId: b.id, vmId: vms[0]! });
    expect(w.vr.configuration(net.id)!.staticNat).toMatchObject([{ publicIp: b.ip, revoked: false }]);
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: b.id,
          protocol: 'tcp',
          publicStartPort: 22,
          privateStartPort: 22,
          vmId: vms[0]!,
        }),
      conflict('ipId', b.id),
    );
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createLoadBalancer({
          ipId: b.id,
          name: 'lb',
          algorithm: 'roundrobin',
          publicPort: 80,
          privatePort: 80,
        }),
      conflict('ipId', b.id),
    );
    const c = await alice.publicIps.acquire({ networkId: net.id });
    await expectRejected(
      w.cloud,
      () => alice.rules.enableStaticNat({ ipId: c.id, vmId: vms[0]! }),
      conflict('vmId', vms[0]!),
    );

    // A VM whose NIC on this network is not its default NIC.
    const n2 = await alice.networks.create({
      zoneId: w.zone.id,
      name: 'n2',
      networkOfferingId: w.isolatedOfferingId,
      cidr: '10.2.0.0/24',
    });
    const vm3 = await w.vm(w.account.id, 'web3');
    await w.cloud.context.write(async (wr) => {
      await alice.networks.allocateNic(wr, { vmId: vm3, networkId: n2.id, isDefault: true });
      await alice.networks.allocateNic(wr, { vmId: vm3, networkId: net.id, isDefault: false });
    });
    await expectRejected(w.cloud, () => alice.rules.enableStaticNat({ ipId: c.id, vmId: vm3 }), invalid('vmId', vm3));

    await alice.rules.disableStaticNat(b.id);
    expect((await alice.publicIps.get(b.id)).state).toBe('Allocated');
    expect(w.vr.configuration(net.id)!.staticNat).toEqual([]);
  });

  it("port forwarding: ranges of equal length, no overlap per protocol on one IP, target on the IP's network", async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 8000,
      publicEndPort: 8010,
      privateStartPort: 9000,
      privateEndPort: 9010,
      vmId: vms[0]!,
    });
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: ip.id,
          protocol: 'tcp',
          publicStartPort: 8010,
          publicEndPort: 8020,
          privateStartPort: 22,
          vmId: vms[1]!,
        }),
      conflict('publicStartPort', 8010),
    );
    // Same ports over UDP are fine.
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'udp',
      publicStartPort: 8005,
      privateStartPort: 53,
      vmId: vms[1]!,
    });
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: ip.id,
          protocol: 'tcp',
          publicStartPort: 100,
          publicEndPort: 110,
          privateStartPort: 200,
          privateEndPort: 205,
          vmId: vms[0]!,
        }),
      invalid('privateEndPort', 205),
    );
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: ip.id,
          protocol: 'tcp',
          publicStartPort: 70000,
          privateStartPort: 22,
          vmId: vms[0]!,
        }),
      invalid('publicStartPort', 70000),
    );
    const stranger = await w.vm(w.account.id, 'loner');
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: ip.id,
          protocol: 'tcp',
          publicStartPort: 22,
          privateStartPort: 22,
          vmId: stranger,
        }),
      invalid('vmId', stranger),
    );
    expect(
      w.vr.configuration(net.id)!.portForwarding.map((p) => [p.protocol, p.publicPortStart, p.publicPortEnd]),
    ).toEqual([
      ['tcp', 8000, 8010],
      ['udp', 8005, 8005],
    ]);
  });

  it('conserve mode: PF + LB on one IP only in conserve mode; the source NAT IP carries PF only in conserve mode (pitfall 9)', async () => {
    const w = await networkWorld();
    const strict = await w.net.offerings.create({
      name: 'no-conserve',
      guestType: 'Isolated',
      conserveMode: false,
      services: {
        SourceNat: ['VirtualRouter'],
        PortForwarding: ['VirtualRouter'],
        Lb: ['VirtualRouter'],
        Firewall: ['VirtualRouter'],
        StaticNat: ['VirtualRouter'],
        Dhcp: ['VirtualRouter'],
      },
    });
    await w.net.offerings.enable(strict.id);
    const { alice, net, vms } = await running(w, strict.id);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId: vms[0]!,
    });
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createLoadBalancer({
          ipId: ip.id,
          name: 'web',
          algorithm: 'roundrobin',
          publicPort: 80,
          privatePort: 80,
        }),
      conflict('ipId', ip.id),
    );
    const snat = (await alice.publicIps.list({ networkId: net.id })).find((i) => i.sourceNat)!;
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createPortForwarding({
          ipId: snat.id,
          protocol: 'tcp',
          publicStartPort: 22,
          privateStartPort: 22,
          vmId: vms[0]!,
        }),
      conflict('ipId', snat.id),
    );

    // The default isolated offering is in conserve mode: PF + LB share an IP, and the source NAT IP carries PF.
    const w2 = await networkWorld();
    const r2 = await running(w2);
    const ip2 = await r2.alice.publicIps.acquire({ networkId: r2.net.id });
    await r2.alice.rules.createPortForwarding({
      ipId: ip2.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId: r2.vms[0]!,
    });
    await r2.alice.rules.createLoadBalancer({
      ipId: ip2.id,
      name: 'web',
      algorithm: 'leastconn',
      publicPort: 80,
      privatePort: 8080,
    });
    await expectRejected(
      w2.cloud,
      () =>
        r2.alice.rules.createLoadBalancer({
          ipId: ip2.id,
          name: 'dup',
          algorithm: 'leastconn',
          publicPort: 22,
          privatePort: 22,
        }),
      conflict('publicPort', 22),
    );
    const snat2 = (await r2.alice.publicIps.list({ networkId: r2.net.id })).find((i) => i.sourceNat)!;
    await r2.alice.rules.createPortForwarding({
      ipId: snat2.id,
      protocol: 'tcp',
      publicStartPort: 2222,
      privateStartPort: 22,
      vmId: r2.vms[1]!,
    });
  });

  it("load balancing: algorithms, members on the rule's network, one stickiness policy, health checks only where supported", async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await expectRejected(
      w.cloud,
      () =>
        alice.rules.createLoadBalancer({
          ipId: ip.id,
          name: 'web',
          algorithm: 'random' as never,
          publicPort: 80,
          privatePort: 80,
        }),
      invalid('algorithm', 'random'),
    );
    const lb = await alice.rules.createLoadBalancer({
      ipId: ip.id,
      name: 'web',
      algorithm: 'source',
      publicPort: 80,
      privatePort: 8080,
      openFirewall: true,
    });
    await alice.rules.assignToLoadBalancer(lb.id, vms);
    const outsider = await w.vm(w.account.id, 'other-net');
    await expectRejected(
      w.cloud,
      () => alice.rules.assignToLoadBalancer(lb.id, [outsider]),
      invalid('vmIds', outsider),
    );
    await alice.rules.setStickinessPolicy(lb.id, { name: 'sticky', method: 'LbCookie', params: { holdtime: '180' } });
    await expectRejected(
      w.cloud,
      () => alice.rules.setStickinessPolicy(lb.id, { name: 'again', method: 'SourceBased', params: {} }),
      invalid('ruleId', lb.id),
    );
    await expectRejected(
      w.cloud,
      () => alice.rules.setHealthCheckPolicy(lb.id, { pingPath: '/health' }),
      invalid('ruleId', lb.id),
    );
    const cfg = w.vr.configuration(net.id)!;
    expect(cfg.loadBalancers).toHaveLength(1);
    expect(cfg.loadBalancers[0]).toMatchObject({
      srcIp: ip.ip,
      srcPort: 80,
      algorithm: 'source',
      stickiness: [{ method: 'LbCookie', params: { holdtime: '180' } }],
    });
    expect(cfg.loadBalancers[0]!.destinations.map((d) => d.port)).toEqual([8080, 8080]);
    // openFirewall made the ingress rule explicit.
    expect(cfg.firewall).toMatchObject([{ publicIp: ip.ip, portStart: 80, portEnd: 80 }]);
    await alice.rules.removeFromLoadBalancer(lb.id, [vms[0]!]);
    expect(w.vr.configuration(net.id)!.loadBalancers[0]!.destinations).toHaveLength(1);
  });

  it('egress rules by CIDR on the network; firewall rules by CIDR with validated ports', async () => {
    const w = await networkWorld();
    const { alice, net } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await expectRejected(
      w.cloud,
      () => alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 90, endPort: 80 }),
      invalid('endPort', 80),
    );
    await expectRejected(
      w.cloud,
      () => alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 22, cidrs: ['10.0.0.1/8'] }),
      invalid('cidrs', '10.0.0.1/8'),
    );
    await expectRejected(
      w.cloud,
      () => alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'icmp', startPort: 1 }),
      invalid('startPort', 1),
    );
    await alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 80, endPort: 90 });
    await expectRejected(
      w.cloud,
      () => alice.rules.createFirewallRule({ ipId: ip.id, protocol: 'tcp', startPort: 85 }),
      conflict('startPort', 85),
    );
    await alice.rules.createEgressRule({ networkId: net.id, protocol: 'all', cidrs: ['0.0.0.0/0'] });
    const fw = w.vr.configuration(net.id)!.firewall.find((r) => r.direction === 'egress')!;
    // The default isolated offering denies egress: egress rules are allow rules under a deny default.
    expect(fw).toMatchObject({
      protocol: 'all',
      sourceCidrs: ['0.0.0.0/0'],
      guestCidr: '10.1.1.0/24',
      defaultEgressAllow: false,
      guestVlanTag: 500,
    });
  });

  it('release revokes every rule first, waits in Releasing for the providers, then frees the IP (pitfall 13)', async () => {
    const w = await networkWorld();
    const { alice, net, vms } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId: vms[0]!,
      openFirewall: true,
    });
    const seen: string[] = [];
    const orig = w.vr.applyIps.bind(w.vr);
    w.vr.applyIps = async (p, ips) => {
      const state = (
        await w.cloud.store.db.selectFrom('ipAllocations').select('state').where('id', '=', ip.id).executeTakeFirst()
      )?.state;
      const rules = await w.cloud.store.db
        .selectFrom('networkRules')
        .select('state')
        .where('ipAllocationId', '=', ip.id)
        .execute();
      seen.push(`${state}:${rules.map((r) => r.state).join(',')}`);
      return orig(p, ips);
    };
    await alice.publicIps.release(ip.id);
    expect(seen).toEqual(['Releasing:Revoke,Revoke']);
    expect(await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('id', '=', ip.id).execute()).toEqual(
      [],
    );
    expect(await w.cloud.store.db.selectFrom('networkRules').selectAll().execute()).toEqual([]);
    const cfg = w.vr.configuration(net.id)!;
    expect(cfg.portForwarding).toEqual([]);
    expect(cfg.firewall).toEqual([]);
    expect(cfg.publicIps.map((i) => i.ip)).toEqual(['203.0.113.10']);
  });

  it('GC shutdown keeps rules and IP associations in the store and re-applies them at the next implement (pitfall 12)', async () => {
    const w = await networkWorld();
    const { alice, net, vms, nics } = await running(w);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId: vms[0]!,
      openFirewall: true,
    });
    for (const nic of nics) await alice.networks.stopNic(nic);
    await w.net.networks.collectGarbage();
    w.clock.advance(600);
    expect((await w.net.networks.collectGarbage()).shutDown).toEqual([net.id]);
    expect(w.vr.configuration(net.id)).toBeUndefined();
    expect(await w.cloud.store.db.selectFrom('networkRules').select('state').execute()).toEqual([
      { state: 'Active' },
      { state: 'Active' },
    ]);
    expect((await alice.publicIps.get(ip.id)).state).toBe('Allocated');
    await alice.networks.startNic(nics[0]!);
    const cfg = w.vr.configuration(net.id)!;
    expect(cfg.portForwarding).toHaveLength(1);
    expect(cfg.firewall).toHaveLength(1);
    expect(cfg.publicIps.map((i) => i.ip).sort()).toEqual(['203.0.113.10', ip.ip]);
  });

  it('max.account.public.ips limits acquisitions', async () => {
    const w = await networkWorld();
    const { alice, net } = await running(w);
    await w.cloud.settings.set('max.account.public.ips', 2);
    await alice.publicIps.acquire({ networkId: net.id });
    await expectRejected(w.cloud, () => alice.publicIps.acquire({ networkId: net.id }), {
      error: (await import('../../src/errors.js')).ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'accountId',
      value: w.account.id,
    });
  });
  it('max.account.public.ips: IPs of ranges dedicated to the account do not count', async () => {
    const w = await networkWorld();
    const { alice, net } = await running(w);
    // The source NAT IP (system range) counts: 1 of 2.
    await w.cloud.settings.set('max.account.public.ips', 2);
    const range = await w.publicRanges.create({
      zoneId: w.zone.id,
      gateway: '198.51.100.1',
      netmask: '255.255.255.0',
      startIp: '198.51.100.10',
      endIp: '198.51.100.12',
      vlan: 101,
    });
    await w.publicRanges.dedicate(range.id, { accountId: w.account.id });
    const dedicated = [];
    for (let i = 0; i < 3; i++) dedicated.push(await alice.publicIps.acquire({ networkId: net.id }));
    expect(dedicated.map((ip) => ip.ip).sort()).toEqual(['198.51.100.10', '198.51.100.11', '198.51.100.12']);
    // The dedicated range is used up: the next comes from the system range and counts (2 of 2)…
    expect((await alice.publicIps.acquire({ networkId: net.id })).ip).toMatch(/^203\.0\.113\./);
    // …and the one after is refused.
    await expectRejected(w.cloud, () => alice.publicIps.acquire({ networkId: net.id }), {
      error: (await import('../../src/errors.js')).ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'accountId',
      value: w.account.id,
    });
  });
  it('pitfall 10: under an allow egress default, egress rules are deny rules (new offerings allow)', async () => {
    const w = await networkWorld();
    const off = await w.net.offerings.create({
      name: 'egress-allow',
      guestType: 'Isolated',
      services: { Dhcp: ['VirtualRouter'], Firewall: ['VirtualRouter'], SourceNat: ['VirtualRouter'] },
    });
    await w.net.offerings.enable(off.id);
    expect(off.egressDefaultPolicy).toBe('allow');
    const { alice, net } = await running(w, off.id);
    expect(w.vr.configuration(net.id)!.egressDefaultAllow).toBe(true);
    await alice.rules.createEgressRule({ networkId: net.id, protocol: 'tcp', startPort: 25, cidrs: ['0.0.0.0/0'] });
    expect(w.vr.configuration(net.id)!.firewall).toMatchObject([
      { direction: 'egress', protocol: 'tcp', portStart: 25, defaultEgressAllow: true, revoked: false },
    ]);
    // Inbound is still denied: no ingress rule exists on any IP.
    expect(w.vr.configuration(net.id)!.firewall.filter((r) => r.direction === 'ingress')).toEqual([]);
  });
});
