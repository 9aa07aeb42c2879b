import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../../testkit/src/harness/postgres.js';
import { postgresStore } from '../../src/store/postgres-store.js';
import { networkWorld } from './network-world.js';

/** The network layer on PostgreSQL: the same lifecycle, and concurrent implements of one network. */
describe.skipIf(!pgAvailable())(`network layer on PostgreSQL${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('network');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('implements lazily, applies rules, collects garbage and keeps one VLAN per network under concurrent implements', async () => {
    const w = await networkWorld(postgresStore({ connectionString: db.url }));
    const alice = w.as(w.account.id);
    const net = await alice.networks.create({ zoneId: w.zone.id, name: 'n1', networkOfferingId: w.isolatedOfferingId });
    const outcomes = await Promise.allSettled([
      alice.networks.implement(net.id),
      alice.networks.implement(net.id),
      alice.networks.implement(net.id),
    ]);
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    expect((await alice.networks.get(net.id)).state).toBe('Implemented');
    const vlans = await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute();
    expect(vlans).toHaveLength(1);
    expect(
      (await w.cloud.store.db.selectFrom('ipAllocations').selectAll().where('sourceNat', '=', 1).execute()).length,
    ).toBe(1);

    const vmId = await w.vm(w.account.id, 'web1');
    const nic = await w.cloud.context.write((wr) =>
      alice.networks.allocateNic(wr, { vmId, networkId: net.id, isDefault: true }),
    );
    await alice.networks.startNic(nic.id);
    const ip = await alice.publicIps.acquire({ networkId: net.id });
    await alice.rules.createPortForwarding({
      ipId: ip.id,
      protocol: 'tcp',
      publicStartPort: 22,
      privateStartPort: 22,
      vmId,
      openFirewall: true,
    });
    expect(w.vr.configuration(net.id)?.portForwarding).toHaveLength(1);
    const sg = await w.cloud.context.write((wr) => alice.securityGroups.ensureDefault(wr, w.account.id));
    expect(sg.name).toBe('default');

    await alice.networks.stopNic(nic.id);
    await w.net.networks.collectGarbage();
    w.clock.advance(600);
    expect((await w.net.networks.collectGarbage()).shutDown).toEqual([net.id]);
    expect(await w.cloud.store.db.selectFrom('guestVlans').selectAll().execute()).toEqual([]);
    expect((await alice.publicIps.get(ip.id)).state).toBe('Allocated');
  });
});
