import { StateMachine } from '../state-machine.js';

/** Guest network states (CloudStack `Network.State`), resource-model.md §12.5. */
export const NETWORK_STATES = ['Allocated', 'Setup', 'Implementing', 'Implemented', 'Shutdown', 'Destroy'] as const;

/** A guest network state. */
export type NetworkState = (typeof NETWORK_STATES)[number];

/** Guest network events (CloudStack `Network.Event`), resource-model.md §12.5. */
export const NETWORK_EVENTS = ['ImplementNetwork', 'DestroyNetwork', 'OperationSucceeded', 'OperationFailed'] as const;

/** A guest network event. */
export type NetworkEvent = (typeof NETWORK_EVENTS)[number];

/**
 * The states a new guest network is persisted in (the "new" rows of §12.5 are initial states, not
 * transitions):
 * - `Setup`: fully resourced at design time (e.g. shared networks); never implemented/shut down.
 * - `Allocated`: needs resources (e.g. isolated networks); implemented on first use.
 */
export const NETWORK_INITIAL_STATES = ['Setup', 'Allocated'] as const satisfies readonly NetworkState[];

/** A state a new guest network may be persisted in. */
export type NetworkInitialState = (typeof NETWORK_INITIAL_STATES)[number];

/**
 * The guest network state machine (resource-model.md §12.5). `Shutdown —OperationSucceeded→
 * Allocated` (not `Destroy`): GC returns an idle isolated network to `Allocated`, keeping its DB
 * identity and CIDR (§15 pitfall 6).
 */
export const networkStateMachine = new StateMachine<NetworkState, NetworkEvent>(
  'Network',
  NETWORK_STATES,
  NETWORK_EVENTS,
  [
    { from: ['Allocated'], on: ['ImplementNetwork'], to: 'Implementing' },
    { from: ['Implementing'], on: ['OperationSucceeded'], to: 'Implemented' },
    { from: ['Implementing'], on: ['OperationFailed'], to: 'Shutdown' },
    { from: ['Implemented'], on: ['DestroyNetwork'], to: 'Shutdown' },
    { from: ['Shutdown'], on: ['OperationSucceeded'], to: 'Allocated' },
    { from: ['Shutdown'], on: ['OperationFailed'], to: 'Shutdown' },
    { from: ['Allocated', 'Setup'], on: ['DestroyNetwork'], to: 'Destroy' },
  ],
);
