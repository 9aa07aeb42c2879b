import { describe, expect, it } from 'vitest';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { networkWorld } from './network-world.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/networking.md §6: NetworkGuru lifecycle, lazy implement, GC, VLAN ownership. */
describe('guest network lifecycle', () => {
  it('designs Allocated without a VLAN; implements lazily at the first VM start; reserves and releases NICs', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    expect(net).toMatchObject({ state: 'Allocated', cidr: '10.1.1.0/24', gateway: '10.1.1.1', broadcastUri: null });
    expect(await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute()).toEqual([]);

    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
    );
    expect(nic.state).toBe('Allocated');
    // Built from what the allocation wrote: equal to the stored NIC.
    expect([nic]).toEqual(await alice.networks.listNics({ vmId }));
    expect(nic.ip4Address).toMatch(/^10\.1\.1\./);
    expect(nic.ip4Address).not.toBe('10.1.1.1');
    expect(nic.macAddress).toMatch(/^06(:[0-9a-f]{2}){5}$/);

    const nicStates: string[] = [];
    const stop = w.cloud.events.on('NIC.STATE.CHANGE', (e) => {
      if (e.resourceId === nic.id) nicStates.push(`${e.parameters.from}>${e.parameters.to}`);
    });
    const started = await alice.networks.startNic(nic.id);
    stop();
    expect(started.state).toBe('Reserved');
    // An addressed NIC is reserved in one UPDATE; both of its state changes are published.
    expect(nicStates).toEqual(['Allocated>Reserving', 'Reserving>Reserved']);
    expect(started).toEqual((await alice.networks.listNics({ vmId }))[0]);
    const implemented = await alice.networks.get(net.id);
    expect(implemented.state).toBe('Implemented');
    expect(implemented.broadcastUri).toBe('vlan://500');
    expect(started.broadcastUri).toBe('vlan://500');
    const vlans = await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute();
    expect(vlans.map((v) => [Number(v.vnet), Number(v.networkId), Number(v.accountId)])).toEqual([
      [500, net.id, w.account.id],
    ]);
    // Source NAT IP: one per isolated network, Allocated, living with the network.
    const snat = await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('sourceNat', '=', 1).execute();
    expect(snat).toHaveLength(1);
    expect(snat[0]).toMatchObject({ state: 'Allocated', ip: '203.0.113.10' });
    // The VR configuration is data: guest gateway, source NAT, one DHCP entry.
    const cfg = w.vr.configuration(net.id);
    expect(cfg?.guest).toEqual({ gateway: '10.1.1.1', cidr: '10.1.1.0/24', netmask: '255.255.255.0', vlan: 500 });
    expect(cfg?.sourceNat).toEqual({ ip: '203.0.113.10' });
    expect(cfg?.dhcp).toEqual([
      { nicId: nic.id, vmId, hostName: 'web1', ip: nic.ip4Address, mac: nic.macAddress, defaultGateway: true },
    ]);

    const stopped = await alice.networks.stopNic(nic.id);
    expect(stopped.state).toBe('Allocated');
    expect(stopped.ip4Address).toBe(nic.ip4Address);
    expect(w.vr.configuration(net.id)?.dhcp).toEqual([]);
  });

  it('GC marks an idle network, shuts it down after network.gc.wait, keeps the source NAT IP and re-implements with a VLAN again', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
    );
    await alice.networks.startNic(nic.id);

    // A running VM keeps the network alive.
    expect(await w.net.networks.collectGarbage()).toEqual({ markedIdle: [], shutDown: [] });
    await alice.networks.stopNic(nic.id);
    expect(await w.net.networks.collectGarbage()).toEqual({ markedIdle: [net.id], shutDown: [] });
    w.clock.advance(599);
    expect(await w.net.networks.collectGarbage()).toEqual({ markedIdle: [], shutDown: [] });
    w.clock.advance(1);
    expect(await w.net.networks.collectGarbage()).toEqual({ markedIdle: [], shutDown: [net.id] });

    const down = await alice.networks.get(net.id);
    expect(down).toMatchObject({ state: 'Allocated', broadcastUri: null, idleSince: null });
    expect(await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute()).toEqual([]);
    expect(w.vr.configuration(net.id)).toBeUndefined();
    const snat = await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('sourceNat', '=', 1).execute();
    expect(snat.map((r) => [r.ip, Number(r.networkId)])).toEqual([['203.0.113.10', net.id]]);

    // The next VM start implements again, with the same source NAT IP.
    await alice.networks.startNic(nic.id);
    expect((await alice.networks.get(net.id)).state).toBe('Implemented');
    expect(w.vr.configuration(net.id)?.sourceNat).toEqual({ ip: '203.0.113.10' });
    expect(
      await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('sourceNat', '=', 1).execute(),
    ).toHaveLength(1);
  });

  it('a VM that starts again clears the idle mark', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
    );
    await alice.networks.startNic(nic.id);
    await alice.networks.stopNic(nic.id);
    await w.net.networks.collectGarbage();
    await alice.networks.startNic(nic.id);
    w.clock.advance(3600);
    expect(await w.net.networks.collectGarbage()).toEqual({ markedIdle: [], shutDown: [] });
    expect((await alice.networks.get(net.id)).state).toBe('Implemented');
  });

  it('two accounts never share a VLAN; a released VLAN returns to the pool', async () => {
    const w = await networkWorld();
    const ids: number[] = [];
    for (const [i, acct] of [w.account, w.other].entries()) {
      const api = w.as(acct.id);
      const net = await api.networks.create({
        zoneId: w.zone.id,
        name: `n${i}`,
        networkOfferingId: w.isolatedOfferingId,
      });
      await api.networks.implement(net.id);
      ids.push(net.id);
    }
    const vlans = await w.cloud.store.db.selectFrom('guestVlans').selectAll().orderBy('vnet').execute();
    expect(vlans.map((v) => [Number(v.vnet), Number(v.accountId)])).toEqual([
      [500, w.account.id],
      [501, w.other.id],
    ]);
    await w.net.networks.shutdown(ids[0]!);
    expect(
      (await w.cloud.store.db.selectFrom('guestVlans').select('vnet').execute()).map((v) => Number(v.vnet)),
    ).toEqual([501]);
  });

  it('a failed implement returns the VLAN and leaves the network Allocated', async () => {
    const w = await networkWorld();
    const failing = {
      provider: 'VirtualRouter' as const,
      capabilities: () => ({}),
      implement: async () => {
        throw new Error('router did not boot');
      },
      prepare: async () => true,
      release: async () => true,
      shutdown: async () => true,
      destroy: async () => true,
    };
    w.net.deps.elements.register(failing);
    const net = await w.net.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    await expect(w.net.networks.implement(net.id)).rejects.toThrow('router did not boot');
    expect((await w.net.networks.get(net.id)).state).toBe('Allocated');
    expect(await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute()).toEqual([]);
  });

  it('rejects networks on a disabled offering, on a disabled physical network, and a CIDR wider than network.guest.cidr.limit', async () => {
    const w = await networkWorld();
    const off = await w.net.offerings.create({
      name: 'iso2',
      guestType: 'Isolated',
      services: { SourceNat: ['VirtualRouter'], Dhcp: ['VirtualRouter'] },
    });
    await expectRejected(
      w.cloud,
      () => w.net.networks.create({ zoneId: w.zone.id, name: 'x', networkOfferingId: off.id }),
      invalid('networkOfferingId', off.id),
    );
    await expectRejected(
      w.cloud,
      () =>
        w.net.networks.create({
          zoneId: w.zone.id,
          name: 'x',
          networkOfferingId: w.isolatedOfferingId,
          cidr: '10.0.0.0/16',
        }),
      invalid('cidr', '10.0.0.0/16'),
    );
    await w.cloud.physicalNetworks.disable(w.physicalNetworkId);
    await expectRejected(
      w.cloud,
      () =>
        w.net.networks.create({
          zoneId: w.zone.id,
          name: 'x',
          networkOfferingId: w.isolatedOfferingId,
          physicalNetworkId: w.physicalNetworkId,
        }),
      invalid('physicalNetworkId', w.physicalNetworkId),
    );
  });

  it('disabling the physical network leaves running networks implemented (pitfall 3)', async () => {
    const w = await networkWorld();
    const net = await w.net.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    await w.net.networks.implement(net.id);
    await w.cloud.physicalNetworks.disable(w.physicalNetworkId);
    expect((await w.net.networks.get(net.id)).state).toBe('Implemented');
    expect(w.vr.configuration(net.id)).toBeDefined();
  });

  it('NIC rules: one default NIC per VM, reserve needs an implemented network, deallocate needs a stopped NIC, delete needs no NICs', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const n1 = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const n2 = await alice.networks.create({
      zoneId: w.zone.id,
      name: 'n2',
      networkOfferingId: w.isolatedOfferingId,
      cidr: '10.2.0.0/24',
    });
    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: n1.id, isDefault: true }),
    );
    await expectRejected(
      w.cloud,
      () => w.cloud.context.write((wr) => alice.networks.allocateNic(wr, { vmId, networkId: n2.id, isDefault: true })),
      invalid('isDefault', true),
    );
    await expectRejected(w.cloud, () => w.cloud.context.write((wr) => alice.networks.reserveNic(wr, nic.id)), {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'networkId',
      value: n1.id,
    });
    await alice.networks.startNic(nic.id);
    await expectRejected(w.cloud, () => w.cloud.context.write((wr) => alice.networks.deallocateNic(wr, nic.id)), {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'nicId',
      value: nic.id,
    });
    await expectRejected(w.cloud, () => alice.networks.delete(n1.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'networkId',
      value: n1.id,
    });
    await alice.networks.stopNic(nic.id);
    await w.cloud.context.write((wr) => alice.networks.deallocateNic(wr, nic.id));
    await alice.networks.delete(n1.id);
    const left = await w.cloud.store.db.selectFrom('ipAllocations').selectAll().execute();
    expect(left).toEqual([]);
    expect(await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute()).toEqual([]);
    expect(await w.cloud.store.db.selectFrom('macAddresses').selectAll().execute()).toEqual([]);
  });

  it('an external LB offering reserves the second guest address at design, before any guest can take it (pitfall 6)', async () => {
    const w = await networkWorld();
    const off = await w.net.offerings.create({
      name: 'iso-f5',
      guestType: 'Isolated',
      services: { SourceNat: ['VirtualRouter'], Dhcp: ['VirtualRouter'], Lb: ['F5BigIp'] },
    });
    await w.net.offerings.enable(off.id);
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({
      zoneId: w.zone.id,
      name: 'n1',
      networkOfferingId: off.id,
      cidr: '10.9.0.0/29',
    });
    const reserved = await w.cloud.store.db
      .selectFrom('ipAllocations')
      .selectAll()
      .where('space', '=', 'guest')
      .execute();
    expect(reserved.map((r) => [r.ip, r.state, r.ownerType])).toEqual([
      ['10.9.0.2', 'Reserved', 'ExternalLoadBalancer'],
    ]);
    // /29: .1 gateway, .2 LB self-IP, .7 broadcast: guests get .3–.6 and nothing else.
    const ips: string[] = [];
    for (let i = 0; i < 4; i++) {
      const vmId = await w.vm(w.account.id, `vm${i}`);
      const nic = await w.cloud.context.write((wr) =>
        alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
      );
      ips.push(nic.ip4Address as string);
    }
    expect(ips.sort()).toEqual(['10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    const vmId = await w.vm(w.account.id, 'vm-extra');
    await expect(
      w.cloud.context.write((wr) => alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true })),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_CAPACITY' });
  });

  it('a requested guest address that is the gateway, network or broadcast address is refused', async () => {
    const w = await networkWorld();
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const vmId = await w.vm(w.account.id, 'web1');
    for (const ip of ['10.1.1.1', '10.1.1.0', '10.1.1.255']) {
      await expectRejected(
        w.cloud,
        () =>
          w.cloud.context.write((wr) =>
            alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true, ip }),
          ),
        invalid('ip', ip),
      );
    }
  });
});
