import { StateMachine } from '../state-machine.js';

/** Physical network states, resource-model.md §12.6. */
export const PHYSICAL_NETWORK_STATES = ['Disabled', 'Enabled'] as const;

/** A physical network state. */
export type PhysicalNetworkState = (typeof PHYSICAL_NETWORK_STATES)[number];

/**
 * Physical network events, resource-model.md §12.6.
 * - `Enable`: the admin enables the physical network.
 * - `Disable`: the admin disables it; existing guest networks keep running.
 */
export const PHYSICAL_NETWORK_EVENTS = ['Enable', 'Disable'] as const;

/** A physical network event. */
export type PhysicalNetworkEvent = (typeof PHYSICAL_NETWORK_EVENTS)[number];

/** New physical networks are created `Disabled`. */
export const PHYSICAL_NETWORK_INITIAL_STATE = 'Disabled' satisfies PhysicalNetworkState;

/** The physical network state machine (resource-model.md §12.6). */
export const physicalNetworkStateMachine = new StateMachine<PhysicalNetworkState, PhysicalNetworkEvent>(
  'PhysicalNetwork',
  PHYSICAL_NETWORK_STATES,
  PHYSICAL_NETWORK_EVENTS,
  [
    { from: ['Disabled'], on: ['Enable'], to: 'Enabled' },
    { from: ['Enabled'], on: ['Disable'], to: 'Disabled' },
  ],
);
