import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { localImageStoreDriver } from '../../src/orchestration/image-store-driver-local.js';
import { nextSnapshotRun, parseSnapshotSchedule } from '../../src/orchestration/snapshots-schedule.js';
import { GiB, makeVm, type StorageWorld, storageServices, storageSnapshot, storageWorld } from './storage-world.js';

const worlds: StorageWorld[] = [];
afterEach(async () => {
  for (const w of worlds.splice(0)) {
    await w.server.stop();
    await w.cloud.close();
  }
});

async function world(options: Parameters<typeof storageWorld>[0] = {}) {
  const w = await storageWorld(options);
  worlds.push(w);
  return w;
}

async function readyTemplate(w: StorageWorld, name = 'tmpl') {
  const t = await w.cloud.templates.register({
    name,
    url: `http://images.example/${name}.qcow2?size=${2 * GiB}`,
    format: 'QCOW2',
    hypervisorType: 'Simulator',
    zoneId: w.zoneId,
  });
  const job = await w.templates.download(t.id);
  await job.result;
  return t;
}

describe('templates on secondary and primary storage', () => {
  it('downloads into every image store of the zone with progress and events, then is ready in the zone', async () => {
    const w = await world();
    const t = await w.cloud.templates.register({
      name: 'deb',
      url: 'http://images.example/deb.qcow2',
      format: 'QCOW2',
      hypervisorType: 'Simulator',
      zoneId: w.zoneId,
    });
    expect(await w.templates.isReadyInZone(t.id, w.zoneId)).toBe(false);
    const job = await w.templates.download(t.id);
    const refs = await job.result;
    expect(refs).toHaveLength(1);
    expect(refs[0]).toMatchObject({ state: 'Ready', downloadState: 'DOWNLOADED', downloadPercent: 100, size: 2 * GiB });
    expect(await w.templates.isReadyInZone(t.id, w.zoneId)).toBe(true);
    const types = (
      await w.cloud.context.db.selectFrom('events').select('type').where('resourceId', '=', t.id).execute()
    ).map((e) => e.type);
    expect(types).toContain('TEMPLATE.DOWNLOAD.START');
    expect(types).toContain('TEMPLATE.DOWNLOAD.PROGRESS');
    expect(types).toContain('TEMPLATE.DOWNLOAD.SUCCESS');
    expect((await w.jobs.get(job.id)).progress).toBe(100);
  });

  it('a failed download marks the copy Failed with TEMPLATE.DOWNLOAD.FAILED and a retry succeeds', async () => {
    const w = await world();
    const t = await w.cloud.templates.register({
      name: 'bad',
      url: 'http://images.example/bad.qcow2',
      format: 'QCOW2',
      hypervisorType: 'Simulator',
      zoneId: w.zoneId,
    });
    w.images.failNext('download', { atPercent: 50 });
    const job = await w.templates.download(t.id);
    await expect(job.result).rejects.toThrow(/download of bad failed/);
    const [ref] = await w.templates.storeRefs(t.id);
    expect(ref).toMatchObject({ state: 'Failed', downloadState: 'DOWNLOAD_ERROR' });
    expect(await w.templates.isReadyInZone(t.id, w.zoneId)).toBe(false);
    const failed = await w.cloud.context.db
      .selectFrom('events')
      .select('level')
      .where('type', '=', 'TEMPLATE.DOWNLOAD.FAILED')
      .execute();
    expect(failed).toEqual([{ level: 'ERROR' }]);
    await (await w.templates.download(t.id)).result;
    expect(await w.templates.isReadyInZone(t.id, w.zoneId)).toBe(true);
  });

  it('concurrent first uses of a template on a pool copy it once (the shared row serialises independent services)', async () => {
    const w = await world();
    const t = await readyTemplate(w);
    // A second service instance has its own in-process de-duplication, like another process would:
    // only the template_pool_refs row (unique + compare-and-set claim) keeps the copy single.
    const other = storageServices(w.cloud, w.images);
    const copies = await Promise.all([
      ...Array.from({ length: 4 }, () => w.templates.stageOnPool(t.id, w.poolId, { pollMs: 2 })),
      ...Array.from({ length: 4 }, () => other.templates.stageOnPool(t.id, w.poolId, { pollMs: 2 })),
    ]);
    expect(new Set(copies.map((c) => c.id)).size).toBe(1);
    expect(copies.every((c) => c.state === 'Ready')).toBe(true);
    expect(w.sim.inspect().operations.copyTemplateToPrimary).toEqual({ ok: 1, error: 0 });
  });

  it('a failed copy to primary leaves the pool copy Allocated and the next use copies again', async () => {
    const w = await world();
    const t = await readyTemplate(w);
    w.sim.faults.failNext('copyTemplateToPrimary');
    await expect(w.templates.stageOnPool(t.id, w.poolId)).rejects.toThrow(/injected/);
    const [ref] = await w.templates.poolRefs(t.id);
    expect(ref?.state).toBe('Allocated');
    expect((await w.templates.stageOnPool(t.id, w.poolId)).state).toBe('Ready');
  });

  it('deleting per zone removes the store copies, blocks new use, and keeps referenced pool copies', async () => {
    const w = await world();
    const t = await readyTemplate(w);
    const vm = await makeVm(w, { state: 'Stopped' });
    const root = await w.cloud.context.write((wr) =>
      w.volumes.allocateRootVolume(
        wr,
        { id: vm.id, accountId: 2, domainId: 1, zoneId: w.zoneId },
        { templateId: t.id, sizeBytes: 2 * GiB },
      ),
    );
    await w.volumes.createOnPool(root.id, { hostId: vm.hostId, poolId: w.poolId });
    const job = await w.templates.deleteFromZone(t.id, w.zoneId);
    expect(await job.result).toEqual({ removedTemplate: true });
    expect(await w.templates.storeRefs(t.id)).toEqual([]);
    expect(w.images.objects({ uuid: (await w.cloud.imageStores.get(w.storeId)).uuid }).size).toBe(0);
    expect((await w.templates.poolRefs(t.id)).map((r) => r.state)).toEqual(['Ready']);
    await expect(w.templates.stageOnPool(t.id, w.poolId)).rejects.toThrow();
  });
});

describe('volumes', () => {
  it('create writes a record only; first attach creates it on a pool the VM host reaches (hot-plug)', async () => {
    const w = await world();
    const vm = await makeVm(w, { state: 'Running' });
    const before = w.sim.inspect().operations.createVolume?.ok ?? 0;
    const v = await w.volumes.create({ name: 'data1', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    expect(v).toMatchObject({ state: 'Allocated', poolId: null, instanceId: null, size: 5 * GiB });
    // Built from what the insert wrote: equal to the stored record.
    expect(v).toEqual(await w.volumes.get(v.id));
    expect(w.sim.inspect().operations.createVolume?.ok ?? 0).toBe(before);
    await expect(w.snapshots.create(v.id)).rejects.toThrow(/only created volumes/);
    const attached = await (await w.volumes.attach(v.id, vm.id)).result;
    expect(attached).toMatchObject({
      state: 'Ready',
      poolId: w.poolId,
      instanceId: vm.id,
      deviceId: 1,
      hypervisorType: 'Simulator',
    });
    expect(w.sim.inspect().volumes[v.uuid]?.attachedTo).toBe(vm.name);
    const alloc = await w.cloud.context.db
      .selectFrom('storageAllocations')
      .selectAll()
      .where('volumeId', '=', v.id)
      .executeTakeFirst();
    expect(Number(alloc?.bytes)).toBe(5 * GiB);
  });

  it('device ids skip 3 (CD-ROM) and respect maxDataVolumesLimit', async () => {
    const w = await world();
    const vm = await makeVm(w, { state: 'Stopped', started: false });
    await w.cloud.capabilities.set('Simulator', 'default', { maxDataVolumesLimit: 3 });
    const first = await w.volumes.create({ name: 'd-cd', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    await expect(w.volumes.attach(first.id, vm.id, { deviceId: 3 })).rejects.toThrow(/reserved for the CD-ROM/);
    await w.volumes.delete(first.id);
    const devices: number[] = [];
    for (let i = 0; i < 3; i++) {
      const v = await w.volumes.create({ name: `d${i}`, zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
      devices.push(Number((await (await w.volumes.attach(v.id, vm.id)).result).deviceId));
    }
    expect(devices).toEqual([1, 2, 4]);
    const extra = await w.volumes.create({ name: 'd4', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    await expect(w.volumes.attach(extra.id, vm.id)).rejects.toThrow(/maxDataVolumesLimit 3/);
  });

  it('a failed create or a failed attach leaves records and pools exactly as before', async () => {
    const w = await world();
    const vm = await makeVm(w, { state: 'Running' });
    const v = await w.volumes.create({ name: 'data1', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    const before = await storageSnapshot(w);
    w.sim.faults.failNext('createVolume');
    await expect((await w.volumes.attach(v.id, vm.id)).result).rejects.toThrow(/injected/);
    expect(await storageSnapshot(w)).toEqual(before);
    w.sim.faults.failNext('attachVolume');
    await expect((await w.volumes.attach(v.id, vm.id)).result).rejects.toThrow(/injected/);
    expect(await storageSnapshot(w)).toEqual(before);
    expect((await (await w.volumes.attach(v.id, vm.id)).result).state).toBe('Ready');
  });

  it('detach, resize (grow only), migrate, delete, recover and expunge', async () => {
    const w = await world();
    const pool2 = await w.cloud.storagePools.create({
      clusterId: w.clusterId,
      name: 'ps2',
      url: 'nfs://10.0.0.6/export/ps2',
    });
    const vm = await makeVm(w, { state: 'Running' });
    const v = await w.volumes.create({ name: 'data1', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    await (await w.volumes.attach(v.id, vm.id)).result;
    await expect(Promise.resolve().then(() => w.volumes.delete(v.id))).rejects.toThrow(/detach it first/);
    const detached = await (await w.volumes.detach(v.id)).result;
    expect(detached).toMatchObject({ instanceId: null, deviceId: null, state: 'Ready', poolId: w.poolId });
    await expect(w.volumes.resize(v.id, 5)).rejects.toThrow(/only grow/);
    expect((await (await w.volumes.resize(v.id, 8)).result).size).toBe(8 * GiB);
    const moved = await (await w.volumes.migrate(v.id, pool2.id)).result;
    expect(moved.poolId).toBe(pool2.id);
    const alloc = await w.cloud.context.db
      .selectFrom('storageAllocations')
      .selectAll()
      .where('volumeId', '=', v.id)
      .executeTakeFirstOrThrow();
    expect([Number(alloc.poolId), Number(alloc.bytes)]).toEqual([pool2.id, 8 * GiB]);
    expect((await w.volumes.delete(v.id)).state).toBe('Destroy');
    expect(
      await w.cloud.context.db.selectFrom('storageAllocations').selectAll().where('volumeId', '=', v.id).execute(),
    ).toEqual([]);
    expect((await w.volumes.recover(v.id)).state).toBe('Ready');
    await w.volumes.delete(v.id);
    expect(await w.volumes.runStorageCleanup()).toMatchObject({ volumes: 0 });
    w.clock.t += 86_400_000 + 1;
    expect(await w.volumes.runStorageCleanup()).toMatchObject({ volumes: 1 });
    expect(w.sim.inspect().volumes[v.uuid]).toBeUndefined();
    await expect(w.volumes.get(v.id)).rejects.toThrow(/not found/);
  });

  it('account limits: max.account.volumes and max.account.primary.storage', async () => {
    const w = await world();
    const { account } = await w.cloud.tenancy.createAccount({
      accountName: 'alice',
      domainId: 1,
      type: 'NORMAL',
      user: { username: 'alice', password: 'pw-123456' },
    });
    await w.cloud.settings.set('max.account.volumes', 1);
    await w.volumes.create({ name: 'a1', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId, accountId: account.id });
    await expect(
      w.volumes.create({ name: 'a2', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId, accountId: account.id }),
    ).rejects.toThrow(/max.account.volumes/);
    await w.cloud.settings.set('max.account.volumes', 10);
    await w.cloud.settings.set('max.account.primary.storage', 7);
    await expect(
      w.volumes.create({ name: 'a3', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId, accountId: account.id }),
    ).rejects.toThrow(/max.account.primary.storage/);
  });

  it('VM hooks: ROOT from template staged on first use; destroy keeps data volumes detached', async () => {
    const w = await world();
    const t = await readyTemplate(w);
    const vm = await makeVm(w, { state: 'Stopped' });
    const owner = { id: vm.id, accountId: 2, domainId: 1, zoneId: w.zoneId };
    const { root, data } = await w.cloud.context.write(async (wr) => ({
      root: await w.volumes.allocateRootVolume(wr, owner, { templateId: t.id, sizeBytes: 2 * GiB }),
      data: await w.volumes.allocateDataVolume(wr, owner, { diskOfferingId: w.diskOfferingId }),
    }));
    expect([root.deviceId, data.deviceId]).toEqual([0, 1]);
    const created = await w.volumes.createOnPool(root.id, { hostId: vm.hostId, poolId: w.poolId });
    expect(created).toMatchObject({ state: 'Ready', poolId: w.poolId });
    expect((await w.templates.poolRefs(t.id))[0]?.state).toBe('Ready');
    await w.volumes.createForHost(data.id, vm.hostId);
    await w.cloud.context.write((wr) => w.volumes.destroyVmVolumes(wr, vm.id));
    expect((await w.volumes.get(root.id)).state).toBe('Destroy');
    expect(await w.volumes.get(data.id)).toMatchObject({ state: 'Ready', instanceId: null });
    await w.volumes.expungeVmVolumes(vm.id);
    await expect(w.volumes.get(root.id)).rejects.toThrow(/not found/);
  });
});

describe('snapshots', () => {
  async function readyVolume(w: StorageWorld, state: 'Running' | 'Stopped' = 'Running') {
    const vm = await makeVm(w, { state });
    const v = await w.volumes.create({ name: 'data1', zoneId: w.zoneId, diskOfferingId: w.diskOfferingId });
    await (await w.volumes.attach(v.id, vm.id)).result;
    return { vm, volume: await w.volumes.get(v.id) };
  }

  it('manual snapshot: created on primary, backed up to secondary; restore to a volume and a template; delete', async () => {
    const w = await world();
    const { volume } = await readyVolume(w);
    const snap = await (await w.snapshots.create(volume.id)).result;
    expect(snap).toMatchObject({ state: 'BackedUp', snapshotType: 'MANUAL', volumeActive: true });
    expect(snap.backupPath).toBeTruthy();
    expect((await w.volumes.get(volume.id)).state).toBe('Ready');
    const restored = await (await w.snapshots.createVolumeFromSnapshot(snap.id, { name: 'restored' })).result;
    expect(restored).toMatchObject({ state: 'Ready', volumeType: 'DATADISK', size: volume.size });
    const { templateId } = await (await w.snapshots.createTemplateFromSnapshot(snap.id, { name: 'from-snap' })).result;
    expect(await w.templates.isReadyInZone(templateId, w.zoneId)).toBe(true);
    expect((await w.cloud.templates.get(templateId)).isPublic).toBe(false);
    await (await w.snapshots.delete(snap.id)).result;
    await expect(w.snapshots.get(snap.id)).rejects.toThrow(/not found/);
  });

  it('a failed backup returns the snapshot to CreatedOnPrimary (retryable); a failed create ends in Error', async () => {
    const w = await world();
    const { volume } = await readyVolume(w);
    w.sim.faults.failNext('backupSnapshot');
    await expect((await w.snapshots.create(volume.id)).result).rejects.toThrow(/injected/);
    const [snap] = await w.snapshots.list({ volumeId: volume.id });
    expect(snap?.state).toBe('CreatedOnPrimary');
    expect((await w.snapshots.backup(Number(snap?.id))).state).toBe('BackedUp');
    w.sim.faults.failNext('createSnapshot');
    await expect((await w.snapshots.create(volume.id)).result).rejects.toThrow(/injected/);
    expect((await w.snapshots.list({ volumeId: volume.id, state: 'Error' })).length).toBe(1);
    expect((await w.volumes.get(volume.id)).state).toBe('Ready');
  });

  it('policies: upsert per interval, due runs with retention, one per interval, inactive-volume rule', async () => {
    const w = await world();
    const { vm, volume } = await readyVolume(w);
    const p = await w.snapshots.createPolicy({
      volumeId: volume.id,
      intervalType: 'HOURLY',
      schedule: '15',
      timezone: 'Europe/Paris',
      maxSnaps: 2,
    });
    const again = await w.snapshots.createPolicy({
      volumeId: volume.id,
      intervalType: 'HOURLY',
      schedule: '30',
      timezone: 'Europe/Paris',
      maxSnaps: 2,
    });
    expect(again.id).toBe(p.id);
    expect(await w.snapshots.listPolicies(volume.id)).toHaveLength(1);
    await expect(
      w.snapshots.createPolicy({
        volumeId: volume.id,
        intervalType: 'DAILY',
        schedule: '30:02',
        timezone: 'Europe/Paris',
        maxSnaps: 9,
      }),
    ).rejects.toThrow(/snapshot.max.daily/);
    expect((await w.snapshots.runDueSnapshotPolicies()).taken).toEqual([]);
    const runs: number[][] = [];
    for (let i = 0; i < 3; i++) {
      w.clock.t = (await w.snapshots.listPolicies(volume.id))[0]!.nextRun.getTime();
      const report = await w.snapshots.runDueSnapshotPolicies();
      runs.push(report.taken);
      // A second pass at the same instant takes nothing more (one per interval).
      expect((await w.snapshots.runDueSnapshotPolicies()).taken).toEqual([]);
    }
    expect(runs.every((r) => r.length === 1)).toBe(true);
    expect((await w.snapshots.list({ policyId: p.id })).length).toBe(2);
    // The VM stops: one more snapshot covers the moment it went inactive, then runs are skipped.
    await w.cloud.context.db
      .updateTable('vmInstances')
      .set({ state: 'Stopped', hostId: null })
      .where('id', '=', vm.id)
      .execute();
    w.clock.t = (await w.snapshots.listPolicies(volume.id))[0]!.nextRun.getTime();
    const first = await w.snapshots.runDueSnapshotPolicies();
    expect(first.taken).toHaveLength(1);
    w.clock.t = (await w.snapshots.listPolicies(volume.id))[0]!.nextRun.getTime();
    const second = await w.snapshots.runDueSnapshotPolicies();
    expect(second).toMatchObject({ taken: [], skippedInactive: [p.id] });
    // Manual snapshots ignore the rule.
    expect((await (await w.snapshots.create(volume.id)).result).volumeActive).toBe(false);
    // Deleting the volume removes its policies but keeps its snapshots.
    await (await w.volumes.detach(volume.id)).result;
    await w.volumes.delete(volume.id);
    expect(await w.snapshots.listPolicies(volume.id)).toEqual([]);
    expect((await w.snapshots.list({ volumeId: volume.id })).length).toBeGreaterThan(0);
  });

  it('schedules are evaluated in the policy time zone', () => {
    const after = Date.UTC(2024, 2, 30, 12, 0); // Sat 30 Mar 2024, Paris switches to CEST on Sun 31 Mar
    expect(
      new Date(nextSnapshotRun('DAILY', parseSnapshotSchedule('DAILY', '30:02'), 'Europe/Paris', after)).toISOString(),
    ).toBe('2024-03-31T01:30:00.000Z');
    expect(
      new Date(
        nextSnapshotRun('WEEKLY', parseSnapshotSchedule('WEEKLY', '00:09:2'), 'America/New_York', after),
      ).toISOString(),
    ).toBe('2024-04-01T13:00:00.000Z');
    expect(
      new Date(nextSnapshotRun('MONTHLY', parseSnapshotSchedule('MONTHLY', '05:00:28'), 'UTC', after)).toISOString(),
    ).toBe('2024-04-28T00:05:00.000Z');
    expect(
      new Date(nextSnapshotRun('HOURLY', parseSnapshotSchedule('HOURLY', '15'), 'Asia/Kolkata', after)).toISOString(),
    ).toBe('2024-03-30T12:45:00.000Z');
    expect(() => parseSnapshotSchedule('MONTHLY', '00:00:29')).toThrow(/day of month/);
  });
});

describe('localImageStoreDriver', () => {
  it('downloads over http into the store directory with progress, verifies checksums, stats and deletes', async () => {
    const body = Buffer.alloc(256 * 1024, 7);
    const server = createServer((req, res) => {
      if (req.url === '/missing') {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.setHeader('content-length', String(body.length));
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const root = await mkdtemp(join(tmpdir(), 'stratus-ss-'));
    try {
      const driver = localImageStoreDriver({ root });
      const store = { uuid: 'store-1', url: 'nfs://10.0.0.9/export/secondary' };
      const percents: number[] = [];
      const sha = createHash('sha256').update(body).digest('hex');
      const obj = await driver.download(
        store,
        {
          uuid: 't1',
          kind: 'template',
          url: `http://127.0.0.1:${port}/t1.qcow2`,
          extension: 'qcow2',
          checksum: `sha256:${sha}`,
        },
        { onProgress: (p) => percents.push(p) },
      );
      expect(obj).toMatchObject({
        path: 'template/tmpl/t1/t1.qcow2',
        sizeBytes: body.length,
        checksum: `sha256:${sha}`,
      });
      expect(percents.at(-1)).toBe(100);
      expect(percents.length).toBeGreaterThan(1);
      expect((await readFile(join(root, 'store-1', obj.path))).equals(body)).toBe(true);
      expect(await driver.stat(store, obj.path)).toMatchObject({ sizeBytes: body.length });
      await expect(
        driver.download(store, {
          uuid: 't2',
          kind: 'template',
          url: `http://127.0.0.1:${port}/t2.qcow2`,
          extension: 'qcow2',
          checksum: 'md5:00000000000000000000000000000000',
        }),
      ).rejects.toThrow(/checksum mismatch/);
      expect(await driver.stat(store, 'template/tmpl/t2/t2.qcow2')).toBeNull();
      await expect(
        driver.download(store, { uuid: 't3', kind: 'iso', url: `http://127.0.0.1:${port}/missing`, extension: 'iso' }),
      ).rejects.toThrow(/HTTP 404/);
      await driver.delete(store, obj.path);
      expect(await driver.stat(store, obj.path)).toBeNull();
      await driver.delete(store, obj.path);
    } finally {
      server.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
