import { describe, expect, it } from 'vitest';
import { InvalidParameterError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, cluster, openCloud, pod } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §2.2, §5, §13 — pods and their reserved system ranges. */
describe('pod rules', () => {
  it('pod names are unique within a zone (not across zones)', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await pod(cloud, zone.id, { name: 'p1' });
    await expectRejected(
      cloud,
      () =>
        pod(cloud, zone.id, {
          name: 'p1',
          gateway: '192.168.20.1',
          startIp: '192.168.20.200',
          endIp: '192.168.20.250',
        }),
      invalid('name', 'p1'),
    );
    const z2 = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    const other = await pod(cloud, z2.id, {
      name: 'p1',
      gateway: '192.168.20.1',
      startIp: '192.168.20.200',
      endIp: '192.168.20.250',
    });
    expect(other.name).toBe('p1');
  });

  it('the gateway is neither the network nor the broadcast address of the pod CIDR', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { gateway: '192.168.10.0' }),
      invalid('gateway', '192.168.10.0'),
    );
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { gateway: '192.168.10.255' }),
      invalid('gateway', '192.168.10.255'),
    );
  });

  it('the reserved range lies inside the pod CIDR', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { startIp: '192.168.11.5', endIp: '192.168.11.9' }),
      invalid('startIp', '192.168.11.5'),
    );
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { startIp: '192.168.10.200', endIp: '192.168.11.9' }),
      invalid('endIp', '192.168.11.9'),
    );
    // The network and broadcast addresses are not usable either.
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { startIp: '192.168.10.0', endIp: '192.168.10.9' }),
      invalid('startIp', '192.168.10.0'),
    );
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { startIp: '192.168.10.200', endIp: '192.168.10.255' }),
      invalid('endIp', '192.168.10.255'),
    );
  });

  it('the netmask is contiguous and leaves room for a gateway and a range (at most /30)', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { netmask: '255.0.255.0' }),
      invalid('netmask', '255.0.255.0'),
    );
    await expectRejected(
      cloud,
      () =>
        pod(cloud, zone.id, {
          gateway: '192.168.10.1',
          netmask: '255.255.255.254',
          startIp: '192.168.10.1',
          endIp: '192.168.10.1',
        }),
      invalid('netmask', '255.255.255.254'),
    );
  });

  it('endIp is not below startIp', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { startIp: '192.168.10.250', endIp: '192.168.10.200' }),
      invalid('endIp', '192.168.10.200'),
    );
  });

  it('the gateway is outside the reserved range', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => pod(cloud, zone.id, { gateway: '192.168.10.210' }),
      invalid('gateway', '192.168.10.210'),
    );
  });

  it('pod CIDRs do not overlap within a zone', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await pod(cloud, zone.id);
    // 192.168.0.0/16 contains p1's 192.168.10.0/24; its reserved range does not touch p1's.
    await expectRejected(
      cloud,
      () =>
        pod(cloud, zone.id, {
          name: 'p2',
          gateway: '192.168.0.1',
          netmask: '255.255.0.0',
          startIp: '192.168.1.10',
          endIp: '192.168.1.20',
        }),
      invalid('netmask', '255.255.0.0'),
    );
  });

  it('reserved system ranges never overlap, cloud-wide (across zones)', async () => {
    const cloud = await openCloud();
    const z1 = await advancedZone(cloud);
    await pod(cloud, z1.id);
    const z2 = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    // The same pod CIDR in another zone is fine; the same management addresses are not.
    await expectRejected(
      cloud,
      () => pod(cloud, z2.id, { startIp: '192.168.10.240', endIp: '192.168.10.245' }),
      invalid('startIp', '192.168.10.240'),
    );
    await expectRejected(
      cloud,
      () => pod(cloud, z2.id, { startIp: '192.168.10.150', endIp: '192.168.10.200' }),
      invalid('startIp', '192.168.10.150'),
    );
    const separate = await pod(cloud, z2.id, { startIp: '192.168.10.100', endIp: '192.168.10.150' });
    expect(separate.zoneId).toBe(z2.id);
  });

  it("a pod CIDR does not overlap its zone's guest CIDR (nor the guest CIDR a pod's)", async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud, { guestCidr: '10.1.1.0/24' });
    await expectRejected(
      cloud,
      () =>
        pod(cloud, zone.id, {
          gateway: '10.1.1.1',
          netmask: '255.255.255.0',
          startIp: '10.1.1.200',
          endIp: '10.1.1.250',
        }),
      invalid('netmask', '255.255.255.0'),
    );
    await pod(cloud, zone.id);
    await expectRejected(
      cloud,
      () => cloud.zones.update(zone.id, { guestCidr: '192.168.0.0/16' }),
      invalid('guestCidr', '192.168.0.0/16'),
    );
  });

  it('a pod with clusters cannot be deleted', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const p = await pod(cloud, zone.id);
    await cluster(cloud, p.id);
    await expectRejected(cloud, () => cloud.pods.delete(p.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: p.id,
    });
  });
});
