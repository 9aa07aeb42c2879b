import type { CloudContext, Writer } from '../context.js';
import type { HostRef } from '../driver/operation-context.js';
import type { PoolSpec, StoragePoolReport } from '../driver/storage-spec.js';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../errors.js';
import {
  HYPERVISOR_TYPES,
  type HypervisorType,
  SHARED_POOL_TYPES_BY_HYPERVISOR,
  type StoragePoolType,
  ZONE_WIDE_STORAGE_HYPERVISORS,
} from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Cluster, Host, StoragePool } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { type StoragePoolEvent, storagePoolStateMachine } from '../model/state-machines/index.js';
import { parseTags, requireInteger, requireOneOf, requireString } from '../model/validate.js';
import { decoder, json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { clusterRepo } from './clusters.js';
import { hostRef, hostRepo } from './hosts.js';
import { requireRootAdmin } from './permissions.js';
import { countLive, Repo } from './repo.js';
import { zoneRepo } from './zones.js';

export const storagePoolRepo = new Repo<StoragePool>(
  'storagePools',
  'StoragePool',
  decoder<StoragePool>({ json: ['tags'] }),
);

/** What a driver needs to mount a pool on a host (`ModifyStoragePoolCommand`), from its record. */
export function poolSpecOf(pool: StoragePool): PoolSpec {
  const target = parsePoolUrl(pool.url);
  return {
    uuid: pool.uuid,
    type: pool.poolType,
    name: pool.name,
    path: pool.path,
    ...(pool.hostAddress ? { server: pool.hostAddress } : {}),
    ...(target.port ? { port: target.port } : {}),
    ...(target.userInfo ? { userInfo: target.userInfo } : {}),
  };
}

/**
 * The live, Up shared pools every host of `cluster` mounts: the cluster's own and the zone-wide
 * pools of its hypervisor type.
 */
export async function sharedPoolsOf(
  db: Db,
  cluster: Pick<Cluster, 'id' | 'zoneId' | 'hypervisorType'>,
): Promise<StoragePool[]> {
  const rows = await db
    .selectFrom('storagePools')
    .selectAll()
    .where('removed', 'is', null)
    .where('status', '=', 'Up')
    .where((w) =>
      w.or([
        w.and([w('scope', '=', 'CLUSTER'), w('clusterId', '=', cluster.id)]),
        w.and([
          w('scope', '=', 'ZONE'),
          w('zoneId', '=', cluster.zoneId),
          w('hypervisorType', '=', cluster.hypervisorType),
        ]),
      ]),
    )
    .orderBy('id')
    .execute();
  return rows.map((r) => storagePoolRepo.decode(r));
}

/** URL scheme → pool type, as CloudStack's createStoragePool reads it. */
const SCHEMES: Readonly<Record<string, StoragePoolType>> = {
  nfs: 'NetworkFilesystem',
  iscsi: 'IscsiLUN',
  presetup: 'PreSetup',
  vmfs: 'VMFS',
  sharedmountpoint: 'SharedMountPoint',
  clvm: 'CLVM',
  rbd: 'RBD',
  gluster: 'Gluster',
  smb: 'SMB',
  ocfs2: 'OCFS2',
};

/** A primary storage pool to create: its name, URL, scope (cluster or zone), hypervisor, tags and IOPS. */
export interface CreateStoragePoolInput {
  name: string;
  /**
   * `nfs://server/export`, `iscsi://server/iqn/lun`, `presetup:///sr-name`, `vmfs:///dc/datastore`,
   * `sharedmountpoint:///path`, `clvm:///vg`, `rbd://user:secret@monitor/pool`, `gluster://server/volume`, `smb://server/share`.
   */
  url: string;
  /** CLUSTER (default) or ZONE (zone-wide, KVM/VMware/Hyper-V). Local pools come from host discovery. */
  scope?: 'CLUSTER' | 'ZONE';
  /** For CLUSTER scope. */
  clusterId?: Ref;
  /** For ZONE scope. */
  zoneId?: Ref;
  /** For ZONE scope: which hypervisor's hosts mount it. */
  hypervisorType?: HypervisorType;
  tags?: string | string[];
  capacityIops?: number;
}

/** Parses a pool URL into its type, server and path; typed errors name the `url` field. */
export function parsePoolUrl(url: string): {
  poolType: StoragePoolType;
  server: string | null;
  path: string;
  port?: number;
  userInfo?: string;
} {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParameterError('url', url, 'not a URL; expected e.g. nfs://10.0.0.5/export/primary');
  }
  const scheme = parsed.protocol.replace(/:$/, '').toLowerCase();
  const poolType = SCHEMES[scheme];
  if (!poolType)
    throw new InvalidParameterError(
      'url',
      url,
      `unknown scheme ${scheme}; expected one of ${Object.keys(SCHEMES).join(', ')}`,
    );
  const path = decodeURIComponent(parsed.pathname);
  if (path === '' || path === '/')
    throw new InvalidParameterError(
      'url',
      url,
      'the URL needs a path (export, SR name, datastore, volume group, pool)',
    );
  const server = parsed.hostname === '' ? null : parsed.hostname;
  if (['nfs', 'iscsi', 'rbd', 'gluster', 'smb'].includes(scheme) && !server)
    throw new InvalidParameterError('url', url, `${scheme} storage needs a server`);
  return {
    poolType,
    server,
    path,
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    ...(parsed.username
      ? { userInfo: `${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}` }
      : {}),
  };
}

/**
 * Primary storage (spec/resource-model.md §3.1, spec/storage.md §2). A shared pool is attached
 * through the driver to every Up host of its scope before it is recorded; cluster pools need a
 * host in the cluster first; zone-wide pools only for hypervisors that support them; removal only
 * from Maintenance and only when no volume lives there.
 */
export class StoragePoolService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return storagePoolRepo.get(this.ctx.db, id);
  }

  list(
    filter: { zoneId?: Ref; clusterId?: Ref; hostId?: Ref; scope?: string; status?: string } & ListOptions = {},
  ): Promise<StoragePool[]> {
    return storagePoolRepo.listFor(this.ctx, filter, { zoneId: zoneRepo, clusterId: clusterRepo, hostId: hostRepo });
  }

  async create(input: CreateStoragePoolInput): Promise<StoragePool> {
    requireRootAdmin(this.ctx.caller, 'add primary storage');
    const name = requireString('name', input.name, { max: 255 });
    const url = requireString('url', input.url);
    const scope = requireOneOf('scope', input.scope ?? 'CLUSTER', ['CLUSTER', 'ZONE'] as const);
    const tags = parseTags('tags', input.tags);
    const capacityIops =
      input.capacityIops === undefined ? null : requireInteger('capacityIops', input.capacityIops, { min: 1 });
    const target = parsePoolUrl(url);
    const db = this.ctx.db;

    let zoneId: number;
    let podId: number | null = null;
    let clusterId: number | null = null;
    let hypervisorType: HypervisorType;
    let hosts: Host[];
    if (scope === 'CLUSTER') {
      if (input.clusterId === undefined)
        throw new InvalidParameterError('clusterId', input.clusterId, 'a cluster-scope pool needs its cluster');
      const cluster = await clusterRepo.get(db, input.clusterId, 'clusterId');
      ({ zoneId, podId } = cluster);
      clusterId = cluster.id;
      hypervisorType = cluster.hypervisorType;
      hosts = await hostRepo.list(db, { clusterId: cluster.id });
      if (hosts.length === 0) {
        throw new InvalidStateError(`cluster ${cluster.name} has no host yet; add a host before its primary storage`, {
          field: 'clusterId',
          value: cluster.id,
        });
      }
    } else {
      if (input.zoneId === undefined)
        throw new InvalidParameterError('zoneId', input.zoneId, 'a zone-wide pool needs its zone');
      const zone = await zoneRepo.get(db, input.zoneId, 'zoneId');
      zoneId = zone.id;
      hypervisorType = requireOneOf('hypervisorType', input.hypervisorType, HYPERVISOR_TYPES);
      if (!ZONE_WIDE_STORAGE_HYPERVISORS.includes(hypervisorType)) {
        throw new InvalidParameterError(
          'hypervisorType',
          hypervisorType,
          `zone-wide primary storage is supported for ${ZONE_WIDE_STORAGE_HYPERVISORS.join(', ')}`,
        );
      }
      hosts = await hostRepo.list(db, { zoneId: zone.id, hypervisorType });
      if (hosts.length === 0)
        throw new InvalidStateError(`zone ${zone.name} has no ${hypervisorType} host yet`, {
          field: 'zoneId',
          value: zone.id,
        });
    }
    if (!SHARED_POOL_TYPES_BY_HYPERVISOR[hypervisorType].includes(target.poolType)) {
      throw new InvalidParameterError(
        'url',
        url,
        `${hypervisorType} cannot use ${target.poolType} primary storage (it can use ${SHARED_POOL_TYPES_BY_HYPERVISOR[hypervisorType].join(', ')})`,
      );
    }
    if ((await storagePoolRepo.count(db, { zoneId, url })) > 0)
      throw new InvalidParameterError('url', url, 'this storage is already a pool of the zone');

    const uuid = newUuid();
    const spec: PoolSpec = {
      uuid,
      type: target.poolType,
      name,
      path: target.path,
      ...(target.server ? { server: target.server } : {}),
      ...(target.port ? { port: target.port } : {}),
      ...(target.userInfo ? { userInfo: target.userInfo } : {}),
    };
    const up = hosts.filter((h) => h.status === 'Up');
    if (up.length === 0) throw new InvalidStateError('no Up host can mount the pool', { field: 'url', value: url });
    const driver = this.ctx.drivers.hypervisor(hypervisorType);
    const attached: HostRef[] = [];
    try {
      let report: StoragePoolReport | undefined;
      for (const host of up) {
        const ref = hostRef(host);
        report = await driver.createStoragePool(ref, spec);
        attached.push(ref);
      }
      const answer = report!;
      return await this.ctx.write(async (w) => {
        const row = await w.db
          .insertInto('storagePools')
          .values({
            uuid,
            name,
            scope,
            zoneId,
            podId,
            clusterId,
            hostId: null,
            hypervisorType,
            poolType: target.poolType,
            hostAddress: target.server,
            path: target.path,
            url,
            tags: json(tags),
            capacityBytes: answer.capacityBytes,
            usedBytes: answer.capacityBytes - answer.availableBytes,
            capacityIops,
            status: 'Initialized',
            created: w.now,
            removed: null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const pool = storagePoolRepo.decode(row);
        await w.event({
          type: 'STORAGE.POOL.CREATE',
          description: `primary storage ${name} (${target.poolType}, ${scope}) added`,
          resourceType: 'StoragePool',
          resourceId: pool.id,
          resourceUuid: pool.uuid,
        });
        await this.statusIn(w, pool, 'Attached');
        return storagePoolRepo.get(w.db, pool.id);
      });
    } catch (error) {
      await Promise.allSettled(attached.map((ref) => driver.deleteStoragePool(ref, spec)));
      throw error;
    }
  }

  async update(
    id: Ref,
    patch: { name?: string; tags?: string | string[]; capacityIops?: number | null },
  ): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update primary storage');
      const pool = await storagePoolRepo.get(w.db, id);
      const set: Record<string, unknown> = {};
      if (patch.name !== undefined) set.name = requireString('name', patch.name, { max: 255 });
      if (patch.tags !== undefined) set.tags = json(parseTags('tags', patch.tags));
      if (patch.capacityIops !== undefined)
        set.capacityIops =
          patch.capacityIops === null ? null : requireInteger('capacityIops', patch.capacityIops, { min: 1 });
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('storagePools').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'STORAGE.POOL.UPDATE',
          description: `primary storage ${pool.name} updated`,
          resourceType: 'StoragePool',
          resourceId: id,
          resourceUuid: pool.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      return storagePoolRepo.get(w.db, id);
    });
  }

  async enable(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.event(id, 'Enable');
  }

  /** No new volumes while Disabled; existing ones keep working. */
  async disable(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.event(id, 'Disable');
  }

  /**
   * Up → PrepareForMaintenance; with no running VM using the pool it completes at once
   * (→ Maintenance). Otherwise the orchestrator stops those VMs and calls {@link completeMaintenance}.
   */
  async enableMaintenance(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'put primary storage into maintenance');
      const pool = await storagePoolRepo.get(w.db, id);
      await this.statusIn(w, pool, 'EnableMaintenance');
      await w.event({
        type: 'MAINT.PREPARE.PS',
        description: `primary storage ${pool.name} entering maintenance`,
        resourceType: 'StoragePool',
        resourceId: id,
        resourceUuid: pool.uuid,
      });
      if ((await this.runningVmsUsing(w, id)) === 0)
        await this.statusIn(w, await storagePoolRepo.get(w.db, id), 'MaintenanceCompleted');
      return storagePoolRepo.get(w.db, id);
    });
  }

  async completeMaintenance(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const pool = await storagePoolRepo.get(w.db, id);
      const running = await this.runningVmsUsing(w, id);
      await this.statusIn(w, pool, running === 0 ? 'MaintenanceCompleted' : 'MaintenanceFailed');
      return storagePoolRepo.get(w.db, id);
    });
  }

  async cancelMaintenance(id: Ref): Promise<StoragePool> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'cancel primary storage maintenance');
      const pool = await storagePoolRepo.get(w.db, id);
      await this.statusIn(w, pool, 'CancelMaintenance');
      await this.statusIn(w, await storagePoolRepo.get(w.db, id), 'MaintenanceCancelled');
      await w.event({
        type: 'MAINT.CANCEL.PS',
        description: `primary storage ${pool.name} maintenance cancelled`,
        resourceType: 'StoragePool',
        resourceId: id,
        resourceUuid: pool.uuid,
      });
      return storagePoolRepo.get(w.db, id);
    });
  }

  /** Removes a pool in Maintenance that holds no volumes, and detaches it from its hosts. */
  async delete(id: Ref): Promise<void> {
    id = await storagePoolRepo.resolve(this.ctx.db, id);
    const { pool, hosts } = await this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete primary storage');
      const pool = await storagePoolRepo.get(w.db, id);
      if (pool.scope === 'HOST') throw new InvalidParameterError('id', id, 'local storage goes with its host');
      const volumes = await countLive(w.db, 'volumes', { poolId: id });
      if (volumes > 0) {
        throw new ResourceInUseError(`primary storage ${pool.name} still holds ${volumes} volume(s)`, {
          field: 'id',
          value: id,
        });
      }
      if (pool.status !== 'Maintenance') {
        throw new InvalidStateError(
          `primary storage ${pool.name} must be in Maintenance to be removed; it is ${pool.status}`,
          { field: 'id', value: id },
        );
      }
      await this.statusIn(w, pool, 'Delete');
      await storagePoolRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'STORAGE.POOL.DELETE',
        description: `primary storage ${pool.name} removed`,
        resourceType: 'StoragePool',
        resourceId: id,
        resourceUuid: pool.uuid,
      });
      const hosts =
        pool.clusterId !== null
          ? await hostRepo.list(w.db, { clusterId: pool.clusterId })
          : await hostRepo.list(w.db, { zoneId: pool.zoneId, hypervisorType: pool.hypervisorType });
      return { pool, hosts };
    });
    if (pool.hypervisorType && this.ctx.drivers.hasHypervisor(pool.hypervisorType)) {
      const driver = this.ctx.drivers.hypervisor(pool.hypervisorType);
      const spec = poolSpecOf(pool);
      const results = await Promise.allSettled(hosts.map((h) => driver.deleteStoragePool(hostRef(h), spec)));
      for (const r of results)
        if (r.status === 'rejected')
          this.ctx.logger.warn({ err: r.reason, pool: pool.uuid }, 'detaching a removed pool from a host failed');
    }
  }

  private event(id: number, event: StoragePoolEvent): Promise<StoragePool> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'change primary storage');
      const pool = await storagePoolRepo.get(w.db, id);
      await this.statusIn(w, pool, event);
      return storagePoolRepo.get(w.db, id);
    });
  }

  private async statusIn(w: Writer, pool: StoragePool, event: StoragePoolEvent) {
    return w.transition({
      table: 'storagePools',
      id: pool.id,
      machine: storagePoolStateMachine,
      event,
      column: 'status',
      resource: { type: 'StoragePool', uuid: pool.uuid },
      eventPrefix: 'STORAGE.POOL',
    });
  }

  /** Running or transitioning VMs with a volume on the pool. */
  private async runningVmsUsing(w: Writer, poolId: number): Promise<number> {
    const row = await w.db
      .selectFrom('volumes')
      .innerJoin('vmInstances', 'vmInstances.id', 'volumes.instanceId')
      .select((eb) => eb.fn.count<number>('vmInstances.id').distinct().as('n'))
      .where('volumes.poolId', '=', poolId)
      .where('volumes.removed', 'is', null)
      .where('vmInstances.state', 'in', ['Running', 'Starting', 'Stopping', 'Migrating'])
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }
}
