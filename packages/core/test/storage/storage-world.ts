import { randomUUID } from 'node:crypto';
import {
  type SimulatedImageStore,
  type SimulatorDriver,
  simulatedImageStore,
  simulatorDriver,
} from '@stratus/driver-simulator';
import { CapacityService } from '../../src/capacity/capacity-service.js';
import { type Cloud, createCloud } from '../../src/cloud.js';
import type { Clock } from '../../src/context.js';
import { JobService } from '../../src/orchestration/jobs.js';
import { ManagementServer } from '../../src/orchestration/management-server.js';
import { SnapshotService } from '../../src/orchestration/snapshots.js';
import { TemplateStorageService } from '../../src/orchestration/templates-storage.js';
import { VolumeService } from '../../src/orchestration/volumes.js';
import { SettingsService } from '../../src/settings/settings-service.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import type { Store } from '../../src/store/store.js';

export const GiB = 1024 ** 3;

/** A settable clock. */
export class TestClock implements Clock {
  constructor(public t = Date.UTC(2024, 0, 15, 10, 0, 0)) {}
  now(): number {
    return this.t;
  }
}

export interface StorageWorld {
  cloud: Cloud;
  sim: SimulatorDriver;
  images: SimulatedImageStore;
  clock: TestClock;
  server: ManagementServer;
  jobs: JobService;
  capacity: CapacityService;
  templates: TemplateStorageService;
  volumes: VolumeService;
  snapshots: SnapshotService;
  zoneId: number;
  clusterId: number;
  hostIds: number[];
  poolId: number;
  storeId: number;
  diskOfferingId: number;
}

/** Wires the storage services over one context (what createCloud would do). */
export function storageServices(cloud: Cloud, images: SimulatedImageStore) {
  const server = new ManagementServer(cloud.context);
  const jobs = new JobService(cloud.context, server);
  const capacity = new CapacityService(cloud.context, new SettingsService(cloud.context));
  const templates = new TemplateStorageService(cloud.context, jobs, images);
  const volumes = new VolumeService(cloud.context, jobs, templates, capacity);
  const snapshots = new SnapshotService(cloud.context, jobs, capacity);
  return { server, jobs, capacity, templates, volumes, snapshots };
}

/** A zone with one pod, one Simulator cluster of two hosts, one NFS pool and one image store. */
export async function storageWorld(options: { store?: Store; sim?: SimulatorDriver } = {}): Promise<StorageWorld> {
  const sim = options.sim ?? simulatorDriver();
  const clock = new TestClock();
  const cloud = await createCloud({ store: options.store ?? sqliteStore(), hypervisors: [sim], clock });
  const zone = await cloud.zones.create({
    name: 'z1',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    guestCidr: '10.1.1.0/24',
  });
  const pod = await cloud.pods.create({
    zoneId: zone.id,
    name: 'p1',
    gateway: '192.168.10.1',
    netmask: '255.255.255.0',
    startIp: '192.168.10.200',
    endIp: '192.168.10.250',
  });
  const cluster = await cloud.clusters.create({ podId: pod.id, name: 'c1', hypervisorType: 'Simulator' });
  const hosts = [
    ...(await cloud.hosts.add({ clusterId: cluster.id, url: 'sim://h1' })),
    ...(await cloud.hosts.add({ clusterId: cluster.id, url: 'sim://h2' })),
  ];
  const pool = await cloud.storagePools.create({
    clusterId: cluster.id,
    name: 'ps1',
    url: 'nfs://10.0.0.5/export/ps1',
  });
  const store = await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.9/export/secondary' });
  const offering = await cloud.offerings.createDiskOffering({ name: 'small', diskSizeGb: 5 });
  const images = simulatedImageStore();
  const services = storageServices(cloud, images);
  await services.server.start(60_000);
  return {
    cloud,
    sim,
    images,
    clock,
    ...services,
    zoneId: zone.id,
    clusterId: cluster.id,
    hostIds: hosts.map((h) => h.id),
    poolId: pool.id,
    storeId: store.id,
    diskOfferingId: offering.id,
  };
}

/** Inserts a VM record and, unless `state` is `Stopped` without a host, defines it on the host through the driver. */
export async function makeVm(
  world: StorageWorld,
  options: { state: 'Running' | 'Stopped'; hostIndex?: number; started?: boolean; accountId?: number },
) {
  const hostId = world.hostIds[options.hostIndex ?? 0] as number;
  const started = options.started ?? true;
  const name = `i-2-${Math.floor(Math.random() * 1e6)}-VM`;
  const host = await world.cloud.hosts.get(hostId);
  const row = await world.cloud.context.db
    .insertInto('vmInstances')
    .values({
      uuid: randomUUID(),
      instanceName: name,
      hostName: name,
      displayName: name,
      type: 'User',
      accountId: options.accountId ?? 2,
      domainId: 1,
      zoneId: world.zoneId,
      serviceOfferingId: 1,
      templateId: null,
      hypervisorType: 'Simulator',
      hostId: options.state === 'Running' ? hostId : null,
      lastHostId: started ? hostId : null,
      podIdToDeployIn: null,
      haEnabled: 0,
      state: options.state,
      powerState: options.state === 'Running' ? 'PowerOn' : 'PowerOff',
      details: '{}',
      created: world.clock.now(),
      removed: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  if (started) {
    const ref = { guid: host.guid, name: host.name };
    await world.sim.startVm(ref, {
      name,
      uuid: randomUUID(),
      type: 'User',
      cpus: 1,
      cpuMhz: 1000,
      minRamBytes: GiB,
      maxRamBytes: GiB,
      bootOrder: ['hd'],
      osType: 'Other',
      bootArgs: '',
      vncPassword: 'x',
      disks: [],
      nics: [],
      details: {},
    });
    if (options.state === 'Stopped') await world.sim.stopVm(ref, name, { force: true });
  }
  return { id: Number(row.id), name, hostId };
}

/** Pool allocation and volume rows, to compare "exactly as before". */
export async function storageSnapshot(world: StorageWorld) {
  const db = world.cloud.context.db;
  return {
    pools: (
      await db.selectFrom('poolCapacity').select(['poolId', 'allocatedBytes']).orderBy('poolId').execute()
    ).filter((p) => Number(p.allocatedBytes) !== 0),
    allocations: await db
      .selectFrom('storageAllocations')
      .select(['volumeId', 'poolId', 'bytes'])
      .orderBy('volumeId')
      .execute(),
    volumes: await db
      .selectFrom('volumes')
      .select(['id', 'state', 'poolId', 'instanceId', 'deviceId', 'size', 'removed'])
      .orderBy('id')
      .execute(),
    simVolumes: Object.keys(world.sim.inspect().volumes).sort(),
  };
}
