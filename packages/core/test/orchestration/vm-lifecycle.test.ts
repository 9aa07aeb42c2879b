import { afterEach, describe, expect, it } from 'vitest';
import { type VmWorld, vmWorld } from './vm-world.js';

describe('VM lifecycle on the simulator', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('deploys: plan, capacity, network (VLAN, source NAT), volumes, start', async () => {
    world = await vmWorld();
    const { user, zone, template, small, sim } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    expect(vm.state).toBe('Running');
    // The deploy builds the records it returns from what it wrote: they equal the stored ones, and
    // it adds the explanation of its placement.
    const { placement, ...record } = vm;
    expect(record).toEqual(await user.vms.get(vm.id));
    expect(placement?.hosts.winner).toBe(vm.hostId);
    expect(vm.instanceName).toBe(`i-${world.account.id}-${vm.id}-VM`);
    expect(vm.hostId).not.toBeNull();
    const onHost = sim.inspect().vms[vm.instanceName];
    expect(onHost?.power).toBe('running');
    expect(onHost?.host).toBe(world.hosts.find((h) => h.id === vm.hostId)?.guid);
    expect(onHost?.spec.nics[0]?.trafficLabel).toBe('cloudbr1');
    const nics = await user.network.networks.listNics({ vmId: vm.id });
    expect(nics).toHaveLength(1);
    expect(nics[0]).toMatchObject({ state: 'Reserved', isDefault: true });
    expect(nics[0]!.ip4Address).toMatch(/^10\.1\.1\./);
    const net = await user.network.networks.get(nics[0]!.networkId);
    expect(net.state).toBe('Implemented');
    expect(net.broadcastUri).toMatch(/^vlan:\/\/50\d$/);
    const volumes = await world.cloud.volumes.list({ instanceId: vm.id });
    expect(volumes.map((v) => [v.volumeType, v.state])).toEqual([['ROOT', 'Ready']]);
    const cap = await world.cloud.capacity.hostCapacity(world.cloud.store.db, vm.hostId!);
    expect(cap).toMatchObject({ cpuUsed: 1000, memoryUsed: 2048 * 1024 * 1024 });
  });

  it('stops (capacity to reserved, NIC released), starts on the last host, reboots, migrates, destroys, recovers, expunges', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    const host = vm.hostId!;

    const stopped = await (await user.vms.stop(vm.id)).result;
    expect(stopped).toMatchObject({ state: 'Stopped', hostId: null, lastHostId: host });
    expect(await cloud.capacity.hostCapacity(cloud.store.db, host)).toMatchObject({ cpuUsed: 0, cpuReserved: 1000 });
    expect((await user.network.networks.listNics({ vmId: vm.id }))[0]?.state).toBe('Allocated');

    const started = await (await user.vms.start(vm.id)).result;
    expect(started).toMatchObject({ state: 'Running', hostId: host });
    expect(await cloud.capacity.hostCapacity(cloud.store.db, host)).toMatchObject({ cpuUsed: 1000, cpuReserved: 0 });

    expect((await (await user.vms.reboot(vm.id)).result).state).toBe('Running');

    const sameCluster = world.hosts.find(
      (h) => h.id !== host && h.clusterId === world.hosts.find((x) => x.id === host)!.clusterId,
    )!;
    const migrated = await (await cloud.vms.migrate(vm.id, sameCluster.id)).result;
    expect(migrated).toMatchObject({ state: 'Running', hostId: sameCluster.id });
    expect(await cloud.capacity.hostCapacity(cloud.store.db, host)).toMatchObject({ cpuUsed: 0 });
    expect(await cloud.capacity.hostCapacity(cloud.store.db, sameCluster.id)).toMatchObject({ cpuUsed: 1000 });

    const destroyed = await (await user.vms.destroy(vm.id)).result;
    expect(destroyed.state).toBe('Destroyed');
    expect(await cloud.capacity.hostCapacity(cloud.store.db, sameCluster.id)).toMatchObject({
      cpuUsed: 0,
      cpuReserved: 0,
    });
    expect((await cloud.volumes.list({ instanceId: vm.id }))[0]?.state).toBe('Destroy');

    expect((await cloud.vms.recover(vm.id)).state).toBe('Stopped');
    expect((await cloud.volumes.list({ instanceId: vm.id }))[0]?.state).toBe('Ready');

    await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
    await expect(cloud.vms.get(vm.id)).rejects.toThrow(/not found/);
    expect(await user.network.networks.listNics({ vmId: vm.id })).toEqual([]);
    expect(await cloud.volumes.list({ instanceId: vm.id })).toEqual([]);
  });
});
