import { horizontalAllocator, verticalAllocator } from '@stratus/allocator';
import { type SimulatorDriver, simulatedImageStore, simulatorDriver } from '@stratus/driver-simulator';
import type { Allocator } from '../../src/allocation/allocator-contract.js';
import { type Cloud, createCloud } from '../../src/cloud.js';
import type { Clock } from '../../src/context.js';
import type { Account, Host, ServiceOffering, StoragePool, Template, Zone } from '../../src/model/records.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export interface VmWorld {
  cloud: Cloud;
  sim: SimulatorDriver;
  zone: Zone;
  hosts: Host[];
  pools: StoragePool[];
  template: Template;
  small: ServiceOffering;
  big: ServiceOffering;
  account: Account;
  /** The account's view of the cloud. */
  user: Cloud;
}

/**
 * An advanced zone ready for VMs: one pod, `clusters` Simulator clusters of `hostsPerCluster`
 * hosts (8 cores × 2000 MHz, 16 GiB), an NFS pool per cluster, secondary storage with a downloaded
 * template, guest VLANs 500–509 and public range 203.0.113.10–.40, a user account.
 */
export async function vmWorld(
  options: {
    store?: Store;
    allocator?: Allocator;
    clusters?: number;
    hostsPerCluster?: number;
    sim?: SimulatorDriver;
    clock?: Clock;
  } = {},
): Promise<VmWorld> {
  const sim = options.sim ?? simulatorDriver();
  const cloud = await createCloud({
    store: options.store ?? sqliteStore(),
    hypervisors: [sim],
    allocator: options.allocator ?? verticalAllocator(),
    imageStore: simulatedImageStore(),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const zone = await cloud.zones.create({
    name: 'z1',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    guestCidr: '10.1.1.0/24',
  });
  const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '500-509' });
  for (const trafficType of ['Guest', 'Public', 'Management'] as const) {
    await cloud.physicalNetworks.addTrafficType(pn.id, {
      trafficType,
      labels: { Simulator: trafficType === 'Public' ? 'cloudbr0' : 'cloudbr1' },
    });
  }
  await cloud.physicalNetworks.enable(pn.id);
  await cloud.publicIpRanges.create({
    zoneId: zone.id,
    gateway: '203.0.113.1',
    netmask: '255.255.255.0',
    startIp: '203.0.113.10',
    endIp: '203.0.113.40',
  });
  const pod = await cloud.pods.create({
    zoneId: zone.id,
    name: 'p1',
    gateway: '192.168.10.1',
    netmask: '255.255.255.0',
    startIp: '192.168.10.200',
    endIp: '192.168.10.250',
  });
  const hosts: Host[] = [];
  const pools: StoragePool[] = [];
  for (let c = 1; c <= (options.clusters ?? 2); c++) {
    const cluster = await cloud.clusters.create({ podId: pod.id, name: `c${c}`, hypervisorType: 'Simulator' });
    for (let h = 1; h <= (options.hostsPerCluster ?? 2); h++) {
      hosts.push(
        ...(await cloud.hosts.add({
          clusterId: cluster.id,
          url: `sim://h${c}-${h}?ip=192.168.10.${c * 10 + h}&cpus=8&cpuMhz=2000&memoryMiB=16384`,
        })),
      );
    }
    pools.push(
      await cloud.storagePools.create({ clusterId: cluster.id, name: `ps${c}`, url: `nfs://10.0.0.5/export/ps${c}` }),
    );
  }
  await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.6/secondary' });
  const system = await cloud.templates.register({
    name: 'systemvm',
    url: 'http://example.org/systemvm.qcow2',
    format: 'QCOW2',
    hypervisorType: 'Simulator',
    crossZones: true,
    templateType: 'SYSTEM',
  });
  const template = await cloud.templates.register({
    name: 'ubuntu',
    url: 'http://example.org/ubuntu.qcow2',
    format: 'QCOW2',
    hypervisorType: 'Simulator',
    osType: 'Ubuntu 22.04',
    crossZones: true,
    isPublic: true,
    passwordEnabled: true,
  });
  for (const t of [system, template]) await (await cloud.templateStorage.download(t.id)).result;
  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  const small = await cloud.offerings.createServiceOffering({
    name: 'small',
    cpuNumber: 1,
    cpuSpeed: 1000,
    memory: 2048,
  });
  const big = await cloud.offerings.createServiceOffering({ name: 'big', cpuNumber: 4, cpuSpeed: 2000, memory: 8192 });
  const { account, user } = await cloud.tenancy.createAccount({
    accountName: 'acme',
    user: { username: 'alice', password: 'pw' },
  });
  const userCloud = cloud.as(await cloud.resolveCaller({ userId: user.id }));
  return { cloud, sim, zone, hosts, pools, template, small, big, account, user: userCloud };
}

export { horizontalAllocator };
