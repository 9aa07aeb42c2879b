/**
 * `@stratus/driver-simulator`: an in-memory hypervisor with latency and fault injection and a
 * simulated image store. Pass `simulatorDriver(options)` to `createCloud({ hypervisors })` and
 * `simulatedImageStore()` as its `imageStore`.
 *
 * Every name exported here is public API, locked by the API report in
 * `packages/driver-simulator/api/`.
 *
 * @packageDocumentation
 * @module @stratus/driver-simulator
 */

export { nameUuid } from './deterministic-id.js';
export {
  type FailNextOptions,
  FaultInjector,
  type FaultOperation,
  type InjectedError,
  type SimulatorCall,
} from './fault-injector.js';
export type { LatencySetting } from './latency.js';
export { type OperationCount, OperationLog, type OperationLogEntry } from './operation-log.js';
export {
  type ImageStoreOperation,
  type SimImageDownloadRequest,
  type SimImageObject,
  SimulatedImageStore,
  type SimulatedImageStoreOptions,
  simulatedImageStore,
} from './simulated-image-store.js';
export { SimulatorDriver } from './simulator-driver.js';
export { simulatorDriver } from './simulator-factory.js';
export {
  DEFAULT_HOST,
  DEFAULT_POOL_CAPACITY_BYTES,
  type SimulatorHostDefaults,
  type SimulatorOptions,
} from './simulator-options.js';
export type {
  SimHostView,
  SimPoolView,
  SimSecondaryObject,
  SimSnapshot,
  SimulatorStateView,
  SimVmView,
  SimVolume,
} from './simulator-state.js';
