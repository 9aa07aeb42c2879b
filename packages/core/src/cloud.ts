import type { Caller, Clock, Logger } from './context.js';
import { CloudContext, ResourceGuards, silentLogger, systemClock } from './context.js';
import { DriverRegistry } from './driver/driver-registry.js';
import type { HypervisorDriver } from './driver/hypervisor-driver.js';
import type { NetworkDeviceDriver } from './driver/network-device-driver.js';
import { EventBus } from './events/event-bus.js';
import { HypervisorCapabilityService } from './resources/capabilities.js';
import { ClusterService } from './resources/clusters.js';
import { EventService } from './resources/events.js';
import { HostService } from './resources/hosts.js';
import { ImageStoreService } from './resources/image-stores.js';
import { OfferingService } from './resources/offerings.js';
import { PhysicalNetworkService } from './resources/physical-networks.js';
import { PodService } from './resources/pods.js';
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
  clock?: Clock;
  /** pino-compatible; secrets are never logged. */
  logger?: Logger;
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
  readonly settings: SettingsService;
  readonly capabilities: HypervisorCapabilityService;
  readonly events: EventService;

  constructor(readonly context: CloudContext) {
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
    this.settings = new SettingsService(context);
    this.capabilities = new HypervisorCapabilityService(context);
    this.events = new EventService(context);
  }

  get store(): Store {
    return this.context.store;
  }

  get drivers(): DriverRegistry {
    return this.context.drivers;
  }

  /** The same cloud acting on behalf of `caller` (permissions and event ownership follow it). */
  as(caller: Caller): Cloud {
    return new Cloud(this.context.withCaller(caller));
  }

  /** Closes the store. */
  close(): Promise<void> {
    return this.context.store.close();
  }
}

/** Opens (and migrates) the store and wires the drivers into a {@link Cloud}. */
export async function createCloud(options: CloudOptions): Promise<Cloud> {
  await options.store.migrate();
  const logger = options.logger ?? silentLogger;
  const drivers = new DriverRegistry();
  for (const driver of options.hypervisors ?? []) drivers.registerHypervisor(driver);
  for (const device of options.networkDevices ?? []) drivers.registerNetworkDevice(device);
  const bus = new EventBus((error, event) => logger.error({ err: error, event: event.type }, 'event listener failed'));
  return new Cloud(
    new CloudContext(
      options.store,
      bus,
      drivers,
      options.clock ?? systemClock,
      logger,
      undefined,
      new ResourceGuards(),
    ),
  );
}
