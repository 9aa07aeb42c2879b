import { afterEach, describe, expect, it } from 'vitest';
import { type VmWorld, vmWorld } from './vm-world.js';

/** A clock the test moves. */
class TestClock {
  constructor(public t = Date.now()) {}
  now(): number {
    return this.t;
  }
}

describe('host reconciliation', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('follows a VM that powered off by itself: Stopped, capacity moved to reserved, NIC released', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small, sim } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    sim.powerOffVm(vm.instanceName);
    const report = await cloud.reconciler.reconcile();
    expect(report.vms).toEqual([{ vmId: vm.id, from: 'Running', to: 'Stopped', powerState: 'PowerOff' }]);
    const after = await cloud.vms.get(vm.id);
    expect(after).toMatchObject({ state: 'Stopped', hostId: null, lastHostId: vm.hostId, powerState: 'PowerOff' });
    expect(await cloud.capacity.hostCapacity(cloud.store.db, vm.hostId!)).toMatchObject({
      cpuUsed: 0,
      cpuReserved: 1000,
    });
    expect((await cloud.network.networks.listNics({ vmId: vm.id }))[0]?.state).toBe('Allocated');
    // A second pass changes nothing.
    expect(await cloud.reconciler.reconcile()).toEqual({ hosts: [], vms: [] });
  });

  it('marks a silent host Alert, then Down after ping.timeout × ping.interval, and Up again when it answers', async () => {
    const clock = new TestClock();
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1, clock });
    const { cloud, sim, hosts } = world;
    const host = hosts[0]!;
    sim.setHostDown(host.guid, true);
    let report = await cloud.reconciler.reconcile();
    expect(report.hosts).toEqual([{ hostId: host.id, from: 'Up', to: 'Alert' }]);
    expect((await cloud.events.list({ type: 'ALERT.COMPUTE.HOST' })).length).toBe(1);
    clock.t += (60 * 2.5 + 1) * 1000;
    report = await cloud.reconciler.reconcile();
    expect(report.hosts).toEqual([{ hostId: host.id, from: 'Alert', to: 'Down' }]);
    sim.setHostDown(host.guid, false);
    report = await cloud.reconciler.reconcile();
    expect(report.hosts).toEqual([
      { hostId: host.id, from: 'Down', to: 'Connecting' },
      { hostId: host.id, from: 'Connecting', to: 'Up' },
    ]);
    expect((await cloud.hosts.get(host.id)).status).toBe('Up');
  });
});
