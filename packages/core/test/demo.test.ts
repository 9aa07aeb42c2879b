import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoCloud, openDemoCloud } from '../../../examples/demo/src/build-cloud.js';
import { hostsUsed } from '../../../examples/demo/src/deploy.js';
import { silentProgress } from '../../../examples/demo/src/progress.js';
import { printReport } from '../../../examples/demo/src/report.js';
import { type DemoOutcome, runScenario } from '../../../examples/demo/src/scenario.js';
import { simulatorHypervisor } from '../../../examples/demo/src/simulator-hypervisor.js';
import { CapacityIndex } from '../src/capacity/capacity-index.js';

/** The README's demo (examples/demo), run in-process on in-memory SQLite: it must keep working. */
describe('the demo', () => {
  let demo: DemoCloud;
  let outcome: DemoOutcome;
  const log: string[] = [];

  beforeAll(async () => {
    demo = await openDemoCloud(simulatorHypervisor());
    outcome = await runScenario(demo, { vmsPerWave: 50, progress: silentProgress, log: (l) => log.push(l) });
  }, 180_000);
  afterAll(async () => demo?.close());

  it('builds an enabled advanced zone: 2 pods, 4 clusters, 16 hosts, two tenants with isolated networks', async () => {
    const { cloud } = demo;
    const zoneId = outcome.zone.zone.id;
    expect(outcome.zone.zone).toMatchObject({ networkType: 'Advanced', allocationState: 'Enabled' });
    expect(await cloud.pods.list({ zoneId })).toHaveLength(2);
    expect(await cloud.clusters.list({ zoneId })).toHaveLength(4);
    expect(await cloud.hosts.list({ zoneId })).toHaveLength(16);
    expect((await cloud.network.readiness.check(zoneId)).problems).toEqual([]);
    expect(outcome.tenants.map((t) => t.account.accountName)).toEqual(['acme', 'globex']);
    for (const tenant of outcome.tenants) {
      for (const net of await cloud.network.networks.list({ accountId: tenant.account.id })) {
        expect(net).toMatchObject({ guestType: 'Isolated', state: 'Implemented' });
        expect(net.broadcastUri).toMatch(/^vlan:\/\/8\d\d$/);
      }
    }
  });

  it('deploys 50 VMs per strategy; the stopped ones are Stopped, every other one Running', async () => {
    expect(outcome.waves.map((w) => [w.strategy, w.vms.length])).toEqual([
      ['vertical', 50],
      ['horizontal', 50],
    ]);
    const vms = await demo.cloud.vms.list({ zoneId: outcome.zone.zone.id });
    expect(vms).toHaveLength(100);
    const stopped = new Set(outcome.stopped.map((vm) => vm.id));
    expect(stopped.size).toBe(14);
    for (const vm of vms) expect(vm.state).toBe(stopped.has(vm.id) ? 'Stopped' : 'Running');
    // Both tenants own VMs in every wave, spread over both of their networks.
    for (const tenant of outcome.tenants) {
      const perNetwork = await Promise.all(
        tenant.networks.map(async (net) => (await demo.cloud.network.networks.listNics({ networkId: net.id })).length),
      );
      expect(perNetwork.every((n) => n >= 20)).toBe(true);
      expect(perNetwork.reduce((a, b) => a + b, 0)).toBe(50);
    }
  });

  it('packs with the vertical allocator and spreads with the horizontal one', () => {
    const [vertical, horizontal] = outcome.waves.map(hostsUsed);
    expect(vertical!.size).toBeLessThan(horizontal!.size);
  });

  it('publishes SSH by port forwarding and a web tier by load balancing on public IPs', async () => {
    expect(outcome.published).toHaveLength(2);
    for (const p of outcome.published) {
      const rules = p.tenant.cloud.network.rules;
      const pf = await rules.list({ ipId: p.ssh.ip.id, purpose: 'PortForwarding' });
      expect(pf).toMatchObject([{ vmId: p.ssh.vmId, startPort: 2222, privateStartPort: 22, protocol: 'tcp' }]);
      const lb = await rules.list({ ipId: p.web.ip.id, purpose: 'LoadBalancing' });
      expect(lb).toMatchObject([{ algorithm: 'roundrobin', startPort: 80, privateStartPort: 8080 }]);
      const members = await demo.cloud.store.db
        .selectFrom('lbMembers')
        .select('vmId')
        .where('ruleId', '=', lb[0]!.id)
        .execute();
      expect(members.map((m) => Number(m.vmId)).sort()).toEqual([...p.web.vmIds].sort());
      expect(p.web.vmIds).toHaveLength(4);
      expect(await rules.list({ ipId: p.web.ip.id, purpose: 'Firewall' })).toHaveLength(1);
      expect([p.ssh.ip.state, p.web.ip.state]).toEqual(['Allocated', 'Allocated']);
    }
  });

  it('live-migrates VMs off the busiest host within its cluster', async () => {
    expect(outcome.migrations).toHaveLength(3);
    const hosts = new Map((await demo.cloud.hosts.list()).map((h) => [h.id, h]));
    for (const m of outcome.migrations) {
      const vm = await demo.cloud.vms.get(m.vm.id);
      expect(vm).toMatchObject({ state: 'Running', hostId: m.toHostId });
      expect(hosts.get(m.toHostId)?.clusterId).toBe(hosts.get(m.fromHostId)?.clusterId);
    }
  });

  it('accounts capacity exactly: used = running VMs, reserved = stopped VMs on their last host', async () => {
    const { cloud } = demo;
    const offerings = new Map((await cloud.offerings.listServiceOfferings()).map((o) => [o.id, o]));
    const expected = new Map<number, { used: number; reserved: number }>();
    for (const vm of await cloud.vms.list({ zoneId: outcome.zone.zone.id })) {
      const o = offerings.get(vm.serviceOfferingId)!;
      const hostId = vm.state === 'Running' ? vm.hostId! : vm.lastHostId!;
      const e = expected.get(hostId) ?? { used: 0, reserved: 0 };
      if (vm.state === 'Running') e.used += o.cpuNumber * o.cpuSpeed;
      else e.reserved += o.cpuNumber * o.cpuSpeed;
      expected.set(hostId, e);
    }
    const state = await CapacityIndex.load(cloud.store.db);
    for (const h of state.hosts.values()) {
      expect({ host: h.name, used: h.cpuUsed, reserved: h.cpuReserved }).toEqual({
        host: h.name,
        ...(expected.get(h.id) ?? { used: 0, reserved: 0 }),
      });
    }
  });

  it('prints the report: every host, the waves, the networks and the rules', async () => {
    const lines: string[] = [];
    await printReport(demo.cloud, outcome, (l) => lines.push(l));
    const text = lines.join('\n');
    for (let n = 1; n <= 16; n++) expect(text).toContain(`kvm-${String(n).padStart(2, '0')}`);
    expect(text).toMatch(/vertical +wave: 50 VMs placed on \d+ of 16 hosts/);
    expect(text).toContain('PF tcp 2222');
    expect(text).toContain('LB acme-web tcp 80');
    expect(log.some((l) => l.includes('busiest host relieved'))).toBe(true);
  });
});
