import type { Allocator } from './allocation/allocator-contract.js';
import { ExcludeList } from './allocation/exclude-list.js';
import { CapacityIndex } from './capacity/capacity-index.js';
import { type CapacityReportQuery, type CapacityReportRow, capacityReport } from './capacity/capacity-report.js';
import { CapacityService } from './capacity/capacity-service.js';
import type { Caller, Clock, Logger } from './context.js';
import { CloudContext, ResourceGuards, silentLogger, systemClock } from './context.js';
import { DriverRegistry } from './driver/driver-registry.js';
import type { HypervisorDriver } from './driver/hypervisor-driver.js';
import type { NetworkDeviceDriver } from './driver/network-device-driver.js';
import { ResourceUnavailableError } from './errors.js';
import { EventBus } from './events/event-bus.js';
import type { GuestVlanService } from './ipam/guest-vlans.js';
import { IpAllocator } from './ipam/ip-allocator.js';
import { PublicIpRangeService } from './ipam/ip-ranges.js';
import { createNetworkLayer, type NetworkLayer } from './network/network-layer.js';
import { AffinityGroupService } from './orchestration/affinity-groups.js';
import { BackgroundTasks } from './orchestration/background-tasks.js';
import { DedicationService } from './orchestration/dedications.js';
import { HostReconciler } from './orchestration/host-reconciler.js';
import type { ImageStoreDriver } from './orchestration/image-store-driver.js';
import { JobService } from './orchestration/jobs.js';
import { ManagementServer } from './orchestration/management-server.js';
import { Recovery, type RecoveryOptions, type RecoveryReport } from './orchestration/recovery.js';
import { SnapshotService } from './orchestration/snapshots.js';
import { SshKeyPairService } from './orchestration/ssh-keypairs.js';
import { defaultPoolChooser } from './orchestration/storage-pool-chooser.js';
import { TemplateStorageService } from './orchestration/templates-storage.js';
import { VirtualMachineService } from './orchestration/virtual-machines.js';
import { PlacementIndex } from './orchestration/vm-placement.js';
import { VmVolumes } from './orchestration/vm-volumes.js';
import { VolumeService } from './orchestration/volumes.js';
import { HypervisorCapabilityService } from './resources/capabilities.js';
import { ClusterService } from './resources/clusters.js';
import { EventService } from './resources/events.js';
import { HostService } from './resources/hosts.js';
import { ImageStoreService } from './resources/image-stores.js';
import { OfferingService } from './resources/offerings.js';
import { PhysicalNetworkService } from './resources/physical-networks.js';
import { PodService } from './resources/pods.js';
import { ResourceLimitService } from './resources/resource-limits.js';
import { StoragePoolService } from './resources/storage-pools.js';
import { TemplateService } from './resources/templates.js';
import { TenancyService } from './resources/tenancy.js';
import { ZoneService } from './resources/zones.js';
import { SettingsService } from './settings/settings-service.js';
import type { Store } from './store/store.js';

export interface CloudOptions {
  /** `sqliteStore({ file })`, `sqliteStore()` (in memory) or `postgresStore({ connectionString })`. */
  store: Store;
  /** One driver per hypervisor type the cloud runs. */
  hypervisors?: HypervisorDriver[];
  /** Firewall and load-balancer devices (SRX, F5, NetScaler). */
  networkDevices?: NetworkDeviceDriver[];
  /**
   * Places VMs and their disks: `verticalAllocator()`, `horizontalAllocator()`, … from
   * `@stratus/allocator`, or your own. Required for deploying and starting VMs.
   */
  allocator?: Allocator;
  /**
   * Secondary storage I/O (template downloads): `localImageStoreDriver({ root })` for a mounted
   * NFS export, `simulatedImageStore()` from `@stratus/driver-simulator`, or your own.
   */
  imageStore?: ImageStoreDriver;
  clock?: Clock;
  /** pino-compatible; secrets are never logged. */
  logger?: Logger;
}

/**
 * What one process keeps for a cloud, shared by every caller's view of it: this process's
 * management-server identity, the placement index, the job queues, the IPAM and VLAN indexes.
 */
interface CloudRuntime {
  server: ManagementServer;
  placement: PlacementIndex;
  imageStore: ImageStoreDriver;
  jobs: JobService;
  network: NetworkLayer;
  ips: IpAllocator;
}

/**
 * A cloud: the services over one store, one event bus and one set of drivers. Create it with
 * {@link createCloud}; act as another account with {@link Cloud.as}.
 */
export class Cloud {
  readonly zones: ZoneService;
  readonly pods: PodService;
  readonly clusters: ClusterService;
  readonly hosts: HostService;
  readonly storagePools: StoragePoolService;
  readonly imageStores: ImageStoreService;
  readonly physicalNetworks: PhysicalNetworkService;
  readonly offerings: OfferingService;
  readonly templates: TemplateService;
  readonly tenancy: TenancyService;
  /** Account and domain resource limits (CloudStack's updateResourceLimit). */
  readonly limits: ResourceLimitService;
  readonly settings: SettingsService;
  readonly capabilities: HypervisorCapabilityService;
  readonly events: EventService;
  readonly capacity: CapacityService;
  readonly publicIpRanges: PublicIpRangeService;
  readonly guestVlans: GuestVlanService;
  /** Network offerings, guest networks, public IPs, rules, security groups, VPCs, zone readiness. */
  readonly network: NetworkLayer;
  readonly jobs: JobService;
  readonly sshKeyPairs: SshKeyPairService;
  /** Template copies on secondary and primary storage: download, readiness per zone, staging. */
  readonly templateStorage: TemplateStorageService;
  readonly volumes: VolumeService;
  readonly snapshots: SnapshotService;
  /** Virtual machines: deploy, start, stop, reboot, destroy, recover, expunge, migrate… */
  readonly vms: VirtualMachineService;
  /** Pings hosts and reconciles VM power states. */
  readonly reconciler: HostReconciler;
  /** The periodic work of a management server; `tasks.start()` runs it on timers. */
  readonly tasks: BackgroundTasks;
  /** Crash recovery: settles what a dead management server left half-done (see {@link Cloud.recover}). */
  readonly recovery: Recovery;
  /** Host affinity and anti-affinity groups (and the explicit-dedication groups dedications create). */
  readonly affinityGroups: AffinityGroupService;
  /** Explicit dedication of zones, pods, clusters and hosts to a domain or an account (root admin). */
  readonly dedications: DedicationService;

  constructor(
    readonly context: CloudContext,
    private readonly runtime: CloudRuntime,
    network: NetworkLayer = runtime.network,
  ) {
    this.zones = new ZoneService(context);
    this.pods = new PodService(context);
    this.clusters = new ClusterService(context);
    this.hosts = new HostService(context);
    this.storagePools = new StoragePoolService(context);
    this.imageStores = new ImageStoreService(context);
    this.physicalNetworks = new PhysicalNetworkService(context);
    this.offerings = new OfferingService(context);
    this.templates = new TemplateService(context);
    this.tenancy = new TenancyService(context);
    this.limits = new ResourceLimitService(context);
    this.settings = new SettingsService(context);
    this.capabilities = new HypervisorCapabilityService(context);
    this.events = new EventService(context);
    this.capacity = new CapacityService(context, this.settings);
    this.publicIpRanges = new PublicIpRangeService(context, runtime.ips);
    this.network = network;
    this.guestVlans = this.network.deps.vlans;
    this.jobs = runtime.jobs.withContext(context);
    this.sshKeyPairs = new SshKeyPairService(context);
    this.templateStorage = new TemplateStorageService(context, this.jobs, runtime.imageStore);
    const allocator = runtime.placement.allocator;
    this.volumes = new VolumeService(context, this.jobs, this.templateStorage, this.capacity, {
      chooser: defaultPoolChooser(allocator?.storagePoolAllocator, () => new ExcludeList()),
    });
    this.snapshots = new SnapshotService(context, this.jobs, this.capacity);
    this.vms = new VirtualMachineService(
      context,
      this.jobs,
      runtime.placement,
      this.capacity,
      this.network.networks,
      this.network.offerings,
      this.network.securityGroups,
      new VmVolumes(this.volumes, this.templateStorage),
      this.settings,
    );
    this.reconciler = new HostReconciler(context, this.vms, runtime.placement, this.settings);
    const second = 1000;
    this.tasks = new BackgroundTasks(context, this.settings, [
      {
        name: 'reconcile-hosts',
        every: { key: 'ping.interval', unitMs: second },
        run: () => this.reconciler.reconcile(),
      },
      {
        name: 'recover-orphaned-jobs',
        every: { key: 'ping.interval', unitMs: second },
        run: () => this.jobs.recoverOrphans(),
      },
      {
        name: 'network-gc',
        every: { key: 'network.gc.interval', unitMs: second },
        run: () => this.network.networks.collectGarbage(),
      },
      { name: 'expunge', every: { key: 'expunge.interval', unitMs: second }, run: () => this.vms.expungeDue() },
      {
        name: 'snapshot-policies',
        every: { key: 'snapshot.poll.interval', unitMs: second },
        run: () => this.snapshots.runDueSnapshotPolicies(),
      },
      {
        name: 'expire-reservations',
        every: { key: 'capacity.check.period', unitMs: 1 },
        run: () =>
          context.write(async (w) => {
            const deltas = await this.capacity.expireReservations(w);
            w.afterCommit(() => runtime.placement.apply(deltas));
            return deltas.length;
          }),
      },
      {
        name: 'storage-cleanup',
        every: { key: 'storage.cleanup.interval', unitMs: second },
        run: () => this.volumes.runStorageCleanup(),
      },
      {
        name: 'purge-jobs',
        every: { key: 'job.expire.minutes', unitMs: 60 * second },
        run: async () => this.jobs.purgeExpired(await this.settings.get('job.expire.minutes')),
      },
    ]);
    this.affinityGroups = new AffinityGroupService(context);
    this.dedications = new DedicationService(context, runtime.placement, this.settings);
    this.recovery = new Recovery({
      ctx: context,
      server: runtime.server,
      jobs: this.jobs,
      vms: this.vms,
      network: this.network,
      volumes: this.volumes,
      capacity: this.capacity,
      placement: runtime.placement,
    });
  }

  /**
   * Brings every VM, volume, NIC and network to a stable state after a crash and rebuilds the
   * capacity counters from the VMs' bookings. Run it at start-up; `{ assumeOthersDead: true }`
   * when this process is the only writer (SQLite) and the previous one is known to be gone.
   */
  recover(options: RecoveryOptions = {}): Promise<RecoveryReport> {
    return this.recovery.run(options);
  }

  get store(): Store {
    return this.context.store;
  }

  get drivers(): DriverRegistry {
    return this.context.drivers;
  }

  /** This process's management-server identity (its jobs are recovered by others if it dies). */
  get managementServer(): ManagementServer {
    return this.runtime.server;
  }

  /**
   * Capacity per zone, pod, cluster or host — total, used, reserved, percent — like CloudStack's
   * listCapacity, read fresh from the store (so it includes other processes' bookings).
   */
  async capacityReport(query: CapacityReportQuery): Promise<CapacityReportRow[]> {
    return capacityReport(await CapacityIndex.load(this.context.db, { clock: () => this.context.clock.now() }), query);
  }

  /** The same cloud acting on behalf of `caller` (permissions and event ownership follow it). */
  as(caller: Caller): Cloud {
    return new Cloud(this.context.withCaller(caller), this.runtime, this.runtime.network.as(caller));
  }

  /** Stops the background tasks and this process's heartbeat, and closes the store. */
  async close(): Promise<void> {
    this.tasks.stop();
    await this.runtime.server.stop().catch(() => undefined);
    await this.context.store.close();
  }
}

/** Opens (and migrates) the store and wires the drivers and the allocator into a {@link Cloud}. */
export async function createCloud(options: CloudOptions): Promise<Cloud> {
  await options.store.migrate();
  const logger = options.logger ?? silentLogger;
  const drivers = new DriverRegistry();
  for (const driver of options.hypervisors ?? []) drivers.registerHypervisor(driver);
  for (const device of options.networkDevices ?? []) drivers.registerNetworkDevice(device);
  const bus = new EventBus((error, event) => logger.error({ err: error, event: event.type }, 'event listener failed'));
  const context = new CloudContext(
    options.store,
    bus,
    drivers,
    options.clock ?? systemClock,
    logger,
    undefined,
    new ResourceGuards(),
  );
  const server = new ManagementServer(context);
  await server.start();
  const ips = new IpAllocator(context);
  const network = createNetworkLayer(context, { ips });
  context.hooks.onZoneEnable((w, zone) => network.readiness.requireReady(zone.id, w.db));
  const runtime: CloudRuntime = {
    server,
    placement: new PlacementIndex(context, options.allocator),
    imageStore: options.imageStore ?? unconfiguredImageStore,
    jobs: new JobService(context, server),
    network,
    ips,
  };
  return new Cloud(context, runtime);
}

/** Without an image store, template downloads fail with a clear error. */
function unconfigured(operation: string): never {
  throw new ResourceUnavailableError(
    `no image store is configured (createCloud({ imageStore })); cannot ${operation}`,
    { field: 'imageStore' },
  );
}
const unconfiguredImageStore: ImageStoreDriver = {
  download: async () => unconfigured('download a template'),
  delete: async () => unconfigured('delete from secondary storage'),
  stat: async () => unconfigured('read secondary storage'),
};
