/**
 * Every state machine of resource-model.md §12, as data. Each module exports the machine's states
 * and events (as `const` arrays and string-literal unions), its initial state(s) and the
 * `StateMachine` instance.
 */
export * from './account.js';
export * from './allocation-state.js';
export * from './async-job.js';
export * from './cluster-managed-state.js';
export * from './data-object-in-store.js';
export * from './host-resource-state.js';
export * from './host-status.js';
export * from './network.js';
export * from './network-offering.js';
export * from './nic.js';
export * from './physical-network.js';
export * from './project.js';
export * from './public-ip.js';
export * from './snapshot.js';
export * from './storage-pool.js';
export * from './template.js';
export * from './vm.js';
export * from './volume.js';
