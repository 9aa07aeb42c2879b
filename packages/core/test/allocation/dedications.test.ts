import { afterEach, describe, expect, it } from 'vitest';
import type { Cloud } from '../../src/cloud.js';
import { InvalidParameterError, PermissionDeniedError, PlacementError, ResourceInUseError } from '../../src/index.js';
import type { Account } from '../../src/model/records.js';
import { type VmWorld, vmWorld } from '../orchestration/vm-world.js';
import { expectRejected } from '../rules/expect-rejected.js';

async function account(cloud: Cloud, name: string, domainId?: number): Promise<{ account: Account; as: Cloud }> {
  const { account, user } = await cloud.tenancy.createAccount({
    accountName: name,
    ...(domainId !== undefined ? { domainId } : {}),
    user: { username: `${name}-user`, password: 'pw' },
  });
  return {
    account,
    as: cloud.as(await cloud.resolveCaller({ userId: user.id })),
  };
}

async function failure(p: Promise<unknown>): Promise<PlacementError> {
  const e = await p.then(
    () => null,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(PlacementError);
  return e as PlacementError;
}

/** Explicit dedication through createCloud and cloud.dedications (spec/allocation.md §9.1). */
describe('explicit dedication', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('a dedicated host takes only its owner; the owner also uses shared hosts unless it asks for strictness', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 }); // vertical: the first host first
    const { cloud, user, zone, template, small, big, hosts } = world;
    const [h1, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    await cloud.settings.set('cluster.threshold.enabled', false); // hosts fill up here, not the cluster
    const bob = await account(cloud, 'globex');
    const base = { zoneId: zone.id, templateId: template.id };
    // Placement is loaded before the dedication: the change must reach it.
    const before = await bob.as.vms.deployAndWait({ ...base, serviceOfferingId: small.id });
    expect(before.hostId).toBe(h1.id);
    await (await cloud.vms.destroy(before.id, { expunge: true })).result;
    const dedication = await cloud.dedications.dedicateHost(h1.id, { accountId: world.account.id });
    expect(dedication).toMatchObject({
      level: 'host',
      hostId: h1.id,
      clusterId: h1.clusterId,
      accountId: world.account.id,
    });
    // Someone else never lands on it.
    const other = await bob.as.vms.deployAndWait({ ...base, serviceOfferingId: small.id });
    expect(other.hostId).toBe(h2.id);
    // The owner may use shared hosts and its own: vertical fills the used shared host first, then h1.
    const shared = await user.vms.deployAndWait({ ...base, serviceOfferingId: big.id });
    expect(shared.hostId).toBe(h2.id);
    const mine = await user.vms.deployAndWait({ ...base, serviceOfferingId: big.id });
    expect(mine.hostId).toBe(h1.id); // h2 has no room for a second 8000 MHz VM
    // Strict: the owner's ExplicitDedication group (made by the first dedication) keeps VMs on dedicated hosts only.
    const groups = await user.affinityGroups.list({ type: 'ExplicitDedication' });
    expect(groups.map((g) => [g.id, g.name])).toEqual([
      [dedication.affinityGroupId, `DedicatedHostGrp-${world.account.accountName}`],
    ]);
    expect(await bob.as.affinityGroups.list()).toEqual([]);
    const strict = { ...base, affinityGroupIds: [dedication.affinityGroupId as number] };
    const s1 = await user.vms.deployAndWait({ ...strict, serviceOfferingId: small.id });
    expect(s1.hostId).toBe(h1.id);
    const e = await failure(user.vms.deployAndWait({ ...strict, serviceOfferingId: big.id }));
    expect(e.explanation.hosts.reasons).toEqual({ INSUFFICIENT_CPU: 1, NOT_DEDICATED: 1 });
    expect(e.message).toMatch(/not dedicated to the owner/);
    // Another account cannot join that group.
    await expectRejected(
      cloud,
      () =>
        bob.as.vms.deploy({
          ...base,
          serviceOfferingId: small.id,
          affinityGroupIds: [dedication.affinityGroupId as number],
        }),
      {
        error: InvalidParameterError,
        code: 'INVALID_PARAMETER',
        httpCode: 431,
        field: 'affinityGroupIds',
        value: dedication.affinityGroupId,
      },
    );
    // Release: the host is shared again and the group is gone with its last dedication.
    await cloud.dedications.releaseHost(h1.id);
    expect(await cloud.dedications.list()).toEqual([]);
    expect(await user.affinityGroups.list({ type: 'ExplicitDedication' })).toEqual([]);
    const after = await bob.as.vms.deployAndWait({ ...base, serviceOfferingId: small.id });
    expect(after.hostId).toBe(h1.id); // the only host with room left, no longer dedicated
  });

  it('strict VMs stay on hosts dedicated at any level, and come back to them on restart', async () => {
    world = await vmWorld({ clusters: 2, hostsPerCluster: 1 });
    const { cloud, user, zone, template, small, hosts } = world;
    const [, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const d = await cloud.dedications.dedicateCluster(h2.clusterId, { accountId: world.account.id });
    const input = {
      zoneId: zone.id,
      templateId: template.id,
      serviceOfferingId: small.id,
      affinityGroupIds: [d.affinityGroupId as number],
    };
    const vm = await user.vms.deployAndWait(input);
    expect(vm.hostId).toBe(h2.id);
    expect(vm.placement?.clusters.reasons.NOT_DEDICATED).toBe(1);
    await (await user.vms.stop(vm.id)).result;
    const restarted = await (await user.vms.start(vm.id)).result;
    expect(restarted.hostId).toBe(h2.id);
  });

  it("a domain dedication serves the domain's subdomains; a child can be dedicated only within it", async () => {
    world = await vmWorld({ clusters: 2, hostsPerCluster: 1 });
    const { cloud, zone, template, small, hosts } = world;
    const [h1, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const emea = await cloud.tenancy.createDomain({ name: 'emea', parentId: sales.id });
    const ops = await cloud.tenancy.createDomain({ name: 'ops' });
    const seller = await account(cloud, 'seller', emea.id);
    const outsider = await account(cloud, 'outsider', ops.id);
    const d = await cloud.dedications.dedicateCluster(h2.clusterId, { domainId: sales.id });
    expect(d.accountId).toBeNull();
    const base = { zoneId: zone.id, templateId: template.id, serviceOfferingId: small.id };
    const strict = await seller.as.vms.deployAndWait({ ...base, affinityGroupIds: [d.affinityGroupId as number] });
    expect(strict.hostId).toBe(h2.id);
    // The outsider never lands there (vertical would fill h1 then h2; h1 only has room for 16 small VMs).
    for (let i = 0; i < 3; i++) expect((await outsider.as.vms.deployAndWait(base)).hostId).toBe(h1.id);
    await expectRejected(
      cloud,
      () => outsider.as.vms.deploy({ ...base, affinityGroupIds: [d.affinityGroupId as number] }),
      {
        error: InvalidParameterError,
        code: 'INVALID_PARAMETER',
        httpCode: 431,
        field: 'affinityGroupIds',
        value: d.affinityGroupId,
      },
    );
    // Inside the dedicated cluster, a host may go to an account of the subtree, not to one outside it.
    await expectRejected(cloud, () => cloud.dedications.dedicateHost(h2.id, { accountId: outsider.account.id }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostId',
      value: h2.id,
    });
    const sub = await cloud.dedications.dedicateHost(h2.id, { accountId: seller.account.id });
    expect(sub.domainId).toBe(emea.id);
  });

  it('refuses what CloudStack refuses, naming the field and changing nothing', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const { cloud, user, zone, template, small, hosts } = world;
    const [h1, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const bob = await account(cloud, 'globex');
    const vm = await bob.as.vms.deployAndWait({
      zoneId: zone.id,
      templateId: template.id,
      serviceOfferingId: small.id,
    });
    expect(vm.hostId).toBe(h1.id);
    // A host running another account's VM.
    await expectRejected(cloud, () => cloud.dedications.dedicateHost(h1.id, { accountId: world.account.id }), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'hostId',
      value: h1.id,
    });
    // …nor its cluster, pod or zone.
    await expectRejected(
      cloud,
      () => cloud.dedications.dedicateCluster(h1.clusterId, { accountId: world.account.id }),
      {
        error: ResourceInUseError,
        code: 'RESOURCE_IN_USE',
        httpCode: 536,
        field: 'clusterId',
        value: h1.clusterId,
      },
    );
    // Only a root admin.
    await expectRejected(cloud, () => user.dedications.dedicateHost(h2.id, { accountId: world.account.id }), {
      error: PermissionDeniedError,
      code: 'PERMISSION_DENIED',
      httpCode: 401,
      field: undefined as never,
      value: undefined,
    });
    // An owner is required; an account must be in the domain given.
    await expectRejected(cloud, () => cloud.dedications.dedicateHost(h2.id, {}), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'domainId',
      value: undefined,
    });
    const other = await cloud.tenancy.createDomain({ name: 'other' });
    await expectRejected(
      cloud,
      () => cloud.dedications.dedicateHost(h2.id, { accountId: world.account.id, domainId: other.id }),
      {
        error: InvalidParameterError,
        code: 'INVALID_PARAMETER',
        httpCode: 431,
        field: 'accountId',
        value: world.account.id,
      },
    );
    // Once only; and nothing under a parent dedicated to an account.
    await cloud.dedications.dedicateHost(h2.id, { accountId: world.account.id });
    await expectRejected(cloud, () => cloud.dedications.dedicateHost(h2.id, { accountId: world.account.id }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostId',
      value: h2.id,
    });
    await expectRejected(cloud, () => cloud.dedications.releaseHost(h1.id), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostId',
      value: h1.id,
    });
    // The parent over a child dedicated to another owner.
    await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
    await expectRejected(cloud, () => cloud.dedications.dedicateCluster(h1.clusterId, { accountId: bob.account.id }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'clusterId',
      value: h1.clusterId,
    });
    // The same owner takes the cluster over: its host dedication is absorbed.
    const cluster = await cloud.dedications.dedicateCluster(h1.clusterId, { accountId: world.account.id });
    expect((await cloud.dedications.list()).map((d) => [d.id, d.level])).toEqual([[cluster.id, 'cluster']]);
    await expectRejected(cloud, () => cloud.dedications.dedicateHost(h1.id, { accountId: world.account.id }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostId',
      value: h1.id,
    });
    expect((await cloud.events.list({ type: 'DEDICATE.RESOURCE' })).length).toBe(2);
  });

  it("live migration refuses a host dedicated to someone else, and honours the VM's anti-affinity group", async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 3 });
    const { cloud, user, zone, template, small, hosts } = world;
    const [h1, h2, h3] = hosts as [(typeof hosts)[0], (typeof hosts)[0], (typeof hosts)[0]];
    const bob = await account(cloud, 'globex');
    const base = { zoneId: zone.id, templateId: template.id, serviceOfferingId: small.id };
    const group = await user.affinityGroups.create({ name: 'web', type: 'host anti-affinity' });
    const a = await user.vms.deployAndWait({ ...base, affinityGroupIds: [group.id] });
    const b = await user.vms.deployAndWait({ ...base, affinityGroupIds: [group.id] });
    expect([a.hostId, b.hostId]).toEqual([h1.id, h2.id]);
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: unknown) => e as InvalidParameterError,
      );
    const anti = await refusal((await cloud.vms.migrate(a.id, h2.id)).result);
    expect(anti).toBeInstanceOf(InvalidParameterError);
    expect({ field: anti?.field, value: anti?.value }).toEqual({ field: 'hostId', value: h2.id });
    expect(anti?.message).toMatch(/anti-affinity/);
    await cloud.dedications.dedicateHost(h3.id, { accountId: bob.account.id });
    const dedicated = await refusal((await cloud.vms.migrate(a.id, h3.id)).result);
    expect({ field: dedicated?.field, value: dedicated?.value }).toEqual({ field: 'hostId', value: h3.id });
    expect(dedicated?.message).toMatch(/dedicated to account/);
    expect((await cloud.vms.get(a.id)).hostId).toBe(h1.id);
    await cloud.dedications.releaseHost(h3.id);
    const moved = await (await cloud.vms.migrate(a.id, h3.id)).result;
    expect(moved.hostId).toBe(h3.id);
  });

  it('an account or domain holding dedications is not deleted; once released, its groups go with it', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const { cloud, hosts } = world;
    const [h1, h2] = hosts as [(typeof hosts)[0], (typeof hosts)[0]];
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const seller = await account(cloud, 'seller', sales.id);
    await seller.as.affinityGroups.create({ name: 'web', type: 'host anti-affinity' });
    await cloud.dedications.dedicateHost(h1.id, { accountId: seller.account.id });
    await cloud.dedications.dedicateHost(h2.id, { domainId: sales.id });
    await expectRejected(cloud, () => cloud.tenancy.deleteAccount(seller.account.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: seller.account.id,
    });
    await cloud.dedications.releaseHost(h1.id);
    await cloud.tenancy.deleteAccount(seller.account.id);
    expect((await cloud.affinityGroups.list()).map((g) => g.name)).toEqual([`DedicatedHostGrp-domain-${sales.name}`]);
    await expectRejected(cloud, () => cloud.tenancy.deleteDomain(sales.id, { cleanup: true }), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: sales.id,
    });
    await cloud.dedications.releaseHost(h2.id);
    await cloud.tenancy.deleteDomain(sales.id, { cleanup: true });
    expect(await cloud.affinityGroups.list()).toEqual([]);
  });

  it('a zone dedicated to a domain refuses other domains at deploy', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const { cloud, zone, template, small } = world;
    const ops = await cloud.tenancy.createDomain({ name: 'ops' });
    const outsider = await account(cloud, 'outsider', ops.id);
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const seller = await account(cloud, 'seller', sales.id);
    await cloud.dedications.dedicateZone(zone.id, { domainId: sales.id });
    expect((await cloud.zones.get(zone.id)).dedicatedDomainId).toBe(sales.id);
    const base = { zoneId: zone.id, templateId: template.id, serviceOfferingId: small.id };
    await expect(outsider.as.vms.deploy(base)).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await seller.as.vms.deployAndWait(base)).state).toBe('Running');
    await cloud.dedications.releaseZone(zone.id);
    expect((await cloud.zones.get(zone.id)).dedicatedDomainId).toBeNull();
    expect((await outsider.as.vms.deployAndWait(base)).state).toBe('Running');
  });
});
