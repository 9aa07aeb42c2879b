import type { Selectable } from 'kysely';
import type { StoragePoolAllocator } from '../allocation/allocator-contract.js';
import type { ExcludeList } from '../allocation/exclude-list.js';
import { CapacityIndex } from '../capacity/capacity-index.js';
import { tagsSubset } from '../capacity/host-fit.js';
import type { HostState, PoolState } from '../capacity/placement-state.js';
import { poolFit } from '../capacity/pool-fit.js';
import type { Writer } from '../context.js';
import type { HostRef } from '../driver/operation-context.js';
import type { PoolRef, SecondaryStoreRef } from '../driver/storage-spec.js';
import type { DiskFormat, DiskSpec } from '../driver/vm-spec.js';
import { NotFoundError } from '../errors.js';
import type { ResourceType } from '../events/event-types.js';
import type { StorageType } from '../model/enums.js';
import type { Volume } from '../model/records.js';
import { hostRef } from '../resources/hosts.js';
import { checkResourceLimits } from '../resources/resource-limits.js';
import { templateRepo } from '../resources/templates.js';
import type { SettingsService } from '../settings/settings-service.js';
import { decoder } from '../store/codec.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Database } from '../store/schema.js';
import type { Db } from '../store/store.js';

export const GiB = 1024 ** 3;

/** A volume with the columns storage orchestration adds. */
export interface VolumeRecord extends Volume {
  hypervisorType: string | null;
  destroyedAt: Date | null;
  lastPoolId: number | null;
}

export const decodeVolume = decoder<VolumeRecord>({ date: ['destroyedAt'] });

/** The VM columns storage operations read. */
export interface VmRow {
  id: number;
  uuid: string;
  instanceName: string;
  hostName: string;
  state: string;
  zoneId: number;
  accountId: number;
  domainId: number;
  hypervisorType: string | null;
  hostId: number | null;
  lastHostId: number | null;
  type: string;
}

export async function getVolume(db: Db, id: number, field = 'volumeId'): Promise<VolumeRecord> {
  const row = await db
    .selectFrom('volumes')
    .selectAll()
    .where('id', '=', id)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('Volume', field, id);
  return decodeVolume(row);
}

export async function getVm(db: Db, id: number, field = 'vmId'): Promise<VmRow> {
  const row = await db
    .selectFrom('vmInstances')
    .selectAll()
    .where('id', '=', id)
    .where('removed', 'is', null)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('VirtualMachine', field, id);
  return {
    id: Number(row.id),
    uuid: row.uuid,
    instanceName: row.instanceName,
    hostName: row.hostName,
    state: row.state,
    zoneId: Number(row.zoneId),
    accountId: Number(row.accountId),
    domainId: Number(row.domainId),
    hypervisorType: row.hypervisorType,
    hostId: row.hostId === null ? null : Number(row.hostId),
    lastHostId: row.lastHostId === null ? null : Number(row.lastHostId),
    type: row.type,
  };
}

/** What storage work needs of a host: its driver reference and where it is. */
export interface HostInfo {
  ref: HostRef;
  hypervisorType: string;
  clusterId: number;
  zoneId: number;
  status: string;
  hypervisorVersion: string | null;
}

/** {@link HostInfo} of a host record (or its stored row). */
export function hostInfo(h: {
  guid: string;
  name: string;
  privateIp: string | null;
  url: string;
  hypervisorType: string;
  clusterId: number | bigint;
  zoneId: number | bigint;
  status: string;
  hypervisorVersion: string | null;
}): HostInfo {
  return {
    ref: hostRef(h),
    hypervisorType: h.hypervisorType,
    clusterId: Number(h.clusterId),
    zoneId: Number(h.zoneId),
    status: h.status,
    hypervisorVersion: h.hypervisorVersion,
  };
}

/** {@link HostInfo} of a live (not removed) host. */
export async function getHostRef(db: Db, hostId: number): Promise<HostInfo> {
  const { rows } = await executeCached<Selectable<Database['hosts']>>(db, 'storage.hostRow', [hostId], (q) =>
    q.selectFrom('hosts').selectAll().where('id', '=', hostId).where('removed', 'is', null),
  );
  const h = rows[0];
  if (!h) throw new NotFoundError('Host', 'hostId', hostId);
  return hostInfo(h);
}

export async function getPoolRow(db: Db, poolId: number, field = 'poolId') {
  const { rows } = await executeCached<Selectable<Database['storagePools']>>(db, 'storage.poolRow', [poolId], (q) =>
    q.selectFrom('storagePools').selectAll().where('id', '=', poolId).where('removed', 'is', null),
  );
  const p = rows[0];
  if (!p) throw new NotFoundError('StoragePool', field, poolId);
  return p;
}

/** A VM's live volumes, by device id. */
export async function vmVolumes(db: Db, vmId: number): Promise<VolumeRecord[]> {
  const { rows } = await executeCached<object>(db, 'storage.vmVolumes', [vmId], (q) =>
    q.selectFrom('volumes').selectAll().where('instanceId', '=', vmId).where('removed', 'is', null).orderBy('deviceId'),
  );
  return rows.map((r) => decodeVolume(r));
}

export const poolRef = (p: { uuid: string; poolType: string }): PoolRef => ({ uuid: p.uuid, type: p.poolType });

export const storeRef = (s: { uuid: string; url: string }): SecondaryStoreRef => ({ uuid: s.uuid, url: s.url });

/** Whether a host (by cluster/zone/id) can use a pool: cluster pools → same cluster; zone-wide → same zone and hypervisor; local → that host. */
export function hostReachesPool(
  host: { id: number; clusterId: number; zoneId: number; hypervisorType: string },
  pool: {
    scope: string;
    clusterId: number | null;
    zoneId: number;
    hostId: number | null;
    hypervisorType: string | null;
  },
): boolean {
  if (pool.scope === 'HOST') return pool.hostId === host.id;
  if (pool.scope === 'CLUSTER') return pool.clusterId === host.clusterId;
  return (
    pool.zoneId === host.zoneId &&
    (pool.hypervisorType === null || pool.hypervisorType === 'Any' || pool.hypervisorType === host.hypervisorType)
  );
}

/** Up hosts that reach a pool, most recently pinged first. */
export async function hostsReaching(
  db: Db,
  poolId: number,
): Promise<Array<{ id: number; ref: HostRef; hypervisorType: string; clusterId: number }>> {
  const pool = await getPoolRow(db, poolId);
  const hosts = await db
    .selectFrom('hosts')
    .selectAll()
    .where('zoneId', '=', Number(pool.zoneId))
    .where('removed', 'is', null)
    .where('status', '=', 'Up')
    .where('type', '=', 'Routing')
    .orderBy('id')
    .execute();
  return hosts
    .filter((h) =>
      hostReachesPool(
        {
          id: Number(h.id),
          clusterId: Number(h.clusterId),
          zoneId: Number(h.zoneId),
          hypervisorType: h.hypervisorType,
        },
        {
          scope: pool.scope,
          clusterId: pool.clusterId === null ? null : Number(pool.clusterId),
          zoneId: Number(pool.zoneId),
          hostId: pool.hostId === null ? null : Number(pool.hostId),
          hypervisorType: pool.hypervisorType,
        },
      ),
    )
    .map((h) => ({
      id: Number(h.id),
      ref: hostRef({ guid: h.guid, name: h.name, privateIp: h.privateIp, url: h.url }),
      hypervisorType: h.hypervisorType,
      clusterId: Number(h.clusterId),
    }));
}

/** The driver disk format of an image format / hypervisor. */
export function diskFormatOf(format: string | null | undefined, hypervisorType?: string | null): DiskFormat {
  switch ((format ?? '').toUpperCase()) {
    case 'QCOW2':
      return 'qcow2';
    case 'RAW':
      return 'raw';
    case 'VHD':
    case 'VHDX':
      return 'vhd';
    case 'OVA':
      return 'ova';
    case 'VMDK':
      return 'vmdk';
    case 'ISO':
      return 'iso';
    default:
      break;
  }
  switch ((hypervisorType ?? '').toLowerCase()) {
    case 'xenserver':
    case 'hyperv':
      return 'vhd';
    case 'vmware':
      return 'vmdk';
    case 'ovm':
      return 'raw';
    default:
      return 'qcow2';
  }
}

/** The image format (upper case, as templates store it) of a driver disk format. */
export function imageFormatOf(format: DiskFormat): string {
  return format.toUpperCase();
}

/** Tables whose rows this layer moves through a state machine with compare-and-set. */

/** Records a `<PREFIX>.STATE.CHANGE` event for a storage-table transition. */
export async function recordTransition(
  w: Writer,
  what: {
    type: ResourceType;
    id: number;
    uuid?: string;
    accountId?: number;
    domainId?: number;
    prefix: string;
    machine: string;
    event: string;
  },
  result: { from: string; to: string },
): Promise<void> {
  w.publish({
    type: `${what.prefix}.STATE.CHANGE`,
    description: `${what.type} ${what.uuid ?? what.id}: ${result.from} --${what.event}--> ${result.to}`,
    resourceType: what.type,
    resourceId: what.id,
    ...(what.uuid ? { resourceUuid: what.uuid } : {}),
    ...(what.accountId !== undefined ? { accountId: what.accountId } : {}),
    ...(what.domainId !== undefined ? { domainId: what.domainId } : {}),
    parameters: { machine: what.machine, from: result.from, event: what.event, to: result.to },
  });
}

/**
 * Account resource limits for volumes (spec/operations.md §12): `volume` (count of volumes not
 * destroyed) and `primary_storage` (Σ their sizes, GiB limit). Serialised per account; root-admin
 * accounts are exempt; -1 is unlimited. Counts are derived from the volumes table, so they change
 * atomically with it.
 */
export function checkVolumeLimits(
  w: Writer,
  settings: SettingsService,
  accountId: number,
  add: { volumes: number; bytes: number },
): Promise<void> {
  return checkResourceLimits(w, settings, accountId, { volume: add.volumes, primary_storage: add.bytes });
}

/** What a pool must offer one disk. */
export interface PoolRequest {
  zoneId: number;
  /** The host that must reach the pool. */
  hostId: number;
  sizeBytes: number;
  tags: readonly string[];
  storageType: StorageType;
  accountId: number;
  domainId: number;
  /** Pools not to use. */
  avoidPoolIds?: readonly number[];
}

/**
 * Picks candidate pools for one disk (spec/storage.md §4.2), best first. Booking happens later in
 * the caller's transaction (CapacityService.allocateStorage re-checks the space), so a chooser only
 * reads. The default one uses the allocation layer's StoragePoolAllocator when given.
 */
export interface StoragePoolChooser {
  choose(db: Db, request: PoolRequest): Promise<number[]>;
}

/**
 * The default chooser: loads the placement state and asks `allocator` (the allocation layer's
 * StoragePoolAllocator) for the pools of the host's scope; without one, filters reachable Up pools
 * by tags (subset, no fallback) and space (allocation.md §2.4), least allocated first.
 */
export function defaultPoolChooser(
  allocator?: StoragePoolAllocator,
  makeAvoid?: () => ExcludeList,
): StoragePoolChooser {
  return {
    async choose(db: Db, req: PoolRequest): Promise<number[]> {
      const state = await CapacityIndex.load(db);
      const host = state.hosts.get(req.hostId);
      if (!host) throw new NotFoundError('Host', 'hostId', req.hostId);
      const avoid = new Set(req.avoidPoolIds ?? []);
      if (allocator && makeAvoid) {
        const exclude = makeAvoid();
        for (const id of avoid) exclude.addPool(id, 'AVOIDED_AFTER_FAILURE');
        const disk = { id: 0, size: req.sizeBytes, tags: req.tags, storageType: req.storageType };
        const vm = {
          accountId: req.accountId,
          domainId: req.domainId,
          demand: { cpu: 1, memory: 1, cores: 1, speed: 1 },
          hostTags: [],
          hypervisorType: host.hypervisorType,
          disks: [disk],
        };
        const pools = allocator.allocateToPool(
          state,
          disk,
          vm,
          { zoneId: req.zoneId, podId: host.podId, clusterId: host.clusterId, hostId: host.id, avoid: exclude },
          exclude,
          -1,
        );
        return pools.map((p) => p.id);
      }
      const candidates: PoolState[] = [];
      for (const pool of state.pools.values()) {
        if (avoid.has(pool.id) || !reachableState(host, pool)) continue;
        if ((req.storageType === 'local') !== (pool.scope === 'HOST')) continue;
        if (pool.status !== 'Up') continue;
        if (!tagsSubset(req.tags, pool.tags)) continue;
        if (poolFit(pool, req.sizeBytes) !== null) continue;
        candidates.push(pool);
      }
      const scopeRank = (p: PoolState) => (p.scope === 'HOST' ? 0 : p.scope === 'CLUSTER' ? 1 : 2);
      candidates.sort(
        (a, b) =>
          scopeRank(a) - scopeRank(b) ||
          a.allocatedBytes / Math.max(1, a.capacityBytes) - b.allocatedBytes / Math.max(1, b.capacityBytes) ||
          a.id - b.id,
      );
      return candidates.map((p) => p.id);
    },
  };
}

function reachableState(host: HostState, pool: PoolState): boolean {
  return hostReachesPool(
    { id: host.id, clusterId: host.clusterId, zoneId: host.zoneId, hypervisorType: host.hypervisorType },
    {
      scope: pool.scope,
      clusterId: pool.clusterId,
      zoneId: pool.zoneId,
      hostId: pool.hostId,
      hypervisorType: pool.hypervisorType,
    },
  );
}

export { newUuid } from '../store/uuid.js';

/**
 * The CD-ROM of a VM deployed from an ISO (CloudStack's `DiskTO` of type ISO, device 3): the ISO read straight
 * from secondary storage, at the image store's URL joined with the path of its Ready copy in the VM's zone (e.g.
 * `nfs://10.0.0.6/export/secondary/template/tmpl/<uuid>/<uuid>.iso`); the driver mounts or stages it. Undefined
 * when the ISO has no Ready copy in the zone any more (the VM then starts without it).
 */
export async function isoDiskSpec(
  db: Db,
  iso: { id: number; uuid: string },
  zoneId: number,
): Promise<DiskSpec | undefined> {
  const row = await db
    .selectFrom('templateStoreRefs as r')
    .innerJoin('imageStores as s', 's.id', 'r.storeId')
    .select(['s.url', 'r.installPath', 'r.size'])
    .where('r.templateId', '=', iso.id)
    .where('r.zoneId', '=', zoneId)
    .where('r.state', '=', 'Ready')
    .where('r.removed', 'is', null)
    .where('s.removed', 'is', null)
    .orderBy('r.id')
    .executeTakeFirst();
  if (row === undefined || row.installPath === null) return undefined;
  return {
    volumeUuid: iso.uuid,
    type: 'ISO',
    deviceId: 3,
    path: `${row.url.replace(/\/$/, '')}/${row.installPath}`,
    format: 'iso',
    sizeBytes: Number(row.size),
    readOnly: true,
  };
}

/**
 * The CD-ROM of `vm`: the ISO in its `isoId` (the one it was deployed from, or one attached since),
 * as {@link isoDiskSpec} describes it; undefined when none. `template` is the VM's template when
 * the caller holds it (not read again when it is the ISO).
 */
export async function attachedIsoSpec(
  db: Db,
  vm: { isoId: number | null; zoneId: number },
  template?: { id: number; uuid: string } | null,
): Promise<DiskSpec | undefined> {
  if (vm.isoId === null) return undefined;
  const iso = template?.id === vm.isoId ? template : await templateRepo.find(db, vm.isoId);
  return iso ? isoDiskSpec(db, iso, vm.zoneId) : undefined;
}
