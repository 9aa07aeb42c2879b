import { simulatorDriver } from '@stratus/driver-simulator';
import { onTestFinished } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import type { HypervisorDriver } from '../../src/driver/hypervisor-driver.js';
import type { HypervisorType } from '../../src/model/enums.js';
import type { Cluster, Host, Pod, StoragePool, Zone } from '../../src/model/records.js';
import type { CreatePodInput } from '../../src/resources/pods.js';
import type { CreateZoneInput } from '../../src/resources/zones.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';

/**
 * Minimal valid set-ups for the rule tests, with values from the spec's examples. Every cloud is
 * a fresh in-memory SQLite store, closed when the test finishes.
 */

/** A new cloud with the simulator (and any further drivers), closed after the test. */
export async function openCloud(hypervisors: HypervisorDriver[] = [simulatorDriver()]): Promise<Cloud> {
  const cloud = await createCloud({ store: sqliteStore(), hypervisors });
  onTestFinished(() => cloud.close());
  return cloud;
}

export function advancedZone(cloud: Cloud, overrides: Partial<CreateZoneInput> = {}): Promise<Zone> {
  return cloud.zones.create({
    name: 'z1',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    guestCidr: '10.1.1.0/24',
    ...overrides,
  });
}

export function basicZone(cloud: Cloud, overrides: Partial<CreateZoneInput> = {}): Promise<Zone> {
  return cloud.zones.create({
    name: 'basic1',
    networkType: 'Basic',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    ...overrides,
  });
}

/** Pod 192.168.10.0/24, gateway .1, reserved system range .200–.250. */
export function pod(cloud: Cloud, zoneId: number, overrides: Partial<CreatePodInput> = {}): Promise<Pod> {
  return cloud.pods.create({
    zoneId,
    name: 'p1',
    gateway: '192.168.10.1',
    netmask: '255.255.255.0',
    startIp: '192.168.10.200',
    endIp: '192.168.10.250',
    ...overrides,
  });
}

export function cluster(
  cloud: Cloud,
  podId: number,
  name = 'c1',
  hypervisorType: HypervisorType = 'Simulator',
): Promise<Cluster> {
  return cloud.clusters.create({ podId, name, hypervisorType });
}

/** Adds `sim://<name>` with a management IP in the pod subnet, outside its reserved range. */
export async function host(cloud: Cloud, clusterId: number, name: string, ip: string): Promise<Host> {
  const [added] = await cloud.hosts.add({ clusterId, url: `sim://${name}?ip=${ip}` });
  if (!added) throw new Error(`host ${name} was not added`);
  return added;
}

/** Zone z1 → pod p1 → Simulator cluster c1 → host h1 (192.168.10.11). */
export async function zoneWithHost(
  cloud: Cloud,
  hypervisorType: HypervisorType = 'Simulator',
): Promise<{ zone: Zone; pod: Pod; cluster: Cluster; host: Host }> {
  const zone = await advancedZone(cloud);
  const p = await pod(cloud, zone.id);
  const c = await cluster(cloud, p.id, 'c1', hypervisorType);
  const h = await host(cloud, c.id, 'h1', '192.168.10.11');
  return { zone, pod: p, cluster: c, host: h };
}

/** {@link zoneWithHost} plus the NFS pool ps1 on the cluster. */
export async function zoneWithPool(
  cloud: Cloud,
): Promise<{ zone: Zone; pod: Pod; cluster: Cluster; host: Host; pool: StoragePool }> {
  const world = await zoneWithHost(cloud);
  const pool = await cloud.storagePools.create({
    clusterId: world.cluster.id,
    name: 'ps1',
    url: 'nfs://10.0.0.5/export/ps1',
  });
  return { ...world, pool };
}
