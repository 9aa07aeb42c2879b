/**
 * @stratus/core — the resource model, state machines, store, settings, events, driver and
 * allocator contracts, and the services an embedding control plane calls.
 */

export * from './allocation/index.js';
export * from './capacity/index.js';
export * from './cloud.js';
export * from './context.js';
export * from './driver/index.js';
export * from './errors.js';
export * from './events/event-bus.js';
export * from './events/event-types.js';
export * from './ipam/index.js';
export * from './model/enums.js';
export * from './model/records.js';
export * from './model/state-machine.js';
export * from './model/state-machines/index.js';
export * as validate from './model/validate.js';
export * from './network/index.js';
export * from './orchestration/index.js';
export * from './resources/callers.js';
export * from './resources/capabilities.js';
export * from './resources/clusters.js';
export * from './resources/events.js';
export * from './resources/hosts.js';
export * from './resources/image-stores.js';
export * from './resources/offerings.js';
export * from './resources/permissions.js';
export * from './resources/physical-networks.js';
export * from './resources/pods.js';
export * from './resources/repo.js';
export * from './resources/resource-limits.js';
export * from './resources/storage-pools.js';
export * from './resources/templates.js';
export * from './resources/tenancy.js';
export * from './resources/zones.js';
export * from './settings/catalog.js';
export * from './settings/settings-service.js';
export * from './store/cas.js';
export * from './store/codec.js';
export * from './store/dialect.js';
export * from './store/postgres-store.js';
export type { Database } from './store/schema.js';
export * from './store/sqlite-store.js';
export * from './store/store.js';
