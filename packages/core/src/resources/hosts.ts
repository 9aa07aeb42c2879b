import ipaddr from 'ipaddr.js';
import type { CloudContext, Writer } from '../context.js';
import type { DriverCredentials, HostReport } from '../driver/host-report.js';
import type { HypervisorDriver } from '../driver/hypervisor-driver.js';
import type { HostRef } from '../driver/operation-context.js';
import type { PoolSpec } from '../driver/storage-spec.js';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../errors.js';
import { OS_CATEGORIES, type OsCategory } from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Cluster, Host } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import {
  HOST_LOST_CONNECTION_STATUSES,
  HOST_STATUS_INITIAL_STATE,
  type HostResourceEvent,
  type HostStatusEvent,
  hostResourceStateMachine,
  hostStatusStateMachine,
} from '../model/state-machines/index.js';
import { ipv4ToInt, parseTags, requireOneOf, requireString } from '../model/validate.js';
import { decoder, json } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { capabilityFor } from './capabilities.js';
import { clusterRepo } from './clusters.js';
import { checkHostTrafficLabels } from './host-traffic-labels.js';
import { requireRootAdmin } from './permissions.js';
import { podRepo } from './pods.js';
import { countLive, Repo } from './repo.js';
import { poolSpecOf, sharedPoolsOf } from './storage-pools.js';
import { zoneRepo } from './zones.js';

export const hostRepo = new Repo<Host>(
  'hosts',
  'Host',
  decoder<Host>({ json: ['hostTags', 'capabilities', 'details'], date: ['lastPinged'] }),
);

/** How core names a host to its driver. */
export const hostRef = (host: Pick<Host, 'guid' | 'name' | 'privateIp' | 'url'>): HostRef => ({
  guid: host.guid,
  name: host.name,
  ...(host.privateIp ? { ip: host.privateIp } : {}),
  url: host.url,
});

/**
 * Mounts the primary storage a host of `cluster` uses (the cluster's shared pools and the zone-wide
 * pools of its hypervisor) on each of `hosts`, as CloudStack's agent does on every connect
 * (`ModifyStoragePoolCommand`); what was mounted is pushed on `mounted`, for the caller to undo.
 */
async function mountSharedPools(
  db: Db,
  driver: HypervisorDriver,
  cluster: Cluster,
  hosts: readonly HostRef[],
  mounted: Array<{ ref: HostRef; spec: PoolSpec }> = [],
): Promise<void> {
  for (const pool of await sharedPoolsOf(db, cluster)) {
    const spec = poolSpecOf(pool);
    for (const ref of hosts) {
      await driver.createStoragePool(ref, spec);
      mounted.push({ ref, spec });
    }
  }
}

/** A host to add (CloudStack's addHost): its cluster, the driver's connection URL and credentials, and tags. */
export interface AddHostInput {
  clusterId: Ref;
  /** Where the driver connects, e.g. `qemu+ssh://root@10.0.0.11/system` or `sim://host1`. */
  url: string;
  credentials?: DriverCredentials;
  hostTags?: string | string[];
  osCategoryPreference?: OsCategory;
}

/**
 * Hypervisor hosts (spec/resource-model.md §2.4, §12.2–12.3). A host is added by connecting to it
 * through its cluster's driver: CPU, speed and memory come from the driver's report, never from
 * the caller. The cluster's hypervisor type, maximum host count and CPU homogeneity are checked,
 * and management IPs stay unique cloud-wide and outside every pod's reserved range.
 */
export class HostService {
  constructor(private readonly ctx: CloudContext) {}

  async get(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return hostRepo.get(this.ctx.db, id);
  }

  list(
    filter: { zoneId?: Ref; podId?: Ref; clusterId?: Ref; status?: string; resourceState?: string } & ListOptions = {},
  ): Promise<Host[]> {
    return hostRepo.listFor(this.ctx, filter, { zoneId: zoneRepo, podId: podRepo, clusterId: clusterRepo });
  }

  /** Connects to the host(s) behind `url` and adds them to the cluster (several for a Xen pool). */
  async add(input: AddHostInput): Promise<Host[]> {
    requireRootAdmin(this.ctx.caller, 'add a host');
    const cluster = await clusterRepo.get(this.ctx.db, input.clusterId, 'clusterId');
    if (cluster.managedState !== 'Managed')
      throw new InvalidStateError(`cluster ${cluster.name} is Unmanaged`, { field: 'clusterId', value: cluster.id });
    const url = requireString('url', input.url);
    const hostTags = parseTags('hostTags', input.hostTags);
    const osCategoryPreference =
      input.osCategoryPreference === undefined
        ? null
        : requireOneOf('osCategoryPreference', input.osCategoryPreference, OS_CATEGORIES);
    const driver = this.ctx.drivers.hypervisor(cluster.hypervisorType);
    const reports = await driver.connect({
      url,
      clusterRef: cluster.uuid,
      hostTags,
      ...(input.credentials ? { credentials: input.credentials } : {}),
    });
    const attached: Array<{ ref: HostRef; spec: PoolSpec }> = [];
    try {
      if (reports.length === 0) throw new InvalidParameterError('url', url, 'the driver found no host there');
      await checkHostTrafficLabels(this.ctx.db, driver, cluster, url, reports);
      await mountSharedPools(
        this.ctx.db,
        driver,
        cluster,
        reports.map((r) => ({ guid: r.guid, name: r.name, ip: r.ip, url: r.url ?? url })),
        attached,
      );
      return await this.ctx.write(async (w) => {
        await w.lock(`cluster-hosts:${cluster.id}`);
        await w.lock('host-addresses');
        await this.checkReports(w, cluster, url, reports);
        const hosts: Host[] = [];
        for (const report of reports)
          hosts.push(
            await this.insert(
              w,
              cluster,
              url,
              report,
              [...new Set([...hostTags, ...report.hostTags])],
              osCategoryPreference,
            ),
          );
        return hosts;
      });
    } catch (error) {
      // Release what connect took: the driver forgets hosts core did not accept, but never a host
      // core already manages (adding a host twice must leave the live one connected).
      const managed = new Set<string>();
      const guids = reports.map((r) => r.guid);
      if (guids.length > 0) {
        const rows = await this.ctx.db
          .selectFrom('hosts')
          .select('guid')
          .where('guid', 'in', guids)
          .where('removed', 'is', null)
          .execute();
        for (const row of rows) managed.add(row.guid);
      }
      await Promise.allSettled(
        attached.filter((a) => !managed.has(a.ref.guid)).map((a) => driver.deleteStoragePool(a.ref, a.spec)),
      );
      await Promise.allSettled(
        reports
          .filter((r) => !managed.has(r.guid))
          .map((r) => driver.disconnect({ guid: r.guid, name: r.name, ip: r.ip, url: r.url ?? url })),
      );
      throw error;
    }
  }

  private async checkReports(w: Writer, cluster: Cluster, url: string, reports: HostReport[]): Promise<void> {
    const existing = await hostRepo.list(w.db, { clusterId: cluster.id });
    for (const report of reports) {
      if (report.hypervisorType !== cluster.hypervisorType) {
        throw new InvalidParameterError(
          'url',
          url,
          `host ${report.name} runs ${report.hypervisorType}, cluster ${cluster.name} is ${cluster.hypervisorType}`,
        );
      }
      if (!report.capabilities.hvm)
        throw new InvalidParameterError('url', url, `host ${report.name} has no hardware virtualisation (HVM)`);
      if ((await hostRepo.count(w.db, { guid: report.guid })) > 0)
        throw new InvalidParameterError('url', url, `host ${report.name} (guid ${report.guid}) is already added`);
      const model = report.capabilities.cpuModel;
      const other = existing.find(
        (h) => typeof h.capabilities.cpuModel === 'string' && model && h.capabilities.cpuModel !== model,
      );
      if (other) {
        throw new InvalidParameterError(
          'url',
          url,
          `host ${report.name} has CPU ${model}, cluster ${cluster.name} has ${String(other.capabilities.cpuModel)} (clusters are homogeneous)`,
        );
      }
      await this.checkAddress(w, url, report.ip);
    }
    const capability = await capabilityFor(w.db, cluster.hypervisorType, reports[0]?.hypervisorVersion);
    if (existing.length + reports.length > capability.maxHostsPerCluster) {
      throw new InvalidParameterError(
        'clusterId',
        cluster.id,
        `cluster ${cluster.name} would have ${existing.length + reports.length} hosts; ${cluster.hypervisorType} allows at most ${capability.maxHostsPerCluster}`,
      );
    }
  }

  /** Management IPs are unique cloud-wide and never inside a pod's reserved system range. */
  private async checkAddress(w: Writer, url: string, ip: string): Promise<void> {
    if (!ipaddr.IPv4.isValidFourPartDecimal(ip))
      throw new InvalidParameterError(
        'url',
        url,
        `the driver reported management address ${JSON.stringify(ip)} for the host; a dotted-quad IPv4 address is required`,
      );
    if ((await hostRepo.count(w.db, { privateIp: ip })) > 0)
      throw new InvalidParameterError('url', url, `management IP ${ip} is already used by another host`);
    const n = ipv4ToInt(ip);
    for (const pod of await podRepo.list(w.db)) {
      if (n >= ipv4ToInt(pod.startIp) && n <= ipv4ToInt(pod.endIp)) {
        throw new InvalidParameterError(
          'url',
          url,
          `management IP ${ip} lies in pod ${pod.name}'s reserved system range ${pod.startIp}-${pod.endIp}`,
        );
      }
    }
  }

  private async insert(
    w: Writer,
    cluster: Cluster,
    url: string,
    report: HostReport,
    hostTags: string[],
    osCategoryPreference: OsCategory | null,
  ): Promise<Host> {
    const row = await w.db
      .insertInto('hosts')
      .values({
        uuid: newUuid(),
        name: report.name,
        guid: report.guid,
        url: report.url ?? url,
        type: 'Routing',
        zoneId: cluster.zoneId,
        podId: cluster.podId,
        clusterId: cluster.id,
        hypervisorType: report.hypervisorType,
        hypervisorVersion: report.hypervisorVersion,
        privateIp: report.ip,
        publicIp: null,
        storageIp: null,
        cpus: report.cpus,
        cpuSockets: report.cpuSockets,
        speed: report.cpuMhz,
        totalMemory: report.memoryBytes,
        reservedMemory: report.reservedMemoryBytes,
        hostTags: json(hostTags),
        osCategoryPreference,
        // new --AgentConnected--> Connecting, then Ready → Up below; ResourceState new --InternalCreated--> Enabled.
        status: HOST_STATUS_INITIAL_STATE,
        resourceState: hostResourceStateMachine.transition('Creating', 'InternalCreated'),
        lastPinged: w.now,
        capabilities: json(report.capabilities),
        details: json({ ...report.details, ...(report.poolUuid ? { poolUuid: report.poolUuid } : {}) }),
        created: w.now,
        removed: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const host = hostRepo.decode(row);
    await w.event({
      type: 'HOST.ADD',
      description: `host ${host.name} (${host.cpus}×${host.speed} MHz, ${host.totalMemory} B) added to cluster ${cluster.name}`,
      resourceType: 'Host',
      resourceId: host.id,
      resourceUuid: host.uuid,
    });
    await this.statusIn(w, host, 'Ready');
    if (report.localStorage.length > 0) {
      const zone = await zoneRepo.get(w.db, cluster.zoneId);
      if (zone.localStorageEnabled) {
        for (const local of report.localStorage) {
          await w.db
            .insertInto('storagePools')
            .values({
              uuid: local.uuid,
              name: local.name,
              scope: 'HOST',
              zoneId: cluster.zoneId,
              podId: cluster.podId,
              clusterId: cluster.id,
              hostId: host.id,
              hypervisorType: cluster.hypervisorType,
              poolType: local.type,
              hostAddress: report.ip,
              path: local.path,
              url: `file://${report.ip}${local.path}`,
              tags: json([]),
              capacityBytes: local.capacityBytes,
              usedBytes: local.capacityBytes - local.availableBytes,
              capacityIops: null,
              status: 'Up',
              created: w.now,
              removed: null,
            })
            .execute();
        }
      }
    }
    return hostRepo.get(w.db, host.id);
  }

  /**
   * CloudStack's `reconnectHost`: the driver's session to the host is closed (`disconnect`; the host goes
   * `Disconnected`, its VMs left alone), then the driver connects again to the host's URL, must find the same host
   * (same guid), and the zone's traffic labels are checked on it (`checkNetwork`); the host goes
   * `Connecting → Up`. When the connection fails the error is thrown as the driver gave it and the host stays
   * `Disconnected` (a later ping or reconnect brings it back). `credentials` are needed where the driver cannot
   * reconnect without them (core does not keep them).
   */
  async reconnect(id: Ref, options: { credentials?: DriverCredentials } = {}): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    requireRootAdmin(this.ctx.caller, 'reconnect a host');
    const host = await hostRepo.get(this.ctx.db, id);
    if (hostStatusStateMachine.next(host.status, 'ShutdownRequested') === undefined)
      throw new InvalidStateError(`host ${host.name} is ${host.status}; it cannot be reconnected`, {
        field: 'id',
        value: id,
      });
    const cluster = await clusterRepo.get(this.ctx.db, host.clusterId);
    const driver = this.ctx.drivers.hypervisor(cluster.hypervisorType);
    await driver.disconnect(hostRef(host));
    await this.updateStatus(id, 'ShutdownRequested');
    const reports = await driver.connect({
      url: host.url,
      clusterRef: cluster.uuid,
      hostTags: host.hostTags,
      ...(options.credentials ? { credentials: options.credentials } : {}),
    });
    const report = reports.find((r) => r.guid === host.guid);
    if (report === undefined)
      throw new InvalidStateError(
        `host ${host.name}: connecting to ${host.url} found ${reports.map((r) => r.guid).join(', ') || 'no host'}, not guid ${host.guid}`,
        { field: 'id', value: id },
      );
    await checkHostTrafficLabels(this.ctx.db, driver, cluster, host.url, [report]);
    await mountSharedPools(this.ctx.db, driver, cluster, [hostRef(host)]);
    return this.ctx.write(async (w) => {
      await this.statusIn(w, await hostRepo.get(w.db, id), 'AgentConnected');
      await this.statusIn(w, await hostRepo.get(w.db, id), 'Ready');
      await w.event({
        type: 'HOST.RECONNECT',
        description: `host ${host.name} reconnected`,
        resourceType: 'Host',
        resourceId: id,
        resourceUuid: host.uuid,
      });
      return hostRepo.get(w.db, id);
    });
  }

  /** Applies a connection-status event (ping, timeout, disconnect…) with compare-and-set. */
  async updateStatus(id: Ref, event: HostStatusEvent): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const host = await hostRepo.get(w.db, id);
      await this.statusIn(w, host, event);
      return hostRepo.get(w.db, id);
    });
  }

  private async statusIn(w: Writer, host: Host, event: HostStatusEvent): Promise<void> {
    await w.transition({
      table: 'hosts',
      id: host.id,
      machine: hostStatusStateMachine,
      event,
      column: 'status',
      set: event === 'Ping' || event === 'Ready' ? { lastPinged: w.now } : {},
      resource: { type: 'Host', uuid: host.uuid },
      eventPrefix: 'HOST',
    });
  }

  /** Applies an admin ResourceState event (Enable, Disable, …) with compare-and-set. */
  private resourceEvent(id: number, event: HostResourceEvent, type: string): Promise<Host> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'change a host');
      const host = await hostRepo.get(w.db, id);
      await this.resourceIn(w, host, event, type);
      return hostRepo.get(w.db, id);
    });
  }

  private async resourceIn(w: Writer, host: Host, event: HostResourceEvent, type?: string) {
    const { to } = await w.transition({
      table: 'hosts',
      id: host.id,
      machine: hostResourceStateMachine,
      event,
      column: 'resourceState',
      resource: { type: 'Host', uuid: host.uuid },
      eventPrefix: 'HOST',
    });
    if (type)
      await w.event({
        type,
        description: `host ${host.name}: ${event} → ${to}`,
        resourceType: 'Host',
        resourceId: host.id,
        resourceUuid: host.uuid,
      });
    return to;
  }

  async enable(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return this.resourceEvent(id, 'Enable', 'HOST.ENABLE');
  }

  async disable(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return this.resourceEvent(id, 'Disable', 'HOST.DISABLE');
  }

  /**
   * Admin asks for maintenance: the host stops taking VMs (PrepareForMaintenance). A host with no
   * VMs on it enters Maintenance at once; otherwise it stays in PrepareForMaintenance until its
   * VMs have been migrated away (an orchestration job), which then calls {@link completeMaintenance}.
   * The driver prepares the host first (`prepareMaintenance`, CloudStack's `MaintainCommand`); if it cannot,
   * nothing changes.
   */
  async prepareForMaintenance(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    await this.tellDriver(id, 'AdminAskMaintenance', 'prepareMaintenance');
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'put a host into maintenance');
      const host = await hostRepo.get(w.db, id);
      await this.resourceIn(w, host, 'AdminAskMaintenance', 'MAINT.PREPARE');
      if ((await this.vmCount(w, id)) === 0)
        await this.resourceIn(w, await hostRepo.get(w.db, id), 'InternalEnterMaintenance');
      return hostRepo.get(w.db, id);
    });
  }

  /** PrepareForMaintenance → Maintenance once no VM runs on the host. */
  async completeMaintenance(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const host = await hostRepo.get(w.db, id);
      const vms = await this.vmCount(w, id);
      if (vms > 0) throw new ResourceInUseError(`host ${host.name} still has ${vms} VM(s)`, { field: 'id', value: id });
      await this.resourceIn(w, host, 'InternalEnterMaintenance');
      return hostRepo.get(w.db, id);
    });
  }

  /**
   * Maintenance → Enabled (also from PrepareForMaintenance and its error states): the driver undoes its
   * maintenance steps (`cancelMaintenance`) first; if it cannot, nothing changes.
   */
  async cancelMaintenance(id: Ref): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    await this.tellDriver(id, 'AdminCancelMaintenance', 'cancelMaintenance');
    return this.resourceEvent(id, 'AdminCancelMaintenance', 'MAINT.CANCEL');
  }

  /**
   * The hypervisor side of a maintenance change (CloudStack sends `MaintainCommand` before the state moves): only
   * when the change is legal from the host's current state, so a refused request reaches no driver; a driver
   * failure is thrown as it is and leaves the host as it was.
   */
  private async tellDriver(
    id: number,
    event: 'AdminAskMaintenance' | 'AdminCancelMaintenance',
    operation: 'prepareMaintenance' | 'cancelMaintenance',
  ): Promise<void> {
    requireRootAdmin(this.ctx.caller, "change a host's maintenance");
    const host = await hostRepo.get(this.ctx.db, id);
    if (hostResourceStateMachine.next(host.resourceState, event) === undefined) return; // the write reports it
    if (!this.ctx.drivers.hasHypervisor(host.hypervisorType)) return;
    await this.ctx.drivers.hypervisor(host.hypervisorType)[operation](hostRef(host));
  }

  async update(
    id: Ref,
    patch: { hostTags?: string | string[]; osCategoryPreference?: OsCategory | null; name?: string },
  ): Promise<Host> {
    id = await hostRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'update a host');
      const host = await hostRepo.get(w.db, id);
      const set: Record<string, unknown> = {};
      if (patch.hostTags !== undefined) set.hostTags = json(parseTags('hostTags', patch.hostTags));
      if (patch.osCategoryPreference !== undefined) {
        set.osCategoryPreference =
          patch.osCategoryPreference === null
            ? null
            : requireOneOf('osCategoryPreference', patch.osCategoryPreference, OS_CATEGORIES);
      }
      if (patch.name !== undefined) set.name = requireString('name', patch.name, { max: 255 });
      if (Object.keys(set).length > 0) {
        await w.db.updateTable('hosts').set(set).where('id', '=', id).execute();
        await w.event({
          type: 'HOST.UPDATE',
          description: `host ${host.name} updated`,
          resourceType: 'Host',
          resourceId: id,
          resourceUuid: host.uuid,
          parameters: { changed: Object.keys(set) },
        });
      }
      return hostRepo.get(w.db, id);
    });
  }

  /**
   * Removes a host. It must be in Maintenance, or have lost its connection (Down, Alert,
   * Disconnected), and hold no VMs; its local storage pools must hold no volumes.
   */
  async delete(id: Ref): Promise<void> {
    id = await hostRepo.resolve(this.ctx.db, id);
    const host = await this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, 'delete a host');
      const host = await hostRepo.get(w.db, id);
      const lost = HOST_LOST_CONNECTION_STATUSES.has(host.status);
      if (host.resourceState !== 'Maintenance' && !lost) {
        throw new InvalidStateError(
          `host ${host.name} must be in Maintenance (or Down/Alert/Disconnected) to be removed; it is ${host.status}/${host.resourceState}`,
          { field: 'id', value: id },
        );
      }
      const vms = await this.vmCount(w, id);
      if (vms > 0) throw new ResourceInUseError(`host ${host.name} still has ${vms} VM(s)`, { field: 'id', value: id });
      const locals = await w.db
        .selectFrom('storagePools')
        .select('id')
        .where('hostId', '=', id)
        .where('removed', 'is', null)
        .execute();
      for (const pool of locals) {
        const volumes = await countLive(w.db, 'volumes', { poolId: Number(pool.id) });
        if (volumes > 0) {
          throw new ResourceInUseError(`host ${host.name}'s local storage still holds ${volumes} volume(s)`, {
            field: 'id',
            value: id,
          });
        }
      }
      if (host.resourceState === 'Maintenance') await this.resourceIn(w, host, 'DeleteHost');
      await w.db
        .updateTable('storagePools')
        .set({ removed: w.now, status: 'Removed' })
        .where('hostId', '=', id)
        .where('removed', 'is', null)
        .execute();
      await hostRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'HOST.DELETE',
        description: `host ${host.name} removed`,
        resourceType: 'Host',
        resourceId: id,
        resourceUuid: host.uuid,
      });
      return host;
    });
    const cluster = await clusterRepo.find(this.ctx.db, host.clusterId);
    if (cluster && this.ctx.drivers.hasHypervisor(cluster.hypervisorType)) {
      await this.ctx.drivers
        .hypervisor(cluster.hypervisorType)
        .disconnect(hostRef(host))
        .catch((error: unknown) => {
          this.ctx.logger.warn({ err: error, host: host.uuid }, 'driver disconnect after host removal failed');
        });
    }
  }

  /** VMs placed on the host (any state but Destroyed/Expunging/Error with no host). */
  private vmCount(w: Writer, hostId: number): Promise<number> {
    return countLive(w.db, 'vmInstances', { hostId });
  }
}
