import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../../testkit/src/harness/postgres.js';
import { ResourceLimitError } from '../../src/errors.js';
import { postgresStore } from '../../src/store/postgres-store.js';
import { type VmWorld, vmWorld } from './vm-world.js';

/** The VM lifecycle and the limit checks on PostgreSQL (the SQLite suites cover the rest). */
describe.skipIf(!pgAvailable())(`VMs on PostgreSQL${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  let world: VmWorld;
  beforeAll(async () => {
    db = await createTestDatabase('vms');
    world = await vmWorld({ store: postgresStore({ connectionString: db.url }) });
  });
  afterAll(async () => {
    await world?.cloud.close();
    await db?.drop();
  });

  it('deploys, stops, starts, destroys and expunges with capacity, limits and usage', async () => {
    const { cloud, user, zone, template, small, account } = world;
    await cloud.limits.set({ type: 'user_vm', accountId: account.id, max: 1 });
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    expect(vm.state).toBe('Running');
    await expect(
      user.vms.deploy({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id, hostName: 'second' }),
    ).rejects.toBeInstanceOf(ResourceLimitError);
    await (await user.vms.stop(vm.id)).result;
    expect(await cloud.capacity.hostCapacity(cloud.store.db, vm.hostId!)).toMatchObject({
      cpuUsed: 0,
      cpuReserved: 1000,
    });
    await (await user.vms.start(vm.id)).result;
    await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
    expect(await cloud.capacity.hostCapacity(cloud.store.db, vm.hostId!)).toMatchObject({ cpuUsed: 0, cpuReserved: 0 });
    expect((await user.events.listUsage()).map((u) => u.type)).toEqual([
      'VOLUME.CREATE',
      'VM.CREATE',
      'VM.START',
      'VM.STOP',
      'VM.START',
      'VM.STOP',
      'VOLUME.DELETE',
      'VM.DESTROY',
    ]);
    expect(await cloud.limits.count({ accountId: account.id }, 'user_vm')).toBe(0);
  });
});
