import { sql } from 'kysely';
import { CapacityConflictError } from '../allocation/placement-error.js';
import type { ReasonCode } from '../allocation/reason-codes.js';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { StoragePoolType, StorageScope } from '../model/enums.js';
import type { SettingKey, SettingValue } from '../settings/catalog.js';
import { type ConfigurationRows, configurationCache } from '../settings/configuration-cache.js';
import { resolveSetting, type SettingsService } from '../settings/settings-service.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import {
  allocatePool,
  bookHost,
  bookingTarget,
  clusterAllocation,
  ensureHostRow,
  ensurePoolRow,
  insertAllocation,
  insertBooking,
  poolLimits,
  volumeAllocation,
} from './capacity-statements.js';
import { overprovisionedLimit } from './host-fit.js';
import type { Demand, ImplicitDedicationMode } from './placement-state.js';
import { effectiveStorageFactor } from './pool-fit.js';

/** A capacity change made in one transaction; `CapacityIndex.apply` replays it in memory after commit. */
export type CapacityDelta =
  | {
      kind: 'host';
      hostId: number;
      vmId: number;
      accountId: number;
      /** Changes to the host counters. */
      cpuUsed: number;
      cpuReserved: number;
      memoryUsed: number;
      memoryReserved: number;
      /** The VM's booking on the host after the change (`null` = removed). */
      booking: {
        kind: 'used' | 'reserved';
        cpu: number;
        memory: number;
        since: number;
        implicitMode: ImplicitDedicationMode | null;
      } | null;
    }
  | { kind: 'pool'; poolId: number; volumeId: number; bytes: number; iops: number };

/** Input of {@link CapacityService.bookStart}. */
export interface BookStartInput {
  vmId: number;
  accountId: number;
  hostId: number;
  demand: Demand;
  implicitMode?: ImplicitDedicationMode | null;
  /** Re-check the cluster disable thresholds at commit (default true). */
  checkClusterThreshold?: boolean;
  /**
   * Refuse a host the VM may not be placed on, whatever the caller's index believed (default true):
   * not Up, not Enabled, in a Disabled cluster, pod or zone, or dedicated to another account or
   * domain. Only recovery, re-booking a VM the hypervisor reports running there, turns it off.
   */
  checkEligibility?: boolean;
}

/** Input of {@link CapacityService.allocateStorage}. */
export interface AllocateStorageInput {
  volumeId: number;
  poolId: number;
  accountId: number;
  bytes: number;
  iops?: number;
  /** Check the pool disable thresholds (default true). */
  checkThresholds?: boolean;
}

/** One host's counters as stored. */
export interface HostCapacityRow {
  hostId: number;
  cpuUsed: number;
  cpuReserved: number;
  memoryUsed: number;
  memoryReserved: number;
  version: number;
}

interface BookingRow {
  id: number;
  vmId: number;
  hostId: number;
  accountId: number;
  kind: string;
  cpu: number;
  memory: number;
  cpuRatio: number;
  memoryRatio: number;
  implicitMode: string | null;
  since: number;
}

interface HostLimits {
  hostId: number;
  clusterId: number;
  cpuLimit: number;
  memoryLimit: number;
  cpuRatio: number;
  memoryRatio: number;
}

const num = (v: unknown): number => Number(v);

/**
 * Capacity bookkeeping in the store (spec/allocation.md §2.5, spec/operations.md §2.1). Every
 * method takes the Writer of the transaction that changes the VM's state, so the booking commits
 * (or rolls back) with it. Bookings use a conditional UPDATE whose WHERE clause re-checks
 * `used + reserved + demand ≤ total × ratio`, so two processes can never take the last unit of a
 * host: the loser's UPDATE matches no row and it gets a CapacityConflictError
 * (an InsufficientCapacityError). Each method returns the deltas it applied.
 */
export class CapacityService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly settings: SettingsService,
  ) {}

  /**
   * → Starting on a host: `used += demand`; when the host holds this VM's unexpired reservation
   * (its last host), that reservation is consumed first (pitfall 7).
   */
  async bookStart(w: Writer, input: BookStartInput): Promise<CapacityDelta[]> {
    validateDemand(input.demand);
    // One read for the host's limits, whether it has a counter row, whether it holds reservations
    // (to expire first) and this VM's booking on it.
    let target = await this.bookingTarget(w.db, input.hostId, input.vmId, input.accountId);
    let deltas: CapacityDelta[] = [];
    if (target.holdsReservations) {
      deltas = await this.expireReservations(w, input.hostId);
      if (deltas.length > 0) target = await this.bookingTarget(w.db, input.hostId, input.vmId, input.accountId);
    }
    const { limits, booking: existing } = target;
    if (existing?.kind === 'used') return deltas; // already booked here (idempotent)
    if (input.checkEligibility !== false && target.ineligible !== null) {
      throw new CapacityConflictError(
        'host',
        input.hostId,
        target.ineligible,
        `Host ${input.hostId} cannot take VMs now (${target.ineligible})`,
      );
    }
    const own = existing?.kind === 'reserved' ? existing : undefined;
    const netCpu = input.demand.cpu - (own?.cpu ?? 0);
    const netMemory = input.demand.memory - (own?.memory ?? 0);
    const covered = netCpu <= 0 && netMemory <= 0;
    if (!covered && input.checkClusterThreshold !== false) {
      await this.checkClusterThreshold(w, limits.clusterId, target.zoneId, Math.max(netCpu, 0), Math.max(netMemory, 0));
    }
    if (!target.hasCounters) await this.ensureHostRow(w, input.hostId);
    const released = own ? { cpu: own.cpu, memory: own.memory } : { cpu: 0, memory: 0 };
    const result = await runStatement(
      w.db,
      bookHost,
      {
        demandCpu: input.demand.cpu,
        releasedCpu: released.cpu,
        demandMemory: input.demand.memory,
        releasedMemory: released.memory,
        now: w.now,
        hostId: input.hostId,
        netCpu: Math.trunc(netCpu),
        cpuLimit: limits.cpuLimit,
        netMemory: Math.trunc(netMemory),
        memoryLimit: limits.memoryLimit,
      },
      covered,
    );
    if (Number(result.numAffectedRows ?? 0) !== 1) {
      const row = await this.hostCapacity(w.db, input.hostId);
      const reason =
        row && row.cpuUsed + row.cpuReserved + netCpu > limits.cpuLimit ? 'INSUFFICIENT_CPU' : 'INSUFFICIENT_MEMORY';
      throw new CapacityConflictError(
        'host',
        input.hostId,
        reason,
        `Host ${input.hostId} does not have enough capacity (${reason})`,
      );
    }
    if (own) await w.db.deleteFrom('capacityBookings').where('id', '=', own.id).execute();
    const booking = {
      kind: 'used' as const,
      cpu: input.demand.cpu,
      memory: input.demand.memory,
      since: w.now,
      implicitMode: input.implicitMode ?? null,
    };
    await runStatement(w.db, insertBooking, {
      vmId: input.vmId,
      hostId: input.hostId,
      accountId: input.accountId,
      cpu: booking.cpu,
      memory: booking.memory,
      since: booking.since,
      implicitMode: booking.implicitMode,
      cpuRatio: limits.cpuRatio,
      memoryRatio: limits.memoryRatio,
    });
    deltas.push({
      kind: 'host',
      hostId: input.hostId,
      vmId: input.vmId,
      accountId: input.accountId,
      cpuUsed: input.demand.cpu,
      cpuReserved: -released.cpu,
      memoryUsed: input.demand.memory,
      memoryReserved: -released.memory,
      booking,
    });
    return deltas;
  }

  /** → Migrating to `destHostId`: `used += demand` on the destination (the source keeps its booking). */
  bookMigration(w: Writer, input: Omit<BookStartInput, 'hostId'> & { destHostId: number }): Promise<CapacityDelta[]> {
    return this.bookStart(w, {
      ...input,
      hostId: input.destHostId,
      checkClusterThreshold: input.checkClusterThreshold ?? false,
    });
  }

  /** Migrating → Running: success releases the source, failure releases the destination. */
  async finishMigration(
    w: Writer,
    vmId: number,
    move: { sourceHostId: number; destHostId: number; succeeded: boolean },
  ): Promise<CapacityDelta[]> {
    const hostId = move.succeeded ? move.sourceHostId : move.destHostId;
    return this.dropBooking(w, vmId, hostId);
  }

  /** Starting → Stopped after a failed start: `used -= demand` on the host. */
  releaseFailedStart(w: Writer, vmId: number, hostId: number): Promise<CapacityDelta[]> {
    return this.dropBooking(w, vmId, hostId);
  }

  /** The agent reports the VM gone from (or migrated away from) `hostId`: `used -= demand` there. */
  releaseFromHost(w: Writer, vmId: number, hostId: number): Promise<CapacityDelta[]> {
    return this.dropBooking(w, vmId, hostId);
  }

  /**
   * Running/Stopping → Stopped: `used -= demand` and `reserved += demand` on the host, kept for
   * `capacity.skipcounting.hours` seconds; the reservation is kept only while
   * `used + reserved + demand ≤ total × ratio` still holds (otherwise it is simply dropped).
   */
  async stopToReserved(w: Writer, vmId: number): Promise<CapacityDelta[]> {
    const used = await w.db
      .selectFrom('capacityBookings')
      .selectAll()
      .where('vmId', '=', vmId)
      .where('kind', '=', 'used')
      .execute();
    const deltas: CapacityDelta[] = [];
    for (const raw of used) {
      const b = toBooking(raw);
      const limits = await this.limits(w.db, b.hostId).catch(() => undefined);
      // Move used → reserved only if, after removing the used part, the reservation fits.
      const moved = limits
        ? await w.db
            .updateTable('hostCapacity')
            .set((eb) => ({
              cpuUsed: eb('cpuUsed', '-', b.cpu),
              cpuReserved: eb('cpuReserved', '+', b.cpu),
              memoryUsed: eb('memoryUsed', '-', b.memory),
              memoryReserved: eb('memoryReserved', '+', b.memory),
              updated: w.now,
              updatedCount: eb('updatedCount', '+', 1),
            }))
            .where('hostId', '=', b.hostId)
            .where(sql<boolean>`${sql.ref('cpuUsed')} + ${sql.ref('cpuReserved')} <= ${sql.lit(limits.cpuLimit)}`)
            .where(
              sql<boolean>`${sql.ref('memoryUsed')} + ${sql.ref('memoryReserved')} <= ${sql.lit(limits.memoryLimit)}`,
            )
            .executeTakeFirst()
        : undefined;
      if (moved && Number(moved.numUpdatedRows) === 1) {
        await w.db
          .updateTable('capacityBookings')
          .set({ kind: 'reserved', since: w.now })
          .where('id', '=', b.id)
          .execute();
        deltas.push({
          kind: 'host',
          hostId: b.hostId,
          vmId,
          accountId: b.accountId,
          cpuUsed: -b.cpu,
          cpuReserved: b.cpu,
          memoryUsed: -b.memory,
          memoryReserved: b.memory,
          booking: {
            kind: 'reserved',
            cpu: b.cpu,
            memory: b.memory,
            since: w.now,
            implicitMode: asMode(b.implicitMode),
          },
        });
      } else {
        deltas.push(...(await this.dropBooking(w, vmId, b.hostId)));
      }
    }
    return deltas;
  }

  /** Stopped → Destroyed/Expunging (or any final release): drops every booking of the VM. */
  async releaseVm(w: Writer, vmId: number): Promise<CapacityDelta[]> {
    const rows = await w.db.selectFrom('capacityBookings').select('hostId').where('vmId', '=', vmId).execute();
    const deltas: CapacityDelta[] = [];
    for (const r of rows) deltas.push(...(await this.dropBooking(w, vmId, num(r.hostId))));
    return deltas;
  }

  /**
   * Drops reservations older than `capacity.skipcounting.hours` SECONDS (pitfall 1) and records one
   * `CAPACITY.RESERVATION.FREED` event per VM. `hostId` limits the sweep to one host.
   */
  async expireReservations(w: Writer, hostId?: number): Promise<CapacityDelta[]> {
    const seconds = await this.settings.get('capacity.skipcounting.hours', {}, w.db);
    const cutoff = w.now - seconds * 1000;
    let q = w.db.selectFrom('capacityBookings').selectAll().where('kind', '=', 'reserved').where('since', '<=', cutoff);
    if (hostId !== undefined) q = q.where('hostId', '=', hostId);
    const rows = (await q.execute()).map(toBooking);
    const deltas: CapacityDelta[] = [];
    for (const b of rows) {
      deltas.push(...(await this.dropBooking(w, b.vmId, b.hostId)));
      await w.event({
        type: 'CAPACITY.RESERVATION.FREED',
        description: `reserved capacity of VM ${b.vmId} on host ${b.hostId} freed after ${seconds} s`,
        resourceType: 'Host',
        resourceId: b.hostId,
        accountId: b.accountId,
        parameters: { vmId: b.vmId, hostId: b.hostId, cpu: b.cpu, memory: b.memory },
      });
    }
    return deltas;
  }

  /**
   * Allocates `bytes` for a volume on a pool with a conditional UPDATE that re-checks
   * `allocated + bytes ≤ capacity × factor` (and the allocated disable threshold).
   */
  async allocateStorage(w: Writer, input: AllocateStorageInput): Promise<CapacityDelta[]> {
    if (!Number.isSafeInteger(input.bytes) || input.bytes < 0)
      throw new InvalidParameterError('bytes', input.bytes, 'must be a non-negative integer');
    // One read: the pool, its counters row and where the volume is allocated now.
    let pool = await this.poolLimits(w.db, input.poolId, input.volumeId);
    let existingPoolId = pool?.volumePoolId ?? null;
    if (!pool) {
      const row = (await runStatement(w.db, volumeAllocation, { volumeId: input.volumeId })).rows[0];
      existingPoolId = row ? num(row.poolId) : null;
    }
    if (existingPoolId === input.poolId) return [];
    const deltas: CapacityDelta[] = existingPoolId !== null ? await this.releaseStorage(w, input.volumeId) : [];
    if (!pool) throw new NotFoundError('storage pool', 'poolId', input.poolId);
    if (deltas.length > 0) pool = (await this.poolLimits(w.db, input.poolId, input.volumeId)) ?? pool;
    const check = input.checkThresholds !== false;
    if (check && (pool.capacityBytes <= 0 || pool.usedBytes / pool.capacityBytes >= pool.usedThreshold)) {
      throw new CapacityConflictError('pool', input.poolId, 'POOL_USED_THRESHOLD');
    }
    const limit = check ? Math.min(pool.limit, Math.floor(pool.limit * pool.allocatedThreshold + 1e-6)) : pool.limit;
    const iops = input.iops ?? 0;
    if (!pool.hasCounters) {
      await runStatement(w.db, ensurePoolRow, { poolId: input.poolId, now: w.now });
    }
    const checkIops = pool.capacityIops !== null && iops > 0;
    const result = await runStatement(
      w.db,
      allocatePool,
      { bytes: input.bytes, iops, now: w.now, poolId: input.poolId, limit, capacityIops: pool.capacityIops },
      checkIops,
    );
    if (Number(result.numAffectedRows ?? 0) !== 1) {
      throw new CapacityConflictError('pool', input.poolId, check ? 'POOL_ALLOCATED_THRESHOLD' : 'POOL_SPACE');
    }
    await runStatement(w.db, insertAllocation, {
      volumeId: input.volumeId,
      poolId: input.poolId,
      accountId: input.accountId,
      bytes: input.bytes,
      iops,
      now: w.now,
    });
    deltas.push({ kind: 'pool', poolId: input.poolId, volumeId: input.volumeId, bytes: input.bytes, iops });
    return deltas;
  }

  /** Releases a volume's allocation (volume destroyed or moved). */
  async releaseStorage(w: Writer, volumeId: number): Promise<CapacityDelta[]> {
    const row = await w.db
      .selectFrom('storageAllocations')
      .selectAll()
      .where('volumeId', '=', volumeId)
      .executeTakeFirst();
    if (!row) return [];
    const bytes = num(row.bytes);
    const iops = num(row.iops);
    await w.db
      .updateTable('poolCapacity')
      .set((eb) => ({
        allocatedBytes: eb('allocatedBytes', '-', bytes),
        usedIops: eb('usedIops', '-', iops),
        updated: w.now,
        updatedCount: eb('updatedCount', '+', 1),
      }))
      .where('poolId', '=', num(row.poolId))
      .execute();
    await w.db.deleteFrom('storageAllocations').where('id', '=', num(row.id)).execute();
    return [{ kind: 'pool', poolId: num(row.poolId), volumeId, bytes: -bytes, iops: -iops }];
  }

  /**
   * Rebuilds host counters from the ledger (§2.5 recalculation). A booking made under ratio r0 counts
   * as `demand / r0 × rNow`, so changing a cluster's factor does not corrupt used totals.
   */
  async recalculate(w: Writer, hostId?: number): Promise<void> {
    let hostsQ = w.db
      .selectFrom('hosts')
      .innerJoin('clusters', 'clusters.id', 'hosts.clusterId')
      .select([
        'hosts.id as id',
        'clusters.cpuOvercommitRatio as cpuRatio',
        'clusters.memoryOvercommitRatio as memoryRatio',
      ])
      .where('hosts.removed', 'is', null);
    if (hostId !== undefined) hostsQ = hostsQ.where('hosts.id', '=', hostId);
    for (const h of await hostsQ.execute()) {
      const id = num(h.id);
      const rows = (await w.db.selectFrom('capacityBookings').selectAll().where('hostId', '=', id).execute()).map(
        toBooking,
      );
      const sum = { cpuUsed: 0, cpuReserved: 0, memoryUsed: 0, memoryReserved: 0 };
      for (const b of rows) {
        const cpu = Math.round((b.cpu / b.cpuRatio) * num(h.cpuRatio));
        const memory = Math.round((b.memory / b.memoryRatio) * num(h.memoryRatio));
        if (b.kind === 'used') {
          sum.cpuUsed += cpu;
          sum.memoryUsed += memory;
        } else {
          sum.cpuReserved += cpu;
          sum.memoryReserved += memory;
        }
      }
      await this.ensureHostRow(w, id);
      await w.db
        .updateTable('hostCapacity')
        .set((eb) => ({ ...sum, updated: w.now, updatedCount: eb('updatedCount', '+', 1) }))
        .where('hostId', '=', id)
        .execute();
    }
  }

  /** A host's stored counters (zeros when it has never been booked). */
  async hostCapacity(db: Db, hostId: number): Promise<HostCapacityRow | undefined> {
    const row = await db.selectFrom('hostCapacity').selectAll().where('hostId', '=', hostId).executeTakeFirst();
    if (!row) return { hostId, cpuUsed: 0, cpuReserved: 0, memoryUsed: 0, memoryReserved: 0, version: 0 };
    return {
      hostId,
      cpuUsed: num(row.cpuUsed),
      cpuReserved: num(row.cpuReserved),
      memoryUsed: num(row.memoryUsed),
      memoryReserved: num(row.memoryReserved),
      version: num(row.updatedCount),
    };
  }

  // --- internals -------------------------------------------------------------------------------------------

  private async dropBooking(w: Writer, vmId: number, hostId: number): Promise<CapacityDelta[]> {
    const raw = await this.bookingOf(w.db, vmId, hostId);
    if (!raw) return [];
    const used = raw.kind === 'used';
    await w.db
      .updateTable('hostCapacity')
      .set((eb) => ({
        cpuUsed: eb('cpuUsed', '-', used ? raw.cpu : 0),
        cpuReserved: eb('cpuReserved', '-', used ? 0 : raw.cpu),
        memoryUsed: eb('memoryUsed', '-', used ? raw.memory : 0),
        memoryReserved: eb('memoryReserved', '-', used ? 0 : raw.memory),
        updated: w.now,
        updatedCount: eb('updatedCount', '+', 1),
      }))
      .where('hostId', '=', hostId)
      .execute();
    await w.db.deleteFrom('capacityBookings').where('id', '=', raw.id).execute();
    return [
      {
        kind: 'host',
        hostId,
        vmId,
        accountId: raw.accountId,
        cpuUsed: used ? -raw.cpu : 0,
        cpuReserved: used ? 0 : -raw.cpu,
        memoryUsed: used ? -raw.memory : 0,
        memoryReserved: used ? 0 : -raw.memory,
        booking: null,
      },
    ];
  }

  private async bookingOf(db: Db, vmId: number, hostId: number): Promise<BookingRow | undefined> {
    const row = await db
      .selectFrom('capacityBookings')
      .selectAll()
      .where('vmId', '=', vmId)
      .where('hostId', '=', hostId)
      .executeTakeFirst();
    return row ? toBooking(row) : undefined;
  }

  private async ensureHostRow(w: Writer, hostId: number): Promise<void> {
    // Prepared: spreading strategies book on a host without a counter row at nearly every booking.
    await runStatement(w.db, ensureHostRow, { hostId, now: w.now });
  }

  private async limits(db: Db, hostId: number): Promise<HostLimits> {
    const h = await db
      .selectFrom('hosts')
      .innerJoin('clusters', 'clusters.id', 'hosts.clusterId')
      .select([
        'hosts.cpus as cpus',
        'hosts.speed as speed',
        'hosts.totalMemory as totalMemory',
        'hosts.reservedMemory as reservedMemory',
        'hosts.clusterId as clusterId',
        'clusters.cpuOvercommitRatio as cpuRatio',
        'clusters.memoryOvercommitRatio as memoryRatio',
      ])
      .where('hosts.id', '=', hostId)
      .where('hosts.removed', 'is', null)
      .executeTakeFirst();
    if (!h) throw new NotFoundError('host', 'hostId', hostId);
    const cpuRatio = num(h.cpuRatio);
    const memoryRatio = num(h.memoryRatio);
    return {
      hostId,
      clusterId: num(h.clusterId),
      cpuRatio,
      memoryRatio,
      cpuLimit: overprovisionedLimit(num(h.cpus) * num(h.speed), cpuRatio),
      memoryLimit: overprovisionedLimit(num(h.totalMemory) - num(h.reservedMemory), memoryRatio),
    };
  }

  /**
   * Cluster disable thresholds at commit, including the request (pitfall 5). Serialised per cluster
   * (PostgreSQL advisory lock; SQLite's write lock) so concurrent bookings see each other.
   */
  private async checkClusterThreshold(
    w: Writer,
    clusterId: number,
    zoneId: number,
    cpu: number,
    memory: number,
  ): Promise<void> {
    const config = await this.capacityConfig(w.db);
    if (!capacitySetting(config, 'cluster.threshold.enabled', {})) return;
    await w.lock(`capacity:cluster:${clusterId}`);
    const cpuT = capacitySetting(config, 'cluster.cpu.allocated.capacity.disablethreshold', { clusterId, zoneId });
    const memT = capacitySetting(config, 'cluster.memory.allocated.capacity.disablethreshold', { clusterId, zoneId });
    const { rows } = await runStatement(w.db, clusterAllocation, { clusterId });
    let cpuAllocated = cpu;
    let cpuCapacity = 0;
    let memoryAllocated = memory;
    let memoryCapacity = 0;
    for (const r of rows) {
      cpuAllocated += num(r.cpuUsed ?? 0) + num(r.cpuReserved ?? 0);
      memoryAllocated += num(r.memoryUsed ?? 0) + num(r.memoryReserved ?? 0);
      cpuCapacity += num(r.cpus) * num(r.speed) * num(r.cpuRatio);
      memoryCapacity += (num(r.totalMemory) - num(r.reservedMemory)) * num(r.memoryRatio);
    }
    if (cpuCapacity <= 0 || cpuAllocated / cpuCapacity > cpuT) {
      throw new CapacityConflictError(
        'cluster',
        clusterId,
        'CLUSTER_THRESHOLD_CPU',
        `cluster ${clusterId} CPU allocation would exceed ${cpuT}`,
      );
    }
    if (memoryCapacity <= 0 || memoryAllocated / memoryCapacity > memT) {
      throw new CapacityConflictError(
        'cluster',
        clusterId,
        'CLUSTER_THRESHOLD_MEMORY',
        `cluster ${clusterId} memory allocation would exceed ${memT}`,
      );
    }
  }

  private async poolLimits(db: Db, poolId: number, volumeId: number) {
    const p = (await runStatement(db, poolLimits, { poolId, volumeId })).rows[0];
    if (!p) return undefined;
    // The same resolution as SettingsService.get(key, { storagePoolId }): pool, its cluster, its zone, global.
    const config = await this.capacityConfig(db);
    const target = {
      storagePoolId: poolId,
      zoneId: num(p.zoneId),
      ...(p.clusterId !== null ? { clusterId: num(p.clusterId) } : {}),
    };
    const factor = capacitySetting(config, 'storage.overprovisioning.factor', target);
    const usedThreshold = capacitySetting(config, 'pool.storage.capacity.disablethreshold', target);
    const allocatedThreshold = capacitySetting(config, 'pool.storage.allocated.capacity.disablethreshold', target);
    const eff = effectiveStorageFactor(p.poolType as StoragePoolType, p.scope as StorageScope, factor);
    return {
      capacityBytes: num(p.capacityBytes),
      usedBytes: num(p.usedBytes),
      capacityIops: p.capacityIops === null ? null : num(p.capacityIops),
      limit: Math.floor(num(p.capacityBytes) * eff + 1e-6),
      usedThreshold,
      allocatedThreshold,
      hasCounters: p.counterPoolId !== null,
      volumePoolId: p.volumePoolId === null || p.volumePoolId === undefined ? null : num(p.volumePoolId),
    };
  }

  /** Every stored setting value (the capacity keys among them), from the store's configuration cache. */
  private capacityConfig(db: Db): Promise<CapacityConfig> {
    return configurationCache(this.ctx.store).all(db);
  }

  /**
   * What {@link bookStart} needs about a host, in one read: its limits and counters, this VM's
   * booking there, and whether the VM's account may be placed there at all. On PostgreSQL the host,
   * cluster, pod and zone rows are locked FOR SHARE, so an admin change to them waits for this
   * booking's commit (the booking never commits against a state it did not check); on SQLite the
   * write transaction already excludes every other writer.
   */
  private async bookingTarget(
    db: Db,
    hostId: number,
    vmId: number,
    accountId: number,
  ): Promise<{
    limits: HostLimits;
    zoneId: number;
    hasCounters: boolean;
    holdsReservations: boolean;
    booking: BookingRow | undefined;
    /** Why the host may not take this VM now, or null. */
    ineligible: ReasonCode | null;
  }> {
    const forShare = this.ctx.store.engine === 'postgres';
    const h = (await runStatement(db, bookingTarget, { vmId, accountId, hostId }, forShare)).rows[0];
    if (!h) throw new NotFoundError('host', 'hostId', hostId);
    const cpuRatio = num(h.cpuRatio);
    const memoryRatio = num(h.memoryRatio);
    return {
      limits: {
        hostId,
        clusterId: num(h.clusterId),
        cpuRatio,
        memoryRatio,
        cpuLimit: overprovisionedLimit(num(h.cpus) * num(h.speed), cpuRatio),
        memoryLimit: overprovisionedLimit(num(h.totalMemory) - num(h.reservedMemory), memoryRatio),
      },
      zoneId: num(h.zoneId),
      ineligible: ineligibility(h),
      hasCounters: h.counterHostId !== null,
      holdsReservations: Boolean(num(h.holdsReservations)),
      booking:
        h.bId === null || h.bId === undefined
          ? undefined
          : toBooking({
              id: h.bId,
              vmId: h.bVmId,
              hostId: h.bHostId,
              accountId: h.bAccountId,
              kind: h.bKind,
              cpu: h.bCpu,
              memory: h.bMemory,
              cpuRatio: h.bCpuRatio,
              memoryRatio: h.bMemoryRatio,
              implicitMode: h.bImplicitMode,
              since: h.bSince,
            }),
    };
  }

  /** For tests and reports: the context this service writes through. */
  get context(): CloudContext {
    return this.ctx;
  }
}

/** Why a host may not take a VM whatever its capacity (spec/allocation.md pitfall 17, §9.1), or null. */
function ineligibility(h: {
  status: string;
  resourceState: string;
  clusterState: string;
  podState: string;
  zoneState: string;
  dedicatedElsewhere: unknown;
}): ReasonCode | null {
  if (h.resourceState !== 'Enabled') return h.resourceState === 'Disabled' ? 'HOST_DISABLED' : 'HOST_MAINTENANCE';
  if (h.status !== 'Up') return 'HOST_NOT_UP';
  if (h.clusterState !== 'Enabled') return 'CLUSTER_DISABLED';
  if (h.podState !== 'Enabled') return 'POD_DISABLED';
  if (h.zoneState !== 'Enabled') return 'ZONE_DISABLED';
  if (num(h.dedicatedElsewhere)) return 'DEDICATED_ELSEWHERE';
  return null;
}

function toBooking(row: Record<string, unknown>): BookingRow {
  return {
    id: num(row.id),
    vmId: num(row.vmId),
    hostId: num(row.hostId),
    accountId: num(row.accountId),
    kind: String(row.kind),
    cpu: num(row.cpu),
    memory: num(row.memory),
    cpuRatio: num(row.cpuRatio),
    memoryRatio: num(row.memoryRatio),
    implicitMode: (row.implicitMode as string | null) ?? null,
    since: num(row.since),
  };
}

function asMode(v: string | null): ImplicitDedicationMode | null {
  return v === 'Strict' || v === 'Preferred' ? v : null;
}

function validateDemand(d: Demand): void {
  for (const field of ['cpu', 'memory', 'cores', 'speed'] as const) {
    if (!Number.isSafeInteger(d[field]) || d[field] <= 0)
      throw new InvalidParameterError(`demand.${field}`, d[field], 'must be a positive integer');
  }
}

/** The settings capacity bookkeeping reads at commit. */
const CAPACITY_SETTING_KEYS = [
  'cluster.threshold.enabled',
  'cluster.cpu.allocated.capacity.disablethreshold',
  'cluster.memory.allocated.capacity.disablethreshold',
  'storage.overprovisioning.factor',
  'pool.storage.capacity.disablethreshold',
  'pool.storage.allocated.capacity.disablethreshold',
] as const satisfies readonly SettingKey[];

type CapacitySettingKey = (typeof CAPACITY_SETTING_KEYS)[number];

/** Stored setting values, by `name|scope|scopeId`. */
type CapacityConfig = ConfigurationRows;

/** A capacity setting for a target that names its wider scopes (none of these keys lives on a cluster row). */
function capacitySetting<K extends CapacitySettingKey>(
  config: CapacityConfig,
  key: K,
  target: { storagePoolId?: number; clusterId?: number; zoneId?: number },
): SettingValue<K> {
  return resolveSetting(config, key, target)!.value;
}
