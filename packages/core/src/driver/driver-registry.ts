import { InvalidParameterError, ResourceUnavailableError } from '../errors.js';
import {
  type HypervisorDriver,
  OPTIONAL_OPERATION_CAPABILITY,
  REQUIRED_HYPERVISOR_OPERATIONS,
} from './hypervisor-driver.js';
import type { NetworkDeviceDriver } from './network-device-driver.js';

/** Drivers to register when a {@link DriverRegistry} is made. */
export interface DriverRegistryInit {
  hypervisors?: readonly HypervisorDriver[];
  networkDevices?: readonly NetworkDeviceDriver[];
}

/** The registered driver names, for diagnostics. */
export interface DriverListing {
  hypervisors: string[];
  networkDevices: string[];
}

const key = (name: string): string => name.toLowerCase();

/**
 * The operations a hypervisor driver lacks: a required one that is not a method, or an optional one whose
 * capability flag the driver declares true while it has no such method.
 */
export function missingOperations(driver: HypervisorDriver): string[] {
  const methods = driver as unknown as Record<string, unknown>;
  const missing: string[] = REQUIRED_HYPERVISOR_OPERATIONS.filter((op) => typeof methods[op] !== 'function');
  const caps = driver.capabilities() as unknown as Record<string, unknown>;
  for (const [op, flag] of Object.entries(OPTIONAL_OPERATION_CAPABILITY))
    if (caps[flag] === true && typeof methods[op] !== 'function') missing.push(`${op} (capability ${flag})`);
  return missing;
}

function isNetworkDeviceDriver(driver: HypervisorDriver | NetworkDeviceDriver): driver is NetworkDeviceDriver {
  return 'provider' in driver && typeof driver.provider === 'string';
}

/**
 * The drivers a cloud was wired with: hypervisor drivers by hypervisor type, network-device drivers by
 * provider name. Names compare case-insensitively (`kvm` finds `KVM`), as CloudStack's do; a second driver
 * for the same name is refused.
 */
export class DriverRegistry {
  private readonly hypervisorDrivers = new Map<string, HypervisorDriver>();
  private readonly deviceDrivers = new Map<string, NetworkDeviceDriver>();

  constructor(init: DriverRegistryInit = {}) {
    for (const driver of init.hypervisors ?? []) this.registerHypervisor(driver);
    for (const driver of init.networkDevices ?? []) this.registerNetworkDevice(driver);
  }

  /** Register a hypervisor or network-device driver; see {@link registerHypervisor}, {@link registerNetworkDevice}. */
  register(driver: HypervisorDriver | NetworkDeviceDriver): this {
    return isNetworkDeviceDriver(driver) ? this.registerNetworkDevice(driver) : this.registerHypervisor(driver);
  }

  /** Register a hypervisor driver. @throws InvalidParameterError when its type is empty or already registered. */
  registerHypervisor(driver: HypervisorDriver): this {
    const type = driver.type;
    if (typeof type !== 'string' || type.trim() === '') {
      throw new InvalidParameterError('hypervisor.type', type, 'a hypervisor driver needs a non-empty type');
    }
    const missing = missingOperations(driver);
    if (missing.length > 0) {
      throw new InvalidParameterError(
        'hypervisor',
        type,
        `the ${type} driver lacks ${missing.join(', ')} (required by the HypervisorDriver contract or by a capability it declares)`,
      );
    }
    if (this.hypervisorDrivers.has(key(type))) {
      throw new InvalidParameterError(
        'hypervisor.type',
        type,
        'a driver for this hypervisor type is already registered',
      );
    }
    this.hypervisorDrivers.set(key(type), driver);
    return this;
  }

  /** Register a network-device driver. @throws InvalidParameterError when its provider is empty or already registered. */
  registerNetworkDevice(driver: NetworkDeviceDriver): this {
    const provider = driver.provider;
    if (typeof provider !== 'string' || provider.trim() === '') {
      throw new InvalidParameterError('networkDevice.provider', provider, 'a network-device driver needs a provider');
    }
    if (this.deviceDrivers.has(key(provider))) {
      throw new InvalidParameterError(
        'networkDevice.provider',
        provider,
        'a driver for this network-device provider is already registered',
      );
    }
    this.deviceDrivers.set(key(provider), driver);
    return this;
  }

  /** The driver of a hypervisor type. @throws ResourceUnavailableError naming the type when none is registered. */
  hypervisor(type: string): HypervisorDriver {
    const driver = this.hypervisorDrivers.get(key(type));
    if (driver === undefined) {
      throw new ResourceUnavailableError(
        `no hypervisor driver registered for type ${JSON.stringify(type)} (registered: ${this.names(this.hypervisorDrivers)})`,
        { field: 'hypervisor', value: type },
      );
    }
    return driver;
  }

  /** Whether a driver for the hypervisor type is registered. */
  hasHypervisor(type: string): boolean {
    return this.hypervisorDrivers.has(key(type));
  }

  /** Every hypervisor driver, in registration order. */
  hypervisors(): HypervisorDriver[] {
    return [...this.hypervisorDrivers.values()];
  }

  /** The driver of a network-device provider. @throws ResourceUnavailableError naming the provider when none is registered. */
  networkDevice(provider: string): NetworkDeviceDriver {
    const driver = this.deviceDrivers.get(key(provider));
    if (driver === undefined) {
      throw new ResourceUnavailableError(
        `no network-device driver registered for provider ${JSON.stringify(provider)} (registered: ${this.names(this.deviceDrivers)})`,
        { field: 'provider', value: provider },
      );
    }
    return driver;
  }

  /** Whether a driver for the network-device provider is registered. */
  hasNetworkDevice(provider: string): boolean {
    return this.deviceDrivers.has(key(provider));
  }

  /** Every network-device driver, in registration order. */
  networkDevices(): NetworkDeviceDriver[] {
    return [...this.deviceDrivers.values()];
  }

  /** The registered hypervisor types and device providers, as the drivers spell them. */
  list(): DriverListing {
    return {
      hypervisors: this.hypervisors().map((d) => d.type),
      networkDevices: this.networkDevices().map((d) => d.provider),
    };
  }

  private names(map: Map<string, HypervisorDriver | NetworkDeviceDriver>): string {
    const names = [...map.values()].map((d) => (isNetworkDeviceDriver(d) ? d.provider : d.type));
    return names.length === 0 ? 'none' : names.join(', ');
  }
}
