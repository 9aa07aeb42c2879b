import { afterEach, describe, expect, it, vi } from 'vitest';
import { CapacityConflictError, PlacementError } from '../../src/allocation/placement-error.js';
import { networkLayerOf } from '../../src/cloud.js';
import { DriverError } from '../../src/driver/driver-error.js';
import type { VirtualMachine } from '../../src/model/records.js';
import { VirtualRouterElement } from '../../src/network/virtual-router-element.js';
import { type AccountingSnapshot, accountingSnapshot, withoutVm } from './accounting-snapshot.js';
import { type VmWorld, vmWorld } from './vm-world.js';

/**
 * Fault injection at each step of deploy (issue 5 acceptance): plan, capacity booking, network
 * implement, NIC reserve, template staging, volume creation, start on the host. Each attempt must
 * end with the VM Running on another host when one can take it, or in Error when none can — and
 * the accounting (capacity, bookings, IPs, VLANs, MACs, NICs, volumes, the hypervisor's VMs and
 * disks) exactly as before, except what the final Running VM holds.
 */
describe('deploy with a fault at each step', () => {
  let world: VmWorld;
  /** When set, the virtual router's renderer throws for configurations it matches (element failure). */
  let routerFault: ((config: { dhcp: unknown[] }) => boolean) | undefined;
  afterEach(async () => {
    routerFault = undefined;
    await world?.cloud.close();
  });

  async function setup(options: { bystander?: boolean } = {}): Promise<{ bystander?: VirtualMachine }> {
    world = await vmWorld({ clusters: 2, hostsPerCluster: 2 });
    networkLayerOf(world.cloud).deps.elements.register(
      new VirtualRouterElement('VirtualRouter', (_id, config) => {
        if (config && routerFault?.(config)) throw new Error('injected virtual router failure');
      }),
    );
    if (!options.bystander) return {};
    // Another VM of the account already runs: its network is implemented, its template staged.
    const bystander = await world.user.vms.deployAndWait(deployInput());
    return { bystander };
  }

  function deployInput(offeringId = world.small.id) {
    return { zoneId: world.zone.id, serviceOfferingId: offeringId, templateId: world.template.id };
  }

  function hostName(id: number | null): string {
    return world.hosts.find((h) => h.id === id)?.name ?? `#${id}`;
  }

  /** Deploys and expects Running; then everything except what the VM holds equals `before`. */
  async function expectRunningElsewhere(before: AccountingSnapshot, notOn: string[]): Promise<VirtualMachine> {
    const vm = await world.user.vms.deployAndWait(deployInput());
    expect(vm.state).toBe('Running');
    expect(notOn).not.toContain(hostName(vm.hostId));
    expect(world.sim.inspect().vms[vm.instanceName]?.power).toBe('running');
    const after = await accountingSnapshot(world.cloud, world.sim);
    expect(await withoutVm(world.cloud, after, before, vm.id)).toEqual(before);
    // The VM holds exactly one used booking, on its host.
    expect(after.bookings.filter((b) => b.vmId === vm.id)).toEqual([
      expect.objectContaining({ hostId: vm.hostId, kind: 'used' }),
    ]);
    return vm;
  }

  /** Deploys and expects Error; then the accounting equals `before` exactly. */
  async function expectError(before: AccountingSnapshot, offeringId?: number): Promise<VirtualMachine> {
    const job = await world.user.vms.deploy(deployInput(offeringId));
    await expect(job.result).rejects.toThrow();
    const vms = await world.cloud.vms.list({ state: 'Error' });
    expect(vms).toHaveLength(1);
    const vm = vms[0]!;
    expect(vm.hostId).toBeNull();
    expect(await accountingSnapshot(world.cloud, world.sim)).toEqual(before);
    return vm;
  }

  it('placement: nothing fits → Error, nothing taken', async () => {
    await setup({ bystander: true });
    // More cores than any host has (8): no host fits, whatever the avoid set.
    const huge = await world.cloud.offerings.createServiceOffering({
      name: 'huge',
      cpuNumber: 16,
      cpuSpeed: 1000,
      memory: 1024,
    });
    const before = await accountingSnapshot(world.cloud, world.sim);
    const startCalls = world.sim.log.counts().startVm?.ok ?? 0;
    await expectError(before, huge.id);
    expect(world.sim.log.counts().startVm?.ok ?? 0).toBe(startCalls);
  });

  it('capacity booking lost to another process → booked on another host', async () => {
    const { bystander } = await setup({ bystander: true });
    // Another process fills the host the placement index still sees as the best one (the bystander's).
    const other = await world.user.vms.deployAndWait({ ...deployInput(), startVm: false });
    await world.cloud.context.write((w) =>
      world.cloud.capacity.bookStart(w, {
        vmId: other.id,
        accountId: other.accountId,
        hostId: bystander!.hostId!,
        demand: { cpu: 15_000, memory: 14 * 1024 ** 3, cores: 1, speed: 1000 },
      }),
    );
    const before = await accountingSnapshot(world.cloud, world.sim);
    const book = vi.spyOn(world.user.capacity, 'bookStart');
    const vm = await expectRunningElsewhere(before, [hostName(bystander!.hostId)]);
    const first = book.mock.calls[0]?.[1];
    expect(first?.hostId).toBe(bystander!.hostId);
    await expect(book.mock.results[0]?.value).rejects.toBeInstanceOf(CapacityConflictError);
    expect(vm.hostId).not.toBe(bystander!.hostId);
  });

  it('network implement: guest VLAN pool exhausted → Error, nothing taken', async () => {
    await setup({ bystander: true });
    // A second account whose network is not implemented yet; every other VLAN is taken.
    const { account, user } = await world.cloud.tenancy.createAccount({
      accountName: 'beta',
      user: { username: 'bob', password: 'pw' },
    });
    const beta = world.cloud.as(await world.cloud.resolveCaller({ userId: user.id }));
    const pn = (await world.cloud.physicalNetworks.list({ zoneId: world.zone.id }))[0]!;
    await world.cloud.context.write(async (w) => {
      for (let i = 0; i < 9; i++)
        await world.cloud.guestVlans.take(w, { physicalNetworkId: pn.id, networkId: 9000 + i, accountId: account.id });
    });
    const before = await accountingSnapshot(world.cloud, world.sim);
    const take = vi.spyOn(networkLayerOf(world.cloud).deps.vlans, 'take');
    const job = await beta.vms.deploy(deployInput());
    await expect(job.result).rejects.toThrow();
    expect(take).toHaveBeenCalled();
    for (const result of take.mock.results) await expect(result.value).rejects.toThrow(/no free guest VLAN/);
    const failed = (await world.cloud.vms.list({ state: 'Error' }))[0]!;
    expect(failed.accountId).toBe(account.id);
    // The deploy created beta's default network (Allocated, no VLAN): that row is the only difference.
    const after = await accountingSnapshot(world.cloud, world.sim);
    const created = after.networks.filter((n) => !before.networks.some((b) => b.id === n.id));
    expect(created).toEqual([expect.objectContaining({ state: 'Allocated', broadcastUri: null })]);
    expect({ ...after, networks: after.networks.filter((n) => !created.includes(n)) }).toEqual(before);
  });

  it('network implement: element failure once → Running on another host, the failed implement left nothing', async () => {
    await setup();
    let failures = 0;
    routerFault = () => failures++ === 0;
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await expectRunningElsewhere(before, ['h1-1']);
    expect(failures).toBeGreaterThan(1);
    const nic = (await world.cloud.network.networks.listNics({ vmId: vm.id }))[0]!;
    expect((await world.cloud.network.networks.get(nic.networkId)).state).toBe('Implemented');
    // One source-NAT IP for the network: the failed implement's was given back.
    const snat = (await accountingSnapshot(world.cloud)).ips.filter((ip) => ip.networkId === nic.networkId);
    expect(snat.filter((ip) => ip.space === 'public')).toHaveLength(1);
  });

  it('network implement: element always fails → Error, VLAN and source-NAT IP given back', async () => {
    await setup({ bystander: true });
    const { user } = await world.cloud.tenancy.createAccount({
      accountName: 'gamma',
      user: { username: 'carol', password: 'pw' },
    });
    const gamma = world.cloud.as(await world.cloud.resolveCaller({ userId: user.id }));
    let failures = 0;
    routerFault = () => {
      failures++;
      return true;
    };
    const before = await accountingSnapshot(world.cloud, world.sim);
    await expect((await gamma.vms.deploy(deployInput())).result).rejects.toThrow();
    expect(failures).toBe(4); // one implement per host, each undone
    const after = await accountingSnapshot(world.cloud, world.sim);
    const created = after.networks.filter((n) => !before.networks.some((b) => b.id === n.id));
    expect(created).toEqual([expect.objectContaining({ state: 'Allocated', broadcastUri: null })]);
    expect({ ...after, networks: after.networks.filter((n) => !created.includes(n)) }).toEqual(before);
  });

  it('NIC reserve: the router rejects the NIC once → Running on another host', async () => {
    await setup();
    let failures = 0;
    routerFault = (config) => config.dhcp.length > 0 && failures++ === 0;
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await expectRunningElsewhere(before, ['h1-1']);
    expect(failures).toBeGreaterThan(1);
    expect((await world.cloud.network.networks.listNics({ vmId: vm.id }))[0]?.state).toBe('Reserved');
  });

  it('template staging on the pool fails on cluster 1 → Running in cluster 2', async () => {
    await setup();
    world.sim.faults.failAlways('copyTemplateToPrimary', (call) => call.host?.name.startsWith('h1-') ?? false);
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await expectRunningElsewhere(before, ['h1-1', 'h1-2']);
    expect(hostName(vm.hostId)).toMatch(/^h2-/);
    expect(world.sim.log.counts().copyTemplateToPrimary?.error).toBeGreaterThan(0);
    // The failed copy is not left claimed.
    const refs = await world.cloud.store.db.selectFrom('templatePoolRefs').select(['poolId', 'state']).execute();
    expect(refs.map((r) => r.state)).not.toContain('Creating');
  });

  it('volume creation fails on one host → Running on another host', async () => {
    await setup({ bystander: true });
    const host = 'h1-1';
    world.sim.faults.failNext('createVolume', { host });
    const before = await accountingSnapshot(world.cloud, world.sim);
    await expectRunningElsewhere(before, [host]);
    expect(world.sim.log.counts().createVolume?.error).toBe(1);
  });

  it('volume creation: pool full → the pool is avoided, Running in the other cluster', async () => {
    await setup({ bystander: true });
    const pool = world.pools[0]!;
    world.sim.faults.failAlways(
      'createVolume',
      (call) => (call.args[1] as { pool?: { uuid: string } }).pool?.uuid === pool.uuid,
      new DriverError('InsufficientCapacity', 'simulator: pool full', { scope: { kind: 'pool', ref: pool.uuid } }),
    );
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await expectRunningElsewhere(before, ['h1-1', 'h1-2']);
    expect(hostName(vm.hostId)).toMatch(/^h2-/);
    // The pool's scope was avoided as a whole: one failure, not one per host of the cluster.
    expect(world.sim.log.counts().createVolume?.error).toBe(1);
  });

  it('volume creation fails everywhere → Error, nothing taken', async () => {
    await setup({ bystander: true });
    world.sim.faults.failAlways('createVolume');
    const before = await accountingSnapshot(world.cloud, world.sim);
    await expectError(before);
  });

  it.each([
    ['a host error', 'DeviceError'],
    ['insufficient capacity on the host', 'InsufficientCapacity'],
  ] as const)('startVm fails with %s → Running on another host', async (_label, code) => {
    const { bystander } = await setup({ bystander: true });
    const host = hostName(bystander!.hostId);
    world.sim.faults.failNext('startVm', { host, error: code });
    const before = await accountingSnapshot(world.cloud, world.sim);
    await expectRunningElsewhere(before, [host]);
  });

  it('startVm on a host that went down → Running on another host', async () => {
    const { bystander } = await setup({ bystander: true });
    const host = hostName(bystander!.hostId);
    // The hypervisor went down after the cloud last saw it Up: the attempt's calls there fail.
    world.sim.setHostDown(host);
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await expectRunningElsewhere(before, [host]);
    expect(vm.hostId).not.toBe(bystander!.hostId);
  });

  it('startVm fails on every host → Error, nothing taken, and the error names the driver failure', async () => {
    await setup({ bystander: true });
    world.sim.faults.failAlways('startVm');
    const before = await accountingSnapshot(world.cloud, world.sim);
    await expectError(before);
    // It tried every host once (the avoid set), then gave up.
    expect(world.sim.log.counts().startVm?.error).toBe(4);
    // The placement failure that ends the start says why the hosts were avoided.
    const failed = await world.user.vms.deploy(deployInput());
    const error = await failed.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PlacementError);
    expect((error as PlacementError).message).toMatch(
      /avoided after a failed attempt.*the last attempt failed with DRIVER_\w+: .*injected/,
    );
    expect((error as PlacementError).cause).toBeDefined();
  });
});

describe('faults after deploy', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('stop: the driver fails → Running again, capacity unchanged; a forced stop marks it Stopped', async () => {
    world = await vmWorld();
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const before = await accountingSnapshot(world.cloud, world.sim);
    world.sim.faults.failNext('stopVm', { vm: vm.instanceName });
    await expect((await world.user.vms.stop(vm.id)).result).rejects.toThrow(/injected/);
    expect((await world.cloud.vms.get(vm.id)).state).toBe('Running');
    expect(await accountingSnapshot(world.cloud, world.sim)).toEqual(before);

    world.sim.faults.failAlways('stopVm');
    const stopped = await (await world.cloud.vms.stop(vm.id, { forced: true })).result;
    expect(stopped).toMatchObject({ state: 'Stopped', hostId: null, lastHostId: vm.hostId });
    const cap = await world.cloud.capacity.hostCapacity(world.cloud.store.db, vm.hostId!);
    expect(cap).toMatchObject({ cpuUsed: 0, cpuReserved: 1000 });
    expect((await world.cloud.network.networks.listNics({ vmId: vm.id }))[0]?.state).toBe('Allocated');
  });

  it('migrate: migrateVm fails → Running on the source, destination capacity released', async () => {
    world = await vmWorld();
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const source = world.hosts.find((h) => h.id === vm.hostId)!;
    const dest = world.hosts.find((h) => h.id !== source.id && h.clusterId === source.clusterId)!;
    const before = await accountingSnapshot(world.cloud, world.sim);
    world.sim.faults.failNext('migrateVm', { vm: vm.instanceName });
    await expect((await world.cloud.vms.migrate(vm.id, dest.id)).result).rejects.toThrow(/injected/);
    expect(await world.cloud.vms.get(vm.id)).toMatchObject({ state: 'Running', hostId: source.id });
    expect(world.sim.inspect().vms[vm.instanceName]?.host).toBe(source.guid);
    const after = await accountingSnapshot(world.cloud, world.sim);
    expect(after.hostCapacity.find((h) => h.hostId === dest.id)).toBeUndefined();
    expect(after).toEqual(before);
  });

  it('expunge: deleteVolume fails → the VM stays Expunging and expungeDue finishes it', async () => {
    world = await vmWorld();
    const before = await accountingSnapshot(world.cloud, world.sim);
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const nic = (await world.cloud.network.networks.listNics({ vmId: vm.id }))[0]!;
    await (await world.user.vms.destroy(vm.id)).result;
    world.sim.faults.failNext('deleteVolume');
    await expect((await world.cloud.vms.expunge(vm.id)).result).rejects.toThrow(/injected/);
    expect((await world.cloud.vms.get(vm.id)).state).toBe('Expunging');
    const root = (await world.cloud.volumes.list({ instanceId: vm.id }))[0]!;
    expect(root.state).toBe('Destroy');
    expect(world.sim.inspect().volumes[root.uuid]).toBeDefined();

    const done = await world.cloud.vms.expungeDue();
    expect(done.map((v) => v.id)).toEqual([vm.id]);
    await expect(world.cloud.vms.get(vm.id)).rejects.toThrow(/not found/);
    expect(world.sim.inspect().volumes[root.uuid]).toBeUndefined();
    // Only the network the VM's start implemented (VLAN, source NAT) remains of it.
    const after = await accountingSnapshot(world.cloud, world.sim);
    const strip = (s: AccountingSnapshot) => ({
      ...s,
      networks: [],
      vlans: s.vlans.filter((v) => v.networkId !== nic.networkId),
      ips: s.ips.filter((ip) => ip.networkId !== nic.networkId),
      hostCapacity: s.hostCapacity.filter((h) => h.cpuUsed + h.cpuReserved + h.memoryUsed + h.memoryReserved > 0),
      poolCapacity: s.poolCapacity.filter((p) => p.allocatedBytes > 0),
    });
    expect(strip(after)).toEqual(strip(before));
  });
});
