/**
 * `@stratus/core/driver-kit`: what driver packages, store adapters and the testkit need from core
 * beyond the public contract: the per-key lock drivers serialise operations with, the lists of
 * required and optional hypervisor operations, image-store path helpers, the context and writer a
 * cloud's services share, compare-and-set transitions, and the store's schema types.
 *
 * Application code does not need this entry point; its names may change in a minor release
 * (they are locked by their own API report, `packages/core/api/core-driver-kit.api.md`, so a
 * change is still a visible diff).
 *
 * @packageDocumentation
 * @module @stratus/core/driver-kit
 */

export { CloudContext } from './context/cloud-context.js';
export { ResourceGuards } from './context/resource-guards.js';
export { StepTracer } from './context/step-tracer.js';
export { type UsageEventInput, Writer } from './context/writer.js';
export { missingOperations } from './driver/driver-registry.js';
export { OPTIONAL_OPERATION_CAPABILITY, REQUIRED_HYPERVISOR_OPERATIONS } from './driver/hypervisor-driver.js';
export { KeyedLock } from './driver/keyed-lock.js';
export { imageObjectPath, parseChecksum } from './orchestration/image-store-driver.js';
export { type CasResult, type CasTransition, casTransition, type StatefulTable } from './store/cas.js';
export type { Database } from './store/schema.js';
export type { Db, StoreConnection } from './store/store.js';
