import { simulatorDriver } from '@stratus/driver-simulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { Template, VirtualMachine } from '../../src/model/records.js';
import { type VmWorld, vmWorld } from './vm-world.js';

/** ISOs in a VM's CD-ROM (CloudStack's attachIso / detachIso), through createCloud on the simulator. */
describe('attaching and detaching ISOs', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  async function registerIso(name: string, options: { isPublic?: boolean; user?: boolean } = {}): Promise<Template> {
    const cloud = options.user ? world.user : world.cloud;
    const iso = await cloud.templates.register({
      name,
      url: `http://example.org/${name}.iso`,
      format: 'ISO',
      zoneId: world.zone.id,
      bootable: true,
      isPublic: options.isPublic ?? true,
    });
    await (await world.cloud.templateStorage.download(iso.id)).result;
    return iso;
  }

  const cdrom = (vm: VirtualMachine) =>
    world.sim
      .inspect()
      .vms[vm.instanceName]?.spec.disks.filter((d) => d.type === 'ISO')
      .map((d) => d.volumeUuid);

  it('a Running VM gets the ISO at once, keeps it across stop and start, and loses it on detach', async () => {
    world = await vmWorld();
    const iso = await registerIso('tools');
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    expect(vm.isoId).toBeNull();
    const attached = await (await world.user.vms.attachIso(vm.id, iso.id)).result;
    expect(attached.isoId).toBe(iso.id);
    expect(cdrom(vm)).toEqual([iso.uuid]);
    expect(await (await world.user.vms.attachIso(vm.id, iso.id)).result).toMatchObject({ isoId: iso.id }); // again: no-op

    await (await world.user.vms.stop(vm.id)).result;
    await (await world.user.vms.start(vm.id)).result;
    expect(cdrom(vm)).toEqual([iso.uuid]); // in the start spec

    const detached = await (await world.user.vms.detachIso(vm.id)).result;
    expect(detached.isoId).toBeNull();
    expect(cdrom(vm)).toEqual([]);
    await (await world.user.vms.stop(vm.id)).result;
    await (await world.user.vms.start(vm.id)).result;
    expect(cdrom(vm)).toEqual([]);
    const events = (await world.cloud.events.list({ resourceType: 'VirtualMachine', resourceId: vm.id })).map(
      (e) => e.type,
    );
    expect(events).toEqual(expect.arrayContaining(['ISO.ATTACH', 'ISO.DETACH']));
  });

  it('a Stopped VM records the ISO and starts with it; a VM deployed from an ISO holds it and can eject it', async () => {
    world = await vmWorld();
    const iso = await registerIso('installer');
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
      startVm: false,
    });
    await (await world.user.vms.attachIso(vm.id, iso.id)).result;
    expect(world.sim.log.counts().attachIso?.ok ?? 0).toBe(0);
    await (await world.user.vms.start(vm.id)).result;
    expect(cdrom(vm)).toEqual([iso.uuid]);

    const disk = await world.cloud.offerings.createDiskOffering({ name: 'd', diskSizeGb: 1 });
    const booted = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: iso.id,
      diskOfferingId: disk.id,
    });
    expect(booted.isoId).toBe(iso.id);
    expect(cdrom(booted)).toEqual([iso.uuid]);
    await (await world.user.vms.detachIso(booted.id)).result;
    expect(cdrom(booted)).toEqual([]);
  });

  it('bad input gets a typed error naming the field and changes nothing; another tenant cannot attach', async () => {
    world = await vmWorld();
    const iso = await registerIso('tools');
    const other = await registerIso('other-tools');
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const refusal = (p: Promise<{ result: Promise<unknown> }>) =>
      p.then(
        (job) =>
          job.result.then(
            () => undefined,
            (e: unknown) => e,
          ),
        (e: unknown) => e,
      );

    expect(await refusal(world.user.vms.attachIso(vm.id, world.template.id))).toMatchObject({
      httpCode: 431,
      field: 'isoId',
      value: world.template.id,
    });
    expect(await refusal(world.user.vms.attachIso(vm.id, 99_999))).toMatchObject({ field: 'isoId', value: 99_999 });

    // A private ISO of the admin is not the tenant's to use.
    const secret = await registerIso('secret', { isPublic: false });
    expect(await refusal(world.user.vms.attachIso(vm.id, secret.id))).toMatchObject({ field: 'isoId' });

    await (await world.user.vms.attachIso(vm.id, iso.id)).result;
    expect(await refusal(world.user.vms.attachIso(vm.id, other.id))).toMatchObject({ code: 'INVALID_STATE' });
    expect((await world.user.vms.get(vm.id)).isoId).toBe(iso.id);
    expect(cdrom(vm)).toEqual([iso.uuid]);

    const { user } = await world.cloud.tenancy.createAccount({
      accountName: 'mallory',
      user: { username: 'mallory', password: 'pw' },
    });
    const mallory = world.cloud.as(await world.cloud.resolveCaller({ userId: user.id }));
    expect(await refusal(mallory.vms.detachIso(vm.id))).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await world.user.vms.get(vm.id)).isoId).toBe(iso.id);
  });

  it("a hypervisor that cannot hot-plug refuses a running VM's CD-ROM change (typed), and takes it when stopped", async () => {
    world = await vmWorld({ sim: simulatorDriver({ capabilities: { hotPlugDisk: false } }) });
    const iso = await registerIso('tools');
    const vm = await world.user.vms.deployAndWait({
      zoneId: world.zone.id,
      serviceOfferingId: world.small.id,
      templateId: world.template.id,
    });
    const refused = await (await world.user.vms.attachIso(vm.id, iso.id)).result.catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'UNSUPPORTED', field: 'id', value: vm.id });
    expect((await world.user.vms.get(vm.id)).isoId).toBeNull();
    expect(world.sim.log.counts().attachIso?.ok ?? 0).toBe(0);
    await (await world.user.vms.stop(vm.id)).result;
    await (await world.user.vms.attachIso(vm.id, iso.id)).result;
    await (await world.user.vms.start(vm.id)).result;
    expect(cdrom(vm)).toEqual([iso.uuid]);
  });
});
