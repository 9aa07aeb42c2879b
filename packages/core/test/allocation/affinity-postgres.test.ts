import { verticalAllocator } from '@stratus/allocator';
import { simulatedImageStore } from '@stratus/driver-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../../testkit/src/harness/postgres.js';
import { type Cloud, createCloud } from '../../src/cloud.js';
import { postgresStore } from '../../src/store/postgres-store.js';
import { type VmWorld, vmWorld } from '../orchestration/vm-world.js';

/**
 * Two control planes on one PostgreSQL deploy into one anti-affinity group at the same time: the
 * booking's store-side check (the group locked) keeps one VM per host, whatever each process's
 * placement index believed.
 */
describe.skipIf(!pgAvailable())(`affinity groups on PostgreSQL, 2 processes${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  let world: VmWorld;
  let other: Cloud;
  beforeAll(async () => {
    db = await createTestDatabase('affinity');
    world = await vmWorld({ store: postgresStore({ connectionString: db.url }) }); // 4 hosts
    other = await createCloud({
      store: postgresStore({ connectionString: db.url }),
      hypervisors: [world.sim],
      allocator: verticalAllocator(),
      imageStore: simulatedImageStore(),
    });
  });
  afterAll(async () => {
    await other?.close();
    await world?.cloud.close();
    await db?.drop();
  });

  it('never puts two members on one host; exactly as many succeed as there are hosts', async () => {
    const { cloud, user, zone, template, small, account, hosts } = world;
    const group = await user.affinityGroups.create({ name: 'spread', type: 'host anti-affinity' });
    const input = {
      zoneId: zone.id,
      serviceOfferingId: small.id,
      templateId: template.id,
      affinityGroupIds: [group.id],
      accountId: account.id,
    };
    // Both processes have their placement index loaded before the race.
    await (
      await cloud.vms.destroy((await cloud.vms.deployAndWait({ ...input, affinityGroupIds: [] })).id, { expunge: true })
    ).result;
    await (
      await other.vms.destroy((await other.vms.deployAndWait({ ...input, affinityGroupIds: [] })).id, { expunge: true })
    ).result;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? cloud : other).vms.deployAndWait(input)),
    );
    const placed = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.hostId] : []));
    expect(placed.length).toBe(hosts.length);
    expect(new Set(placed).size).toBe(hosts.length);
    for (const o of outcomes) if (o.status === 'rejected') expect((o.reason as Error).message).toMatch(/anti-affinity/);
  });
});
