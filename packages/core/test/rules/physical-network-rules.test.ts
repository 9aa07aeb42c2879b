import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.js';
import type { HypervisorType, IsolationMethod, TrafficType } from '../../src/model/enums.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, basicZone, openCloud } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §4, §13; spec/networking.md §2 — physical networks and traffic types. */
describe('physical network rules', () => {
  it('a basic zone has exactly one physical network', async () => {
    const cloud = await openCloud();
    const zone = await basicZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn2' }),
      invalid('zoneId', zone.id),
    );
    // An advanced zone takes several.
    const adv = await advancedZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: adv.id, name: 'pn1' });
    expect((await cloud.physicalNetworks.create({ zoneId: adv.id, name: 'pn2' })).zoneId).toBe(adv.id);
  });

  it('physical network names are unique within a zone', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' }),
      invalid('name', 'pn1'),
    );
  });

  it('isolation methods and traffic-label hypervisors are ones CloudStack knows', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () =>
        cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', isolationMethods: ['QinQ' as IsolationMethod] }),
      invalid('isolationMethods', 'QinQ'),
    );
    const net = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    await expectRejected(
      cloud,
      () =>
        cloud.physicalNetworks.addTrafficType(net.id, {
          trafficType: 'Guest',
          labels: { Proxmox: 'vmbr0' } as Partial<Record<HypervisorType, string>>,
        }),
      invalid('labels', 'Proxmox'),
    );
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.addTrafficType(net.id, { trafficType: 'Backup' as TrafficType }),
      invalid('trafficType', 'Backup'),
    );
  });

  it('VLAN ids are 1–4094 and each range starts before it ends', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    for (const vlan of ['0-10', '0', '4000-4095', '4095', '900-800', '800-x', '-5']) {
      await expectRejected(
        cloud,
        () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan }),
        invalid('vlan', vlan),
      );
    }
    const objects = [{ start: 0, end: 10 }];
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: objects }),
      invalid('vlan', objects),
    );
    // The bounds themselves are fine.
    const net = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '1-10,4090-4094' });
    expect(net.vlanRanges).toEqual([
      { start: 1, end: 10 },
      { start: 4090, end: 4094 },
    ]);
  });

  it("a physical network's own VLAN ranges do not overlap", async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '800-900,850-950' }),
      invalid('vlan', '800-900,850-950'),
    );
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '800-900,900' }),
      invalid('vlan', '800-900,900'),
    );
  });

  it("VLAN ranges do not overlap another physical network's in the zone (on create and on update)", async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '800-900' });
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn2', vlan: '850-950' }),
      invalid('vlan', '850-950'),
    );
    const pn2 = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn2', vlan: '901-950' });
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.update(pn2.id, { vlan: '900-950' }),
      invalid('vlan', '900-950'),
    );
    // Another zone may reuse the ids.
    const z2 = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    expect((await cloud.physicalNetworks.create({ zoneId: z2.id, name: 'pn1', vlan: '800-900' })).zoneId).toBe(z2.id);
  });

  it('Public, Management, Storage and Control traffic each sit on one physical network per zone', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const pn1 = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    const pn2 = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn2' });
    for (const trafficType of ['Public', 'Management', 'Storage', 'Control'] as const) {
      await cloud.physicalNetworks.addTrafficType(pn1.id, { trafficType, labels: { KVM: 'cloudbr0' } });
      await expectRejected(
        cloud,
        () => cloud.physicalNetworks.addTrafficType(pn2.id, { trafficType, labels: { KVM: 'cloudbr1' } }),
        invalid('trafficType', trafficType),
      );
    }
    // Guest traffic may span several physical networks, but once per network.
    await cloud.physicalNetworks.addTrafficType(pn1.id, { trafficType: 'Guest' });
    await cloud.physicalNetworks.addTrafficType(pn2.id, { trafficType: 'Guest' });
    await expectRejected(
      cloud,
      () => cloud.physicalNetworks.addTrafficType(pn2.id, { trafficType: 'Guest' }),
      invalid('trafficType', 'Guest'),
    );
  });
});
