import type { SimulatorDriver } from '@stratus/driver-simulator';
import type { Cloud } from '../../src/cloud.js';

/**
 * Every row of the accounting tables a VM operation may take or give back — host counters and
 * bookings, pool counters and allocations, IP allocations, guest VLANs, MACs, NICs, volumes,
 * networks — plus what the simulated hypervisor holds (VM definitions and disks), as sorted plain
 * values so that two snapshots compare with `toEqual`.
 */
export interface AccountingSnapshot {
  hostCapacity: Array<{
    hostId: number;
    cpuUsed: number;
    cpuReserved: number;
    memoryUsed: number;
    memoryReserved: number;
  }>;
  bookings: Array<{ vmId: number; hostId: number; kind: string; cpu: number; memory: number }>;
  poolCapacity: Array<{ poolId: number; allocatedBytes: number }>;
  storageAllocations: Array<{ volumeId: number; poolId: number; bytes: number }>;
  ips: Array<{
    ip: string;
    space: string;
    state: string;
    ownerType: string;
    ownerId: number | null;
    networkId: number | null;
  }>;
  vlans: Array<{ vnet: number; networkId: number }>;
  macs: Array<{ mac: string; ownerType: string; ownerId: number | null }>;
  nics: Array<{ id: number; vmId: number; state: string; ip: string | null; mac: string }>;
  volumes: Array<{ id: number; vmId: number | null; state: string; poolId: number | null }>;
  networks: Array<{ id: number; state: string; broadcastUri: string | null }>;
  simVms: string[];
  simVolumes: string[];
}

const n = (v: unknown): number => Number(v);
const byJson = <T>(rows: T[]): T[] =>
  rows.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));

export async function accountingSnapshot(cloud: Cloud, sim?: SimulatorDriver): Promise<AccountingSnapshot> {
  const db = cloud.store.db;
  const view = sim?.inspect();
  return {
    hostCapacity: byJson(
      (await db.selectFrom('hostCapacity').selectAll().execute())
        .map((r) => ({
          hostId: n(r.hostId),
          cpuUsed: n(r.cpuUsed),
          cpuReserved: n(r.cpuReserved),
          memoryUsed: n(r.memoryUsed),
          memoryReserved: n(r.memoryReserved),
        }))
        // A counter row is created on first use; an all-zero row equals no row.
        .filter((h) => h.cpuUsed !== 0 || h.cpuReserved !== 0 || h.memoryUsed !== 0 || h.memoryReserved !== 0),
    ),
    bookings: byJson(
      (await db.selectFrom('capacityBookings').selectAll().execute()).map((r) => ({
        vmId: n(r.vmId),
        hostId: n(r.hostId),
        kind: r.kind,
        cpu: n(r.cpu),
        memory: n(r.memory),
      })),
    ),
    poolCapacity: byJson(
      (await db.selectFrom('poolCapacity').selectAll().execute())
        .map((r) => ({
          poolId: n(r.poolId),
          allocatedBytes: n(r.allocatedBytes),
        }))
        .filter((p) => p.allocatedBytes !== 0),
    ),
    storageAllocations: byJson(
      (await db.selectFrom('storageAllocations').selectAll().execute()).map((r) => ({
        volumeId: n(r.volumeId),
        poolId: n(r.poolId),
        bytes: n(r.bytes),
      })),
    ),
    ips: byJson(
      (await db.selectFrom('ipAllocations').selectAll().execute()).map((r) => ({
        ip: r.ip,
        space: r.space,
        state: r.state,
        ownerType: r.ownerType,
        ownerId: r.ownerId === null ? null : n(r.ownerId),
        networkId: r.networkId === null ? null : n(r.networkId),
      })),
    ),
    vlans: byJson(
      (await db.selectFrom('guestVlans').selectAll().execute()).map((r) => ({
        vnet: n(r.vnet),
        networkId: n(r.networkId),
      })),
    ),
    macs: byJson(
      (await db.selectFrom('macAddresses').selectAll().execute()).map((r) => ({
        mac: r.mac,
        ownerType: r.ownerType,
        ownerId: r.ownerId === null ? null : n(r.ownerId),
      })),
    ),
    nics: byJson(
      (await db.selectFrom('nics').selectAll().where('removed', 'is', null).execute()).map((r) => ({
        id: n(r.id),
        vmId: n(r.instanceId),
        state: r.state,
        ip: r.ip4Address,
        mac: r.macAddress,
      })),
    ),
    volumes: byJson(
      (await db.selectFrom('volumes').selectAll().where('removed', 'is', null).execute()).map((r) => ({
        id: n(r.id),
        vmId: r.instanceId === null ? null : n(r.instanceId),
        state: r.state,
        poolId: r.poolId === null ? null : n(r.poolId),
      })),
    ),
    networks: byJson(
      (await db.selectFrom('networks').selectAll().where('removed', 'is', null).execute()).map((r) => ({
        id: n(r.id),
        state: r.state,
        broadcastUri: r.broadcastUri,
      })),
    ),
    simVms: view ? Object.keys(view.vms).sort() : [],
    simVolumes: view ? Object.keys(view.volumes).sort() : [],
  };
}

/**
 * `after` without what one VM holds: its bookings (and their share of the host counters), its NICs
 * with their IPs and MACs, its volumes with their pool allocations (and share of the pool
 * counters), its definition and disks on the hypervisor, and — for the VM's networks that were not
 * implemented in `before` — the network rows, VLANs and public IPs its start implemented. What is
 * left must equal `before` exactly when the operation leaked nothing.
 */
export async function withoutVm(
  cloud: Cloud,
  after: AccountingSnapshot,
  before: AccountingSnapshot,
  vmId: number,
): Promise<AccountingSnapshot> {
  const db = cloud.store.db;
  const vm = await db.selectFrom('vmInstances').selectAll().where('id', '=', vmId).executeTakeFirstOrThrow();
  const nics = after.nics.filter((x) => x.vmId === vmId);
  const nicIds = new Set(nics.map((x) => x.id));
  const macs = new Set(nics.map((x) => x.mac));
  const volumeIds = new Set(after.volumes.filter((x) => x.vmId === vmId).map((x) => x.id));
  const volumeUuids = new Set(
    (await db.selectFrom('volumes').select('uuid').where('instanceId', '=', vmId).execute()).map((r) => r.uuid),
  );
  const vmNetworkIds = new Set(
    (await db.selectFrom('nics').select('networkId').where('instanceId', '=', vmId).execute()).map((r) =>
      n(r.networkId),
    ),
  );
  const newlyImplemented = new Set(
    [...vmNetworkIds].filter((id) => before.networks.find((x) => x.id === id)?.state !== 'Implemented'),
  );
  const bookings = after.bookings.filter((b) => b.vmId === vmId);
  const allocations = after.storageAllocations.filter((a) => volumeIds.has(a.volumeId));
  return {
    hostCapacity: after.hostCapacity
      .map((h) => {
        const mine = bookings.filter((b) => b.hostId === h.hostId);
        const used = mine.filter((b) => b.kind === 'used');
        const reserved = mine.filter((b) => b.kind === 'reserved');
        const sum = (xs: typeof mine, k: 'cpu' | 'memory') => xs.reduce((s, b) => s + b[k], 0);
        return {
          ...h,
          cpuUsed: h.cpuUsed - sum(used, 'cpu'),
          memoryUsed: h.memoryUsed - sum(used, 'memory'),
          cpuReserved: h.cpuReserved - sum(reserved, 'cpu'),
          memoryReserved: h.memoryReserved - sum(reserved, 'memory'),
        };
      })
      .filter((h) => h.cpuUsed !== 0 || h.cpuReserved !== 0 || h.memoryUsed !== 0 || h.memoryReserved !== 0),
    bookings: after.bookings.filter((b) => b.vmId !== vmId),
    poolCapacity: after.poolCapacity
      .map((p) => ({
        ...p,
        allocatedBytes:
          p.allocatedBytes - allocations.filter((a) => a.poolId === p.poolId).reduce((s, a) => s + a.bytes, 0),
      }))
      .filter((p) => p.allocatedBytes !== 0),
    storageAllocations: after.storageAllocations.filter((a) => !volumeIds.has(a.volumeId)),
    ips: after.ips.filter(
      (ip) =>
        !(ip.ownerType === 'Nic' && ip.ownerId !== null && nicIds.has(ip.ownerId)) &&
        !(ip.space === 'public' && ip.networkId !== null && newlyImplemented.has(ip.networkId)),
    ),
    vlans: after.vlans.filter((v) => !newlyImplemented.has(v.networkId)),
    macs: after.macs.filter((m) => !macs.has(m.mac)),
    nics: after.nics.filter((x) => x.vmId !== vmId),
    volumes: after.volumes.filter((x) => x.vmId !== vmId),
    networks: after.networks
      .filter((x) => !vmNetworkIds.has(x.id) || before.networks.some((b) => b.id === x.id))
      .map((x) => (newlyImplemented.has(x.id) ? (before.networks.find((b) => b.id === x.id) ?? x) : x)),
    simVms: after.simVms.filter((name) => name !== vm.instanceName),
    simVolumes: after.simVolumes.filter((uuid) => !volumeUuids.has(uuid)),
  };
}
