import type { Cloud } from '@stratus/core';
import Table from 'cli-table3';

const GiB = 1024 ** 3;
const TiB = 1024 ** 4;
/** Compact, uncoloured tables: readable in a terminal and in a log file alike. */
const table = (head: string[]) => new Table({ head, style: { compact: true, head: [], border: [] } });
const fmt = (n: number, unit: number, suffix: string) => `${(n / unit).toFixed(n % unit === 0 ? 0 : 1)} ${suffix}`;

/** Prints the zone's hosts and primary storage with their capacities. */
export async function printInventory(cloud: Cloud, zoneId: number): Promise<void> {
  const zone = await cloud.zones.get(zoneId);
  const pods = new Map((await cloud.pods.list({ zoneId })).map((p) => [p.id, p]));
  const clusters = new Map((await cloud.clusters.list({ zoneId })).map((c) => [c.id, c]));
  console.log(`Zone ${zone.name} (${zone.networkType}, guest CIDR ${zone.guestCidr}, ${zone.allocationState})`);

  const hosts = table(['pod', 'cluster', 'host', 'management IP', 'CPU', 'memory', 'tags', 'status']);
  let cpu = 0;
  let memory = 0;
  for (const host of await cloud.hosts.list({ zoneId })) {
    cpu += host.cpus * host.speed;
    memory += host.totalMemory;
    hosts.push([
      pods.get(host.podId)?.name ?? '',
      clusters.get(host.clusterId)?.name ?? '',
      host.name,
      host.privateIp ?? '',
      `${host.cpus} × ${host.speed} MHz`,
      fmt(host.totalMemory, GiB, 'GiB'),
      host.hostTags.join(',') || '-',
      `${host.status}/${host.resourceState}`,
    ]);
  }
  console.log(hosts.toString());

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
  console.log(storage.toString());

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
  console.log(offerings.toString());
  console.log(
    `Totals: ${pods.size} pods, ${clusters.size} clusters, ${hosts.length} hosts, ${(cpu / 1000).toFixed(1)} GHz, ${fmt(memory, GiB, 'GiB')} memory; ` +
      `${(await cloud.tenancy.listAccounts()).length} accounts; ${(await cloud.templates.list()).length} template(s)`,
  );
}
