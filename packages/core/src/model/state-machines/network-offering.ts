import { StateMachine } from '../state-machine.js';

/** Network offering states (CloudStack `NetworkOffering.State`), resource-model.md §12.6. */
export const NETWORK_OFFERING_STATES = ['Disabled', 'Enabled', 'Inactive'] as const;

/** A network offering state. */
export type NetworkOfferingState = (typeof NETWORK_OFFERING_STATES)[number];

/**
 * Network offering events, resource-model.md §12.6.
 * - `Enable`: Disabled → Enabled.
 * - `Disable`: Enabled → Disabled.
 * - `Retire`: any state → Inactive (retiring an already-retired offering is a no-op transition).
 */
export const NETWORK_OFFERING_EVENTS = ['Enable', 'Disable', 'Retire'] as const;

/** A network offering event. */
export type NetworkOfferingEvent = (typeof NETWORK_OFFERING_EVENTS)[number];

/** New network offerings are created `Disabled`. */
export const NETWORK_OFFERING_INITIAL_STATE = 'Disabled' satisfies NetworkOfferingState;

/**
 * The network offering state machine (resource-model.md §12.6). `Inactive` is reachable from any
 * state and, per the table, has no way back.
 */
export const networkOfferingStateMachine = new StateMachine<NetworkOfferingState, NetworkOfferingEvent>(
  'NetworkOffering',
  NETWORK_OFFERING_STATES,
  NETWORK_OFFERING_EVENTS,
  [
    { from: ['Disabled'], on: ['Enable'], to: 'Enabled' },
    { from: ['Enabled'], on: ['Disable'], to: 'Disabled' },
    { from: ['Disabled', 'Enabled', 'Inactive'], on: ['Retire'], to: 'Inactive' },
  ],
);
