import { afterEach, describe, expect, it } from 'vitest';
import { InvalidParameterError, PlacementError } from '../../src/index.js';
import { type VmWorld, vmWorld } from '../orchestration/vm-world.js';
import { expectRejected } from '../rules/expect-rejected.js';

/** Offering-driven placement rules through createCloud: multi-tag host tags and implicit dedication. */
describe('offering placement rules', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('keeps every host tag of an offering and places only on hosts carrying all of them', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, hosts } = world;
    const [gpuOnly, both, fastOnly] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    await cloud.hosts.update(gpuOnly.id, { hostTags: 'gpu' });
    await cloud.hosts.update(both.id, { hostTags: ['fast', 'gpu', 'ssd'] });
    await cloud.hosts.update(fastOnly.id, { hostTags: 'fast' });
    const offering = await cloud.offerings.createServiceOffering({
      name: 'gpu-fast',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
      hostTag: ' gpu , fast ',
    });
    expect(offering.hostTag).toBe('gpu,fast');
    expect((await cloud.offerings.getServiceOffering(offering.id)).hostTag).toBe('gpu,fast');
    for (let i = 0; i < 3; i++) {
      const vm = await user.vms.deployAndWait({
        zoneId: zone.id,
        serviceOfferingId: offering.id,
        templateId: template.id,
      });
      expect(vm.hostId).toBe(both.id);
    }
    // Tags are case-sensitive: `GPU` is not `gpu`.
    const upper = await cloud.offerings.createServiceOffering({
      name: 'upper',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
      hostTag: 'GPU',
    });
    const failed = await user.vms
      .deployAndWait({ zoneId: zone.id, serviceOfferingId: upper.id, templateId: template.id })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(PlacementError);
    expect((failed as PlacementError).message).toMatch(/host-tag mismatch/);
  });

  it('refuses a host tag with characters CloudStack tags do not take, naming the field', async () => {
    world = await vmWorld();
    await expectRejected(
      world.cloud,
      () =>
        world.cloud.offerings.createServiceOffering({
          name: 'bad',
          cpuNumber: 1,
          cpuSpeed: 500,
          memory: 512,
          hostTag: 'gpu,fa st',
        }),
      { error: InvalidParameterError, code: 'INVALID_PARAMETER', httpCode: 431, field: 'hostTag', value: 'gpu,fa st' },
    );
  });

  it('validates the ImplicitDedicationMode detail', async () => {
    world = await vmWorld();
    const create = (details: unknown) =>
      world.cloud.offerings.createServiceOffering({
        name: 'x',
        cpuNumber: 1,
        cpuSpeed: 500,
        memory: 512,
        details: details as never,
      });
    await expectRejected(world.cloud, () => create({ ImplicitDedicationMode: 'Loose' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'details.ImplicitDedicationMode',
      value: 'Loose',
    });
    await expectRejected(world.cloud, () => create({ Planner: 'x' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'details.Planner',
      value: 'x',
    });
    const ok = await create({ ImplicitDedicationMode: 'Preferred' });
    expect(ok.details).toEqual({ ImplicitDedicationMode: 'Preferred' });
  });

  it('strict implicit dedication keeps each account on hosts of its own, from deploy to booking', async () => {
    // Vertical packing would put everything on the first host without the rule.
    world = await vmWorld({ clusters: 1, hostsPerCluster: 3 });
    const { cloud, user, zone, template, account } = world;
    const strict = await cloud.offerings.createServiceOffering({
      name: 'strict',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
      details: { ImplicitDedicationMode: 'Strict' },
    });
    const { user: otherUser } = await cloud.tenancy.createAccount({
      accountName: 'globex',
      user: { username: 'bob', password: 'pw' },
    });
    const bob = cloud.as(await cloud.resolveCaller({ userId: otherUser.id }));
    const a1 = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: strict.id, templateId: template.id });
    const b1 = await bob.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: strict.id, templateId: template.id });
    const a2 = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: strict.id, templateId: template.id });
    expect(b1.hostId).not.toBe(a1.hostId);
    expect(a2.hostId).toBe(a1.hostId);
    // The mode is stored with the booking (it survives a reload of the placement index).
    const bookings = await cloud.store.db
      .selectFrom('capacityBookings')
      .select(['vmId', 'implicitMode', 'accountId'])
      .execute();
    expect(bookings.map((b) => [Number(b.vmId), b.implicitMode]).sort()).toEqual(
      [
        [a1.id, 'Strict'],
        [a2.id, 'Strict'],
        [b1.id, 'Strict'],
      ].sort(),
    );
    // A non-dedicated VM of a third party never lands on a strictly dedicated host.
    const { user: thirdUser } = await cloud.tenancy.createAccount({
      accountName: 'initech',
      user: { username: 'carol', password: 'pw' },
    });
    const carol = cloud.as(await cloud.resolveCaller({ userId: thirdUser.id }));
    const c1 = await carol.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: world.small.id,
      templateId: template.id,
    });
    expect([a1.hostId, b1.hostId]).not.toContain(c1.hostId);
    // The third host is now shared: a new strict account has nowhere to go.
    const { user: fourthUser } = await cloud.tenancy.createAccount({
      accountName: 'umbrella',
      user: { username: 'dave', password: 'pw' },
    });
    const dave = cloud.as(await cloud.resolveCaller({ userId: fourthUser.id }));
    const failed = await dave.vms
      .deployAndWait({ zoneId: zone.id, serviceOfferingId: strict.id, templateId: template.id })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(failed).toBeInstanceOf(PlacementError);
    expect((failed as PlacementError).message).toMatch(/0\/3 hosts available: 3 dedicated elsewhere/);
    void account;
  });

  it('preferred implicit dedication falls back to shared hosts when no own or empty host is left', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const { cloud, user, zone, template } = world;
    const preferred = await cloud.offerings.createServiceOffering({
      name: 'preferred',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
      details: { ImplicitDedicationMode: 'Preferred' },
    });
    const { user: otherUser } = await cloud.tenancy.createAccount({
      accountName: 'globex',
      user: { username: 'bob', password: 'pw' },
    });
    const bob = cloud.as(await cloud.resolveCaller({ userId: otherUser.id }));
    const shared = await bob.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: world.small.id,
      templateId: template.id,
    });
    const vm = await user.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: preferred.id,
      templateId: template.id,
    });
    expect(vm.hostId).toBe(shared.hostId);
    const booking = await cloud.store.db
      .selectFrom('capacityBookings')
      .select('implicitMode')
      .where('vmId', '=', vm.id)
      .executeTakeFirstOrThrow();
    expect(booking.implicitMode).toBe('Preferred');
  });
});
