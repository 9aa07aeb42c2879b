import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verticalAllocator } from '@stratus/allocator';
import { simulatedImageStore } from '@stratus/driver-simulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { Allocator } from '../../src/allocation/allocator-contract.js';
import { CapacityConflictError } from '../../src/allocation/placement-error.js';
import { createCloud } from '../../src/cloud.js';
import type { Host } from '../../src/model/records.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { type VmWorld, vmWorld } from './vm-world.js';

/** Deploys one small VM for the world's user and returns the host it runs on. */
async function deployOne(world: VmWorld, offeringId = world.small.id): Promise<Host> {
  const vm = await world.user.vms.deployAndWait({
    zoneId: world.zone.id,
    serviceOfferingId: offeringId,
    templateId: world.template.id,
  });
  expect(vm.state).toBe('Running');
  return world.cloud.hosts.get(vm.hostId!);
}

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('placement follows the store (one process)', () => {
  it('a host disabled, put in maintenance, or whose cluster or pod is disabled after the first deployment takes no VM', async () => {
    const world = await vmWorld({ clusters: 2, hostsPerCluster: 2 });
    cleanups.push(() => world.cloud.close());
    const [a1, a2, b1, b2] = world.hosts as [Host, Host, Host, Host];
    expect((await deployOne(world)).id).toBe(a1.id); // vertical fills the first host first; the index is loaded

    await world.cloud.hosts.disable(a1.id);
    expect((await deployOne(world)).id).toBe(a2.id);

    await world.cloud.hosts.prepareForMaintenance(b1.id);
    await world.cloud.clusters.update(a2.clusterId, { allocationState: 'Disabled' });
    expect((await deployOne(world)).id).toBe(b2.id);

    const pod = (await world.cloud.pods.list({ zoneId: world.zone.id }))[0]!;
    await world.cloud.pods.update(pod.id, { allocationState: 'Disabled' });
    await expect(deployOne(world)).rejects.toMatchObject({ httpCode: 533 });

    await world.cloud.pods.update(pod.id, { allocationState: 'Enabled' });
    await world.cloud.hosts.enable(a1.id);
    expect((await deployOne(world)).id).toBe(b2.id); // b2 (used, vertical) before the empty a1? both fit: any Enabled one
  });

  it('a host added later to an existing cluster mounts the cluster pool and takes VMs; a new cluster with its pool too', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    cleanups.push(() => world.cloud.close());
    const [first] = world.hosts as [Host];
    await deployOne(world);

    const [added] = await world.cloud.hosts.add({
      clusterId: first.clusterId,
      url: 'sim://late?ip=192.168.10.99&cpus=8&cpuMhz=2000&memoryMiB=16384',
    });
    const pool = world.pools[0]!;
    expect(world.sim.inspect().pools[pool.uuid]!.hosts).toContain(added!.guid);
    await world.cloud.hosts.disable(first.id);
    expect((await deployOne(world)).id).toBe(added!.id);

    // A new cluster (its own host and pool) while the others are full or disabled.
    await world.cloud.hosts.disable(added!.id);
    const cluster = await world.cloud.clusters.create({
      podId: first.podId,
      name: 'late-cluster',
      hypervisorType: 'Simulator',
    });
    const [late] = await world.cloud.hosts.add({
      clusterId: cluster.id,
      url: 'sim://late2?ip=192.168.10.98&cpus=8&cpuMhz=2000&memoryMiB=16384',
    });
    await expect(deployOne(world)).rejects.toMatchObject({ httpCode: 533 }); // no pool in that cluster yet
    await world.cloud.storagePools.create({
      clusterId: cluster.id,
      name: 'late-ps',
      url: 'nfs://10.0.0.5/export/late',
    });
    expect((await deployOne(world)).id).toBe(late!.id);
  });

  it('a reconnected host mounts its cluster pools again', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    cleanups.push(() => world.cloud.close());
    const [h1] = world.hosts as [Host, Host];
    const mounts = () => world.sim.log.counts().createStoragePool?.ok ?? 0;
    const before = mounts();
    await world.cloud.hosts.reconnect(h1.id);
    expect(mounts()).toBe(before + 1);
    expect(world.sim.inspect().pools[world.pools[0]!.uuid]!.hosts).toContain(h1.guid);
    expect((await world.cloud.hosts.get(h1.id)).status).toBe('Up');
  });

  it('changed host tags, over-provisioning factors and thresholds are seen by the next placement', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    cleanups.push(() => world.cloud.close());
    const [h1, h2] = world.hosts as [Host, Host];
    const gpu = await world.cloud.offerings.createServiceOffering({
      name: 'gpu',
      cpuNumber: 1,
      cpuSpeed: 1000,
      memory: 1024,
      hostTag: 'gpu',
    });
    await deployOne(world);
    await expect(deployOne(world, gpu.id)).rejects.toMatchObject({ httpCode: 533 });
    await world.cloud.hosts.update(h2.id, { hostTags: 'gpu' });
    expect((await deployOne(world, gpu.id)).id).toBe(h2.id);

    // CPU-bound VMs on h1 (8 × 2000 MHz): small (1,000 MHz) + 8,000 fits, another 8,000 does not
    // at ratio 1.
    await world.cloud.hosts.disable(h2.id);
    const cpu = await world.cloud.offerings.createServiceOffering({
      name: 'cpu',
      cpuNumber: 4,
      cpuSpeed: 2000,
      memory: 1024,
    });
    expect((await deployOne(world, cpu.id)).id).toBe(h1.id);
    await expect(deployOne(world, cpu.id)).rejects.toMatchObject({ httpCode: 533 });
    await world.cloud.clusters.update(h1.clusterId, { cpuOvercommitRatio: 2 });
    expect((await deployOne(world, cpu.id)).id).toBe(h1.id); // 17,000 of 32,000 MHz over-provisioned

    // 25,000 of 32,000 MHz after the next one: refused under a threshold of 0.5, accepted at the default 0.85.
    await world.cloud.settings.set('cluster.cpu.allocated.capacity.disablethreshold', 0.5, {
      clusterId: h1.clusterId,
    });
    await expect(deployOne(world, cpu.id)).rejects.toMatchObject({ httpCode: 533 });
    await world.cloud.settings.reset('cluster.cpu.allocated.capacity.disablethreshold', { clusterId: h1.clusterId });
    expect((await deployOne(world, cpu.id)).id).toBe(h1.id);
  });

  it('whatever the allocator believes, the booking refuses a host that cannot take VMs, and the planner re-plans', async () => {
    // An allocator that proposes the disabled host until it is avoided (a stale or careless index).
    let disabled: Host | undefined;
    const vertical = verticalAllocator();
    const careless: Allocator = {
      name: 'careless',
      hostAllocator: vertical.hostAllocator,
      storagePoolAllocator: vertical.storagePoolAllocator,
      planner: vertical.planner,
      place(state, vm, plan) {
        const placement = vertical.place(state, vm, plan);
        if (disabled === undefined || plan.avoid?.isHostAvoided(disabled)) return placement;
        return { ...placement, destination: { ...placement.destination, hostId: disabled.id } };
      },
    };
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 2, allocator: careless });
    cleanups.push(() => world.cloud.close());
    const [h1, h2] = world.hosts as [Host, Host];
    disabled = await world.cloud.hosts.disable(h1.id);
    expect((await deployOne(world)).id).toBe(h2.id);

    // The store's own check, directly.
    const vm = (await world.user.vms.list())[0]!;
    await expect(
      world.cloud.context.write((w) =>
        world.cloud.capacity.bookStart(w, {
          vmId: vm.id + 1000,
          accountId: world.account.id,
          hostId: h1.id,
          demand: { cpu: 1000, memory: 2 ** 30, cores: 1, speed: 1000 },
        }),
      ),
    ).rejects.toSatisfy((e) => e instanceof CapacityConflictError && e.reason === 'HOST_DISABLED');
  });
});

describe('placement follows the store (two control planes on one SQLite file)', () => {
  it('a change made by the other control plane is seen by the next placement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratus-coherence-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cloud.db');
    const world = await vmWorld({ store: sqliteStore({ file }), clusters: 1, hostsPerCluster: 2 });
    cleanups.push(() => world.cloud.close());
    const other = await createCloud({
      store: sqliteStore({ file }),
      hypervisors: [world.sim],
      allocator: verticalAllocator(),
      imageStore: simulatedImageStore(),
    });
    cleanups.push(() => other.close());
    const [h1, h2] = world.hosts as [Host, Host];
    expect((await deployOne(world)).id).toBe(h1.id);

    await other.hosts.disable(h1.id);
    expect((await deployOne(world)).id).toBe(h2.id);

    const [added] = await other.hosts.add({
      clusterId: h1.clusterId,
      url: 'sim://third?ip=192.168.10.77&cpus=8&cpuMhz=2000&memoryMiB=16384',
    });
    await other.hosts.disable(h2.id);
    expect((await deployOne(world)).id).toBe(added!.id);
  });
});
