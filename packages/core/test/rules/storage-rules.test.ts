import { randomUUID } from 'node:crypto';
import { simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, cluster, host, openCloud, pod, zoneWithHost, zoneWithPool } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §3, §5, §13; spec/storage.md §2 — primary and secondary storage. */
describe('primary storage rules', () => {
  it('a cluster takes primary storage only once it has a host', async () => {
    const cloud = await openCloud();
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id);
    await expectRejected(
      cloud,
      () => cloud.storagePools.create({ clusterId: c.id, name: 'ps1', url: 'nfs://10.0.0.5/export/ps1' }),
      { error: InvalidStateError, code: 'INVALID_STATE', httpCode: 431, field: 'clusterId', value: c.id },
    );
  });

  it("the pool type is one the cluster's hypervisor can use", async () => {
    const cloud = await openCloud([simulatorDriver({ type: 'KVM' })]);
    const { cluster: c } = await zoneWithHost(cloud, 'KVM');
    // KVM mounts NFS, SharedMountPoint, CLVM, RBD, Gluster — not a XenServer SR nor a VMFS datastore.
    for (const url of [
      'presetup:///sr-primary',
      'vmfs:///dc1/datastore1',
      'iscsi://10.0.0.7/iqn.2010-01.com.example:storage/1',
    ]) {
      await expectRejected(
        cloud,
        () => cloud.storagePools.create({ clusterId: c.id, name: 'ps1', url }),
        invalid('url', url),
      );
    }
  });

  it('zone-wide primary storage only for hypervisors that support it', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () =>
        cloud.storagePools.create({
          scope: 'ZONE',
          zoneId: zone.id,
          hypervisorType: 'XenServer',
          name: 'zwps1',
          url: 'nfs://10.0.0.5/export/zone',
        }),
      invalid('hypervisorType', 'XenServer'),
    );
  });

  it('zone-wide primary storage waits for a host of its hypervisor in the zone', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () =>
        cloud.storagePools.create({
          scope: 'ZONE',
          zoneId: zone.id,
          hypervisorType: 'Simulator',
          name: 'zwps1',
          url: 'nfs://10.0.0.5/export/zone',
        }),
      { error: InvalidStateError, code: 'INVALID_STATE', httpCode: 431, field: 'zoneId', value: zone.id },
    );
  });

  it('the pool URL has a known scheme, a server where the protocol needs one, and a path', async () => {
    const cloud = await openCloud();
    const { cluster: c } = await zoneWithHost(cloud);
    for (const url of [
      'ftp://10.0.0.5/export/ps1',
      'nfs://10.0.0.5',
      'nfs://10.0.0.5/',
      'nfs:///export/ps1',
      'not a url',
    ]) {
      await expectRejected(
        cloud,
        () => cloud.storagePools.create({ clusterId: c.id, name: 'ps1', url }),
        invalid('url', url),
      );
    }
  });

  it('the same storage is one pool per zone', async () => {
    const cloud = await openCloud();
    const { pool, pod: p } = await zoneWithPool(cloud);
    const c2 = await cluster(cloud, p.id, 'c2');
    await host(cloud, c2.id, 'h2', '192.168.10.12');
    for (const clusterId of [pool.clusterId!, c2.id]) {
      await expectRejected(
        cloud,
        () => cloud.storagePools.create({ clusterId, name: 'ps-again', url: pool.url }),
        invalid('url', pool.url),
      );
    }
  });

  it('a pool is removed only from Maintenance', async () => {
    const cloud = await openCloud();
    const { pool } = await zoneWithPool(cloud);
    expect(pool.status).toBe('Up');
    const notInMaintenance = {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'id',
      value: pool.id,
    };
    await expectRejected(cloud, () => cloud.storagePools.delete(pool.id), notInMaintenance);
    await cloud.storagePools.disable(pool.id);
    await expectRejected(cloud, () => cloud.storagePools.delete(pool.id), notInMaintenance);
  });

  it('a pool that still holds volumes cannot be removed, even in Maintenance', async () => {
    const cloud = await openCloud();
    const { pool } = await zoneWithPool(cloud);
    // A detached data volume on the pool, written directly (volumes belong to a later layer).
    await cloud.store.db
      .insertInto('volumes')
      .values({
        uuid: randomUUID(),
        name: 'DATA-1',
        volumeType: 'DATADISK',
        size: 5 * 1024 ** 3,
        zoneId: pool.zoneId,
        podId: pool.podId,
        poolId: pool.id,
        instanceId: null,
        deviceId: null,
        diskOfferingId: null,
        templateId: null,
        accountId: 2,
        domainId: 1,
        format: 'QCOW2',
        path: 'data-1',
        state: 'Ready',
        created: Date.now(),
        removed: null,
      })
      .execute();
    expect((await cloud.storagePools.enableMaintenance(pool.id)).status).toBe('Maintenance');
    await expectRejected(cloud, () => cloud.storagePools.delete(pool.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: pool.id,
    });
  });
});

describe('secondary storage rules', () => {
  it('secondary storage is NFS only, nfs://server/export', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    for (const url of [
      'smb://10.0.0.6/secondary',
      'iscsi://10.0.0.6/iqn.2010-01.com.example:sec/0',
      'http://10.0.0.6/secondary',
      'nfs://10.0.0.6',
      'nfs:///export/secondary',
    ]) {
      await expectRejected(cloud, () => cloud.imageStores.add({ zoneId: zone.id, url }), invalid('url', url));
    }
  });

  it('the same export is one image store per zone', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const url = 'nfs://10.0.0.6/export/secondary';
    await cloud.imageStores.add({ zoneId: zone.id, url });
    await expectRejected(cloud, () => cloud.imageStores.add({ zoneId: zone.id, url }), invalid('url', url));
  });
});
