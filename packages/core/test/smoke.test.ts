import { simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it } from 'vitest';
import { createCloud, sqliteStore } from '../src/index.js';

describe('smoke', () => {
  it('builds a zone with a host and storage', async () => {
    const cloud = await createCloud({ store: sqliteStore(), hypervisors: [simulatorDriver()] });
    const zone = await cloud.zones.create({
      name: 'z1',
      networkType: 'Advanced',
      dns1: '8.8.8.8',
      internalDns1: '10.0.0.2',
      guestCidr: '10.1.1.0/24',
    });
    const pod = await cloud.pods.create({
      zoneId: zone.id,
      name: 'p1',
      gateway: '192.168.10.1',
      netmask: '255.255.255.0',
      startIp: '192.168.10.200',
      endIp: '192.168.10.250',
    });
    const cluster = await cloud.clusters.create({ podId: pod.id, name: 'c1', hypervisorType: 'Simulator' });
    const hosts = await cloud.hosts.add({ clusterId: cluster.id, url: 'sim://h1' });
    expect(hosts[0]?.status).toBe('Up');
    const pool = await cloud.storagePools.create({
      clusterId: cluster.id,
      name: 'ps1',
      url: 'nfs://10.0.0.5/export/ps1',
    });
    expect(pool.status).toBe('Up');
    expect(pool.capacityBytes).toBeGreaterThan(0);
    await cloud.close();
  });
});
