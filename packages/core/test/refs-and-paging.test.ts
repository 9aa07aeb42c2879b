import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidParameterError, NotFoundError } from '../src/errors.js';
import { type VmWorld, vmWorld } from './orchestration/vm-world.js';

/**
 * Ids or uuids, and CloudStack-style paging, through `createCloud` and the public services: a
 * uuid names the same record as its id (in positional ids, inputs and list filters), an unknown
 * uuid is NotFound naming the field and changes nothing, pages cover every row exactly once, and
 * `keyword` filters by name.
 */
describe('uuids wherever ids, paging and keyword on lists', () => {
  let world: VmWorld;
  beforeAll(async () => {
    world = await vmWorld();
  });
  afterAll(() => world.cloud.close());

  it('a uuid and an id give the same record, service by service', async () => {
    const { cloud, zone, hosts, pools, template, small, account } = world;
    const [pod] = await cloud.pods.list({ zoneId: zone.uuid });
    const [cluster] = await cloud.clusters.list({ podId: pod!.uuid });
    const [pn] = await cloud.physicalNetworks.list({ zoneId: zone.uuid });
    const [store] = await cloud.imageStores.list({ zoneId: zone.uuid });
    const [range] = await cloud.publicIpRanges.list({ zoneId: zone.uuid });
    const [offering] = await cloud.network.offerings.list();
    const pairs: Array<[(ref: number | string) => Promise<unknown>, { id: number; uuid: string }]> = [
      [(r) => cloud.zones.get(r), zone],
      [(r) => cloud.pods.get(r), pod!],
      [(r) => cloud.clusters.get(r), cluster!],
      [(r) => cloud.hosts.get(r), hosts[0]!],
      [(r) => cloud.storagePools.get(r), pools[0]!],
      [(r) => cloud.imageStores.get(r), store!],
      [(r) => cloud.physicalNetworks.get(r), pn!],
      [(r) => cloud.offerings.getServiceOffering(r), small],
      [(r) => cloud.templates.get(r), template],
      [(r) => cloud.tenancy.getAccount(r), account],
      [(r) => cloud.publicIpRanges.get(r), range!],
      [(r) => cloud.network.offerings.get(r), offering!],
    ];
    for (const [get, record] of pairs) {
      expect(await get(record.uuid)).toEqual(await get(record.id));
      expect(await get(record.uuid.toUpperCase())).toEqual(await get(record.id));
    }
    // List filters: the uuid filters exactly as the id does.
    expect(await cloud.hosts.list({ clusterId: cluster!.uuid })).toEqual(
      await cloud.hosts.list({ clusterId: cluster!.id }),
    );
    expect(await cloud.tenancy.listUsers({ accountId: account.uuid })).toEqual(
      await cloud.tenancy.listUsers({ accountId: account.id }),
    );
  });

  it('deploys, stops and starts a VM named by uuids; its volumes, NICs and jobs are found by uuid', async () => {
    const { cloud, zone, template, small, hosts, account } = world;
    const job = await cloud.vms.deploy({
      zoneId: zone.uuid,
      serviceOfferingId: small.uuid,
      templateId: template.uuid,
      accountId: account.uuid,
      displayName: 'by-uuid',
    });
    const vm = await job.result;
    expect(vm.zoneId).toBe(zone.id);
    expect(vm.serviceOfferingId).toBe(small.id);
    expect(vm.accountId).toBe(account.id);
    expect(await cloud.vms.get(vm.uuid)).toEqual(await cloud.vms.get(vm.id));
    expect(await cloud.jobs.get(job.uuid)).toMatchObject({ id: job.id, status: 'SUCCEEDED' });
    const [root] = await cloud.volumes.list({ instanceId: vm.uuid });
    expect(root).toBeDefined();
    expect(await cloud.volumes.get(root!.uuid)).toEqual(await cloud.volumes.get(root!.id));
    expect(await cloud.network.networks.listNics({ vmId: vm.uuid })).toEqual(
      await cloud.network.networks.listNics({ vmId: vm.id }),
    );
    expect(await cloud.events.list({ resourceId: vm.uuid, type: 'VM.CREATE' })).toHaveLength(1);
    await (await cloud.vms.stop(vm.uuid)).result;
    const other = hosts.find((h) => h.id !== vm.hostId)!;
    const started = await (await cloud.vms.start(vm.uuid, { hostId: other.uuid })).result;
    expect(started.hostId).toBe(other.id);
  });

  it('an unknown uuid is NotFound naming the field, a malformed one InvalidParameter; nothing changes', async () => {
    const { cloud, zone } = world;
    const unknown = randomUUID();
    const before = await cloud.pods.list();
    await expect(cloud.zones.get(unknown)).rejects.toMatchObject({
      constructor: NotFoundError,
      field: 'id',
      value: unknown,
    });
    await expect(cloud.zones.update(unknown, { name: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(
      cloud.pods.create({
        zoneId: unknown,
        name: 'p-x',
        gateway: '10.9.0.1',
        netmask: '255.255.255.0',
        startIp: '10.9.0.10',
      }),
    ).rejects.toMatchObject({ constructor: NotFoundError, field: 'zoneId', value: unknown });
    await expect(cloud.pods.list({ zoneId: unknown })).rejects.toMatchObject({ field: 'zoneId' });
    await expect(
      cloud.vms.deploy({ zoneId: zone.uuid, serviceOfferingId: unknown, templateId: 1 }),
    ).rejects.toMatchObject({ constructor: NotFoundError, field: 'serviceOfferingId' });
    await expect(cloud.zones.get('zone-one')).rejects.toMatchObject({
      constructor: InvalidParameterError,
      field: 'id',
      value: 'zone-one',
    });
    // A uuid of another kind of record names nothing here.
    await expect(cloud.pods.get(zone.uuid)).rejects.toBeInstanceOf(NotFoundError);
    expect(await cloud.pods.list()).toEqual(before);
    expect((await cloud.zones.get(zone.id)).name).toBe(zone.name);
  });

  it('pages cover every row exactly once, in id order; keyword filters by name, case-insensitively', async () => {
    const { cloud } = world;
    for (let i = 0; i < 7; i++)
      await cloud.offerings.createServiceOffering({
        name: `Paged_${i}%`,
        cpuNumber: 1,
        cpuSpeed: 500,
        memory: 256,
      });
    const all = await cloud.offerings.listServiceOfferings();
    expect(all.length).toBeGreaterThanOrEqual(9);
    const seen: number[] = [];
    for (let page = 1; ; page++) {
      const rows = await cloud.offerings.listServiceOfferings({ page, pageSize: 4 });
      expect(rows.length).toBeLessThanOrEqual(4);
      if (rows.length === 0) break;
      seen.push(...rows.map((o) => o.id));
    }
    expect(seen).toEqual(all.map((o) => o.id));
    // pageSize alone is page 1.
    expect((await cloud.offerings.listServiceOfferings({ pageSize: 2 })).map((o) => o.id)).toEqual(
      all.slice(0, 2).map((o) => o.id),
    );
    const paged = await cloud.offerings.listServiceOfferings({ keyword: 'paged_' });
    expect(paged.map((o) => o.name)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `Paged_${i}%`));
    // LIKE wildcards in a keyword are literal: '_' and '%' match only themselves.
    expect(await cloud.offerings.listServiceOfferings({ keyword: 'd_3%' })).toHaveLength(1);
    expect(await cloud.offerings.listServiceOfferings({ keyword: 'dX3' })).toHaveLength(0);
    expect(
      (await cloud.offerings.listServiceOfferings({ keyword: 'PAGED', page: 2, pageSize: 3 })).map((o) => o.name),
    ).toEqual(['Paged_3%', 'Paged_4%', 'Paged_5%']);
    // Lists built in memory (templates' visibility rules) and in SQL (zones) page alike.
    expect(await cloud.zones.list({ keyword: 'Z1' })).toHaveLength(1);
    expect(await cloud.templates.list({ pageSize: 1 })).toHaveLength(1);
  });

  it('refuses bad paging with the field named, up to default.page.size', async () => {
    const { cloud } = world;
    for (const [options, field] of [
      [{ page: 0 }, 'page'],
      [{ page: 1.5 }, 'page'],
      [{ pageSize: 0 }, 'pageSize'],
      [{ pageSize: 501 }, 'pageSize'],
      [{ keyword: 5 }, 'keyword'],
    ] as const) {
      await expect(cloud.zones.list(options as never)).rejects.toMatchObject({
        constructor: InvalidParameterError,
        field,
      });
    }
    expect(await cloud.zones.list({ pageSize: 500 })).toHaveLength(1);
    await cloud.settings.set('default.page.size', 20);
    await expect(cloud.zones.list({ pageSize: 21 })).rejects.toMatchObject({ field: 'pageSize' });
    await cloud.settings.reset('default.page.size');
  });
});
