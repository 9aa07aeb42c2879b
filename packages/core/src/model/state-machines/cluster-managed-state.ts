import { StateMachine } from '../state-machine.js';

/** Cluster managed states (CloudStack `Managed.ManagedState`), resource-model.md §12.6. */
export const CLUSTER_MANAGED_STATES = ['Managed', 'Unmanaged'] as const;

/** A cluster managed state. */
export type ClusterManagedState = (typeof CLUSTER_MANAGED_STATES)[number];

/**
 * Cluster managed events, resource-model.md §12.6:
 * - `Unmanage`: Managed → Unmanaged.
 * - `Manage`: Unmanaged → Managed.
 */
export const CLUSTER_MANAGED_EVENTS = ['Manage', 'Unmanage'] as const;

/** A cluster managed event. */
export type ClusterManagedEvent = (typeof CLUSTER_MANAGED_EVENTS)[number];

/** The cluster managed-state machine (resource-model.md §12.6). */
export const clusterManagedStateMachine = new StateMachine<ClusterManagedState, ClusterManagedEvent>(
  'ClusterManagedState',
  CLUSTER_MANAGED_STATES,
  CLUSTER_MANAGED_EVENTS,
  [
    { from: ['Managed'], on: ['Unmanage'], to: 'Unmanaged' },
    { from: ['Unmanaged'], on: ['Manage'], to: 'Managed' },
  ],
);
