import type { HypervisorCapabilities, HypervisorDriver } from '@stratus/core';
import { KvmNetwork } from './kvm-network.js';
import type { KvmDriverOptions } from './kvm-options.js';

/**
 * The KVM hypervisor driver (drivers.md §3): libvirt through virsh over one kept SSH connection per host, or
 * through the native binding locally. Domain XML is generated from the `VmSpec`; storage goes through libvirt
 * pools (transient `pool-create`, `vol-create-as`, qcow2 backing files for template clones); templates and ISOs
 * on NFS secondary storage are read through a libvirt `netfs` mount of their directory, as CloudStack's agent does,
 * and ones on this management server (`file://`) uploaded over SFTP with progress. Every create is idempotent by
 * name/uuid, deletes of missing objects succeed, and every failure is a typed `DriverError`. One concern per file:
 * `kvm-base.ts` (hosts map, locks, shared libvirt queries) ← `kvm-host-connection.ts` ← `kvm-vm-lifecycle.ts` ←
 * `kvm-migration.ts` ← `kvm-storage.ts` ← `kvm-templates.ts` ← `kvm-network.ts` ← this class.
 */
export class KvmDriver extends KvmNetwork implements HypervisorDriver {
  readonly type = 'KVM';
  private get testDriver(): boolean {
    return this.options.domainType === 'test';
  }
  /**
   * What KVM does. With `domainType: 'test'` (libvirt's test driver) `liveMigration` and `hotPlugDisk` are false:
   * the test driver has neither migration nor device hot-plug (`virsh migrate` and `attach-device` answer "this
   * function is not supported by the connection driver"), so core refuses a live migration up front and attaches
   * volumes to stopped VMs only (their definition is edited), instead of failing on the host. `networkCleanup` is
   * false: the per-VLAN bridges `startVm` defines stay when their last VM stops (the contract has no cleanup call).
   */
  capabilities(): HypervisorCapabilities {
    return {
      connectionUnit: 'host',
      liveMigration: !this.testDriver,
      storageMigration: false,
      hotPlugDisk: !this.testDriver,
      incrementalSnapshots: false,
      volumeResize: false,
      linkedClone: true,
      securityGroups: false,
      networkCleanup: false,
      poolTypes: ['NetworkFilesystem', 'SharedMountPoint', 'Filesystem'],
      diskFormats: ['qcow2', 'raw', 'iso'],
      console: 'vnc',
    };
  }
}

/** The KVM driver: `createCloud({ hypervisors: [kvmDriver({ hostKey: { knownHostsFile } })] })`. */
export function kvmDriver(options: KvmDriverOptions = {}): KvmDriver {
  return new KvmDriver(options);
}
