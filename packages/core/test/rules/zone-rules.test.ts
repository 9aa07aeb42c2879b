import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidParameterError, NotFoundError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, basicZone, openCloud, pod } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §2.1, §5, §13 — zones. */
describe('zone rules', () => {
  it('zone names are unique cloud-wide', async () => {
    const cloud = await openCloud();
    await advancedZone(cloud, { name: 'z1' });
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { name: 'z1', guestCidr: '10.2.1.0/24' }),
      invalid('name', 'z1'),
    );
    // Renaming another zone onto the name is the same collision.
    const z2 = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    await expectRejected(cloud, () => cloud.zones.update(z2.id, { name: 'z1' }), invalid('name', 'z1'));
  });

  it('the network type is immutable', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => cloud.zones.update(zone.id, { networkType: 'Basic' }),
      invalid('networkType', 'Basic'),
    );
    const basic = await basicZone(cloud);
    await expectRejected(
      cloud,
      () => cloud.zones.update(basic.id, { networkType: 'Advanced' }),
      invalid('networkType', 'Advanced'),
    );
  });

  it('a basic zone has no zone guest CIDR', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => basicZone(cloud, { guestCidr: '10.1.1.0/24' }),
      invalid('guestCidr', '10.1.1.0/24'),
    );
  });

  it('security groups are a basic-zone feature', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { securityGroupEnabled: true }),
      invalid('securityGroupEnabled', true),
    );
  });

  it('an advanced zone needs a guest CIDR, and a well-formed one', async () => {
    const cloud = await openCloud();
    await expectRejected(cloud, () => advancedZone(cloud, { guestCidr: undefined }), invalid('guestCidr', undefined));
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { guestCidr: '10.1.1.7/24' }),
      invalid('guestCidr', '10.1.1.7/24'),
    );
    await expectRejected(cloud, () => advancedZone(cloud, { guestCidr: '10.1.1.0' }), invalid('guestCidr', '10.1.1.0'));
  });

  it('guest and internal DNS must be IPv4 addresses, at least one of each', async () => {
    const cloud = await openCloud();
    await expectRejected(cloud, () => advancedZone(cloud, { dns1: '8.8.8' }), invalid('dns1', '8.8.8'));
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { dns2: 'dns.example.com' }),
      invalid('dns2', 'dns.example.com'),
    );
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { internalDns1: '10.0.0.256' }),
      invalid('internalDns1', '10.0.0.256'),
    );
    await expectRejected(cloud, () => advancedZone(cloud, { internalDns2: '' }), invalid('internalDns2', ''));
    // "at least one public DNS and one internal DNS" (§13)
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { dns1: undefined as unknown as string }),
      invalid('dns1', undefined),
    );
    await expectRejected(
      cloud,
      () => advancedZone(cloud, { internalDns1: undefined as unknown as string }),
      invalid('internalDns1', undefined),
    );
    const zone = await advancedZone(cloud);
    await expectRejected(cloud, () => cloud.zones.update(zone.id, { dns1: '1.2.3' }), invalid('dns1', '1.2.3'));
  });

  it('a dedicated zone names a domain that exists', async () => {
    const cloud = await openCloud();
    await expectRejected(cloud, () => advancedZone(cloud, { dedicatedDomainId: 999 }), {
      error: NotFoundError,
      code: 'NOT_FOUND',
      httpCode: 431,
      field: 'dedicatedDomainId',
      value: 999,
    });
    const zone = await advancedZone(cloud);
    await expectRejected(cloud, () => cloud.zones.update(zone.id, { dedicatedDomainId: 999 }), {
      error: NotFoundError,
      code: 'NOT_FOUND',
      httpCode: 431,
      field: 'dedicatedDomainId',
      value: 999,
    });
  });

  it('the guest CIDR can change only while the zone has no VMs', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    // With no VM the change is accepted.
    expect((await cloud.zones.update(zone.id, { guestCidr: '10.1.2.0/24' })).guestCidr).toBe('10.1.2.0/24');
    const offering = await cloud.offerings.createServiceOffering({
      name: 'Small Instance',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
    });
    // A VM in the zone, written directly (VM deployment belongs to a later layer).
    await cloud.store.db
      .insertInto('vmInstances')
      .values({
        uuid: randomUUID(),
        instanceName: 'i-2-1-VM',
        hostName: 'vm1',
        displayName: 'vm1',
        type: 'User',
        accountId: 2,
        domainId: 1,
        zoneId: zone.id,
        serviceOfferingId: offering.id,
        templateId: null,
        hypervisorType: 'Simulator',
        hostId: null,
        lastHostId: null,
        podIdToDeployIn: null,
        haEnabled: 0,
        state: 'Stopped',
        powerState: 'PowerOff',
        details: '{}',
        created: Date.now(),
        removed: null,
      })
      .execute();
    await expectRejected(
      cloud,
      () => cloud.zones.update(zone.id, { guestCidr: '10.1.3.0/24' }),
      invalid('guestCidr', '10.1.3.0/24'),
    );
  });

  it('a zone with pods cannot be deleted', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await pod(cloud, zone.id);
    await expectRejected(cloud, () => cloud.zones.delete(zone.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: zone.id,
    });
  });

  it('a zone with a physical network or secondary storage cannot be deleted', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    const inUse = { error: ResourceInUseError, code: 'RESOURCE_IN_USE', httpCode: 536, field: 'id', value: zone.id };
    await expectRejected(cloud, () => cloud.zones.delete(zone.id), inUse);
    const other = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    await cloud.imageStores.add({ zoneId: other.id, url: 'nfs://10.0.0.6/export/secondary' });
    await expectRejected(cloud, () => cloud.zones.delete(other.id), { ...inUse, value: other.id });
  });
});
