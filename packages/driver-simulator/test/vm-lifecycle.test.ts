import type { HostRef } from '@stratus/core';
import { beforeEach, describe, expect, it } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, GiB, nfsPool, nic, rootDisk, vmSpec } from './fixtures.js';

describe('VM lifecycle', () => {
  let sim: SimulatorDriver;
  let host: HostRef;

  beforeEach(async () => {
    sim = new SimulatorDriver();
    host = await addHost(sim, 'sim://h1');
  });

  it('start → running, stop → stopped, destroy → missing, as ping and getVmState see it', async () => {
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const vol = await sim.createVolume(host, {
      uuid: 'vol-root',
      name: 'ROOT-1',
      type: 'ROOT',
      sizeBytes: 10 * GiB,
      format: 'qcow2',
      pool,
    });
    const spec = vmSpec('i-2-1-VM', { disks: [rootDisk(vol, pool)], nics: [nic(0, 100)] });

    const { console } = await sim.startVm(host, spec);
    expect(console).toEqual({ protocol: 'vnc', host: host.ip, port: 5900, password: 'secret' });
    expect(await sim.getVmState(host, 'i-2-1-VM')).toBe('running');
    expect((await sim.ping(host)).vmStates).toEqual({ 'i-2-1-VM': { powerState: 'PowerOn', host: host.guid } });
    expect(sim.inspect().volumes['vol-root']?.attachedTo).toBe('i-2-1-VM');

    await sim.rebootVm(host, 'i-2-1-VM');
    expect(await sim.getVmState(host, 'i-2-1-VM')).toBe('running');

    await sim.stopVm(host, 'i-2-1-VM');
    expect(await sim.getVmState(host, 'i-2-1-VM')).toBe('stopped');
    expect((await sim.ping(host)).vmStates['i-2-1-VM']?.powerState).toBe('PowerOff');
    await expect(sim.rebootVm(host, 'i-2-1-VM')).rejects.toMatchObject({ driverCode: 'InvalidState' });

    // Disks survive stop; start again reuses the definition.
    await sim.startVm(host, spec);
    expect(await sim.getVmState(host, 'i-2-1-VM')).toBe('running');

    await sim.destroyVm(host, 'i-2-1-VM');
    expect(await sim.getVmState(host, 'i-2-1-VM')).toBe('missing');
    expect((await sim.ping(host)).vmStates).toEqual({});
    // The volume stays (core deletes it separately) and is free again.
    expect(sim.inspect().volumes['vol-root']?.attachedTo).toBeNull();
    await sim.deleteVolume(host, { uuid: 'vol-root', pool });
    expect(sim.inspect().volumes['vol-root']).toBeUndefined();
  });

  it('is idempotent: start/stop/destroy/delete repeated are successes', async () => {
    const spec = vmSpec('i-2-2-VM');
    await sim.startVm(host, spec);
    await sim.startVm(host, structuredClone(spec));
    await sim.stopVm(host, 'i-2-2-VM');
    await sim.stopVm(host, 'i-2-2-VM');
    await sim.stopVm(host, 'never-existed');
    await sim.destroyVm(host, 'i-2-2-VM');
    await sim.destroyVm(host, 'i-2-2-VM');
    await sim.deleteVolume(host, { uuid: 'no-such-volume', pool: { uuid: 'p', type: 'NetworkFilesystem' } });
    await sim.deleteSnapshot(host, { uuid: 'no-such-snap', volume: { uuid: 'v', pool: { uuid: 'p', type: 'NFS' } } });
    expect(sim.log.entries('stopVm').map((e) => e.note)).toEqual([undefined, 'already stopped', 'not on host']);
  });

  it('start with the same name but a different spec while running is AlreadyExists', async () => {
    await sim.startVm(host, vmSpec('i-2-3-VM'));
    await expect(sim.startVm(host, vmSpec('i-2-3-VM', { cpus: 4 }))).rejects.toMatchObject({
      driverCode: 'AlreadyExists',
    });
    // Stopped, the definition is updated instead.
    await sim.stopVm(host, 'i-2-3-VM');
    await sim.startVm(host, vmSpec('i-2-3-VM', { cpus: 4 }));
    expect(sim.inspect().vms['i-2-3-VM']?.spec.cpus).toBe(4);
  });

  it('createVolume with the same uuid: same spec is success, a different spec AlreadyExists', async () => {
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const spec = {
      uuid: 'v1',
      name: 'DATA-1',
      type: 'DATADISK' as const,
      sizeBytes: GiB,
      format: 'qcow2' as const,
      pool,
    };
    const first = await sim.createVolume(host, spec);
    await expect(sim.createVolume(host, spec)).resolves.toEqual(first);
    await expect(sim.createVolume(host, { ...spec, sizeBytes: 2 * GiB })).rejects.toMatchObject({
      driverCode: 'AlreadyExists',
      scope: { kind: 'pool', ref: 'p1' },
    });
    expect(sim.inspect().pools.p1?.usedBytes).toBe(GiB);
  });

  it('a graceful stop of a guest that ignores ACPI waits timeoutMs, then pulls the cord; force does not wait', async () => {
    await sim.startVm(host, vmSpec('i-2-4-VM'));
    sim.setGuestIgnoresShutdown('i-2-4-VM');
    const t0 = performance.now();
    await sim.stopVm(host, 'i-2-4-VM', { timeoutMs: 30 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(await sim.getVmState(host, 'i-2-4-VM')).toBe('stopped');

    await sim.startVm(host, vmSpec('i-2-4-VM'));
    const t1 = performance.now();
    await sim.stopVm(host, 'i-2-4-VM', { force: true, timeoutMs: 10_000 });
    expect(performance.now() - t1).toBeLessThan(1000);
  });

  it('reports VMs core expects but the host lacks as PowerReportMissing, and foreign VMs as they are', async () => {
    sim.defineForeignVm(host.guid, 'not-ours');
    const report = await sim.ping(host, { expectedVms: ['i-9-9-VM'] });
    expect(report.vmStates).toEqual({
      'not-ours': { powerState: 'PowerOn', host: host.guid },
      'i-9-9-VM': { powerState: 'PowerReportMissing', host: host.guid },
    });
    await expect(sim.startVm(host, vmSpec('not-ours'))).rejects.toMatchObject({ driverCode: 'AlreadyExists' });
  });

  it('attaches and detaches data volumes and ISOs', async () => {
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const data = await sim.createVolume(host, {
      uuid: 'data1',
      name: 'DATA',
      type: 'DATADISK',
      sizeBytes: GiB,
      format: 'qcow2',
      pool,
    });
    await sim.startVm(host, vmSpec('i-2-5-VM'));
    const disk = { ...rootDisk(data, pool), type: 'DATADISK' as const, deviceId: 1 };
    await sim.attachVolume(host, 'i-2-5-VM', disk);
    await sim.attachVolume(host, 'i-2-5-VM', disk);
    expect(sim.inspect().volumes.data1?.attachedTo).toBe('i-2-5-VM');
    await expect(sim.deleteVolume(host, { uuid: 'data1', pool })).rejects.toMatchObject({ driverCode: 'InvalidState' });
    await sim.detachVolume(host, 'i-2-5-VM', disk);
    await sim.detachVolume(host, 'i-2-5-VM', disk);
    expect(sim.inspect().volumes.data1?.attachedTo).toBeNull();

    const iso = {
      volumeUuid: 'iso-1',
      type: 'ISO' as const,
      deviceId: 3,
      path: 'nfs://10.0.0.5/secondary/iso/1.iso',
      format: 'iso' as const,
      sizeBytes: GiB,
      readOnly: true,
    };
    await sim.attachIso(host, 'i-2-5-VM', iso);
    await sim.attachIso(host, 'i-2-5-VM', iso);
    await expect(sim.attachIso(host, 'i-2-5-VM', { ...iso, volumeUuid: 'iso-2' })).rejects.toMatchObject({
      driverCode: 'AlreadyExists',
    });
    await sim.detachIso(host, 'i-2-5-VM', iso);
    expect(sim.inspect().vms['i-2-5-VM']?.spec.disks).toEqual([]);
  });
});
