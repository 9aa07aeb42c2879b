import { verticalAllocator } from '@stratus/allocator';
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
import { SwitchableAllocator } from './switchable-allocator.js';

const GiB = 1024;

/** Host shapes (cores, MHz per core, memory in MiB): small, medium, large. */
const SHAPES = [
  { cpus: 16, cpuMhz: 2400, memoryMiB: 64 * GiB },
  { cpus: 32, cpuMhz: 2600, memoryMiB: 128 * GiB },
  { cpus: 48, cpuMhz: 2100, memoryMiB: 256 * GiB },
];

/** The hypervisor the simulator impersonates; clusters, templates and traffic labels follow it. */
export const HYPERVISOR = 'KVM';

/** The demo's cloud and the allocator whose strategy it switches between deployment waves. */
export interface DemoCloud {
  cloud: Cloud;
  allocator: SwitchableAllocator;
}

/**
 * The embedded defaults: SQLite (`:memory:` or a file), the simulator impersonating KVM hosts,
 * simulated secondary storage, and the vertical allocator to start with.
 */
export async function openDemoCloud(options: { file?: string } = {}): Promise<DemoCloud> {
  const allocator = new SwitchableAllocator(verticalAllocator());
  const cloud = await createCloud({
    store: sqliteStore({ file: options.file ?? ':memory:' }),
    hypervisors: [simulatorDriver({ type: HYPERVISOR })],
    allocator,
    imageStore: simulatedImageStore(),
  });
  return { cloud, allocator };
}

/** What {@link buildZone} built and the later steps use. */
export interface DemoZone {
  zone: Zone;
  hosts: Host[];
  offerings: { small: ServiceOffering; medium: ServiceOffering; largeGpu: ServiceOffering };
  template: Template;
}

/**
 * Builds a deployable advanced zone the way an operator would, in CloudStack's set-up order:
 * zone; physical network with Guest/Public/Management traffic labelled for KVM and a guest VLAN
 * range; a public IP range; 2 pods with reserved system ranges; 2 KVM clusters of 4 hosts per pod
 * (pod 2 over-provisions CPU 2:1); primary storage per cluster; secondary storage; offerings; the
 * system-VM and user templates downloaded to secondary storage; then the zone enabled, which runs
 * the readiness check.
 */
export async function buildZone(cloud: Cloud): Promise<DemoZone> {
  const zone = await cloud.zones.create({
    name: 'zone-east',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    dns2: '8.8.4.4',
    internalDns1: '192.168.10.254',
    guestCidr: '10.1.1.0/24',
    networkDomain: 'cloud.internal',
  });
  await buildPhysicalNetwork(cloud, zone);
  const hosts = await buildPodsAndHosts(cloud, zone);
  await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://192.168.10.6/export/secondary' });
  const offerings = await createOfferings(cloud);
  const template = await registerTemplates(cloud);
  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  return { zone: await cloud.zones.get(zone.id), hosts, offerings, template };
}

/** One physical network carrying all three traffic types, VLANs 800–899, and the public range. */
async function buildPhysicalNetwork(cloud: Cloud, zone: Zone): Promise<void> {
  const physical = await cloud.physicalNetworks.create({
    zoneId: zone.id,
    name: 'physnet-1',
    isolationMethods: ['VLAN'],
    vlan: '800-899',
  });
  const bridges = { Management: 'cloudbr1', Public: 'cloudbr0', Guest: 'cloudbr1' } as const;
  for (const [trafficType, bridge] of Object.entries(bridges) as [keyof typeof bridges, string][]) {
    await cloud.physicalNetworks.addTrafficType(physical.id, { trafficType, labels: { [HYPERVISOR]: bridge } });
  }
  await cloud.physicalNetworks.enable(physical.id);
  await cloud.publicIpRanges.create({
    zoneId: zone.id,
    gateway: '203.0.113.1',
    netmask: '255.255.255.0',
    startIp: '203.0.113.10',
    endIp: '203.0.113.99',
  });
}

/** 2 pods × 2 clusters × 4 hosts (every fourth host has a GPU tag), one pool per cluster. */
async function buildPodsAndHosts(cloud: Cloud, zone: Zone): Promise<Host[]> {
  const hosts: Host[] = [];
  for (const p of [1, 2]) {
    const pod = await cloud.pods.create({
      zoneId: zone.id,
      name: `pod-${p}`,
      gateway: `192.168.${p}0.1`,
      netmask: '255.255.255.0',
      startIp: `192.168.${p}0.200`,
      endIp: `192.168.${p}0.230`,
    });
    for (const c of [1, 2]) {
      const cluster = await cloud.clusters.create({
        podId: pod.id,
        name: `pod-${p}-kvm-${c}`,
        hypervisorType: HYPERVISOR,
      });
      if (p === 2) await cloud.settings.set('cpu.overprovisioning.factor', 2, { clusterId: cluster.id });
      for (let h = 1; h <= 4; h++) {
        const n = hosts.length + 1;
        const shape = SHAPES[(n - 1) % SHAPES.length]!;
        const ip = `192.168.${p}0.${10 + (c - 1) * 4 + h}`;
        hosts.push(
          ...(await cloud.hosts.add({
            clusterId: cluster.id,
            url: `sim://kvm-${String(n).padStart(2, '0')}?ip=${ip}&cpus=${shape.cpus}&cpuMhz=${shape.cpuMhz}&memoryMiB=${shape.memoryMiB}`,
            hostTags: n % 4 === 0 ? ['gpu'] : [],
          })),
        );
      }
      await cloud.storagePools.create({
        clusterId: cluster.id,
        name: `ps-${p}-${c}`,
        url: `nfs://192.168.${p}0.5/export/primary-${c}`,
        tags: c === 1 ? ['ssd'] : ['hdd'],
      });
    }
  }
  return hosts;
}

async function createOfferings(cloud: Cloud): Promise<DemoZone['offerings']> {
  const small = await cloud.offerings.createServiceOffering({
    name: 'Small Instance',
    cpuNumber: 1,
    cpuSpeed: 500,
    memory: 512,
  });
  const medium = await cloud.offerings.createServiceOffering({
    name: 'Medium Instance',
    cpuNumber: 2,
    cpuSpeed: 1000,
    memory: 2048,
    tags: 'ssd',
  });
  const largeGpu = await cloud.offerings.createServiceOffering({
    name: 'Large GPU Instance',
    cpuNumber: 8,
    cpuSpeed: 2000,
    memory: 16384,
    hostTag: 'gpu',
  });
  await cloud.offerings.createDiskOffering({ name: 'Small', diskSizeGb: 5 });
  await cloud.offerings.createDiskOffering({ name: 'Custom', customized: true, tags: 'ssd' });
  return { small, medium, largeGpu };
}

/** The system-VM template and a public user template, both downloaded to secondary storage. */
async function registerTemplates(cloud: Cloud): Promise<Template> {
  const system = await cloud.templates.register({
    name: 'SystemVM Template (KVM)',
    url: 'http://download.example.org/systemvm/systemvmtemplate-4.19-kvm.qcow2.bz2',
    format: 'QCOW2',
    hypervisorType: HYPERVISOR,
    osType: 'Debian GNU/Linux 12 (64-bit)',
    crossZones: true,
    templateType: 'SYSTEM',
  });
  const ubuntu = await cloud.templates.register({
    name: 'Ubuntu 22.04',
    url: 'http://download.example.org/images/ubuntu-22.04.qcow2',
    format: 'QCOW2',
    hypervisorType: HYPERVISOR,
    osType: 'Ubuntu 22.04 (64-bit)',
    crossZones: true,
    isPublic: true,
    isFeatured: true,
    passwordEnabled: true,
  });
  for (const t of [system, ubuntu]) await (await cloud.templateStorage.download(t.id)).result;
  return ubuntu;
}
