import type { Cloud, Zone } from '@stratus/core';

const GiB = 1024;

/** Host shapes (cores, MHz per core, memory in MiB): small, medium, large. */
const SHAPES = [
  { cpus: 16, cpuMhz: 2400, memoryMiB: 64 * GiB },
  { cpus: 32, cpuMhz: 2600, memoryMiB: 128 * GiB },
  { cpus: 48, cpuMhz: 2100, memoryMiB: 256 * GiB },
];

/**
 * Builds an advanced zone the way an operator would, in CloudStack's set-up order: zone, physical
 * network with traffic labels and a guest VLAN range, pods with reserved system ranges, KVM
 * clusters, hosts, primary storage per cluster, secondary storage, offerings, a template, and two
 * tenant accounts.
 */
export async function buildCloud(cloud: Cloud): Promise<{ zone: Zone }> {
  const zone = await cloud.zones.create({
    name: 'zone-east',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    dns2: '8.8.4.4',
    internalDns1: '192.168.10.254',
    guestCidr: '10.1.1.0/24',
    networkDomain: 'cloud.internal',
  });

  const physical = await cloud.physicalNetworks.create({
    zoneId: zone.id,
    name: 'physnet-1',
    isolationMethods: ['VLAN'],
    vlan: '800-899',
  });
  await cloud.physicalNetworks.addTrafficType(physical.id, { trafficType: 'Management', labels: { KVM: 'cloudbr1' } });
  await cloud.physicalNetworks.addTrafficType(physical.id, { trafficType: 'Public', labels: { KVM: 'cloudbr0' } });
  await cloud.physicalNetworks.addTrafficType(physical.id, { trafficType: 'Guest', labels: { KVM: 'cloudbr1' } });
  await cloud.physicalNetworks.enable(physical.id);

  let hostNo = 0;
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
      const cluster = await cloud.clusters.create({ podId: pod.id, name: `pod-${p}-kvm-${c}`, hypervisorType: 'KVM' });
      for (let h = 1; h <= 4; h++) {
        hostNo++;
        const shape = SHAPES[(hostNo - 1) % SHAPES.length]!;
        const ip = `192.168.${p}0.${10 + (c - 1) * 4 + h}`;
        await cloud.hosts.add({
          clusterId: cluster.id,
          url: `sim://kvm-${String(hostNo).padStart(2, '0')}?ip=${ip}&cpus=${shape.cpus}&cpuMhz=${shape.cpuMhz}&memoryMiB=${shape.memoryMiB}`,
          hostTags: hostNo % 4 === 0 ? ['gpu'] : [],
        });
      }
      await cloud.storagePools.create({
        clusterId: cluster.id,
        name: `ps-${p}-${c}`,
        url: `nfs://192.168.${p}0.5/export/primary-${c}`,
        tags: c === 1 ? ['ssd'] : ['hdd'],
      });
    }
  }
  await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://192.168.10.6/export/secondary' });

  await cloud.offerings.createServiceOffering({ name: 'Small Instance', cpuNumber: 1, cpuSpeed: 500, memory: 512 });
  await cloud.offerings.createServiceOffering({
    name: 'Medium Instance',
    cpuNumber: 2,
    cpuSpeed: 1000,
    memory: 2048,
    tags: 'ssd',
  });
  await cloud.offerings.createServiceOffering({
    name: 'Large GPU Instance',
    cpuNumber: 8,
    cpuSpeed: 2000,
    memory: 16384,
    hostTag: 'gpu',
  });
  await cloud.offerings.createDiskOffering({ name: 'Small', diskSizeGb: 5 });
  await cloud.offerings.createDiskOffering({ name: 'Custom', customized: true, tags: 'ssd' });
  await cloud.templates.register({
    name: 'SystemVM Template (KVM)',
    url: 'http://download.example.org/systemvm/systemvmtemplate-4.19-kvm.qcow2.bz2',
    format: 'QCOW2',
    hypervisorType: 'KVM',
    osType: 'Debian GNU/Linux 12 (64-bit)',
    crossZones: true,
    templateType: 'SYSTEM',
  });
  await cloud.templates.register({
    name: 'Ubuntu 22.04',
    url: 'http://download.example.org/images/ubuntu-22.04.qcow2',
    format: 'QCOW2',
    hypervisorType: 'KVM',
    osType: 'Ubuntu 22.04 (64-bit)',
    crossZones: true,
    isPublic: true,
    isFeatured: true,
  });

  for (const name of ['acme', 'globex']) {
    const domain = await cloud.tenancy.createDomain({ name });
    await cloud.tenancy.createAccount({
      accountName: name,
      domainId: domain.id,
      user: { username: `${name}-admin`, password: `${name}-password` },
    });
  }

  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  return { zone };
}
