import { describe, expect, it } from 'vitest';
import { DuplicateError, InvalidParameterError, NoTransitionError } from '../../src/errors.js';
import { IpAllocator } from '../../src/ipam/ip-allocator.js';
import { PublicIpRangeService } from '../../src/ipam/ip-ranges.js';
import { createNetworkLayer } from '../../src/network/network-layer.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { advancedZone, basicZone, cluster, openCloud, pod } from '../rules/rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/networking.md §5 and resource-model.md §6.3. */
describe('network offerings', () => {
  it("CloudStack's built-in offerings are seeded, enabled", async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    const names = (await net.offerings.list()).map((o) => [o.name, o.guestType, o.state, o.forVpc]);
    expect(names).toEqual([
      ['DefaultIsolatedNetworkOfferingWithSourceNatService', 'Isolated', 'Enabled', false],
      ['DefaultSharedNetworkOfferingWithSGService', 'Shared', 'Enabled', false],
      ['DefaultSharedNetworkOffering', 'Shared', 'Enabled', false],
      ['DefaultSharedNetscalerEIPandELBNetworkOffering', 'Shared', 'Enabled', false],
      ['DefaultIsolatedNetworkOfferingForVpcNetworks', 'Isolated', 'Enabled', true],
      ['DefaultIsolatedNetworkOfferingForVpcNetworksNoLB', 'Isolated', 'Enabled', true],
    ]);
    const iso = await net.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
    expect(iso).toMatchObject({ conserveMode: true, egressDefaultPolicy: 'deny', specifyVlan: false });
    expect(iso.services.SourceNat).toEqual(['VirtualRouter']);
    const noLb = await net.offerings.getByName('DefaultIsolatedNetworkOfferingForVpcNetworksNoLB');
    expect(noLb.services.Lb).toBeUndefined();
  });

  it('created Disabled; enable / disable / retire are state-machine transitions', async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    const o = await net.offerings.create({
      name: 'iso',
      guestType: 'Isolated',
      services: { Dhcp: ['VirtualRouter'], SourceNat: 'VirtualRouter' as never },
    });
    expect(o).toMatchObject({
      state: 'Disabled',
      conserveMode: true,
      egressDefaultPolicy: 'allow',
      specifyVlan: false,
    });
    expect((await net.offerings.enable(o.id)).state).toBe('Enabled');
    expect((await net.offerings.disable(o.id)).state).toBe('Disabled');
    expect((await net.offerings.retire(o.id)).state).toBe('Inactive');
    await expectRejected(cloud, () => net.offerings.enable(o.id), {
      error: NoTransitionError,
      code: 'NO_TRANSITION',
      httpCode: 431,
      field: 'state',
      value: 'Inactive',
    });
  });

  it('rejects unknown services and providers, duplicate names, and service mixes the guest type cannot carry', async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    await expectRejected(
      cloud,
      () => net.offerings.create({ name: 'x', guestType: 'Isolated', services: { Teleport: ['VirtualRouter'] } }),
      invalid('services', 'Teleport'),
    );
    await expectRejected(
      cloud,
      () => net.offerings.create({ name: 'x', guestType: 'Isolated', services: { Dhcp: ['Acme'] } }),
      invalid('services.Dhcp', 'Acme'),
    );
    const shared = { SourceNat: ['VirtualRouter'] };
    await expectRejected(
      cloud,
      () => net.offerings.create({ name: 'x', guestType: 'Shared', services: shared }),
      invalid('services', shared),
    );
    await expectRejected(
      cloud,
      () =>
        net.offerings.create({
          name: 'x',
          guestType: 'Shared',
          services: { Dhcp: ['VirtualRouter'] },
          conserveMode: true,
        }),
      invalid('conserveMode', true),
    );
    const sg = { SecurityGroup: ['SecurityGroupProvider'] };
    await expectRejected(
      cloud,
      () => net.offerings.create({ name: 'x', guestType: 'Isolated', services: sg }),
      invalid('services', sg),
    );
    await net.offerings.create({ name: 'x', guestType: 'Isolated', services: { Dhcp: ['VirtualRouter'] } });
    await expectRejected(
      cloud,
      () => net.offerings.create({ name: 'x', guestType: 'Isolated', services: { Dhcp: ['VirtualRouter'] } }),
      {
        error: DuplicateError,
        code: 'DUPLICATE',
        httpCode: 431,
        field: 'name',
        value: 'x',
      },
    );
    await expectRejected(
      cloud,
      () =>
        net.offerings.create({
          name: 'DefaultSharedNetworkOffering',
          guestType: 'Shared',
          services: { Dhcp: ['VirtualRouter'] },
        }),
      { error: DuplicateError, code: 'DUPLICATE', httpCode: 431, field: 'name', value: 'DefaultSharedNetworkOffering' },
    );
  });
});

/** spec/networking.md §1, §2 and pitfalls 4, 18: zone readiness. */
describe('zone readiness', () => {
  it('an advanced zone needs Guest/Public/Management traffic, a VLAN range on its guest physical network and a public range', async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    const zone = await advancedZone(cloud);
    const first = await net.readiness.check(zone.id);
    expect(first.ready).toBe(false);
    expect(first.problems.map((p) => p.field)).toEqual(['trafficType', 'trafficType', 'trafficType', 'publicRange']);
    const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    for (const trafficType of ['Guest', 'Public', 'Management'] as const)
      await cloud.physicalNetworks.addTrafficType(pn.id, { trafficType });
    expect((await net.readiness.check(zone.id)).problems.map((p) => [p.field, p.value])).toEqual([
      ['vlanRanges', 'pn1'],
      ['publicRange', null],
    ]);
    await expect(net.readiness.requireReady(zone.id)).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
      field: 'vlanRanges',
      value: 'pn1',
    });
    await cloud.physicalNetworks.update(pn.id, { vlan: '500-599' });
    await new PublicIpRangeService(cloud.context, new IpAllocator(cloud.context)).create({
      zoneId: zone.id,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.10',
      endIp: '203.0.113.20',
    });
    expect(await net.readiness.check(zone.id)).toEqual({ zoneId: zone.id, ready: true, problems: [] });
    // A cluster of a hypervisor type without labels makes it not ready (pitfall 18).
    const p = await pod(cloud, zone.id);
    await cluster(cloud, p.id, 'c1', 'KVM');
    expect((await net.readiness.check(zone.id)).problems.map((x) => [x.field, x.value])).toEqual([
      ['trafficLabel', { trafficType: 'Guest', hypervisor: 'KVM' }],
      ['trafficLabel', { trafficType: 'Public', hypervisor: 'KVM' }],
      ['trafficLabel', { trafficType: 'Management', hypervisor: 'KVM' }],
    ]);
  });

  it('a basic zone needs one physical network without VLAN ranges and a guest range in every pod', async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    const zone = await basicZone(cloud, { securityGroupEnabled: true });
    const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '100-110' });
    for (const trafficType of ['Guest', 'Management'] as const)
      await cloud.physicalNetworks.addTrafficType(pn.id, { trafficType });
    await cloud.physicalNetworks.enable(pn.id);
    const p = await pod(cloud, zone.id);
    expect((await net.readiness.check(zone.id)).problems.map((x) => [x.field, x.value])).toEqual([
      ['vlanRanges', 'pn1'],
      ['podId', p.id],
    ]);
    await cloud.physicalNetworks.update(pn.id, { vlan: [] });
    const offering = await net.offerings.getByName('DefaultSharedNetworkOfferingWithSGService');
    await net.networks.create({
      zoneId: zone.id,
      name: 'guest',
      networkOfferingId: offering.id,
      gateway: '192.168.10.1',
      netmask: '255.255.255.0',
      startIp: '192.168.10.100',
      endIp: '192.168.10.150',
      podId: p.id,
    });
    expect((await net.readiness.check(zone.id)).ready).toBe(true);
  });

  it('isolated networks are refused in a basic zone', async () => {
    const cloud = await openCloud();
    const net = createNetworkLayer(cloud.context);
    const zone = await basicZone(cloud);
    const iso = await net.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
    await expectRejected(
      cloud,
      () => net.networks.create({ zoneId: zone.id, name: 'x', networkOfferingId: iso.id }),
      invalid('networkOfferingId', iso.id),
    );
  });
});
