import type { Cloud } from '@stratus/core';
import { fmt, GiB, ghz, heading, type Print, TiB, table } from './format.js';

/** Prints the zone, its primary storage and the service offerings. */
export async function printInventory(cloud: Cloud, zoneId: number, print: Print): Promise<void> {
  const zone = await cloud.zones.get(zoneId);
  const pods = await cloud.pods.list({ zoneId });
  const clusters = new Map((await cloud.clusters.list({ zoneId })).map((c) => [c.id, c]));
  const hosts = await cloud.hosts.list({ zoneId });
  const cpu = hosts.reduce((sum, h) => sum + h.cpus * h.speed, 0);
  const memory = hosts.reduce((sum, h) => sum + h.totalMemory, 0);

  heading(print, `Zone ${zone.name}`);
  print(
    `${zone.networkType} zone, guest CIDR ${zone.guestCidr}, ${zone.allocationState}: ${pods.length} pods, ` +
      `${clusters.size} clusters, ${hosts.length} hosts, ${ghz(cpu)} GHz CPU, ${fmt(memory, GiB, 'GiB')} memory`,
  );

  const storage = table(['primary storage', 'scope', 'type', 'cluster', 'capacity', 'used', 'tags', 'status']);
  for (const pool of await cloud.storagePools.list({ zoneId })) {
    storage.push([
      pool.name,
      pool.scope,
      pool.poolType,
      pool.clusterId === null ? '-' : (clusters.get(pool.clusterId)?.name ?? ''),
      fmt(pool.capacityBytes, TiB, 'TiB'),
      fmt(pool.usedBytes, GiB, 'GiB'),
      pool.tags.join(',') || '-',
      pool.status,
    ]);
  }
  print(storage.toString());

  const offerings = table(['service offering', 'CPU', 'memory', 'storage tags', 'host tag']);
  for (const o of await cloud.offerings.listServiceOfferings()) {
    offerings.push([
      o.name,
      `${o.cpuNumber} × ${o.cpuSpeed} MHz`,
      `${o.memory} MiB`,
      o.tags.join(',') || '-',
      o.hostTag ?? '-',
    ]);
  }
  print(offerings.toString());
}
