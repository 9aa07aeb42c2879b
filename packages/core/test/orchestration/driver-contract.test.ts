import { simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it } from 'vitest';
import { createCloud } from '../../src/cloud.js';
import { StratusError } from '../../src/errors.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { vmWorld } from './vm-world.js';

async function rejection(p: Promise<unknown>): Promise<StratusError> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StratusError);
  return error as StratusError;
}

describe('the driver contract as core uses it', () => {
  it('hosts.add checks the traffic labels on the host (checkNetwork): a missing bridge is refused at add time', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const [cluster] = await world.cloud.clusters.list({ zoneId: world.zone.id });
    const before = await world.cloud.hosts.list();
    const checks = world.sim.log.count('checkNetwork');
    // The zone's physical network labels guest and management cloudbr1, public cloudbr0; this host has cloudbr0 only.
    const error = await rejection(
      world.cloud.hosts.add({ clusterId: cluster!.id, url: 'sim://no-bridge?ip=192.168.10.99&labels=cloudbr0' }),
    );
    expect(error.code).toBe('INVALID_PARAMETER');
    expect(error.field).toBe('url');
    expect(error.message).toMatch(/cloudbr1 \(Guest\)/);
    expect(world.sim.log.count('checkNetwork')).toBe(checks + 1);
    expect(await world.cloud.hosts.list()).toHaveLength(before.length);
    // The refused host was disconnected by core.
    const refused = Object.values(world.sim.inspect().hosts).find((h) => h.name === 'no-bridge');
    expect(refused?.connected).toBe(false);
    // A host with both labels is added.
    const added = await world.cloud.hosts.add({
      clusterId: cluster!.id,
      url: 'sim://bridged?ip=192.168.10.98&labels=cloudbr0,cloudbr1',
    });
    expect(added[0]?.status).toBe('Up');
  });

  it('volume snapshots are refused with UnsupportedError before any driver call when the capability is off', async () => {
    const sim = simulatorDriver({ capabilities: { volumeSnapshots: false } });
    const world = await vmWorld({ sim, clusters: 1 });
    const vm = await world.cloud.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const [root] = await world.cloud.volumes.ofVm(vm.id);
    const error = await rejection(world.cloud.snapshots.create(root!.id));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.httpCode).toBe(432);
    expect(error.field).toBe('volumeId');
    const policy = await rejection(
      world.cloud.snapshots.createPolicy({
        volumeId: root!.id,
        intervalType: 'DAILY',
        schedule: '00:01',
        timezone: 'UTC',
        maxSnaps: 2,
      }),
    );
    expect(policy.code).toBe('UNSUPPORTED');
    expect(sim.log.count('createSnapshot')).toBe(0);
    expect(await world.cloud.snapshots.list({ volumeId: root!.id })).toEqual([]);
  });

  it('an Unsupported failure of startVm ends the deploy as itself, not as insufficient capacity, and is not retried', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    world.sim.faults.failAlways('startVm', () => true, 'Unsupported');
    const error = await rejection(
      world.cloud.vms.deployAndWait({
        zoneId: world.zone.id,
        serviceOfferingId: world.small.id,
        templateId: world.template.id,
      }),
    );
    expect(error.code).toBe('DRIVER_UNSUPPORTED');
    expect(error.httpCode).toBe(432);
    expect(world.sim.log.count('startVm')).toBe(1); // the other host was not tried
    const [vm] = await world.cloud.vms.list({ zoneId: world.zone.id });
    expect(vm?.state).toBe('Error');
  });

  it('maintenance tells the driver (prepareMaintenance / cancelMaintenance); a driver failure changes nothing', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 2 });
    const host = world.hosts[1]!;
    world.sim.faults.failNext('prepareMaintenance', { host: host.guid, error: 'Unreachable' });
    const error = await rejection(world.cloud.hosts.prepareForMaintenance(host.id));
    expect(error.code).toBe('DRIVER_UNREACHABLE');
    expect((await world.cloud.hosts.get(host.id)).resourceState).toBe('Enabled');
    expect((await world.cloud.hosts.prepareForMaintenance(host.id)).resourceState).toBe('Maintenance');
    expect(world.sim.log.count('prepareMaintenance', 'ok')).toBe(1);
    world.sim.faults.failNext('cancelMaintenance', { host: host.guid, error: 'Unreachable' });
    await rejection(world.cloud.hosts.cancelMaintenance(host.id));
    expect((await world.cloud.hosts.get(host.id)).resourceState).toBe('Maintenance');
    expect((await world.cloud.hosts.cancelMaintenance(host.id)).resourceState).toBe('Enabled');
    // A refused change (not in maintenance) reaches no driver.
    const calls = world.sim.log.count('cancelMaintenance');
    expect((await rejection(world.cloud.hosts.cancelMaintenance(host.id))).code).toBe('NO_TRANSITION');
    expect(world.sim.log.count('cancelMaintenance')).toBe(calls);
  });

  it('hosts.reconnect disconnects and connects the same host again; its running VM stays', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    const vm = await world.cloud.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const host = world.hosts[0]!;
    const connects = world.sim.log.count('connect');
    const back = await world.cloud.hosts.reconnect(host.id);
    expect(back.status).toBe('Up');
    expect(world.sim.log.count('disconnect')).toBeGreaterThanOrEqual(1);
    expect(world.sim.log.count('connect')).toBe(connects + 1);
    expect((await world.cloud.vms.get(vm.id)).state).toBe('Running');
    expect(await world.sim.getVmState({ guid: host.guid, name: host.name }, vm.instanceName)).toBe('running');
    const events = await world.cloud.events.list({ resourceType: 'Host' } as never);
    expect(events.some((e) => e.type === 'HOST.RECONNECT')).toBe(true);
    // Connecting fails: the error is the driver's, the host stays Disconnected.
    world.sim.faults.failNext('connect', { error: 'Unreachable' });
    expect((await rejection(world.cloud.hosts.reconnect(host.id))).code).toBe('DRIVER_UNREACHABLE');
    expect((await world.cloud.hosts.get(host.id)).status).toBe('Disconnected');
  });

  it('a template from a volume (createTemplateFromVolume): refused while the VM runs, written once it is stopped', async () => {
    const world = await vmWorld({ clusters: 1 });
    const vm = await world.cloud.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const root = (await world.cloud.volumes.ofVm(vm.id)).find((v) => v.volumeType === 'ROOT')!;
    const templates = (await world.cloud.templates.list({ filter: 'all' })).length;
    const running = await rejection(world.cloud.volumes.createTemplate(root.id, { name: 'golden' }));
    expect(running.code).toBe('INVALID_STATE');
    expect(running.field).toBe('volumeId');
    expect((await rejection(world.cloud.volumes.createTemplate(root.id, { name: ' ' }))).field).toBe('name');
    expect(world.sim.log.count('createTemplateFromVolume')).toBe(0);
    expect(await world.cloud.templates.list({ filter: 'all' })).toHaveLength(templates);
    await (await world.cloud.vms.stop(vm.id)).result;
    const { templateId } = await (await world.cloud.volumes.createTemplate(root.id, { name: 'golden' })).result;
    expect(world.sim.log.count('createTemplateFromVolume', 'ok')).toBe(1);
    expect(await world.cloud.templateStorage.isReadyInZone(templateId, world.zone.id)).toBe(true);
    const fromIt = await world.cloud.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId,
    });
    expect(fromIt.state).toBe('Running');
  });

  it('createCloud refuses a driver that lacks a required operation, or an operation a capability it declares needs', async () => {
    const sim = simulatorDriver();
    const lacking = (omit: string) =>
      new Proxy(sim, {
        get: (target, prop, receiver) => (prop === omit ? undefined : Reflect.get(target, prop, receiver)),
      });
    const noReboot = await rejection(createCloud({ store: sqliteStore(), hypervisors: [lacking('rebootVm')] }));
    expect(noReboot.code).toBe('INVALID_PARAMETER');
    expect(noReboot.field).toBe('hypervisor');
    expect(noReboot.message).toMatch(/lacks rebootVm/);
    const noResize = await rejection(createCloud({ store: sqliteStore(), hypervisors: [lacking('resizeVolume')] }));
    expect(noResize.message).toMatch(/resizeVolume \(capability volumeResize\)/);
    const withoutFlag = simulatorDriver({ capabilities: { volumeResize: false } });
    const cloud = await createCloud({
      store: sqliteStore(),
      hypervisors: [
        new Proxy(withoutFlag, {
          get: (target, prop, receiver) => (prop === 'resizeVolume' ? undefined : Reflect.get(target, prop, receiver)),
        }),
      ],
    });
    await cloud.close();
  });

  it('a deploy whose only host failed reports the driver failure with "nothing else fits"', async () => {
    const world = await vmWorld({ clusters: 1, hostsPerCluster: 1 });
    world.sim.faults.failAlways('startVm', () => true, 'DeviceError');
    const error = await rejection(
      world.cloud.vms.deployAndWait({
        zoneId: world.zone.id,
        serviceOfferingId: world.small.id,
        templateId: world.template.id,
      }),
    );
    expect(error.code).toBe('INSUFFICIENT_CAPACITY');
    expect(error.message).toMatch(
      /the last attempt failed with DRIVER_DEVICE_ERROR: simulator: injected DeviceError in startVm/,
    );
    expect(error.cause).toMatchObject({ code: 'DRIVER_DEVICE_ERROR' });
  });

  it('a volume migration is refused with UnsupportedError before any driver call without volumeMigration', async () => {
    const sim = simulatorDriver({ capabilities: { volumeMigration: false } });
    const world = await vmWorld({ sim, clusters: 1 });
    const [cluster] = await world.cloud.clusters.list({ zoneId: world.zone.id });
    const other = await world.cloud.storagePools.create({
      clusterId: cluster!.id,
      name: 'ps-other',
      url: 'nfs://10.0.0.5/export/other',
    });
    const offering = await world.cloud.offerings.createDiskOffering({ name: 'd1', diskSizeGb: 1 });
    const vm = await world.cloud.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
      diskOfferingId: offering.id,
    });
    await (await world.cloud.vms.stop(vm.id)).result;
    const data = (await world.cloud.volumes.ofVm(vm.id)).find((v) => v.volumeType === 'DATADISK')!;
    const target = data.poolId === other.id ? world.pools[0]!.id : other.id;
    const error = await rejection(world.cloud.volumes.migrate(data.id, target));
    expect(error.code).toBe('UNSUPPORTED');
    expect(error.field).toBe('volumeId');
    expect(sim.log.count('migrateVolume')).toBe(0);
    expect((await world.cloud.volumes.get(data.id)).poolId).toBe(data.poolId);
  });
});
