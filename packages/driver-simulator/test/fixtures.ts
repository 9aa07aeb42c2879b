import type { DiskSpec, HostRef, NicSpec, PoolSpec, VmSpec, VolumeResult } from '@stratus/core';
import type { SimulatorDriver } from '../src/index.js';

export const GiB = 1024 ** 3;

/** A NIC on VLAN `vlan` (or untagged) over label `cloudbr1`. */
export function nic(deviceId: number, vlan: number | 'untagged', overrides: Partial<NicSpec> = {}): NicSpec {
  return {
    deviceId,
    mac: `06:00:00:00:00:${deviceId.toString(16).padStart(2, '0')}`,
    ip: `10.0.0.${10 + deviceId}`,
    netmask: '255.255.255.0',
    gateway: '10.0.0.1',
    isDefault: deviceId === 0,
    trafficType: 'Guest',
    trafficLabel: 'cloudbr1',
    broadcastUri: `vlan://${vlan}`,
    ...overrides,
  };
}

/** A root disk for a volume. */
export function rootDisk(volume: VolumeResult, pool: PoolSpec): DiskSpec {
  return {
    volumeUuid: volume.uuid,
    type: 'ROOT',
    deviceId: 0,
    poolRef: { uuid: pool.uuid, type: pool.type },
    path: volume.path,
    format: volume.format,
    sizeBytes: volume.sizeBytes,
    readOnly: false,
  };
}

/** A small VM spec. */
export function vmSpec(name: string, overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    name,
    uuid: `uuid-${name}`,
    type: 'User',
    cpus: 2,
    cpuMhz: 1000,
    minRamBytes: 2 * GiB,
    maxRamBytes: 2 * GiB,
    bootOrder: ['hd'],
    osType: 'Debian GNU/Linux 12 (64-bit)',
    bootArgs: '',
    vncPassword: 'secret',
    disks: [],
    nics: [],
    details: {},
    ...overrides,
  };
}

/** An NFS pool spec. */
export function nfsPool(uuid: string, capacityBytes?: number): PoolSpec {
  return {
    uuid,
    name: uuid,
    type: 'NetworkFilesystem',
    server: '10.0.0.5',
    path: `/export/${uuid}`,
    ...(capacityBytes !== undefined ? { details: { capacityBytes: String(capacityBytes) } } : {}),
  };
}

/** Connects one host and returns its ref. */
export async function addHost(sim: SimulatorDriver, url: string, clusterRef?: string): Promise<HostRef> {
  const [report] = await sim.connect({ url, ...(clusterRef !== undefined ? { clusterRef } : {}) });
  if (report === undefined) throw new Error('no host reported');
  return { guid: report.guid, name: report.name, ip: report.ip };
}
