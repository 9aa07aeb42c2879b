import {
  type Cloud,
  createCloud,
  type Host,
  type ServiceOffering,
  sqliteStore,
  type Template,
  type Zone,
} from '@stratus/core';
import { simulatedImageStore, simulatorDriver } from '@stratus/driver-simulator';
import type { Size } from './request-queue.js';
import { createTenants, type Tenant } from './tenants.js';
import { type Tier, tierAllocator } from './tier-allocator.js';

/** The cloud the control plane runs, with what it sells and to whom. */
export interface Fleet {
  cloud: Cloud;
  zone: Zone;
  hosts: Host[];
  template: Template;
  sizes: Record<Size, ServiceOffering>;
  tenants: Map<string, Tenant>;
}

/** Sizes: cores × MHz, memory MiB. No host has 12 cores, so nobody can have an xlarge yet. */
const SIZES: Record<Size, { cpuNumber: number; cpuSpeed: number; memory: number }> = {
  small: { cpuNumber: 1, cpuSpeed: 1000, memory: 2048 },
  medium: { cpuNumber: 2, cpuSpeed: 2000, memory: 4096 },
  large: { cpuNumber: 4, cpuSpeed: 2000, memory: 8192 },
  xlarge: { cpuNumber: 12, cpuSpeed: 2000, memory: 24576 },
};

/**
 * Opens the cloud on SQLite (in memory by default) and the simulator, with the tier-fencing
 * allocator; builds the zone, the sizes on sale and the tenants, whose tiers the allocator reads.
 */
export async function buildFleet(options: { file?: string } = {}): Promise<Fleet> {
  const tiers = new Map<number, Tier>();
  const cloud = await createCloud({
    store: sqliteStore({ file: options.file ?? ':memory:' }),
    hypervisors: [simulatorDriver()],
    allocator: tierAllocator((accountId) => tiers.get(accountId) ?? 'standard'),
    imageStore: simulatedImageStore(),
  });
  const { zone, hosts, template } = await buildZone(cloud);
  const sizes = {} as Record<Size, ServiceOffering>;
  for (const [size, spec] of Object.entries(SIZES) as [Size, (typeof SIZES)[Size]][]) {
    sizes[size] = await cloud.offerings.createServiceOffering({ name: size, ...spec });
  }
  const tenants = await createTenants(cloud, zone.id);
  for (const t of tenants.values()) tiers.set(t.account.id, t.tier);
  return { cloud, zone, hosts, template, sizes, tenants };
}

/**
 * An advanced zone: one pod, two clusters of three hosts (8 cores × 2000 MHz, 16 GiB) whose first
 * host is tagged `premium` and the others `standard`, a pool per cluster, secondary storage with
 * the system-VM template and the tenants' image, guest VLANs and a public range; then enabled.
 */
async function buildZone(cloud: Cloud): Promise<{ zone: Zone; hosts: Host[]; template: Template }> {
  const zone = await cloud.zones.create({
    name: 'zone-1',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    guestCidr: '10.1.1.0/24',
  });
  const physical = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'physnet', vlan: '500-519' });
  for (const trafficType of ['Guest', 'Public', 'Management'] as const) {
    const labels = { Simulator: trafficType === 'Public' ? 'cloudbr0' : 'cloudbr1' };
    await cloud.physicalNetworks.addTrafficType(physical.id, { trafficType, labels });
  }
  await cloud.physicalNetworks.enable(physical.id);
  const lan = { gateway: '192.168.10.1', netmask: '255.255.255.0', startIp: '192.168.10.200', endIp: '192.168.10.250' };
  const pod = await cloud.pods.create({ zoneId: zone.id, name: 'pod-1', ...lan });
  const publicRange = {
    gateway: '203.0.113.1',
    netmask: '255.255.255.0',
    startIp: '203.0.113.10',
    endIp: '203.0.113.40',
  };
  await cloud.publicIpRanges.create({ zoneId: zone.id, ...publicRange });
  const hosts: Host[] = [];
  for (const c of ['a', 'b']) {
    const cluster = await cloud.clusters.create({ podId: pod.id, name: `cluster-${c}`, hypervisorType: 'Simulator' });
    for (const n of [1, 2, 3]) {
      const url = `sim://${c}${n}?ip=192.168.10.${hosts.length + 11}&cpus=8&cpuMhz=2000&memoryMiB=16384`;
      const hostTags = [n === 1 ? 'premium' : 'standard'];
      hosts.push(...(await cloud.hosts.add({ clusterId: cluster.id, url, hostTags })));
    }
    await cloud.storagePools.create({ clusterId: cluster.id, name: `ps-${c}`, url: `nfs://10.0.0.5/export/${c}` });
  }
  // The allocator fences the tiers, so hosts may be filled to the brim.
  await cloud.settings.set('cluster.threshold.enabled', false);
  await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.6/secondary' });
  const common = { format: 'QCOW2', hypervisorType: 'Simulator', crossZones: true } as const;
  const system = await cloud.templates.register({
    ...common,
    name: 'systemvm',
    url: 'http://example.org/systemvm.qcow2',
    templateType: 'SYSTEM',
  });
  const template = await cloud.templates.register({
    ...common,
    name: 'ubuntu-22.04',
    url: 'http://example.org/ubuntu-22.04.qcow2',
    osType: 'Ubuntu 22.04',
    isPublic: true,
  });
  for (const t of [system, template]) await (await cloud.templateStorage.download(t.id)).result;
  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  return { zone: await cloud.zones.get(zone.id), hosts, template };
}
