import { DriverError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, GiB, nfsPool, nic, rootDisk, vmSpec } from './fixtures.js';

describe('capacity', () => {
  it('refuses a VM that does not fit the host memory (sum of running maxRamBytes) with InsufficientCapacity scoped to the host', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://small?memoryMiB=8192&reservedMemoryMiB=1024');
    await sim.startVm(host, vmSpec('a', { maxRamBytes: 4 * GiB }));
    await sim.startVm(host, vmSpec('b', { maxRamBytes: 3 * GiB })); // 1 + 4 + 3 = 8 GiB: exactly full
    const error = await sim.startVm(host, vmSpec('c', { minRamBytes: GiB, maxRamBytes: GiB })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({
      driverCode: 'InsufficientCapacity',
      httpCode: 533,
      scope: { kind: 'host', ref: host.guid },
    });
    // Stopped VMs do not count.
    await sim.stopVm(host, 'b');
    await sim.startVm(host, vmSpec('c', { minRamBytes: GiB, maxRamBytes: GiB }));
    expect(sim.inspect().hosts[host.guid]?.usedMemoryBytes).toBe(6 * GiB);
    // Nothing was changed by the refused start.
    expect(sim.log.count('startVm', 'error')).toBe(1);
  });

  it('refuses more vCPUs than the host has', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h?cpus=4');
    await expect(sim.startVm(host, vmSpec('big', { cpus: 8 }))).rejects.toMatchObject({
      driverCode: 'InsufficientCapacity',
    });
  });

  it('refuses volumes, templates and snapshots that do not fit the pool with InsufficientCapacity scoped to the pool', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h');
    const pool = nfsPool('small-pool', 10 * GiB);
    await expect(sim.createStoragePool(host, pool)).resolves.toEqual({
      capacityBytes: 10 * GiB,
      availableBytes: 10 * GiB,
      templates: [],
    });
    const base = { name: 'v', type: 'DATADISK' as const, format: 'qcow2' as const, pool };
    await sim.createVolume(host, { ...base, uuid: 'v1', sizeBytes: 6 * GiB });
    await expect(sim.createVolume(host, { ...base, uuid: 'v2', sizeBytes: 5 * GiB })).rejects.toMatchObject({
      driverCode: 'InsufficientCapacity',
      scope: { kind: 'pool', ref: 'small-pool' },
    });
    await expect(
      sim.createSnapshot(host, { uuid: 's1', name: 's', volume: { uuid: 'v1', pool } }),
    ).rejects.toMatchObject({
      driverCode: 'InsufficientCapacity',
      scope: { kind: 'pool', ref: 'small-pool' },
    });
    expect(await sim.createStoragePool(host, pool)).toMatchObject({
      capacityBytes: 10 * GiB,
      availableBytes: 4 * GiB,
    });
    await sim.deleteVolume(host, { uuid: 'v1', pool });
    await sim.createVolume(host, { ...base, uuid: 'v2', sizeBytes: 5 * GiB });
  });

  it('uses the pools.capacityBytes option as the default pool size', async () => {
    const sim = new SimulatorDriver({ pools: { capacityBytes: 100 * GiB } });
    const host = await addHost(sim, 'sim://h');
    expect((await sim.createStoragePool(host, nfsPool('p'))).capacityBytes).toBe(100 * GiB);
  });

  it('grows volumes but refuses to shrink them', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h');
    const pool = nfsPool('p');
    await sim.createStoragePool(host, pool);
    await sim.createVolume(host, { uuid: 'v', name: 'v', type: 'DATADISK', sizeBytes: GiB, format: 'qcow2', pool });
    await expect(sim.resizeVolume(host, { uuid: 'v', pool }, 2 * GiB)).resolves.toMatchObject({ sizeBytes: 2 * GiB });
    await expect(sim.resizeVolume(host, { uuid: 'v', pool }, GiB)).rejects.toMatchObject({ driverCode: 'Unsupported' });
  });
});

describe('migration', () => {
  async function cluster(sim: SimulatorDriver) {
    const a = await addHost(sim, 'sim://a', 'cluster-1');
    const b = await addHost(sim, 'sim://b', 'cluster-1');
    const other = await addHost(sim, 'sim://c', 'cluster-2');
    const pool = nfsPool('shared');
    await sim.createStoragePool(a, pool);
    await sim.createStoragePool(b, pool);
    const vol = await sim.createVolume(a, {
      uuid: 'root',
      name: 'ROOT',
      type: 'ROOT',
      sizeBytes: GiB,
      format: 'qcow2',
      pool,
    });
    const spec = vmSpec('i-1-1-VM', { disks: [rootDisk(vol, pool)], nics: [nic(0, 200)] });
    await sim.startVm(a, spec);
    return { a, b, other, pool, spec };
  }

  it('live-migrates inside a cluster after prepareMigration, moving the VIFs', async () => {
    const sim = new SimulatorDriver();
    const { a, b, spec } = await cluster(sim);
    await expect(sim.migrateVm(a, spec.name, b)).rejects.toMatchObject({
      driverCode: 'InvalidState',
      message: expect.stringContaining('prepareMigration'),
    });
    await sim.prepareMigration(b, spec);
    await expect(sim.migrateVm(a, spec.name, b)).resolves.toEqual({ hostGuid: b.guid });
    const state = sim.inspect();
    expect(state.vms[spec.name]?.host).toBe(b.guid);
    expect(state.hosts[a.guid]?.networks).toEqual({});
    expect(state.hosts[b.guid]?.networks['brcloudbr1-200']?.vifs).toEqual([`${spec.name}#0`]);
    expect((await sim.ping(b)).vmStates[spec.name]?.powerState).toBe('PowerOn');
    expect((await sim.ping(a)).vmStates).toEqual({});
    // A retry after a timeout is safe.
    await expect(sim.migrateVm(a, spec.name, b)).resolves.toEqual({ hostGuid: b.guid });
  });

  it('refuses a destination outside the cluster with InvalidState', async () => {
    const sim = new SimulatorDriver();
    const { a, other, spec } = await cluster(sim);
    await expect(sim.migrateVm(a, spec.name, other)).rejects.toMatchObject({
      driverCode: 'InvalidState',
      scope: { kind: 'host', ref: other.guid },
    });
  });

  it('refuses a destination that does not see the VM storage (local storage)', async () => {
    const sim = new SimulatorDriver();
    const a = await addHost(sim, 'sim://a?localStorageGiB=100', 'c1');
    const b = await addHost(sim, 'sim://b', 'c1');
    const local = sim.inspect().hosts[a.guid];
    const localPool = Object.values(sim.inspect().pools).find((p) => p.localTo === local?.guid);
    if (localPool === undefined) throw new Error('no local pool');
    const poolSpec = { uuid: localPool.uuid, name: localPool.name, type: localPool.type, path: localPool.path };
    await sim.createStoragePool(a, poolSpec);
    await expect(sim.createStoragePool(b, poolSpec)).rejects.toMatchObject({ driverCode: 'InvalidState' });
    const vol = await sim.createVolume(a, {
      uuid: 'r',
      name: 'r',
      type: 'ROOT',
      sizeBytes: GiB,
      format: 'qcow2',
      pool: poolSpec,
    });
    await sim.startVm(a, vmSpec('vm', { disks: [rootDisk(vol, poolSpec)] }));
    await expect(sim.migrateVm(a, 'vm', b)).rejects.toMatchObject({ driverCode: 'InvalidState' });
  });

  it('refuses live migration when the capability is off', async () => {
    const sim = new SimulatorDriver({ capabilities: { liveMigration: false } });
    const { a, b, spec } = await cluster(sim);
    await sim.prepareMigration(b, spec);
    await expect(sim.migrateVm(a, spec.name, b)).rejects.toMatchObject({ driverCode: 'Unsupported', httpCode: 432 });
  });

  it('migrates a volume to another pool', async () => {
    const sim = new SimulatorDriver();
    const { a, pool } = await cluster(sim);
    const target = nfsPool('target');
    await sim.createStoragePool(a, target);
    await sim.createVolume(a, { uuid: 'd', name: 'd', type: 'DATADISK', sizeBytes: GiB, format: 'qcow2', pool });
    await expect(sim.migrateVolume(a, { uuid: 'd', pool }, target)).resolves.toMatchObject({ poolUuid: 'target' });
    const state = sim.inspect();
    expect(state.pools.target?.usedBytes).toBe(GiB);
    expect(state.pools.shared?.usedBytes).toBe(GiB); // only the root disk is left
  });
});
