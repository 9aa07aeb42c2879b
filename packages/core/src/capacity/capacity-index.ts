import type { HypervisorType, StoragePoolType, StorageScope } from '../model/enums.js';
import { parseSettingValue, type SettingKey, type SettingValue, settingDefinition } from '../settings/catalog.js';
import type { Db } from '../store/store.js';
import type { CapacityDelta } from './capacity-service.js';
import type {
  ClusterState,
  ClusterUsage,
  Dedication,
  Demand,
  HostState,
  ImplicitDedicationMode,
  PlacementSettings,
  PlacementState,
  PodState,
  PoolState,
  ZoneState,
} from './placement-state.js';
import { effectiveStorageFactor } from './pool-fit.js';

const num = (v: unknown): number => Number(v);

/** One VM's booking as the index keeps it. */
interface IndexBooking {
  accountId: number;
  kind: 'used' | 'reserved';
  cpu: number;
  memory: number;
  since: number;
  implicitMode: ImplicitDedicationMode | null;
}

function parseTags(raw: unknown): Set<string> {
  let list: unknown = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      list = raw.split(',');
    }
  }
  if (typeof list === 'string') list = list.split(',');
  const out = new Set<string>();
  if (Array.isArray(list)) for (const t of list) if (typeof t === 'string' && t.trim()) out.add(t.trim());
  return out;
}

function parseJson(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string') return (raw as Record<string, unknown>) ?? {};
  try {
    return (JSON.parse(raw) as Record<string, unknown>) ?? {};
  } catch {
    return {};
  }
}

/**
 * The in-memory capacity index placement reads (DESIGN.md layer 3): every zone, pod, cluster,
 * routing host and pool with its counters, rebuilt from the store by {@link CapacityIndex.load}.
 * It is a cache: the store's conditional UPDATE is the authority at commit, and after a commit the
 * caller replays the returned deltas with {@link CapacityIndex.apply} (or {@link CapacityIndex.refreshHost}
 * after losing a race). The in-memory booking methods (`bookStart`, `stopToReserved`, …) apply the
 * same rules without a store, for what-if runs and benchmarks.
 */
export class CapacityIndex implements PlacementState {
  readonly zones = new Map<number, ZoneState>();
  readonly pods = new Map<number, PodState>();
  readonly clusters = new Map<number, ClusterState>();
  readonly hosts = new Map<number, HostState>();
  readonly pools = new Map<number, PoolState>();
  settings: PlacementSettings;
  private readonly vms = new Map<number, Map<number, IndexBooking>>();
  private readonly usage = new Map<number, ClusterUsage>();
  private readonly podAccounts = new Map<number, Map<number, number>>();
  private readonly clusterAccounts = new Map<number, Map<number, number>>();
  private readonly zoneAccounts = new Map<number, Map<number, number>>();
  private readonly volumes = new Map<number, { poolId: number; bytes: number; iops: number }>();
  private clock: () => number;
  /** Change tracking for allocator caches (see PlacementState.clustersChangedSince). */
  private topology = 0;
  private topologySizes: number[] = [];
  private readonly changeLog: number[] = [];
  private changeBase = 0;

  constructor(settings: Partial<PlacementSettings> = {}, clock: () => number = Date.now) {
    this.settings = { ...defaultPlacementSettings(), ...settings };
    this.clock = clock;
  }

  now(): number {
    return this.clock();
  }

  /** Replaces the time source (tests, simulations). */
  setClock(clock: () => number): void {
    this.clock = clock;
  }

  /** Builds an index from the store: topology, counters, bookings, dedications and settings. */
  static async load(db: Db, options: { clock?: () => number } = {}): Promise<CapacityIndex> {
    const config = await loadConfiguration(db);
    const index = new CapacityIndex(globalPlacementSettings(config), options.clock ?? Date.now);
    const dedications = await db.selectFrom('dedicatedResources').selectAll().where('removed', 'is', null).execute();
    const domainPaths = new Map<number, string>();
    if (dedications.length > 0) {
      const ids = [...new Set(dedications.map((d) => num(d.domainId)))];
      for (const d of await db.selectFrom('domains').select(['id', 'path']).where('id', 'in', ids).execute())
        domainPaths.set(num(d.id), d.path);
    }
    const ded = (field: 'zoneId' | 'podId' | 'clusterId' | 'hostId', id: number): Dedication | null => {
      const d = dedications.find(
        (r) =>
          r[field] !== null &&
          num(r[field]) === id &&
          (field === 'hostId' || r.hostId === null) &&
          (field === 'clusterId' || field === 'hostId' || r.clusterId === null) &&
          (field !== 'zoneId' || r.podId === null),
      );
      if (!d) return null;
      const path = domainPaths.get(num(d.domainId));
      return {
        domainId: num(d.domainId),
        accountId: d.accountId === null ? null : num(d.accountId),
        ...(path !== undefined ? { domainPath: path } : {}),
      };
    };
    for (const z of await db.selectFrom('zones').selectAll().where('removed', 'is', null).execute()) {
      const id = num(z.id);
      index.zones.set(id, {
        id,
        allocationState: z.allocationState,
        dedicatedDomainId: z.dedicatedDomainId === null ? null : num(z.dedicatedDomainId),
        podIds: [],
        clusterIds: [],
        poolIds: [],
        dedication: ded('zoneId', id),
      });
    }
    for (const p of await db.selectFrom('pods').selectAll().where('removed', 'is', null).orderBy('id').execute()) {
      const id = num(p.id);
      index.pods.set(id, {
        id,
        zoneId: num(p.zoneId),
        allocationState: p.allocationState,
        clusterIds: [],
        dedication: ded('podId', id),
      });
      index.zones.get(num(p.zoneId))?.podIds.push(id);
    }
    for (const c of await db.selectFrom('clusters').selectAll().where('removed', 'is', null).orderBy('id').execute()) {
      const id = num(c.id);
      index.clusters.set(id, {
        id,
        name: c.name,
        podId: num(c.podId),
        zoneId: num(c.zoneId),
        hypervisorType: c.hypervisorType as HypervisorType,
        allocationState: c.allocationState,
        cpuRatio: num(c.cpuOvercommitRatio),
        memoryRatio: num(c.memoryOvercommitRatio),
        cpuThreshold: resolve(config, 'cluster.cpu.allocated.capacity.disablethreshold', [['cluster', id]]),
        memoryThreshold: resolve(config, 'cluster.memory.allocated.capacity.disablethreshold', [['cluster', id]]),
        hostIds: [],
        poolIds: [],
        dedication: ded('clusterId', id),
      });
      index.pods.get(num(c.podId))?.clusterIds.push(id);
      index.zones.get(num(c.zoneId))?.clusterIds.push(id);
    }
    const caps = await db.selectFrom('hypervisorCapabilities').selectAll().execute();
    const maxGuests = (type: string, version: string | null): number | null => {
      const exact = caps.find((r) => r.hypervisorType === type && r.hypervisorVersion === version);
      const fallback = caps.find((r) => r.hypervisorType === type && r.hypervisorVersion === 'default');
      const row = exact ?? fallback;
      return row?.maxGuestsLimit === null || row?.maxGuestsLimit === undefined ? null : num(row.maxGuestsLimit);
    };
    for (const h of await db
      .selectFrom('hosts')
      .selectAll()
      .where('removed', 'is', null)
      .where('type', '=', 'Routing')
      .orderBy('id')
      .execute()) {
      const id = num(h.id);
      const capabilities = parseJson(h.capabilities);
      index.hosts.set(id, {
        id,
        name: h.name,
        zoneId: num(h.zoneId),
        podId: num(h.podId),
        clusterId: num(h.clusterId),
        hypervisorType: h.hypervisorType as HypervisorType,
        hypervisorVersion: h.hypervisorVersion,
        status: h.status,
        resourceState: h.resourceState,
        cpus: num(h.cpus),
        speed: num(h.speed),
        cpuTotal: num(h.cpus) * num(h.speed),
        memoryTotal: num(h.totalMemory) - num(h.reservedMemory),
        // Counted from the bookings below, in one read: the counters always equal the bookings tracked.
        cpuUsed: 0,
        cpuReserved: 0,
        memoryUsed: 0,
        memoryReserved: 0,
        tags: parseTags(h.hostTags),
        osCategoryPreference: h.osCategoryPreference,
        hvm: capabilities.hvm !== false,
        maxGuests: maxGuests(h.hypervisorType, h.hypervisorVersion),
        vmCount: 0,
        accountVms: new Map(),
        implicitAccounts: new Map(),
        held: new Map(),
        dedication: ded('hostId', id),
      });
      index.clusters.get(num(h.clusterId))?.hostIds.push(id);
    }
    for (const b of await db.selectFrom('capacityBookings').selectAll().orderBy('id').execute()) index.trackRow(b);
    for (const p of await db
      .selectFrom('storagePools')
      .selectAll()
      .where('removed', 'is', null)
      .orderBy('id')
      .execute()) {
      const id = num(p.id);
      const zoneId = num(p.zoneId);
      const scopes: Array<[string, number]> = [
        ['storagepool', id],
        ['zone', zoneId],
      ];
      const pool: PoolState = {
        id,
        name: p.name,
        scope: p.scope as StorageScope,
        zoneId,
        podId: p.podId === null ? null : num(p.podId),
        clusterId: p.clusterId === null ? null : num(p.clusterId),
        hostId: p.hostId === null ? null : num(p.hostId),
        hypervisorType: (p.hypervisorType as HypervisorType | null) ?? null,
        poolType: p.poolType as StoragePoolType,
        tags: parseTags(p.tags),
        status: p.status,
        capacityBytes: num(p.capacityBytes),
        usedBytes: num(p.usedBytes),
        allocatedBytes: 0, // from the allocation ledger below
        factor: effectiveStorageFactor(
          p.poolType as StoragePoolType,
          p.scope as StorageScope,
          resolve(config, 'storage.overprovisioning.factor', scopes),
        ),
        usedThreshold: resolve(config, 'pool.storage.capacity.disablethreshold', scopes),
        allocatedThreshold: resolve(config, 'pool.storage.allocated.capacity.disablethreshold', scopes),
        capacityIops: p.capacityIops === null ? null : num(p.capacityIops),
        usedIops: 0,
      };
      index.addPool(pool);
    }
    for (const a of await db.selectFrom('storageAllocations').selectAll().execute()) {
      index.setVolume(num(a.volumeId), { poolId: num(a.poolId), bytes: num(a.bytes), iops: num(a.iops) });
    }
    for (const id of index.clusters.keys()) index.recomputeCluster(id);
    return index;
  }

  /**
   * Reloads one host's state and bookings from the store (after losing a booking race, or when a
   * report says it changed): the host's counters become the sum of its stored bookings.
   */
  async refreshHost(db: Db, hostId: number): Promise<void> {
    const host = this.hosts.get(hostId);
    if (!host) return;
    const h = await db
      .selectFrom('hosts')
      .select(['status', 'resourceState', 'removed'])
      .where('id', '=', hostId)
      .executeTakeFirst();
    const rows = await db
      .selectFrom('capacityBookings')
      .selectAll()
      .where('hostId', '=', hostId)
      .orderBy('id')
      .execute();
    if (h) {
      host.status = h.removed === null ? h.status : 'Removed';
      host.resourceState = h.resourceState;
    }
    for (const [vmId, byHost] of [...this.vms]) if (byHost.has(hostId)) this.setBooking(vmId, hostId, null);
    for (const b of rows) this.trackRow(b);
    this.recomputeCluster(host.clusterId);
  }

  /**
   * Re-reads the bookings of every host, and the allocations of every pool, whose counters changed
   * in the store after `since` (epoch ms) and differ from this index's: what other processes booked,
   * released or stopped. Returns the ids of the hosts it re-read. The counter tables are scanned
   * (once a second): an index on `updated` would cost every booking more than the scan costs.
   */
  async refreshCapacity(db: Db, since: number): Promise<number[]> {
    const hostIds = (
      await db
        .selectFrom('hostCapacity')
        .select(['hostId', 'cpuUsed', 'cpuReserved', 'memoryUsed', 'memoryReserved'])
        .where('updated', '>', since)
        .execute()
    )
      .filter((r) => {
        const h = this.hosts.get(num(r.hostId));
        return (
          h !== undefined &&
          (h.cpuUsed !== num(r.cpuUsed) ||
            h.cpuReserved !== num(r.cpuReserved) ||
            h.memoryUsed !== num(r.memoryUsed) ||
            h.memoryReserved !== num(r.memoryReserved))
        );
      })
      .map((r) => num(r.hostId));
    if (hostIds.length > 0) {
      const rows = await db
        .selectFrom('capacityBookings')
        .selectAll()
        .where('hostId', 'in', hostIds)
        .orderBy('id')
        .execute();
      const refreshed = new Set(hostIds);
      for (const [vmId, byHost] of [...this.vms])
        for (const hostId of [...byHost.keys()]) if (refreshed.has(hostId)) this.setBooking(vmId, hostId, null);
      for (const b of rows) this.trackRow(b);
    }
    const poolIds = (
      await db
        .selectFrom('poolCapacity')
        .select(['poolId', 'allocatedBytes', 'usedIops'])
        .where('updated', '>', since)
        .execute()
    )
      .filter((r) => {
        const p = this.pools.get(num(r.poolId));
        return p !== undefined && (p.allocatedBytes !== num(r.allocatedBytes) || p.usedIops !== num(r.usedIops));
      })
      .map((r) => num(r.poolId));
    if (poolIds.length > 0) {
      const rows = await db.selectFrom('storageAllocations').selectAll().where('poolId', 'in', poolIds).execute();
      const refreshed = new Set(poolIds);
      for (const [volumeId, v] of [...this.volumes]) if (refreshed.has(v.poolId)) this.setVolume(volumeId, null);
      for (const a of rows)
        this.setVolume(num(a.volumeId), { poolId: num(a.poolId), bytes: num(a.bytes), iops: num(a.iops) });
    }
    return hostIds;
  }

  /** A deep copy that can be changed (what-if simulations) without touching this index. */
  clone(): CapacityIndex {
    const out = new CapacityIndex({ ...this.settings }, this.clock);
    for (const z of this.zones.values())
      out.zones.set(z.id, { ...z, podIds: [...z.podIds], clusterIds: [...z.clusterIds], poolIds: [...z.poolIds] });
    for (const p of this.pods.values()) out.pods.set(p.id, { ...p, clusterIds: [...p.clusterIds] });
    for (const c of this.clusters.values())
      out.clusters.set(c.id, { ...c, hostIds: [...c.hostIds], poolIds: [...c.poolIds] });
    for (const h of this.hosts.values()) {
      out.hosts.set(h.id, {
        ...h,
        accountVms: new Map(h.accountVms),
        implicitAccounts: new Map(h.implicitAccounts),
        held: new Map(h.held),
      });
    }
    for (const p of this.pools.values()) out.pools.set(p.id, { ...p });
    for (const [vm, byHost] of this.vms) out.vms.set(vm, new Map([...byHost].map(([h, b]) => [h, { ...b }])));
    for (const [id, u] of this.usage) out.usage.set(id, { ...u });
    for (const [src, dst] of [
      [this.podAccounts, out.podAccounts],
      [this.clusterAccounts, out.clusterAccounts],
      [this.zoneAccounts, out.zoneAccounts],
    ] as const) {
      for (const [id, m] of src) dst.set(id, new Map(m));
    }
    for (const [id, v] of this.volumes) out.volumes.set(id, { ...v });
    return out;
  }

  // --- topology building (also for hand-built states in tests, what-if and benchmarks) ---------------------

  addZone(zone: Omit<ZoneState, 'podIds' | 'clusterIds' | 'poolIds'>): ZoneState {
    const z = { ...zone, podIds: [], clusterIds: [], poolIds: [] };
    this.zones.set(z.id, z);
    this.topology++;
    return z;
  }

  addPod(pod: Omit<PodState, 'clusterIds'>): PodState {
    const p = { ...pod, clusterIds: [] };
    this.pods.set(p.id, p);
    this.topology++;
    this.zones.get(p.zoneId)?.podIds.push(p.id);
    return p;
  }

  addCluster(cluster: Omit<ClusterState, 'hostIds' | 'poolIds'>): ClusterState {
    const c = { ...cluster, hostIds: [], poolIds: [] };
    this.clusters.set(c.id, c);
    this.topology++;
    this.pods.get(c.podId)?.clusterIds.push(c.id);
    this.zones.get(c.zoneId)?.clusterIds.push(c.id);
    this.recomputeCluster(c.id);
    return c;
  }

  addHost(host: HostState): HostState {
    this.hosts.set(host.id, host);
    this.topology++;
    this.clusters.get(host.clusterId)?.hostIds.push(host.id);
    this.recomputeCluster(host.clusterId);
    return host;
  }

  addPool(pool: PoolState): PoolState {
    this.pools.set(pool.id, pool);
    this.topology++;
    if (pool.scope === 'ZONE') this.zones.get(pool.zoneId)?.poolIds.push(pool.id);
    else if (pool.clusterId !== null) this.clusters.get(pool.clusterId)?.poolIds.push(pool.id);
    else if (pool.hostId !== null) {
      const h = this.hosts.get(pool.hostId);
      if (h) this.clusters.get(h.clusterId)?.poolIds.push(pool.id);
    }
    return pool;
  }

  /** Recomputes a cluster's aggregates over its Enabled hosts (after host state or ratio changes). */
  recomputeCluster(clusterId: number): void {
    const c = this.clusters.get(clusterId);
    if (!c) return;
    const u: ClusterUsage = { cpuAllocated: 0, cpuCapacity: 0, memoryAllocated: 0, memoryCapacity: 0 };
    for (const id of c.hostIds) {
      const h = this.hosts.get(id);
      if (!h) continue;
      if (h.resourceState !== 'Enabled') continue;
      u.cpuAllocated += h.cpuUsed + h.cpuReserved;
      u.memoryAllocated += h.memoryUsed + h.memoryReserved;
      u.cpuCapacity += h.cpuTotal * c.cpuRatio;
      u.memoryCapacity += h.memoryTotal * c.memoryRatio;
    }
    this.usage.set(clusterId, u);
    this.touch(clusterId);
  }

  // --- change tracking (lets allocators keep orderings between decisions) -------------------------------

  topologyVersion(): number {
    // Entries set directly in the maps (not through add*) still count as a topology change.
    const sizes = [this.zones.size, this.pods.size, this.clusters.size, this.hosts.size, this.pools.size];
    if (sizes.some((n, i) => n !== this.topologySizes[i])) {
      this.topology++;
      this.topologySizes = sizes;
    }
    return this.topology;
  }

  changeCursor(): number {
    return this.changeBase + this.changeLog.length;
  }

  clustersChangedSince(cursor: number): readonly number[] | null {
    if (cursor < this.changeBase || cursor > this.changeCursor()) return null;
    return this.changeLog.slice(cursor - this.changeBase);
  }

  /** Records that a cluster's hosts or aggregates changed; keeps a bounded history. */
  private touch(clusterId: number): void {
    this.changeLog.push(clusterId);
    if (this.changeLog.length > 8192) {
      this.changeLog.splice(0, 4096);
      this.changeBase += 4096;
    }
  }

  // --- PlacementState queries ----------------------------------------------------------------------------

  clusterUsage(clusterId: number): ClusterUsage {
    let u = this.usage.get(clusterId);
    if (!u) {
      this.recomputeCluster(clusterId);
      u = this.usage.get(clusterId) ?? { cpuAllocated: 0, cpuCapacity: 0, memoryAllocated: 0, memoryCapacity: 0 };
    }
    return u;
  }

  accountVmsInPod(accountId: number, podId: number): number {
    return this.podAccounts.get(podId)?.get(accountId) ?? 0;
  }

  accountVmsInCluster(accountId: number, clusterId: number): number {
    return this.clusterAccounts.get(clusterId)?.get(accountId) ?? 0;
  }

  accountVmsInZone(accountId: number, zoneId: number): number {
    return this.zoneAccounts.get(zoneId)?.get(accountId) ?? 0;
  }

  /** The VM's bookings: host id → kind. */
  bookingsOf(vmId: number): ReadonlyMap<
    number,
    {
      kind: 'used' | 'reserved';
      cpu: number;
      memory: number;
      since: number;
      implicitMode: ImplicitDedicationMode | null;
    }
  > {
    return this.vms.get(vmId) ?? new Map();
  }

  /**
   * Hosts the VMs hold capacity on: where they are Starting, Running or Migrating, and the last host
   * of those stopped within `capacity.skipcounting.hours` (what host affinity and anti-affinity judge).
   */
  hostsOfVms(vmIds: readonly number[]): number[] {
    const out = new Set<number>();
    const window = this.settings.skipCountingSeconds * 1000;
    const now = this.clock();
    for (const vmId of vmIds) {
      const bookings = this.vms.get(vmId);
      if (!bookings) continue;
      for (const [hostId, b] of bookings) if (b.kind === 'used' || now - b.since < window) out.add(hostId);
    }
    return [...out];
  }

  /** Sets (or clears) the explicit dedication of a zone, pod, cluster or host, as committed in the store. */
  setDedication(level: 'zone' | 'pod' | 'cluster' | 'host', id: number, dedication: Dedication | null): void {
    const target =
      level === 'zone'
        ? this.zones.get(id)
        : level === 'pod'
          ? this.pods.get(id)
          : level === 'cluster'
            ? this.clusters.get(id)
            : this.hosts.get(id);
    if (!target) return;
    target.dedication = dedication;
    const clusters =
      level === 'zone'
        ? (this.zones.get(id)?.clusterIds ?? [])
        : level === 'pod'
          ? (this.pods.get(id)?.clusterIds ?? [])
          : level === 'cluster'
            ? [id]
            : [this.hosts.get(id)?.clusterId ?? -1];
    for (const c of clusters) if (this.clusters.has(c)) this.touch(c);
  }

  /** Whether the index holds exactly this booking of the VM on the host. */
  holds(
    vmId: number,
    hostId: number,
    b: { kind: 'used' | 'reserved'; cpu: number; memory: number; implicitMode: ImplicitDedicationMode | null },
  ): boolean {
    const t = this.vms.get(vmId)?.get(hostId);
    return (
      t !== undefined &&
      t.kind === b.kind &&
      t.cpu === b.cpu &&
      t.memory === b.memory &&
      t.implicitMode === b.implicitMode
    );
  }

  // --- deltas ------------------------------------------------------------------------------------------------

  /**
   * Replays deltas a committed CapacityService call returned. Each delta sets one VM's booking on
   * one host (or one volume's allocation) to the state it has after the change, and the counters
   * move by the difference from what this index tracked: replaying a delta the index already holds
   * (an index loaded after the commit) changes nothing, and the counters always equal the bookings
   * tracked.
   */
  apply(deltas: readonly CapacityDelta[]): void {
    for (const d of deltas) {
      if (d.kind === 'pool') {
        if (d.bytes >= 0) this.setVolume(d.volumeId, { poolId: d.poolId, bytes: d.bytes, iops: d.iops });
        else if (this.volumes.get(d.volumeId)?.poolId === d.poolId) this.setVolume(d.volumeId, null);
        continue;
      }
      this.setBooking(d.vmId, d.hostId, d.booking === null ? null : { accountId: d.accountId, ...d.booking });
    }
  }

  // --- in-memory bookings (no store): same rules as CapacityService --------------------------------------

  /** → Starting on `hostId`, consuming the VM's own reservation there first. No capacity check. */
  bookStart(
    vmId: number,
    accountId: number,
    hostId: number,
    d: Demand,
    implicitMode: ImplicitDedicationMode | null = null,
  ): CapacityDelta[] {
    const current = this.vms.get(vmId)?.get(hostId);
    if (current?.kind === 'used') return [];
    const own = current?.kind === 'reserved' ? current : undefined;
    const delta: CapacityDelta = {
      kind: 'host',
      hostId,
      vmId,
      accountId,
      cpuUsed: d.cpu,
      cpuReserved: -(own?.cpu ?? 0),
      memoryUsed: d.memory,
      memoryReserved: -(own?.memory ?? 0),
      booking: { kind: 'used', cpu: d.cpu, memory: d.memory, since: this.now(), implicitMode },
    };
    this.apply([delta]);
    return [delta];
  }

  /** Running → Stopped: used → reserved on every host the VM uses. */
  stopToReserved(vmId: number): CapacityDelta[] {
    const out: CapacityDelta[] = [];
    for (const [hostId, b] of [...(this.vms.get(vmId) ?? [])]) {
      if (b.kind !== 'used') continue;
      const delta: CapacityDelta = {
        kind: 'host',
        hostId,
        vmId,
        accountId: b.accountId,
        cpuUsed: -b.cpu,
        cpuReserved: b.cpu,
        memoryUsed: -b.memory,
        memoryReserved: b.memory,
        booking: { kind: 'reserved', cpu: b.cpu, memory: b.memory, since: this.now(), implicitMode: b.implicitMode },
      };
      this.apply([delta]);
      out.push(delta);
    }
    return out;
  }

  /** Drops the VM's booking on one host (failed start, migration end, agent report). */
  releaseFromHost(vmId: number, hostId: number): CapacityDelta[] {
    const b = this.vms.get(vmId)?.get(hostId);
    if (!b) return [];
    const used = b.kind === 'used';
    const delta: CapacityDelta = {
      kind: 'host',
      hostId,
      vmId,
      accountId: b.accountId,
      cpuUsed: used ? -b.cpu : 0,
      cpuReserved: used ? 0 : -b.cpu,
      memoryUsed: used ? -b.memory : 0,
      memoryReserved: used ? 0 : -b.memory,
      booking: null,
    };
    this.apply([delta]);
    return [delta];
  }

  /** Destroy: drops every booking of the VM. */
  releaseVm(vmId: number): CapacityDelta[] {
    const out: CapacityDelta[] = [];
    for (const hostId of [...(this.vms.get(vmId)?.keys() ?? [])]) out.push(...this.releaseFromHost(vmId, hostId));
    return out;
  }

  /** Drops reservations older than `skipCountingSeconds` (as of `now()`). */
  expireReservations(): CapacityDelta[] {
    const cutoff = this.now() - this.settings.skipCountingSeconds * 1000;
    const out: CapacityDelta[] = [];
    for (const [vmId, byHost] of [...this.vms]) {
      for (const [hostId, b] of [...byHost])
        if (b.kind === 'reserved' && b.since <= cutoff) out.push(...this.releaseFromHost(vmId, hostId));
    }
    return out;
  }

  /** Allocates a volume on a pool in memory. */
  allocateStorage(volumeId: number, poolId: number, bytes: number, iops = 0): CapacityDelta[] {
    const out = this.releaseStorage(volumeId);
    const delta: CapacityDelta = { kind: 'pool', poolId, volumeId, bytes, iops };
    this.apply([delta]);
    out.push(delta);
    return out;
  }

  releaseStorage(volumeId: number): CapacityDelta[] {
    const v = this.volumes.get(volumeId);
    if (!v) return [];
    const delta: CapacityDelta = { kind: 'pool', poolId: v.poolId, volumeId, bytes: -v.bytes, iops: -v.iops };
    this.apply([delta]);
    return [delta];
  }

  // --- internals -------------------------------------------------------------------------------------------

  /** Sets the VM's booking on the host (`null`: none), moving the host's and cluster's counters by the difference. */
  private setBooking(vmId: number, hostId: number, next: IndexBooking | null): void {
    const h = this.hosts.get(hostId);
    if (!h) return;
    const prev = this.vms.get(vmId)?.get(hostId);
    if (prev === undefined && next === null) return;
    let cpu = 0;
    let memory = 0;
    if (prev !== undefined) {
      this.untrack(vmId, hostId, h, prev);
      cpu -= prev.cpu;
      memory -= prev.memory;
    }
    if (next !== null) {
      this.track(vmId, h, next);
      cpu += next.cpu;
      memory += next.memory;
    }
    const u = this.usage.get(h.clusterId);
    if (u && h.resourceState === 'Enabled') {
      u.cpuAllocated += cpu;
      u.memoryAllocated += memory;
    }
    this.touch(h.clusterId);
  }

  /**
   * Tracks a stored booking row (loading, refreshing). It counts what was booked, as the store's
   * conditional updates add and subtract it.
   */
  private trackRow(b: {
    vmId: unknown;
    hostId: unknown;
    accountId: unknown;
    kind: string;
    cpu: unknown;
    memory: unknown;
    since: unknown;
    implicitMode: string | null;
  }): void {
    this.setBooking(num(b.vmId), num(b.hostId), {
      accountId: num(b.accountId),
      kind: b.kind === 'used' ? 'used' : 'reserved',
      cpu: num(b.cpu),
      memory: num(b.memory),
      since: num(b.since),
      implicitMode: b.implicitMode === 'Strict' || b.implicitMode === 'Preferred' ? b.implicitMode : null,
    });
  }

  /** Sets a volume's allocation (`null`: none), moving the pools' counters by the difference. */
  private setVolume(volumeId: number, next: { poolId: number; bytes: number; iops: number } | null): void {
    const prev = this.volumes.get(volumeId);
    if (prev !== undefined) {
      const p = this.pools.get(prev.poolId);
      if (p) {
        p.allocatedBytes -= prev.bytes;
        p.usedIops -= prev.iops;
      }
      this.volumes.delete(volumeId);
    }
    if (next !== null) {
      const p = this.pools.get(next.poolId);
      if (p) {
        p.allocatedBytes += next.bytes;
        p.usedIops += next.iops;
      }
      this.volumes.set(volumeId, next);
    }
  }

  private track(vmId: number, h: HostState, b: IndexBooking): void {
    let byHost = this.vms.get(vmId);
    if (!byHost) {
      byHost = new Map();
      this.vms.set(vmId, byHost);
    }
    byHost.set(h.id, b);
    if (b.kind === 'used') {
      h.cpuUsed += b.cpu;
      h.memoryUsed += b.memory;
      h.vmCount += 1;
      bump(h.accountVms, b.accountId, 1);
      bump(this.podMap(this.podAccounts, h.podId), b.accountId, 1);
      bump(this.podMap(this.clusterAccounts, h.clusterId), b.accountId, 1);
      bump(this.podMap(this.zoneAccounts, h.zoneId), b.accountId, 1);
    } else {
      h.cpuReserved += b.cpu;
      h.memoryReserved += b.memory;
      h.held.set(vmId, { cpu: b.cpu, memory: b.memory, since: b.since });
    }
    if (b.implicitMode) h.implicitAccounts.set(b.accountId, b.implicitMode);
  }

  private untrack(vmId: number, hostId: number, h: HostState, b: IndexBooking): void {
    const byHost = this.vms.get(vmId)!;
    byHost.delete(hostId);
    if (byHost.size === 0) this.vms.delete(vmId);
    if (b.kind === 'used') {
      h.cpuUsed -= b.cpu;
      h.memoryUsed -= b.memory;
      h.vmCount -= 1;
      bump(h.accountVms, b.accountId, -1);
      bump(this.podMap(this.podAccounts, h.podId), b.accountId, -1);
      bump(this.podMap(this.clusterAccounts, h.clusterId), b.accountId, -1);
      bump(this.podMap(this.zoneAccounts, h.zoneId), b.accountId, -1);
    } else {
      h.cpuReserved -= b.cpu;
      h.memoryReserved -= b.memory;
      h.held.delete(vmId);
    }
    if (b.implicitMode && !this.hasImplicit(h, b.accountId)) h.implicitAccounts.delete(b.accountId);
  }

  private hasImplicit(h: HostState, accountId: number): boolean {
    for (const byHost of this.vms.values()) {
      const b = byHost.get(h.id);
      if (b && b.accountId === accountId && b.implicitMode) return true;
    }
    return false;
  }

  private podMap(maps: Map<number, Map<number, number>>, id: number): Map<number, number> {
    let m = maps.get(id);
    if (!m) {
      m = new Map();
      maps.set(id, m);
    }
    return m;
  }
}

function bump(map: Map<number, number>, key: number, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

/** The catalog defaults of every key placement reads. */
export function defaultPlacementSettings(): PlacementSettings {
  return globalPlacementSettings(new Map());
}

type ConfigRows = Map<string, string>;

const PLACEMENT_KEYS: readonly SettingKey[] = [
  'ha.tag',
  'implicit.host.tags',
  'cluster.threshold.enabled',
  'host.capacityType.to.order.clusters',
  'host.capacityType.to.order.clusters.cputomemoryweight',
  'apply.allocation.algorithm.to.pods',
  'vm.user.dispersion.weight',
  'start.retry',
  'capacity.skipcounting.hours',
  'xenserver.check.hvm',
  'allow.admin.vm.on.disabled.resources',
  'allow.router.on.disabled.resources',
  'vm.allocation.algorithm',
  'cluster.cpu.allocated.capacity.disablethreshold',
  'cluster.memory.allocated.capacity.disablethreshold',
  'storage.overprovisioning.factor',
  'pool.storage.capacity.disablethreshold',
  'pool.storage.allocated.capacity.disablethreshold',
];

async function loadConfiguration(db: Db): Promise<ConfigRows> {
  const rows = await db
    .selectFrom('configuration')
    .select(['name', 'scope', 'scopeId', 'value'])
    .where('name', 'in', PLACEMENT_KEYS as string[])
    .execute();
  return new Map(rows.map((r) => [`${r.name}|${r.scope}|${num(r.scopeId)}`, r.value]));
}

/** Most specific first: the given scopes in order, then global, then the catalog default. */
function resolve<K extends SettingKey>(
  config: ConfigRows,
  key: K,
  scopes: ReadonlyArray<[string, number]>,
): SettingValue<K> {
  const allowed = settingDefinition(key).scopes as readonly string[];
  for (const [scope, id] of scopes) {
    if (!allowed.includes(scope)) continue;
    const v = config.get(`${key}|${scope}|${id}`);
    if (v !== undefined) return parseSettingValue(key, v);
  }
  const g = config.get(`${key}|global|0`);
  return g !== undefined ? parseSettingValue(key, g) : (settingDefinition(key).default as SettingValue<K>);
}

function globalPlacementSettings(config: ConfigRows): PlacementSettings {
  const r = <K extends SettingKey>(key: K) => resolve(config, key, []);
  return {
    haTag: String(r('ha.tag')).trim(),
    implicitHostTags: [...(r('implicit.host.tags') as readonly string[])],
    clusterThresholdEnabled: Boolean(r('cluster.threshold.enabled')),
    capacityTypeToOrderClusters: r('host.capacityType.to.order.clusters') as 'CPU' | 'RAM' | 'COMBINED',
    cpuToMemoryWeight: Number(r('host.capacityType.to.order.clusters.cputomemoryweight')),
    applyAllocationAlgorithmToPods: Boolean(r('apply.allocation.algorithm.to.pods')),
    userDispersionWeight: Number(r('vm.user.dispersion.weight')),
    startRetry: Number(r('start.retry')),
    skipCountingSeconds: Number(r('capacity.skipcounting.hours')),
    checkHvm: Boolean(r('xenserver.check.hvm')),
    allowAdminVmOnDisabledResources: Boolean(r('allow.admin.vm.on.disabled.resources')),
    allowRouterOnDisabledResources: Boolean(r('allow.router.on.disabled.resources')),
    allocationAlgorithm: String(r('vm.allocation.algorithm')),
  };
}
