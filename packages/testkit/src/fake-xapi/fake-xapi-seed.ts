/**
 * The pool a fake XAPI starts with: one pool, its hosts (each with metrics, a control domain, a PIF per physical
 * NIC and local storage), a network per NIC named by the caller (the traffic labels), and guest-OS templates.
 */
import { randomUUID } from 'node:crypto';
import { NULL_REF, type XapiDatabase } from './xapi-database.js';

/** A physical NIC every host has, and the name-label of the network on it (a traffic label, drivers.md §4.6). */
export interface FakeXapiNic {
  device: string;
  networkLabel: string;
  /** The management interface (one per host). */
  management?: boolean;
}

/** What the fake pool is made of. */
export interface FakeXapiSeed {
  poolName: string;
  hostAddresses: readonly string[];
  hostMemoryBytes: number;
  hostCpus: number;
  hostCpuMhz: number;
  productVersion: string;
  nics: readonly FakeXapiNic[];
  localSrBytes: number;
  templates: readonly string[];
}

/** The guest-OS templates a fresh XenServer/XCP-ng carries (a few of them). */
export const DEFAULT_TEMPLATES = [
  'Other install media',
  'Debian Bookworm 12',
  'CentOS 7',
  'Windows Server 2019 (64-bit)',
];

/** Fills an empty database with the seed; returns the pool ref and the host refs in address order. */
export function seedPool(db: XapiDatabase, seed: FakeXapiSeed): { pool: string; hosts: string[] } {
  const hosts: string[] = [];
  const networks = seed.nics.map((nic) =>
    db.insert('network', {
      name_label: nic.networkLabel,
      name_description: `Network on ${nic.device}`,
      bridge: `xenbr${nic.device.replace(/\D/g, '')}`,
      MTU: 1500,
      managed: true,
    }),
  );
  seed.hostAddresses.forEach((address, i) => {
    const name = `xenhost${i + 1}`;
    const metrics = db.insert('host_metrics', {
      memory_total: seed.hostMemoryBytes,
      memory_free: seed.hostMemoryBytes,
      live: true,
      last_updated: Date.now(),
    });
    const overhead = Math.floor(seed.hostMemoryBytes / 64);
    const host = db.insert('host', {
      name_label: name,
      hostname: name,
      address,
      enabled: true,
      API_version_major: 2,
      API_version_minor: 21,
      API_version_vendor: 'XenSource',
      software_version: {
        product_brand: 'XCP-ng',
        product_version: seed.productVersion,
        platform_version: '3.4.0',
        xapi: '23.31',
        xen: '4.17.3',
        network_backend: 'openvswitch',
      },
      cpu_info: {
        cpu_count: String(seed.hostCpus),
        socket_count: '1',
        vendor: 'GenuineIntel',
        speed: seed.hostCpuMhz.toFixed(3),
        modelname: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz',
        family: '6',
        model: '85',
        flags: 'fpu de tsc msr pae mce cx8 apic sep mtrr pge cmov clflush mmx fxsr sse sse2 ht syscall nx lm vmx',
      },
      capabilities: ['xen-3.0-x86_64', 'hvm-3.0-x86_32', 'hvm-3.0-x86_32p', 'hvm-3.0-x86_64'],
      memory_overhead: overhead,
      metrics,
      edition: 'xcp-ng',
    });
    hosts.push(host);
    const dom0 = db.insert('VM', {
      name_label: `Control domain on host: ${name}`,
      is_control_domain: true,
      power_state: 'Running',
      resident_on: host,
      domid: 0,
      memory_static_max: Math.floor(seed.hostMemoryBytes / 16),
      memory_dynamic_max: Math.floor(seed.hostMemoryBytes / 16),
      memory_dynamic_min: Math.floor(seed.hostMemoryBytes / 16),
      memory_static_min: Math.floor(seed.hostMemoryBytes / 16),
      VCPUs_max: 4,
      VCPUs_at_startup: 4,
    });
    db.update('host', host, { resident_VMs: [dom0] });
    seed.nics.forEach((nic, n) => {
      const mac = `aa:00:00:${String(i).padStart(2, '0')}:00:${String(n).padStart(2, '0')}`;
      const pif = db.insert('PIF', {
        device: nic.device,
        network: networks[n],
        host,
        MAC: mac,
        MTU: 1500,
        VLAN: -1,
        physical: true,
        currently_attached: true,
        management: nic.management === true,
        IP: nic.management ? address : '',
        ip_configuration_mode: nic.management ? 'Static' : 'None',
        VLAN_master_of: NULL_REF,
      });
      db.addToSet('network', networks[n]!, 'PIFs', pif);
      db.addToSet('host', host, 'PIFs', pif);
    });
    const local = db.insert('SR', {
      name_label: `Local storage`,
      name_description: `Local storage on ${name}`,
      type: 'ext',
      content_type: 'user',
      shared: false,
      physical_size: seed.localSrBytes,
    });
    const pbd = db.insert('PBD', {
      host,
      SR: local,
      device_config: { device: '/dev/sda3' },
      currently_attached: true,
    });
    db.update('SR', local, { PBDs: [pbd] });
    db.addToSet('host', host, 'PBDs', pbd);
  });
  for (const name of seed.templates) {
    const gib = 1024 ** 3;
    db.insert('VM', {
      name_label: name,
      name_description: `Template for ${name}`,
      is_a_template: true,
      is_default_template: true,
      power_state: 'Halted',
      domid: -1,
      memory_static_max: 2 * gib,
      memory_dynamic_max: 2 * gib,
      memory_dynamic_min: 2 * gib,
      memory_static_min: 512 * 1024 ** 2,
      memory_target: 2 * gib,
      VCPUs_max: 1,
      VCPUs_at_startup: 1,
      actions_after_shutdown: 'destroy',
      actions_after_reboot: 'restart',
      actions_after_crash: 'restart',
      HVM_boot_policy: 'BIOS order',
      HVM_boot_params: { order: 'cdn' },
      platform: {
        viridian: 'false',
        acpi: '1',
        apic: 'true',
        pae: 'true',
        nx: 'true',
        'device-model': 'qemu-upstream-compat',
      },
      other_config: {
        default_template: 'true',
        install_methods: 'cdrom,nfs,http,ftp',
        linux_template: 'true',
        mac_seed: randomUUID(),
        disks: '<provision><disk device="0" size="10737418240" sr="" bootable="true" type="system"/></provision>',
      },
      recommendations: '<restrictions><restriction field="memory-static-max" max="137438953472"/></restrictions>',
      domain_type: 'hvm',
      user_version: 1,
    });
  }
  const pool = db.insert('pool', {
    name_label: seed.poolName,
    master: hosts[0],
    default_SR: NULL_REF,
  });
  return { pool, hosts };
}
