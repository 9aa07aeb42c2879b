import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CapacityConflictError } from '../src/allocation/placement-error.js';
import { CapacityIndex } from '../src/capacity/capacity-index.js';
import { capacityReport } from '../src/capacity/capacity-report.js';
import { demandOf, MIB } from '../src/capacity/demand.js';
import { InsufficientCapacityError, InvalidParameterError } from '../src/errors.js';
import { sqliteStore } from '../src/store/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { type CapacityWorld, seedCapacityWorld, type WorldShape } from './fixtures/capacity-world.js';

const d1 = demandOf({ cpuNumber: 1, cpuSpeed: 1000, memory: 1024 });

describe('capacity bookkeeping (SQLite)', () => {
  let store: Store;
  let world: CapacityWorld;
  const setup = async (shape: WorldShape = {}) => {
    store = sqliteStore();
    await store.migrate();
    world = await seedCapacityWorld(store, shape);
  };
  const book = (vmId: number, hostId: number, demand = d1, check = false) =>
    world.ctx.write((w) =>
      world.capacity.bookStart(w, { vmId, accountId: 2, hostId, demand, checkClusterThreshold: check }),
    );
  const counters = (hostId: number) => world.capacity.hostCapacity(store.db, hostId);

  beforeEach(async () => setup());
  afterEach(async () => store.close());

  it('demand is cpuNumber × cpuSpeed MHz and memory × 2^20 bytes', () => {
    expect(demandOf({ cpuNumber: 2, cpuSpeed: 1500, memory: 512 })).toEqual({
      cpu: 3000,
      memory: 512 * MIB,
      cores: 2,
      speed: 1500,
    });
    expect(() => demandOf({ cpuNumber: 0, cpuSpeed: 1, memory: 1 })).toThrow(InvalidParameterError);
  });

  it('books used capacity and refuses the VM that would exceed total × ratio, changing nothing', async () => {
    const h = world.hostIds[0]!;
    for (let i = 1; i <= 8; i++) await book(i, h); // 8000 MHz, 8 GiB
    const before = await counters(h);
    expect(before).toMatchObject({ cpuUsed: 8000, memoryUsed: 8192 * MIB, cpuReserved: 0 });
    const err = await book(9, h).catch((e) => e);
    expect(err).toBeInstanceOf(CapacityConflictError);
    expect(err).toBeInstanceOf(InsufficientCapacityError);
    expect(err.httpCode).toBe(533);
    expect(await counters(h)).toEqual(before);
    expect(await store.db.selectFrom('capacityBookings').select('vmId').where('vmId', '=', 9).execute()).toEqual([]);
  });

  it('is idempotent for a VM already booked on the host', async () => {
    const h = world.hostIds[0]!;
    await book(1, h);
    await book(1, h);
    expect((await counters(h))?.cpuUsed).toBe(1000);
  });

  it('rolls back with the transaction that made the booking', async () => {
    const h = world.hostIds[0]!;
    await world.ctx
      .write(async (w) => {
        await world.capacity.bookStart(w, { vmId: 1, accountId: 2, hostId: h, demand: d1 });
        throw new Error('VM state change failed');
      })
      .catch(() => undefined);
    expect((await counters(h))?.cpuUsed).toBe(0);
  });

  it('CPU over-provisioning multiplies the total at check time only', async () => {
    await store.close();
    await setup({ cpuRatio: 2 });
    const h = world.hostIds[0]!;
    for (let i = 1; i <= 16; i++) await book(i, h, demandOf({ cpuNumber: 1, cpuSpeed: 1000, memory: 256 }));
    await expect(book(17, h, demandOf({ cpuNumber: 1, cpuSpeed: 1000, memory: 256 }))).rejects.toThrow(
      CapacityConflictError,
    );
    const index = await CapacityIndex.load(store.db);
    expect(index.hosts.get(h)?.cpuTotal).toBe(8000); // never stored multiplied
    const row = capacityReport(index, { level: 'host', hostId: h, type: 'CPU' })[0];
    expect(row).toMatchObject({ total: 16000, used: 16000, percent: 100 });
  });

  it('memory over-provisioning uses the cluster memory ratio; host memory excludes the hypervisor reserve', async () => {
    await store.close();
    await setup({ memoryRatio: 1.5, reservedMemoryMiB: 2048 }); // (8192 − 2048) × 1.5 = 9216 MiB
    const h = world.hostIds[0]!;
    const vm = demandOf({ cpuNumber: 1, cpuSpeed: 100, memory: 3072 });
    for (let i = 1; i <= 3; i++) await book(i, h, vm);
    await expect(book(4, h, vm)).rejects.toThrow(/INSUFFICIENT_MEMORY/);
  });

  it('a stopped VM keeps a reservation that counts against others but not against itself (pitfall 7)', async () => {
    const h = world.hostIds[0]!;
    const half = demandOf({ cpuNumber: 2, cpuSpeed: 2000, memory: 4096 });
    await book(1, h, half);
    await book(2, h, half);
    await world.ctx.write((w) => world.capacity.stopToReserved(w, 1));
    expect(await counters(h)).toMatchObject({ cpuUsed: 4000, cpuReserved: 4000 });
    await expect(book(3, h, half)).rejects.toThrow(CapacityConflictError); // reserved counts
    await book(1, h, half); // restart on the last host consumes its own reservation
    expect(await counters(h)).toMatchObject({ cpuUsed: 8000, cpuReserved: 0 });
  });

  it('capacity.skipcounting.hours is in SECONDS: the reservation lapses after 3600 s, not 3600 h', async () => {
    const h = world.hostIds[0]!;
    const full = demandOf({ cpuNumber: 4, cpuSpeed: 2000, memory: 8192 });
    await book(1, h, full);
    await world.ctx.write((w) => world.capacity.stopToReserved(w, 1));
    world.now.t += 3599 * 1000;
    await expect(book(2, h, full)).rejects.toThrow(CapacityConflictError);
    world.now.t += 1000;
    await book(2, h, full); // lazy expiry on the target host frees VM 1's reservation
    expect(await counters(h)).toMatchObject({ cpuUsed: 8000, cpuReserved: 0 });
    const freed = await store.db
      .selectFrom('events')
      .select('type')
      .where('type', '=', 'CAPACITY.RESERVATION.FREED')
      .execute();
    expect(freed).toHaveLength(1);
  });

  it('destroy releases the reservation; failed start releases used', async () => {
    const [h1, h2] = world.hostIds as [number, number];
    await book(1, h1);
    await world.ctx.write((w) => world.capacity.stopToReserved(w, 1));
    await world.ctx.write((w) => world.capacity.releaseVm(w, 1));
    expect(await counters(h1)).toMatchObject({ cpuUsed: 0, cpuReserved: 0 });
    await book(2, h2);
    await world.ctx.write((w) => world.capacity.releaseFailedStart(w, 2, h2));
    expect(await counters(h2)).toMatchObject({ cpuUsed: 0, cpuReserved: 0 });
  });

  it('a migrating VM counts on both hosts until the migration ends', async () => {
    const [h1, h2] = world.hostIds as [number, number];
    await book(1, h1);
    await world.ctx.write((w) =>
      world.capacity.bookMigration(w, { vmId: 1, accountId: 2, destHostId: h2, demand: d1 }),
    );
    expect((await counters(h1))?.cpuUsed).toBe(1000);
    expect((await counters(h2))?.cpuUsed).toBe(1000);
    await world.ctx.write((w) =>
      world.capacity.finishMigration(w, 1, { sourceHostId: h1, destHostId: h2, succeeded: true }),
    );
    expect((await counters(h1))?.cpuUsed).toBe(0);
    expect((await counters(h2))?.cpuUsed).toBe(1000);
  });

  it('cluster disable threshold counts the request (pitfall 5) and a per-cluster value beats the global one', async () => {
    const [h1, h2] = world.hostIds as [number, number];
    // 2 hosts × 8000 MHz = 16000; 0.85 ⇒ 13600 MHz may be allocated.
    const cpuOnly = demandOf({ cpuNumber: 1, cpuSpeed: 1000, memory: 128 });
    for (let i = 1; i <= 8; i++) await book(i, h1, cpuOnly, true);
    for (let i = 9; i <= 13; i++) await book(i, h2, cpuOnly, true); // 13000
    const err = await book(14, h2, cpuOnly, true).catch((e) => e); // 14000 / 16000 = 0.875 > 0.85
    expect(err).toBeInstanceOf(CapacityConflictError);
    expect(err.reason).toBe('CLUSTER_THRESHOLD_CPU');
    await world.settings.set('cluster.cpu.allocated.capacity.disablethreshold', 0.9, { clusterId: world.clusterId });
    await book(14, h2, cpuOnly, true);
    await expect(book(15, h2, cpuOnly, true)).rejects.toThrow(/0.9/);
    await world.settings.set('cluster.threshold.enabled', false);
    await book(15, h2, cpuOnly, true);
    // memory: 14 GiB of 16 GiB = 0.875 > 0.85 with the request
    const memOnly = demandOf({ cpuNumber: 1, cpuSpeed: 1, memory: 14 * 1024 - 15 * 128 });
    await world.settings.set('cluster.threshold.enabled', true);
    await world.settings.set('cluster.cpu.allocated.capacity.disablethreshold', 1, { clusterId: world.clusterId });
    expect((await book(16, h2, memOnly, true).catch((e) => e)).reason).toBe('CLUSTER_THRESHOLD_MEMORY');
  });

  it('recalculation normalises bookings by the ratio they started with', async () => {
    const h = world.hostIds[0]!;
    await book(1, h, demandOf({ cpuNumber: 1, cpuSpeed: 2000, memory: 1024 }));
    await store.db.updateTable('clusters').set({ cpuOvercommitRatio: 2 }).where('id', '=', world.clusterId).execute();
    await world.ctx.write((w) => world.capacity.recalculate(w, h));
    expect((await counters(h))?.cpuUsed).toBe(4000);
  });

  it('index loads counters, bookings and settings from the store and replays deltas', async () => {
    const [h1] = world.hostIds as [number, number];
    await book(1, h1);
    const index = await CapacityIndex.load(store.db);
    expect(index.hosts.get(h1)).toMatchObject({ cpuUsed: 1000, vmCount: 1 });
    expect(index.accountVmsInCluster(2, world.clusterId)).toBe(1);
    const deltas = await world.ctx.write((w) =>
      world.capacity.bookStart(w, { vmId: 2, accountId: 2, hostId: h1, demand: d1 }),
    );
    index.apply(deltas);
    const fresh = await CapacityIndex.load(store.db);
    expect(index.hosts.get(h1)?.cpuUsed).toBe(fresh.hosts.get(h1)?.cpuUsed);
    expect(index.clusterUsage(world.clusterId)).toEqual(fresh.clusterUsage(world.clusterId));
    const report = capacityReport(fresh, { level: 'zone' });
    expect(report.find((r) => r.type === 'CPU')).toMatchObject({
      total: 16000,
      used: 2000,
      reserved: 0,
      percent: 12.5,
    });
    expect(capacityReport(fresh, { level: 'cluster' }).map((r) => r.type)).toEqual([
      'MEMORY',
      'CPU',
      'STORAGE',
      'STORAGE_ALLOCATED',
      'CPU_CORE',
    ]);
  });
});

describe('storage allocation (SQLite)', () => {
  let store: Store;
  afterEach(async () => store.close());
  const GiB = 2 ** 30;
  const alloc = (world: CapacityWorld, volumeId: number, bytes: number) =>
    world.ctx.write((w) => world.capacity.allocateStorage(w, { volumeId, poolId: world.poolId, accountId: 2, bytes }));

  it('NFS pools take the storage factor (default 2) and the allocated threshold counts the request', async () => {
    store = sqliteStore();
    await store.migrate();
    const world = await seedCapacityWorld(store, { poolBytes: 100 * GiB });
    // 100 GiB × 2 × 0.85 = 170 GiB may be allocated.
    await alloc(world, 1, 170 * GiB);
    const err = await alloc(world, 2, 1).catch((e) => e);
    expect(err).toBeInstanceOf(CapacityConflictError);
    expect(err.reason).toBe('POOL_ALLOCATED_THRESHOLD');
    await world.ctx.write((w) => world.capacity.releaseStorage(w, 1));
    await alloc(world, 2, 100 * GiB);
    const index = await CapacityIndex.load(store.db);
    expect(index.pools.get(world.poolId)).toMatchObject({ factor: 2, allocatedBytes: 100 * GiB });
  });

  it('CLVM pools are never over-provisioned (pitfall 4)', async () => {
    store = sqliteStore();
    await store.migrate();
    const world = await seedCapacityWorld(store, { poolBytes: 100 * GiB, poolType: 'CLVM' });
    await expect(alloc(world, 1, 86 * GiB)).rejects.toThrow(CapacityConflictError);
    await alloc(world, 1, 85 * GiB);
  });

  it('local pools have factor 1 even when their type takes one', async () => {
    store = sqliteStore();
    await store.migrate();
    const world = await seedCapacityWorld(store, { poolBytes: 100 * GiB, poolType: 'EXT', poolScope: 'HOST' });
    const index = await CapacityIndex.load(store.db);
    expect(index.pools.get(world.poolId)?.factor).toBe(1);
    await expect(alloc(world, 1, 86 * GiB)).rejects.toThrow(CapacityConflictError);
  });

  it('a per-pool storage factor beats the global value; physical fill above the used threshold refuses', async () => {
    store = sqliteStore();
    await store.migrate();
    const world = await seedCapacityWorld(store, { poolBytes: 100 * GiB });
    await world.settings.set('storage.overprovisioning.factor', 3, { storagePoolId: world.poolId });
    await alloc(world, 1, 250 * GiB); // ≤ 300 × 0.85 = 255
    await store.db
      .updateTable('storagePools')
      .set({ usedBytes: 85 * GiB })
      .where('id', '=', world.poolId)
      .execute();
    const err = await alloc(world, 2, 1).catch((e) => e);
    expect(err.reason).toBe('POOL_USED_THRESHOLD');
  });
});
