import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verticalAllocator } from '@stratus/allocator';
import { simulatedImageStore } from '@stratus/driver-simulator';
import { afterEach, describe, expect, it } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import { InvalidParameterError, PermissionDeniedError, PlacementError } from '../../src/index.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { horizontalAllocator, type VmWorld, vmWorld } from '../orchestration/vm-world.js';
import { expectRejected } from '../rules/expect-rejected.js';

async function secondAccount(cloud: Cloud): Promise<Cloud> {
  const { user } = await cloud.tenancy.createAccount({
    accountName: 'globex',
    user: { username: 'bob', password: 'pw' },
  });
  return cloud.as(await cloud.resolveCaller({ userId: user.id }));
}

async function failure(p: Promise<unknown>): Promise<PlacementError> {
  const e = await p.then(
    () => null,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(PlacementError);
  return e as PlacementError;
}

/** Host affinity and anti-affinity groups through createCloud and the simulator. */
describe('affinity groups', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('anti-affinity spreads a group over hosts (vertical would stack it) and explains when no host is left', async () => {
    world = await vmWorld(); // 2 clusters × 2 hosts, vertical
    const { cloud, user, zone, template, small, hosts } = world;
    const group = await user.affinityGroups.create({ name: 'web', type: 'host anti-affinity' });
    expect(group).toMatchObject({ name: 'web', type: 'host anti-affinity', accountId: world.account.id });
    const deploy = () =>
      user.vms.deployAndWait({
        zoneId: zone.id,
        serviceOfferingId: small.id,
        templateId: template.id,
        affinityGroupIds: [group.id],
      });
    const placed = [];
    for (let i = 0; i < hosts.length; i++) placed.push(await deploy());
    expect(new Set(placed.map((v) => v.hostId)).size).toBe(hosts.length);
    expect(await user.affinityGroups.members(group.id)).toEqual(placed.map((v) => v.id).sort((a, b) => a - b));
    // A VM outside the group still stacks (vertical): the rule is the group's, not the allocator's.
    const free = await user.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: small.id,
      templateId: template.id,
    });
    expect(placed.map((v) => v.hostId)).toContain(free.hostId);
    const e = await failure(deploy());
    expect(e.message).toMatch(/0\/4 hosts available: 4 anti-affinity conflict/);
    expect(e.explanation.hosts.reasons).toEqual({ ANTI_AFFINITY: 4 });
    void cloud;
  });

  it('anti-affinity holds on restart: a VM whose last host now has a group member starts elsewhere', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const { cloud, user, zone, template, small } = world;
    // Stopped VMs keep no reservation, so a member may take the stopped VM's host.
    await cloud.settings.set('capacity.skipcounting.hours', 0);
    const group = await user.affinityGroups.create({ name: 'db', type: 'host anti-affinity' });
    const input = {
      zoneId: zone.id,
      serviceOfferingId: small.id,
      templateId: template.id,
      affinityGroupIds: [group.id],
    };
    const a = await user.vms.deployAndWait(input);
    await (await user.vms.stop(a.id)).result;
    const c = await user.vms.deployAndWait(input);
    expect(c.hostId).toBe(a.hostId); // vertical: the first host, free again
    const restarted = await (await user.vms.start(a.id)).result;
    expect(restarted.hostId).not.toBe(a.hostId);
    expect(restarted.placement?.lastHost).toBe(false);
    expect(restarted.placement?.hosts.reasons.ANTI_AFFINITY).toBe(1);
  });

  it('host affinity keeps a group on one host (horizontal would spread it) until that host is full', async () => {
    world = await vmWorld({ allocator: horizontalAllocator(), clusters: 2, hostsPerCluster: 2 });
    const { user, zone, template, big } = world;
    const group = await user.affinityGroups.create({ name: 'pair', type: 'host affinity' });
    const input = { zoneId: zone.id, serviceOfferingId: big.id, templateId: template.id, affinityGroupIds: [group.id] };
    const a = await user.vms.deployAndWait(input);
    const b = await user.vms.deployAndWait(input);
    expect(b.hostId).toBe(a.hostId);
    // Without the group, horizontal spreads.
    const loose = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: big.id, templateId: template.id });
    expect(loose.hostId).not.toBe(a.hostId);
    // 8 cores × 2000 MHz host, big = 4 × 2000 MHz: the group's host is full.
    const e = await failure(user.vms.deployAndWait(input));
    expect(e.explanation.hosts.reasons.AFFINITY).toBe(3);
    expect(e.explanation.hosts.reasons.INSUFFICIENT_CPU).toBe(1);
    expect(e.message).toMatch(/affinity conflict/);
  });

  it('a successful placement keeps its explanation on the stored job result', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    const job = await user.vms.deploy({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    const vm = await job.result;
    const stored = await cloud.jobs.get<{
      id: number;
      hostId: number;
      placement: { hosts: { winner: number; candidates: number } };
    }>(job.id);
    expect(stored.result).toMatchObject({ id: vm.id, hostId: vm.hostId });
    expect(stored.result && 'placement' in stored.result ? stored.result.placement.hosts : null).toMatchObject({
      winner: vm.hostId,
      candidates: 4,
    });
  });

  it("a second account neither sees nor uses the first account's groups", async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    const group = await user.affinityGroups.create({ name: 'web', type: 'host anti-affinity' });
    const bob = await secondAccount(cloud);
    const own = await bob.affinityGroups.create({ name: 'web', type: 'host affinity' }); // same name, other account
    expect((await bob.affinityGroups.list()).map((g) => g.id)).toEqual([own.id]);
    expect((await user.affinityGroups.list()).map((g) => g.id)).toEqual([group.id]);
    expect((await cloud.affinityGroups.list()).map((g) => g.id).sort()).toEqual([group.id, own.id].sort());
    await expect(bob.affinityGroups.get(group.id)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expectRejected(
      cloud,
      () =>
        bob.vms.deploy({
          zoneId: zone.id,
          serviceOfferingId: small.id,
          templateId: template.id,
          affinityGroupIds: [group.id],
        }),
      {
        error: InvalidParameterError,
        code: 'INVALID_PARAMETER',
        httpCode: 431,
        field: 'affinityGroupIds',
        value: group.id,
      },
    );
    await expectRejected(cloud, () => bob.affinityGroups.delete(group.id), {
      error: PermissionDeniedError,
      code: 'PERMISSION_DENIED',
      httpCode: 401,
      field: 'id',
      value: group.id,
    });
    expect((await user.affinityGroups.list()).map((g) => g.id)).toEqual([group.id]);
  });

  it('validates groups: type, unique name per account, unknown or repeated ids at deploy', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    await expectRejected(cloud, () => user.affinityGroups.create({ name: 'x', type: 'host spread' as never }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'type',
      value: 'host spread',
    });
    await expectRejected(cloud, () => user.affinityGroups.create({ name: 'x', type: 'ExplicitDedication' as never }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'type',
      value: 'ExplicitDedication',
    });
    const g = await user.affinityGroups.create({ name: 'x', type: 'host affinity' });
    await expectRejected(cloud, () => user.affinityGroups.create({ name: 'x', type: 'host anti-affinity' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'name',
      value: 'x',
    });
    const base = { zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id };
    await expectRejected(cloud, () => user.vms.deploy({ ...base, affinityGroupIds: [9999] }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'affinityGroupIds',
      value: 9999,
    });
    await expectRejected(cloud, () => user.vms.deploy({ ...base, affinityGroupIds: [g.id, g.id] }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'affinityGroupIds',
      value: [g.id, g.id],
    });
  });

  it('the booking re-checks the rule in the store: a process whose index missed a member re-plans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stratus-affinity-'));
    const file = join(dir, 'cloud.db');
    world = await vmWorld({ store: sqliteStore({ file }), clusters: 1, hostsPerCluster: 2 });
    const { cloud, user, zone, template, small, sim, account } = world;
    const other = await createCloud({
      store: sqliteStore({ file }),
      hypervisors: [sim],
      allocator: verticalAllocator(),
      imageStore: simulatedImageStore(),
    });
    try {
      const group = await user.affinityGroups.create({ name: 'db', type: 'host anti-affinity' });
      const base = { zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id };
      // The second process loads its placement index now, before the first member exists.
      const warm = await other.vms.deployAndWait({ ...base, accountId: account.id });
      const a = await user.vms.deployAndWait({ ...base, affinityGroupIds: [group.id] });
      expect(a.hostId).toBe(warm.hostId); // vertical
      const b = await other.vms.deployAndWait({ ...base, accountId: account.id, affinityGroupIds: [group.id] });
      expect(b.hostId).not.toBe(a.hostId);
      void cloud;
    } finally {
      await other.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('deleting a group releases its VMs from the rule; expunging a VM leaves its groups', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const { cloud, user, zone, template, small } = world;
    const group = await user.affinityGroups.create({ name: 'solo', type: 'host anti-affinity' });
    const input = {
      zoneId: zone.id,
      serviceOfferingId: small.id,
      templateId: template.id,
      affinityGroupIds: [group.id],
    };
    const a = await user.vms.deployAndWait(input);
    await failure(user.vms.deployAndWait(input));
    await (await cloud.vms.destroy(a.id, { expunge: true })).result;
    expect(await user.affinityGroups.members(group.id)).not.toContain(a.id);
    const b = await user.vms.deployAndWait(input);
    await user.affinityGroups.delete(group.id);
    expect(await user.affinityGroups.list()).toEqual([]);
    // The group is gone: the next VM is free to share b's host.
    const c = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    expect(c.hostId).toBe(b.hostId);
    expect((await cloud.events.list({ type: 'AG.DELETE' })).length).toBe(1);
  });
});
