import { userDispersingAllocator } from '@stratus/allocator';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidParameterError,
  InvalidStateError,
  NotFoundError,
  PermissionDeniedError,
  ResourceLimitError,
} from '../../src/errors.js';
import { isStateChange } from '../../src/events/event-types.js';
import { expectRejected } from '../rules/expect-rejected.js';
import { type VmWorld, vmWorld } from './vm-world.js';

describe('VM operations', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('changes the service offering only while Stopped; the next start books the new size', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small, big } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    await expectRejected(cloud, () => user.vms.changeServiceOffering(vm.id, big.id), {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'id',
      value: vm.id,
    });
    await (await user.vms.stop(vm.id)).result;
    const changed = await user.vms.changeServiceOffering(vm.id, big.id);
    expect(changed.serviceOfferingId).toBe(big.id);
    const started = await (await user.vms.start(vm.id)).result;
    expect(await cloud.capacity.hostCapacity(cloud.store.db, started.hostId!)).toMatchObject({
      cpuUsed: 8000,
      memoryUsed: 8192 * 1024 ** 2,
    });
    expect((await cloud.events.list({ type: 'VM.UPGRADE' })).length).toBe(1);
  });

  it('resets a password on a Stopped VM of a password-enabled template, returning it once and storing it nowhere', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    await expectRejected(cloud, () => user.vms.resetPassword(vm.id), {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'id',
      value: vm.id,
    });
    await (await user.vms.stop(vm.id)).result;
    const { password, vm: after } = await user.vms.resetPassword(vm.id);
    expect(password).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(JSON.stringify(after)).not.toContain(password);
    const events = await cloud.events.list({ resourceType: 'VirtualMachine', resourceId: vm.id });
    expect(JSON.stringify(events)).not.toContain(password);
    expect(events.some((e) => e.type === 'VM.RESETPASSWORD')).toBe(true);
  });

  it('keeps user data (base64 only, bounded) and updates it', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small } = world;
    const data = Buffer.from('#cloud-config\npackages: [nginx]\n').toString('base64');
    const vm = await user.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: small.id,
      templateId: template.id,
      userData: data,
    });
    expect(vm.details.userData).toBe(data);
    await expectRejected(cloud, () => user.vms.updateUserData(vm.id, 'not base64!'), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'userData',
      value: 'not base64!…',
    });
    const next = Buffer.from('echo hi').toString('base64');
    expect((await user.vms.updateUserData(vm.id, next)).details.userData).toBe(next);
  });

  it('refuses bad deploy input with a typed error and changes nothing', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small, big } = world;
    const base = { zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id };
    await expectRejected(cloud, () => user.vms.deploy({ ...base, zoneId: 999 }), {
      error: NotFoundError,
      code: 'NOT_FOUND',
      httpCode: 431,
      field: 'zoneId',
      value: 999,
    });
    await expectRejected(cloud, () => user.vms.deploy({ ...base, hostName: '9-bad' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostName',
      value: '9-bad',
    });
    await expectRejected(cloud, () => user.vms.deploy({ ...base, keypair: 'nope' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'keypair',
      value: 'nope',
    });
    await expectRejected(cloud, () => user.vms.deploy({ ...base, hostId: world.hosts[0]!.id }), {
      error: PermissionDeniedError,
      code: 'PERMISSION_DENIED',
      httpCode: 401,
      field: 'hostId',
      value: world.hosts[0]!.id,
    });
    await user.vms.deployAndWait({ ...base, hostName: 'web' });
    await expectRejected(cloud, () => user.vms.deploy({ ...base, hostName: 'web' }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'hostName',
      value: 'web',
    });
    await cloud.settings.set('max.account.cpus', 5);
    await user.vms.deployAndWait({ ...base, serviceOfferingId: big.id });
    await expectRejected(cloud, () => user.vms.deploy(base), {
      error: ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'accountId',
      value: world.account.id,
    });
  });

  it('starts VMs deployed at once on a new network: the second waits for the first to implement it', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const { cloud, user, zone, template, small } = world;
    const offering = await cloud.network.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
    const net = await user.network.networks.create({ zoneId: zone.id, name: 'fresh', networkOfferingId: offering.id });
    expect(net.state).toBe('Allocated');
    const changes: string[] = [];
    cloud.events.on('NETWORK.STATE.CHANGE', (e) => {
      if (isStateChange(e) && e.resourceId === net.id) changes.push(`${e.parameters.from} → ${e.parameters.to}`);
    });
    const jobs = await Promise.all(
      ['a', 'b', 'c'].map((hostName) =>
        user.vms.deploy({
          zoneId: zone.id,
          serviceOfferingId: small.id,
          templateId: template.id,
          networkIds: [net.id],
          hostName,
        }),
      ),
    );
    const vms = await Promise.all(jobs.map((job) => job.result));
    expect(vms.map((vm) => vm.state)).toEqual(['Running', 'Running', 'Running']);
    // The deploy names its VM before the job ends.
    expect(jobs.map((job) => job.vmId)).toEqual(vms.map((vm) => vm.id));
    expect(await cloud.network.networks.get(net.id)).toMatchObject({ state: 'Implemented' });
    // Implemented once: the later starts waited for it.
    expect(changes).toEqual(['Allocated → Implementing', 'Implementing → Implemented']);
  });

  it('sees concurrent placements before they are booked: a dispersing allocator spreads an account at once', async () => {
    world = await vmWorld({ allocator: userDispersingAllocator(), clusters: 1, hostsPerCluster: 4 });
    const { user, zone, template, small } = world;
    const vms = await Promise.all(
      [1, 2, 3, 4].map(() =>
        user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id }),
      ),
    );
    expect(new Set(vms.map((vm) => vm.hostId)).size).toBe(4);
  });

  it('forgets the placements of failed attempts: the hosts still fill to their last unit', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const { cloud, user, zone, template, big, sim } = world;
    // Two big VMs fill a host (8 cores × 2000 MHz, 16 GiB), with the cluster allowed to fill up.
    await cloud.settings.set('cluster.cpu.allocated.capacity.disablethreshold', 1);
    await cloud.settings.set('cluster.memory.allocated.capacity.disablethreshold', 1);
    for (const key of ['max.account.cpus', 'max.account.memory', 'max.account.user.vms'] as const)
      await cloud.settings.set(key, -1);
    // Attempts that fail before their booking (staging the template) and after it (starting).
    const [first] = world.hosts;
    sim.faults.failNext('copyTemplateToPrimary', { host: first!.name });
    sim.faults.failNext('startVm', { host: first!.name });
    const deploy = () =>
      user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: big.id, templateId: template.id });
    // (A VM that failed on the first host avoids it; with the second full it may end in Error.)
    const settled = await Promise.allSettled([deploy(), deploy(), deploy()]);
    const vms = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // Then, faults spent or cleared, one at a time until the cloud is full: exactly four fit, two per host.
    sim.faults.clear();
    for (;;) {
      try {
        vms.push(await deploy());
      } catch (error) {
        expect(error).toMatchObject({ code: 'INSUFFICIENT_CAPACITY' });
        break;
      }
    }
    expect(vms.map((vm) => vm.state)).toEqual(['Running', 'Running', 'Running', 'Running']);
    for (const host of world.hosts) {
      expect(vms.filter((vm) => vm.hostId === host.id)).toHaveLength(2);
      expect(await cloud.capacity.hostCapacity(cloud.store.db, host.id)).toMatchObject({ cpuUsed: 16000 });
    }
  });

  it('ends in Error with everything released when no host can take a new VM', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const { cloud, user, zone, template } = world;
    const huge = await cloud.offerings.createServiceOffering({
      name: 'huge',
      cpuNumber: 4,
      cpuSpeed: 2000,
      memory: 12 * 1024,
    });
    const first = await user.vms.deployAndWait({
      zoneId: zone.id,
      serviceOfferingId: huge.id,
      templateId: template.id,
    });
    expect(first.state).toBe('Running');
    const job = await user.vms.deploy({ zoneId: zone.id, serviceOfferingId: huge.id, templateId: template.id });
    await expect(job.result).rejects.toMatchObject({ code: 'INSUFFICIENT_CAPACITY', httpCode: 533 });
    const failed = (await cloud.vms.list({ state: 'Error' }))[0]!;
    expect(await cloud.network.networks.listNics({ vmId: failed.id })).toEqual([]);
    expect(await cloud.volumes.list({ instanceId: failed.id })).toEqual([]);
    const status = await cloud.jobs.get(job.id);
    expect(status).toMatchObject({ status: 'FAILED', statusCode: 2, resultCode: 533 });
    expect(status.result).toMatchObject({ errorcode: 533, code: 'INSUFFICIENT_CAPACITY' });
    expect((status.result as { errortext: string }).errortext).toBe(
      `Unable to place VM ${failed.id}: 0/1 hosts available: 1 cluster CPU above disable threshold`,
    );
  });
});

describe('usage events', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('records VM and volume usage events with account, zone, offering, template and size', async () => {
    world = await vmWorld();
    const { cloud, user, zone, template, small, account } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    await (await user.vms.stop(vm.id)).result;
    await (await user.vms.destroy(vm.id)).result;
    const usage = await user.events.listUsage();
    expect(usage.map((u) => u.type)).toEqual([
      'VOLUME.CREATE',
      'VM.CREATE',
      'VM.START',
      'VM.STOP',
      'VOLUME.DELETE',
      'VM.DESTROY',
    ]);
    expect(usage[1]).toMatchObject({
      accountId: account.id,
      zoneId: zone.id,
      resourceId: vm.id,
      resourceName: vm.instanceName,
      offeringId: small.id,
      templateId: template.id,
    });
    expect(usage[0]?.size).toBeGreaterThan(0);
    expect(await cloud.events.listUsage({ accountId: 999 })).toEqual([]);
  });
});

describe('capacity report', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('reports total, used, reserved and percent per zone, cluster and host, like listCapacity', async () => {
    world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const { cloud, user, zone, template, small } = world;
    const vm = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
    const zoneCpu = (await cloud.capacityReport({ level: 'zone', zoneId: zone.id, type: 'CPU' }))[0]!;
    expect(zoneCpu).toMatchObject({ type: 'CPU', total: 2 * 8 * 2000, used: 1000, reserved: 0 });
    expect(zoneCpu.percent).toBeCloseTo(3.13, 1);
    await (await user.vms.stop(vm.id)).result;
    const host = (await cloud.capacityReport({ level: 'host', hostId: vm.hostId!, type: 'MEMORY' }))[0]!;
    expect(host).toMatchObject({ used: 0, reserved: 2048 * 1024 ** 2 });
  });
});
