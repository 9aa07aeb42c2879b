import { sql } from 'kysely';
import { statement, statementFamily } from '../store/statement.js';
import type { ImplicitDedicationMode } from './placement-state.js';

/*
 * The booking hot path's statements (host and pool capacity, bookings, allocations), each compiled
 * once per store (see `store/statement-cache.ts`) and run by `CapacityService`.
 */

/** CloudStack's account type of the root admin account (spec/resource-model.md). */
const ROOT_ADMIN_ACCOUNT_TYPE = 1;

export const bookHost = statementFamily(
  'book-host',
  (covered: boolean) => String(covered),
  (
    db,
    p: {
      demandCpu: number;
      releasedCpu: number;
      demandMemory: number;
      releasedMemory: number;
      now: number;
      hostId: number;
      netCpu: number;
      cpuLimit: number;
      netMemory: number;
      memoryLimit: number;
    },
    covered: boolean,
  ) => {
    let q = db
      .updateTable('hostCapacity')
      .set((eb) => ({
        cpuUsed: eb('cpuUsed', '+', p.demandCpu),
        cpuReserved: eb('cpuReserved', '-', p.releasedCpu),
        memoryUsed: eb('memoryUsed', '+', p.demandMemory),
        memoryReserved: eb('memoryReserved', '-', p.releasedMemory),
        updated: p.now,
        updatedCount: eb('updatedCount', '+', 1),
      }))
      .where('hostId', '=', p.hostId);
    if (!covered) {
      q = q
        .where(sql<boolean>`${sql.ref('cpuUsed')} + ${sql.ref('cpuReserved')} + ${p.netCpu} <= ${p.cpuLimit}`)
        .where(
          sql<boolean>`${sql.ref('memoryUsed')} + ${sql.ref('memoryReserved')} + ${p.netMemory} <= ${p.memoryLimit}`,
        );
    }
    return q;
  },
);

export const insertBooking = statement(
  'insert-booking',
  (
    db,
    p: {
      vmId: number;
      hostId: number;
      accountId: number;
      cpu: number;
      memory: number;
      since: number;
      implicitMode: ImplicitDedicationMode | null;
      cpuRatio: number;
      memoryRatio: number;
    },
  ) =>
    db.insertInto('capacityBookings').values({
      vmId: p.vmId,
      hostId: p.hostId,
      accountId: p.accountId,
      kind: 'used',
      cpu: p.cpu,
      memory: p.memory,
      since: p.since,
      implicitMode: p.implicitMode,
      cpuRatio: p.cpuRatio,
      memoryRatio: p.memoryRatio,
    }),
);

export const volumeAllocation = statement('volume-allocation', (db, p: { volumeId: number }) =>
  db.selectFrom('storageAllocations').select('poolId').where('volumeId', '=', p.volumeId),
);

export const ensurePoolRow = statement('ensure-pool-row', (db, p: { poolId: number; now: number }) =>
  db
    .insertInto('poolCapacity')
    .values({ poolId: p.poolId, allocatedBytes: 0, usedIops: 0, updated: p.now })
    .onConflict((oc) => oc.column('poolId').doNothing()),
);

export const allocatePool = statementFamily(
  'allocate-pool',
  (checkIops: boolean) => String(checkIops),
  (
    db,
    p: { bytes: number; iops: number; now: number; poolId: number; limit: number; capacityIops: number | null },
    checkIops: boolean,
  ) => {
    let q = db
      .updateTable('poolCapacity')
      .set((eb) => ({
        allocatedBytes: eb('allocatedBytes', '+', p.bytes),
        usedIops: eb('usedIops', '+', p.iops),
        updated: p.now,
        updatedCount: eb('updatedCount', '+', 1),
      }))
      .where('poolId', '=', p.poolId)
      .where(sql<boolean>`${sql.ref('allocatedBytes')} + ${p.bytes} <= ${p.limit}`);
    if (checkIops) q = q.where(sql<boolean>`${sql.ref('usedIops')} + ${p.iops} <= ${p.capacityIops}`);
    return q;
  },
);

export const insertAllocation = statement(
  'insert-allocation',
  (db, p: { volumeId: number; poolId: number; accountId: number; bytes: number; iops: number; now: number }) =>
    db.insertInto('storageAllocations').values({
      volumeId: p.volumeId,
      poolId: p.poolId,
      accountId: p.accountId,
      bytes: p.bytes,
      iops: p.iops,
      since: p.now,
    }),
);

export const ensureHostRow = statement('ensure-host-row', (db, p: { hostId: number; now: number }) =>
  db
    .insertInto('hostCapacity')
    .values({ hostId: p.hostId, cpuUsed: 0, cpuReserved: 0, memoryUsed: 0, memoryReserved: 0, updated: p.now })
    .onConflict((oc) => oc.column('hostId').doNothing()),
);

export const clusterAllocation = statement('cluster-allocation', (q, p: { clusterId: number }) =>
  q
    .selectFrom('hosts')
    .innerJoin('clusters', 'clusters.id', 'hosts.clusterId')
    .leftJoin('hostCapacity', 'hostCapacity.hostId', 'hosts.id')
    .select([
      'hosts.cpus as cpus',
      'hosts.speed as speed',
      'hosts.totalMemory as totalMemory',
      'hosts.reservedMemory as reservedMemory',
      'clusters.cpuOvercommitRatio as cpuRatio',
      'clusters.memoryOvercommitRatio as memoryRatio',
      'hostCapacity.cpuUsed as cpuUsed',
      'hostCapacity.cpuReserved as cpuReserved',
      'hostCapacity.memoryUsed as memoryUsed',
      'hostCapacity.memoryReserved as memoryReserved',
    ])
    .where('hosts.clusterId', '=', p.clusterId)
    .where('hosts.removed', 'is', null)
    .where('hosts.resourceState', '=', 'Enabled')
    .where('hosts.type', '=', 'Routing'),
);

export const poolLimits = statement('pool-limits', (q, p: { poolId: number; volumeId: number }) =>
  q
    .selectFrom('storagePools')
    .leftJoin('poolCapacity', 'poolCapacity.poolId', 'storagePools.id')
    .select([
      'storagePools.zoneId as zoneId',
      'storagePools.clusterId as clusterId',
      'storagePools.poolType as poolType',
      'storagePools.scope as scope',
      'storagePools.capacityBytes as capacityBytes',
      'storagePools.usedBytes as usedBytes',
      'storagePools.capacityIops as capacityIops',
      'poolCapacity.poolId as counterPoolId',
      (eb) =>
        eb
          .selectFrom('storageAllocations')
          .select('storageAllocations.poolId')
          .where('storageAllocations.volumeId', '=', p.volumeId)
          .as('volumePoolId'),
    ])
    .where('storagePools.id', '=', p.poolId)
    .where('storagePools.removed', 'is', null),
);

export const bookingTarget = statementFamily(
  'booking-target',
  (forShare: boolean) => String(forShare),
  (q, p: { vmId: number; accountId: number; hostId: number }, forShare: boolean) => {
    const query = q
      .selectFrom('hosts')
      .innerJoin('clusters', 'clusters.id', 'hosts.clusterId')
      .innerJoin('pods', 'pods.id', 'hosts.podId')
      .innerJoin('zones', 'zones.id', 'hosts.zoneId')
      .leftJoin('hostCapacity', 'hostCapacity.hostId', 'hosts.id')
      .leftJoin('capacityBookings as b', (join) => join.onRef('b.hostId', '=', 'hosts.id').on('b.vmId', '=', p.vmId))
      .select((eb) => [
        'hosts.cpus as cpus',
        'hosts.speed as speed',
        'hosts.totalMemory as totalMemory',
        'hosts.reservedMemory as reservedMemory',
        'hosts.clusterId as clusterId',
        'hosts.status as status',
        'hosts.resourceState as resourceState',
        'clusters.allocationState as clusterState',
        'pods.allocationState as podState',
        'zones.allocationState as zoneState',
        'clusters.zoneId as zoneId',
        'clusters.cpuOvercommitRatio as cpuRatio',
        'clusters.memoryOvercommitRatio as memoryRatio',
        'hostCapacity.hostId as counterHostId',
        eb
          .exists(
            eb
              .selectFrom('capacityBookings as r')
              .select('r.id')
              .whereRef('r.hostId', '=', 'hosts.id')
              .where('r.kind', '=', 'reserved'),
          )
          .as('holdsReservations'),
        // Dedicated (the host, its cluster, pod or zone) to another account, or to a domain the
        // owner is not in (spec/allocation.md §9.1); a zone's dedication does not bind a root
        // admin's VMs.
        eb
          .exists(
            eb
              .selectFrom('dedicatedResources as d')
              .innerJoin('accounts as owner', (join) => join.on('owner.id', '=', p.accountId))
              .innerJoin('domains as ownerDomain', 'ownerDomain.id', 'owner.domainId')
              .innerJoin('domains as dedicatedTo', 'dedicatedTo.id', 'd.domainId')
              .select('d.id')
              .where('d.removed', 'is', null)
              .where((w) =>
                w.or([
                  w('d.hostId', '=', w.ref('hosts.id')),
                  w.and([w('d.hostId', 'is', null), w('d.clusterId', '=', w.ref('hosts.clusterId'))]),
                  w.and([
                    w('d.hostId', 'is', null),
                    w('d.clusterId', 'is', null),
                    w('d.podId', '=', w.ref('hosts.podId')),
                  ]),
                  w.and([
                    w('d.hostId', 'is', null),
                    w('d.clusterId', 'is', null),
                    w('d.podId', 'is', null),
                    w('d.zoneId', '=', w.ref('hosts.zoneId')),
                    w('owner.type', '!=', ROOT_ADMIN_ACCOUNT_TYPE),
                  ]),
                ]),
              )
              .where((w) =>
                w.or([
                  w.and([w('d.accountId', 'is not', null), w('d.accountId', '!=', w.ref('owner.id'))]),
                  // A domain's dedication covers its subdomains (paths end with '/').
                  w.and([
                    w('d.accountId', 'is', null),
                    w(
                      sql<string>`substr(${sql.ref('ownerDomain.path')}, 1, length(${sql.ref('dedicatedTo.path')}))`,
                      '!=',
                      w.ref('dedicatedTo.path'),
                    ),
                  ]),
                ]),
              ),
          )
          .as('dedicatedElsewhere'),
        'b.id as bId',
        'b.vmId as bVmId',
        'b.hostId as bHostId',
        'b.accountId as bAccountId',
        'b.kind as bKind',
        'b.cpu as bCpu',
        'b.memory as bMemory',
        'b.cpuRatio as bCpuRatio',
        'b.memoryRatio as bMemoryRatio',
        'b.implicitMode as bImplicitMode',
        'b.since as bSince',
      ])
      .where('hosts.id', '=', p.hostId)
      .where('hosts.removed', 'is', null);
    return forShare ? query.forShare(['hosts', 'clusters', 'pods', 'zones']) : query;
  },
);
