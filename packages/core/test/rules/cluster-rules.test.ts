import { describe, expect, it } from 'vitest';
import { InvalidParameterError, ResourceInUseError } from '../../src/errors.js';
import type { HypervisorType } from '../../src/model/enums.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, cluster, openCloud, pod, zoneWithHost } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §2.3, §5, §13 — clusters. */
describe('cluster rules', () => {
  it('the hypervisor type is one CloudStack knows', async () => {
    const cloud = await openCloud();
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    await expectRejected(
      cloud,
      () => cloud.clusters.create({ podId: p.id, name: 'c1', hypervisorType: 'Proxmox' as HypervisorType }),
      invalid('hypervisorType', 'Proxmox'),
    );
    await expectRejected(
      cloud,
      () => cloud.clusters.create({ podId: p.id, name: 'c1', hypervisorType: undefined as unknown as HypervisorType }),
      invalid('hypervisorType', undefined),
    );
  });

  it('cluster names are unique within a pod (not across pods)', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const p1 = await pod(cloud, zone.id);
    await cluster(cloud, p1.id, 'c1');
    await expectRejected(cloud, () => cluster(cloud, p1.id, 'c1', 'KVM'), invalid('name', 'c1'));
    const p2 = await pod(cloud, zone.id, {
      name: 'p2',
      gateway: '192.168.20.1',
      startIp: '192.168.20.200',
      endIp: '192.168.20.250',
    });
    expect((await cluster(cloud, p2.id, 'c1')).podId).toBe(p2.id);
    // Renaming onto a sibling's name is the same collision.
    const c2 = await cluster(cloud, p1.id, 'c2');
    await expectRejected(cloud, () => cloud.clusters.update(c2.id, { name: 'c1' }), invalid('name', 'c1'));
  });

  it('the hypervisor type of a cluster is immutable', async () => {
    const cloud = await openCloud();
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id, 'c1', 'Simulator');
    await expectRejected(
      cloud,
      () => cloud.clusters.update(c.id, { hypervisorType: 'KVM' }),
      invalid('hypervisorType', 'KVM'),
    );
  });

  it('a VMware cluster names its vCenter', async () => {
    const cloud = await openCloud();
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    await expectRejected(
      cloud,
      () => cloud.clusters.create({ podId: p.id, name: 'vc-cluster1', hypervisorType: 'VMware' }),
      invalid('vcenter', undefined),
    );
    await expectRejected(
      cloud,
      () =>
        cloud.clusters.create({
          podId: p.id,
          name: 'vc-cluster1',
          hypervisorType: 'VMware',
          vcenter: { url: 'vcenter.example.com', datacenter: '' },
        }),
      invalid('vcenter.datacenter', ''),
    );
    // …and only VMware clusters do.
    const vcenter = { url: 'vcenter.example.com', datacenter: 'dc1' };
    await expectRejected(
      cloud,
      () => cloud.clusters.create({ podId: p.id, name: 'kvm1', hypervisorType: 'KVM', vcenter }),
      invalid('vcenter', vcenter),
    );
  });

  it('a cluster with hosts cannot be deleted', async () => {
    const cloud = await openCloud();
    const { cluster: c } = await zoneWithHost(cloud);
    await expectRejected(cloud, () => cloud.clusters.delete(c.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: c.id,
    });
  });
});
