import { SimulatorDriver } from './simulator-driver.js';
import type { SimulatorOptions } from './simulator-options.js';

/**
 * An in-memory hypervisor driver, like CloudStack's Simulator hypervisor: wire it in with
 * `createCloud({ hypervisors: [simulatorDriver()] })`, or `simulatorDriver({ type: 'KVM' })` to simulate a KVM
 * cloud. Hosts are added with `sim://<hostname>[?cpus=&cpuMhz=&memoryMiB=&localStorageGiB=&tags=a,b]` or
 * `sim://cluster/<name>?hosts=3`.
 */
export function simulatorDriver(options: SimulatorOptions = {}): SimulatorDriver {
  return new SimulatorDriver(options);
}
