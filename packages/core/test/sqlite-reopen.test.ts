import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulatorDriver } from '@stratus/driver-simulator';
import { afterAll, describe, expect, it } from 'vitest';
import { createCloud, sqliteStore } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'stratus-reopen-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a SQLite file', () => {
  it('shows everything written before when reopened', async () => {
    const file = join(dir, 'cloud.db');
    const first = await createCloud({ store: sqliteStore({ file }), hypervisors: [simulatorDriver()] });
    const zone = await first.zones.create({
      name: 'z',
      networkType: 'Advanced',
      dns1: '8.8.8.8',
      internalDns1: '10.0.0.2',
      guestCidr: '10.1.1.0/24',
    });
    const pod = await first.pods.create({
      zoneId: zone.id,
      name: 'p',
      gateway: '192.168.1.1',
      netmask: '255.255.255.0',
      startIp: '192.168.1.100',
    });
    const cluster = await first.clusters.create({ podId: pod.id, name: 'c', hypervisorType: 'Simulator' });
    const hosts = await first.hosts.add({ clusterId: cluster.id, url: 'sim://h1?cpus=8&memoryMiB=32768' });
    await first.hosts.prepareForMaintenance(hosts[0]!.id);
    await first.settings.set('cpu.overprovisioning.factor', 2, { clusterId: cluster.id });
    const { account } = await first.tenancy.createAccount({
      accountName: 'a',
      user: { username: 'u', password: 'secret' },
    });
    const events = await first.events.list();
    await first.close();

    const again = await createCloud({ store: sqliteStore({ file }), hypervisors: [simulatorDriver()] });
    expect(await again.zones.get(zone.id)).toEqual(zone);
    expect((await again.pods.get(pod.id)).endIp).toBe('192.168.1.254');
    const host = await again.hosts.get(hosts[0]!.id);
    expect(host).toMatchObject({ status: 'Up', resourceState: 'Maintenance', cpus: 8, totalMemory: 32 * 1024 ** 3 });
    expect((await again.clusters.get(cluster.id)).cpuOvercommitRatio).toBe(2);
    expect(await again.settings.get('cpu.overprovisioning.factor', { clusterId: cluster.id })).toBe(2);
    expect(await again.tenancy.authenticate('u', 'secret')).toMatchObject({ accountId: account.id });
    expect(await again.events.list()).toEqual(events);
    await again.close();
  });
});
