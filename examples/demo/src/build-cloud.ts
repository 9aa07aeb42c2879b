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
import type { DemoHypervisor } from './demo-hypervisor.js';
import { SwitchableAllocator } from './switchable-allocator.js';

/** The hypervisor type of the clusters, templates and traffic labels (the simulator impersonates it). */
export const HYPERVISOR = 'KVM';

/** The demo's cloud and the allocator whose strategy it switches between deployment waves. */
export interface DemoCloud {
  cloud: Cloud;
  allocator: SwitchableAllocator;
  /** What runs the hosts: the simulator or KVM on libvirt's test driver. */
  hypervisor: DemoHypervisor;
  /** Closes the cloud, then stops what the hypervisor started (once; later calls do nothing). */
  close(): Promise<void>;
}

/**
 * The cloud on SQLite (`:memory:` or a file) with the hypervisor's driver and image store (the
 * embedded defaults: the simulator impersonating KVM hosts and simulated secondary storage), and
 * the vertical allocator to start with.
 */
export async function openDemoCloud(hypervisor: DemoHypervisor, options: { file?: string } = {}): Promise<DemoCloud> {
  const allocator = new SwitchableAllocator(verticalAllocator());
  const cloud = await createCloud({
    store: sqliteStore({ file: options.file ?? ':memory:' }),
    hypervisors: [hypervisor.driver],
    allocator,
    imageStore: hypervisor.imageStore,
  });
  let closed = false;
  return {
    cloud,
    allocator,
    hypervisor,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await cloud.close();
      } finally {
        await hypervisor.close();
      }
    },
  };
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
 * range; a public IP range; pods with reserved system ranges, each with KVM clusters of hosts as
 * the hypervisor's layout says (simulator: 2 pods × 2 clusters × 4 hosts; pod 2 over-provisions
 * CPU 2:1); primary storage per cluster; secondary storage; offerings; the system-VM and user
 * templates downloaded to secondary storage; then the zone enabled, which runs the readiness check.
 */
export async function buildZone(cloud: Cloud, hypervisor: DemoHypervisor): Promise<DemoZone> {
  const zone = await cloud.zones.create({
    name: 'zone-east',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    dns2: '8.8.4.4',
    internalDns1: '192.168.10.254',
    guestCidr: '10.1.1.0/24',
    networkDomain: 'cloud.internal',
  });
  await buildPhysicalNetwork(cloud, zone, hypervisor);
  const hosts = await buildPodsAndHosts(cloud, zone, hypervisor);
  const store = await cloud.imageStores.add({ zoneId: zone.id, url: hypervisor.imageStoreUrl });
  const offerings = await createOfferings(cloud, hypervisor);
  const template = await registerTemplates(cloud, hypervisor);
  hypervisor.templateDownloaded(store, template);
  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  return { zone: await cloud.zones.get(zone.id), hosts, offerings, template };
}

/** One physical network carrying all three traffic types, VLANs 800–899, and the public range. */
async function buildPhysicalNetwork(cloud: Cloud, zone: Zone, hypervisor: DemoHypervisor): Promise<void> {
  const physical = await cloud.physicalNetworks.create({
    zoneId: zone.id,
    name: 'physnet-1',
    isolationMethods: ['VLAN'],
    vlan: '800-899',
  });
  const bridges = hypervisor.trafficLabels;
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

/** The hypervisor's pods × clusters × hosts (every fourth host has a GPU tag), one pool per cluster. */
async function buildPodsAndHosts(cloud: Cloud, zone: Zone, hypervisor: DemoHypervisor): Promise<Host[]> {
  const hosts: Host[] = [];
  const { pods, clustersPerPod, hostsPerCluster } = hypervisor.layout;
  const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  for (const p of upTo(pods)) {
    const pod = await cloud.pods.create({
      zoneId: zone.id,
      name: `pod-${p}`,
      gateway: `192.168.${p}0.1`,
      netmask: '255.255.255.0',
      startIp: `192.168.${p}0.200`,
      endIp: `192.168.${p}0.230`,
    });
    for (const c of upTo(clustersPerPod)) {
      const cluster = await cloud.clusters.create({
        podId: pod.id,
        name: `pod-${p}-kvm-${c}`,
        hypervisorType: HYPERVISOR,
      });
      if (p === 2) await cloud.settings.set('cpu.overprovisioning.factor', 2, { clusterId: cluster.id });
      for (const h of upTo(hostsPerCluster)) {
        const n = hosts.length + 1;
        const ip = `192.168.${p}0.${10 + (c - 1) * hostsPerCluster + h}`;
        hosts.push(
          ...(await cloud.hosts.add({
            clusterId: cluster.id,
            ...hypervisor.hostTarget(n, p, ip),
            hostTags: n % 4 === 0 ? ['gpu'] : [],
          })),
        );
      }
      await cloud.storagePools.create({
        clusterId: cluster.id,
        name: `ps-${p}-${c}`,
        url: hypervisor.primaryStorageUrl(p, c),
        tags: c === 1 ? ['ssd'] : ['hdd'],
      });
    }
  }
  return hosts;
}

/** Small, medium (SSD storage) and large (GPU host) offerings, sized for the hypervisor's hosts. */
async function createOfferings(cloud: Cloud, hypervisor: DemoHypervisor): Promise<DemoZone['offerings']> {
  const sizes = hypervisor.offerings;
  const small = await cloud.offerings.createServiceOffering({ name: 'Small Instance', ...sizes.small });
  const medium = await cloud.offerings.createServiceOffering({ name: 'Medium Instance', ...sizes.medium, tags: 'ssd' });
  const largeGpu = await cloud.offerings.createServiceOffering({
    name: 'Large GPU Instance',
    ...sizes.largeGpu,
    hostTag: 'gpu',
  });
  await cloud.offerings.createDiskOffering({ name: 'Small', diskSizeGb: 5 });
  await cloud.offerings.createDiskOffering({ name: 'Custom', customized: true, tags: 'ssd' });
  return { small, medium, largeGpu };
}

/** The system-VM template and a public user template, both downloaded to secondary storage. */
async function registerTemplates(cloud: Cloud, hypervisor: DemoHypervisor): Promise<Template> {
  const system = await cloud.templates.register({
    name: 'SystemVM Template (KVM)',
    url: hypervisor.templateUrl('system'),
    format: 'QCOW2',
    hypervisorType: HYPERVISOR,
    osType: 'Debian GNU/Linux 12 (64-bit)',
    crossZones: true,
    templateType: 'SYSTEM',
  });
  const ubuntu = await cloud.templates.register({
    name: 'Ubuntu 22.04',
    url: hypervisor.templateUrl('user'),
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
