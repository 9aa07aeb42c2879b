import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildFleet, type Fleet } from '../../../examples/bespoke-control-plane/src/build-cloud.js';
import type { Outcome } from '../../../examples/bespoke-control-plane/src/control-plane.js';
import { RequestQueue } from '../../../examples/bespoke-control-plane/src/request-queue.js';
import { type Day, runDay } from '../../../examples/bespoke-control-plane/src/scenario.js';
import { TIER_FENCE } from '../../../examples/bespoke-control-plane/src/tier-allocator.js';

describe('the bespoke control plane: request queue', () => {
  it('takes the highest priority first, in arrival order within a priority, skipping ineligible ones', () => {
    const queue = new RequestQueue();
    const r = (id: number, priority: number) => ({
      kind: 'retire' as const,
      id,
      tenant: `t${id % 2}`,
      name: '',
      priority,
    });
    for (const request of [r(1, 0), r(2, 2), r(3, 1), r(4, 2), r(5, 0), r(6, 1)]) queue.push(request);
    expect(queue.take((x) => x.tenant === 't1')?.id).toBe(3);
    const order: number[] = [];
    for (let next = queue.take(); next; next = queue.take()) order.push(next.id);
    expect(order).toEqual([2, 4, 6, 1, 5]);
  });
});

/** The example's whole day: serial, and with three and six requests allowed in flight. */
describe.each([1, 3, 6])(
  'the bespoke control plane at concurrency %i (examples/bespoke-control-plane)',
  (concurrency) => {
    let fleet: Fleet;
    let day: Day;
    let maxOpenJobs = 0;

    beforeAll(async () => {
      fleet = await buildFleet();
      // Independent instrumentation: SDK jobs open at once, from the bus (Scheduled → its Completed).
      const open = new Set<number>();
      fleet.cloud.events.on('*', (event) => {
        if (event.state === 'Scheduled' && event.id !== null) open.add(event.id);
        else if (event.state === 'Completed' && event.startId !== null) open.delete(event.startId);
        maxOpenJobs = Math.max(maxOpenJobs, open.size);
      });
      day = await runDay(fleet, { concurrency, log: () => {} });
    }, 60_000);
    afterAll(async () => fleet?.cloud.close());

    const outcome = (name: string): Outcome => {
      const found = day.burst.find((o) => o.request.name === name);
      if (!found) throw new Error(`no outcome for ${name}`);
      return found;
    };
    const running = () => fleet.cloud.vms.list({ zoneId: fleet.zone.id, state: 'Running' });

    it('gives every request exactly one outcome, as capacity, the tier rules, limits and validation dictate', () => {
      expect(day.yesterday.map((o) => o.status)).toEqual(['served', 'served']);
      expect(day.burst.map((o) => o.request.id)).toEqual(day.burst.map((_, i) => i + 3));
      // Bad input and quota: rejected at once, never requeued.
      expect(outcome('globex_batch')).toMatchObject({ status: 'rejected', code: 'INVALID_PARAMETER', attempts: 1 });
      expect(outcome('initech-trial-3')).toMatchObject({
        status: 'rejected',
        code: 'ACCOUNT_RESOURCE_LIMIT',
        attempts: 1,
      });
      // No host has 12 cores: requeued once, then rejected.
      expect(outcome('acme-warehouse')).toMatchObject({
        status: 'rejected',
        code: 'INSUFFICIENT_CAPACITY',
        attempts: 2,
      });
      // Two premium hosts, one VM of a premium tenant per host: acme's third is refused, although
      // standard hosts have room (the fence) — the explanation names both rules.
      const third = outcome('acme-web-3');
      expect(third).toMatchObject({ status: 'rejected', code: 'INSUFFICIENT_CAPACITY', attempts: 2 });
      expect(third.status === 'rejected' && third.reason).toContain(TIER_FENCE);
      // umbrella's new VMs fit only once its legacy VMs (one per premium host) were retired.
      for (const name of ['umbrella-api-1', 'umbrella-api-2'])
        expect(outcome(name)).toMatchObject({ status: 'served', attempts: 2 });
      const rejected = day.burst.filter((o) => o.status === 'rejected').map((o) => o.request.name);
      expect(rejected.sort()).toEqual(['acme-warehouse', 'acme-web-3', 'globex_batch', 'initech-trial-3']);
      expect(day.burst.filter((o) => o.request.kind === 'retire').map((o) => o.status)).toEqual(['served', 'served']);
    });

    it(`has at most ${concurrency} SDK jobs in flight, and no more than one per tenant`, () => {
      expect(maxOpenJobs).toBeGreaterThan(0);
      expect(maxOpenJobs).toBeLessThanOrEqual(Math.min(concurrency, fleet.tenants.size));
      if (concurrency > 1) expect(maxOpenJobs).toBeGreaterThan(1);
    });

    it("keeps every VM on its tenant's tier, premium tenants one per host, the standard tier packed", async () => {
      const hosts = new Map((await fleet.cloud.hosts.list({ zoneId: fleet.zone.id })).map((h) => [h.id, h]));
      const tiers = new Map([...fleet.tenants.values()].map((t) => [t.account.id, t.tier]));
      const vms = await running();
      expect(vms).toHaveLength(15);
      for (const vm of vms) expect(hosts.get(vm.hostId!)?.hostTags).toEqual([tiers.get(vm.accountId)]);
      const premium = vms
        .filter((vm) => tiers.get(vm.accountId) === 'premium')
        .map((vm) => `${vm.accountId}@${vm.hostId}`);
      expect(new Set(premium).size).toBe(premium.length);
      const legacyHosts = day.yesterday.map((o) => o.status === 'served' && o.vm.hostId);
      expect(new Set(legacyHosts).size).toBe(2);
      const standardHosts = [...hosts.values()].filter((h) => h.hostTags.includes('standard'));
      const used = new Set(vms.filter((vm) => tiers.get(vm.accountId) === 'standard').map((vm) => vm.hostId));
      expect(used.size).toBeLessThan(standardHosts.length);
      // A large (8 GiB) would have fitted on a standard host: the fence, not capacity, turned acme away.
      const memory = await fleet.cloud.capacityReport({ level: 'host', zoneId: fleet.zone.id, type: 'MEMORY' });
      const free = memory
        .filter((r) => standardHosts.some((h) => h.id === r.id))
        .map((r) => r.total - r.used - r.reserved);
      expect(Math.max(...free)).toBeGreaterThanOrEqual(fleet.sizes.large.memory * 2 ** 20);
    });

    it('accounts capacity exactly as the running VMs hold it, with nothing left by rejected requests', async () => {
      const offerings = new Map(Object.values(fleet.sizes).map((o) => [o.id, o]));
      const expected = new Map<number, { cpu: number; memory: number }>();
      const vms = await running();
      for (const vm of vms) {
        const o = offerings.get(vm.serviceOfferingId)!;
        const e = expected.get(vm.hostId!) ?? { cpu: 0, memory: 0 };
        expected.set(vm.hostId!, { cpu: e.cpu + o.cpuNumber * o.cpuSpeed, memory: e.memory + o.memory * 2 ** 20 });
      }
      const rows = await fleet.cloud.capacityReport({ level: 'host', zoneId: fleet.zone.id });
      for (const h of fleet.hosts) {
        const row = (type: string) => rows.find((r) => r.id === h.id && r.type === type)!;
        const want = expected.get(h.id) ?? { cpu: 0, memory: 0 };
        expect([h.name, row('CPU').used, row('MEMORY').used]).toEqual([h.name, want.cpu, want.memory]);
        expect([row('CPU').reserved, row('MEMORY').reserved]).toEqual([0, 0]);
      }
      // Every VM the cloud still knows is Running: failed deployments were expunged, retirements too.
      expect(await fleet.cloud.vms.list({ zoneId: fleet.zone.id })).toHaveLength(vms.length);
      for (const tenant of fleet.tenants.values()) {
        const mine = vms.filter((vm) => vm.accountId === tenant.account.id);
        expect(await fleet.cloud.limits.count({ accountId: tenant.account.id }, 'user_vm')).toBe(mine.length);
        const nics = await fleet.cloud.network.networks.listNics({ networkId: tenant.network.id });
        expect(nics.map((n) => n.instanceId).sort()).toEqual(mine.map((vm) => vm.id).sort());
      }
    });
  },
);
