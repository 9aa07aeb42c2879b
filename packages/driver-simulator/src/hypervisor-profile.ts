import type { ConsoleProtocol, DiskFormat, HypervisorCapabilities, HypervisorTypeName } from '@stratus/core';

/**
 * How the simulator behaves when it impersonates a hypervisor type: capabilities from drivers.md §2.9,
 * formats and pool types from §2.6, network object names and clean-up from §2.5, console from §2.7.
 */
export interface HypervisorProfile {
  capabilities: HypervisorCapabilities;
  version: string;
  /** Format a blank volume or snapshot gets when the request does not say. */
  defaultFormat: DiskFormat;
  /** Type and path of a host's local storage pool. */
  localPool: { type: string; path: string };
  /** Name of the network object carrying VLAN `vlan` over traffic label `label`. */
  vlanNetworkName(label: string, vlan: number, rateMbps: number): string;
}

const ALL: Omit<HypervisorCapabilities, 'connectionUnit' | 'poolTypes' | 'diskFormats' | 'console'> = {
  liveMigration: true,
  volumeMigration: true,
  storageMigration: true,
  hotPlugDisk: true,
  volumeSnapshots: true,
  incrementalSnapshots: false,
  volumeResize: true,
  linkedClone: true,
  securityGroups: true,
  networkCleanup: true,
};

function caps(
  connectionUnit: HypervisorCapabilities['connectionUnit'],
  console: ConsoleProtocol,
  poolTypes: string[],
  diskFormats: DiskFormat[],
  overrides: Partial<HypervisorCapabilities> = {},
): HypervisorCapabilities {
  return { ...ALL, connectionUnit, console, poolTypes, diskFormats, ...overrides };
}

const kvmBridge = (label: string, vlan: number): string => `br${label}-${vlan}`;

/** The profile of a hypervisor type; unknown types behave like the generic Simulator. */
export function profileFor(type: HypervisorTypeName): HypervisorProfile {
  switch (type.toLowerCase()) {
    case 'kvm':
      return {
        capabilities: caps(
          'host',
          'vnc',
          ['NetworkFilesystem', 'SharedMountPoint', 'Filesystem', 'CLVM', 'RBD'],
          ['qcow2', 'raw', 'iso'],
        ),
        version: 'libvirt 9.0.0, QEMU 7.2.0 (simulated)',
        defaultFormat: 'qcow2',
        localPool: { type: 'Filesystem', path: '/var/lib/libvirt/images' },
        vlanNetworkName: kvmBridge,
      };
    case 'xenserver':
      return {
        capabilities: caps('pool', 'rfb', ['NetworkFilesystem', 'IscsiLUN', 'LVM', 'PreSetup', 'EXT'], ['vhd', 'iso'], {
          incrementalSnapshots: true,
        }),
        version: '8.2.1 (simulated)',
        defaultFormat: 'vhd',
        localPool: { type: 'LVM', path: '/dev/VG_XenStorage-local' },
        vlanNetworkName: (label, vlan) => `VLAN-${label}-${vlan}`,
      };
    case 'vmware':
      return {
        capabilities: caps('cluster', 'webmks', ['NetworkFilesystem', 'VMFS', 'PreSetup'], ['vmdk', 'ova', 'iso'], {
          securityGroups: false,
          networkCleanup: false,
        }),
        version: 'ESXi 7.0.3 (simulated)',
        defaultFormat: 'vmdk',
        localPool: { type: 'VMFS', path: '[datastore1]' },
        vlanNetworkName: (label, vlan, rate) => `cloud.guest.${vlan}.${rate}.1-${label}`,
      };
    default:
      return {
        capabilities: caps(
          'host',
          'vnc',
          [
            'NetworkFilesystem',
            'SharedMountPoint',
            'Filesystem',
            'CLVM',
            'RBD',
            'IscsiLUN',
            'LVM',
            'PreSetup',
            'EXT',
            'VMFS',
          ],
          ['qcow2', 'raw', 'vhd', 'vmdk', 'ova', 'iso'],
        ),
        version: 'Stratus Simulator 0.1.0',
        defaultFormat: 'qcow2',
        localPool: { type: 'Filesystem', path: '/var/lib/libvirt/images' },
        vlanNetworkName: kvmBridge,
      };
  }
}
