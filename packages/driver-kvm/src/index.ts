/**
 * `@stratus/driver-kvm`: KVM through libvirt, as a Stratus hypervisor driver. Pass
 * `kvmDriver(options)` to `createCloud({ hypervisors })`.
 *
 * Every name exported here is public API, locked by the API report in `packages/driver-kvm/api/`.
 * The transports (SSH session, virsh process, native binding), the domain XML writer and the shell
 * quoting are the driver's own machinery and stay private.
 *
 * @packageDocumentation
 * @module @stratus/driver-kvm
 */

export type { BridgeBackend } from './domain-xml.js';
export { defaultHostKeyPolicy, type HostKeyPolicy } from './host-key.js';
export { KvmDriver, kvmDriver } from './kvm-driver.js';
export type { KvmDriverOptions } from './kvm-options.js';
export { nativeBindingAvailable } from './native-transport.js';
export { type SecondaryPool, secondaryPool } from './secondary-pool.js';
