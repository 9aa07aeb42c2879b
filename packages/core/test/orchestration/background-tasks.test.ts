import { afterEach, describe, expect, it } from 'vitest';
import { type VmWorld, vmWorld } from './vm-world.js';

describe('background tasks', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('runs every periodic task once without error, and each does its work', async () => {
    const clock = {
      t: Date.now(),
      now() {
        return this.t;
      },
    };
    world = await vmWorld({ clock });
    const { cloud, user, zone, template, small } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    await (await user.vms.destroy(vm.id)).result;
    clock.t += (86_400 + 1) * 1000; // past expunge.delay and capacity.skipcounting.hours
    const outcome = await cloud.tasks.runOnce();
    expect(Object.keys(outcome)).toEqual([
      'reconcile-hosts',
      'recover-orphaned-jobs',
      'network-gc',
      'expunge',
      'snapshot-policies',
      'expire-reservations',
      'storage-cleanup',
      'purge-jobs',
    ]);
    for (const [task, result] of Object.entries(outcome))
      expect({ task, result }).not.toMatchObject({ result: { error: expect.anything() } });
    await expect(cloud.vms.get(vm.id)).rejects.toThrow(/not found/);
  });
});
