import type { TemplateSpec } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, GiB, nfsPool, rootDisk, vmSpec } from './fixtures.js';

const template: TemplateSpec = {
  uuid: 'tmpl-debian',
  name: 'debian-12',
  url: 'nfs://10.0.0.5/secondary/template/tmpl/2/201/tmpl-debian.qcow2',
  format: 'qcow2',
  sizeBytes: 8 * GiB,
  physicalSizeBytes: 2 * GiB,
};
const secondary = { uuid: 'sec-1', url: 'nfs://10.0.0.5/secondary' };

describe('storage', () => {
  it('stages a template once per pool even with two concurrent requests', async () => {
    const sim = new SimulatorDriver({ latencyMs: { default: 0, copyTemplateToPrimary: 20 } });
    const h1 = await addHost(sim, 'sim://h1', 'c');
    const h2 = await addHost(sim, 'sim://h2', 'c');
    const pool = nfsPool('p1');
    await sim.createStoragePool(h1, pool);
    await sim.createStoragePool(h2, pool);

    const [a, b] = await Promise.all([
      sim.copyTemplateToPrimary(h1, template, pool),
      sim.copyTemplateToPrimary(h2, template, pool),
    ]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ templateUuid: 'tmpl-debian', poolUuid: 'p1', sizeBytes: 8 * GiB });
    expect(sim.log.entries('copyTemplateToPrimary').map((e) => e.note)).toEqual(['copied', 'already staged']);
    const state = sim.inspect();
    expect(state.pools.p1?.templates['tmpl-debian']?.copies).toBe(1);
    expect(state.pools.p1?.usedBytes).toBe(2 * GiB);
    // A second pool gets its own copy; a pool re-added on a host reports what it holds.
    const pool2 = nfsPool('p2');
    await sim.createStoragePool(h1, pool2);
    await sim.copyTemplateToPrimary(h1, template, pool2);
    expect(sim.log.entries('copyTemplateToPrimary').filter((e) => e.note === 'copied')).toHaveLength(2);
    expect((await sim.createStoragePool(h1, pool)).templates).toEqual(['tmpl-debian']);
  });

  it('clones a root volume from a staged template, only when the template is on that pool', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const spec = {
      uuid: 'root-1',
      name: 'ROOT-1',
      type: 'ROOT' as const,
      sizeBytes: GiB,
      format: 'qcow2' as const,
      pool,
    };
    await expect(
      sim.createVolume(host, spec, { fromTemplate: { templateUuid: template.uuid, path: template.uuid } }),
    ).rejects.toMatchObject({ driverCode: 'NotFound', scope: { kind: 'pool', ref: 'p1' } });
    const staged = await sim.copyTemplateToPrimary(host, template, pool);
    const vol = await sim.createVolume(host, spec, { fromTemplate: staged });
    expect(vol).toEqual({ uuid: 'root-1', poolUuid: 'p1', path: 'root-1', sizeBytes: 8 * GiB, format: 'qcow2' });
    await expect(sim.createVolume(host, spec, { fromTemplate: staged })).resolves.toEqual(vol);
  });

  it('refuses a pool type or disk format the impersonated hypervisor does not have', async () => {
    const sim = new SimulatorDriver({ type: 'XenServer' });
    const host = await addHost(sim, 'sim://x1');
    await expect(sim.createStoragePool(host, { ...nfsPool('p'), type: 'RBD' })).rejects.toMatchObject({
      driverCode: 'Unsupported',
    });
    const pool = nfsPool('p');
    await sim.createStoragePool(host, pool);
    await expect(
      sim.createVolume(host, { uuid: 'v', name: 'v', type: 'DATADISK', sizeBytes: GiB, format: 'qcow2', pool }),
    ).rejects.toMatchObject({ driverCode: 'Unsupported' });
    await sim.createVolume(host, { uuid: 'v', name: 'v', type: 'DATADISK', sizeBytes: GiB, format: 'vhd', pool });
  });

  it('creates a snapshot on primary, backs it up to secondary (freeing primary) and deletes it everywhere', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    await sim.createVolume(host, {
      uuid: 'v1',
      name: 'v1',
      type: 'DATADISK',
      sizeBytes: 4 * GiB,
      format: 'qcow2',
      pool,
    });

    const snap = await sim.createSnapshot(host, { uuid: 's1', name: 'daily', volume: { uuid: 'v1', pool } });
    expect(snap).toEqual({ uuid: 's1', path: 'v1/snapshots/s1', physicalSizeBytes: 4 * GiB });
    await expect(
      sim.createSnapshot(host, { uuid: 's1', name: 'daily', volume: { uuid: 'v1', pool } }),
    ).resolves.toEqual(snap);
    expect(sim.inspect().pools.p1?.usedBytes).toBe(8 * GiB);

    const ref = { uuid: 's1', volume: { uuid: 'v1', pool }, primaryPath: snap.path };
    const backup = await sim.backupSnapshot(host, ref, secondary);
    expect(backup).toEqual({
      store: secondary,
      path: 'snapshots/v1/s1.qcow2',
      physicalSizeBytes: 4 * GiB,
      removedFromPrimary: true,
    });
    let state = sim.inspect();
    expect(state.pools.p1?.usedBytes).toBe(4 * GiB);
    expect(state.snapshots.s1).toMatchObject({ primaryPool: null, backup: { store: 'sec-1', path: backup.path } });
    expect(Object.keys(state.secondary['sec-1']?.objects ?? {})).toEqual(['snapshots/v1/s1.qcow2']);
    // Backing up again is a success.
    await expect(sim.backupSnapshot(host, ref, secondary)).resolves.toMatchObject({ path: backup.path });

    // A volume and a template from the backed-up snapshot.
    const restored = await sim.createVolumeFromSnapshot(
      host,
      { ...ref, backup: { store: secondary, path: backup.path } },
      {
        uuid: 'v2',
        name: 'restored',
        type: 'DATADISK',
        sizeBytes: GiB,
        format: 'qcow2',
        pool,
      },
    );
    expect(restored).toMatchObject({ uuid: 'v2', sizeBytes: 4 * GiB });
    const tmpl = await sim.createTemplateFromSnapshot(host, ref, {
      uuid: 't-from-s1',
      name: 'golden',
      store: secondary,
    });
    expect(tmpl).toMatchObject({ path: 'template/tmpl/t-from-s1/t-from-s1.qcow2', sizeBytes: 4 * GiB });

    await sim.deleteSnapshot(host, ref);
    await sim.deleteSnapshot(host, ref);
    state = sim.inspect();
    expect(state.snapshots).toEqual({});
    expect(Object.keys(state.secondary['sec-1']?.objects ?? {})).toEqual(['template/tmpl/t-from-s1/t-from-s1.qcow2']);
    await expect(sim.backupSnapshot(host, ref, secondary)).rejects.toMatchObject({ driverCode: 'NotFound' });
  });

  it('keeps a backed-up snapshot on primary when asked, and chains snapshots on an incremental hypervisor', async () => {
    const sim = new SimulatorDriver({ type: 'XenServer' });
    const host = await addHost(sim, 'sim://x1');
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    await sim.createVolume(host, { uuid: 'v', name: 'v', type: 'DATADISK', sizeBytes: GiB, format: 'vhd', pool });
    await sim.createSnapshot(host, { uuid: 's1', name: 's1', volume: { uuid: 'v', pool } });
    const second = await sim.createSnapshot(host, { uuid: 's2', name: 's2', volume: { uuid: 'v', pool } });
    expect(second.parentUuid).toBe('s1');
    const kept = await sim.backupSnapshot(host, { uuid: 's1', volume: { uuid: 'v', pool } }, secondary, {
      keepOnPrimary: true,
    });
    expect(kept.removedFromPrimary).toBe(false);
    expect(sim.inspect().snapshots.s1?.primaryPool).toBe('p1');
  });

  it('refuses a template from the volume of a running VM', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const vol = await sim.createVolume(host, {
      uuid: 'r',
      name: 'r',
      type: 'ROOT',
      sizeBytes: GiB,
      format: 'qcow2',
      pool,
    });
    await sim.startVm(host, vmSpec('v', { disks: [rootDisk(vol, pool)] }));
    const target = { uuid: 't', name: 't', store: secondary };
    await expect(sim.createTemplateFromVolume(host, { uuid: 'r', pool }, target)).rejects.toMatchObject({
      driverCode: 'InvalidState',
    });
    await sim.stopVm(host, 'v');
    await expect(sim.createTemplateFromVolume(host, { uuid: 'r', pool }, target)).resolves.toMatchObject({
      format: 'qcow2',
      sizeBytes: GiB,
    });
  });

  it('will not remove a pool from a host while a running VM uses it', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    const pool = nfsPool('p1');
    await sim.createStoragePool(host, pool);
    const vol = await sim.createVolume(host, {
      uuid: 'r',
      name: 'r',
      type: 'ROOT',
      sizeBytes: GiB,
      format: 'qcow2',
      pool,
    });
    await sim.startVm(host, vmSpec('v', { disks: [rootDisk(vol, pool)] }));
    await expect(sim.deleteStoragePool(host, pool)).rejects.toMatchObject({ driverCode: 'InvalidState' });
    await sim.stopVm(host, 'v');
    await sim.deleteStoragePool(host, pool);
    await sim.deleteStoragePool(host, pool);
    expect(sim.inspect().pools[pool.uuid]?.hosts ?? []).not.toContain(host.guid);
  });
});
