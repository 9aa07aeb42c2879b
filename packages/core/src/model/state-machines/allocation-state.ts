import { StateMachine } from '../state-machine.js';

/**
 * Zone / pod / cluster allocation states (CloudStack `Grouping.AllocationState`),
 * resource-model.md §12.6. A `Disabled` zone, pod or cluster takes no new allocations.
 */
export const ALLOCATION_STATES = ['Enabled', 'Disabled'] as const;

/** A zone / pod / cluster allocation state. */
export type AllocationState = (typeof ALLOCATION_STATES)[number];

/**
 * Allocation state events: an update of `allocationState` to `Enabled` (`Enable`) or `Disabled`
 * (`Disable`). An update to the current value is a no-op and need not consult the machine.
 */
export const ALLOCATION_EVENTS = ['Enable', 'Disable'] as const;

/** A zone / pod / cluster allocation event. */
export type AllocationEvent = (typeof ALLOCATION_EVENTS)[number];

/** The zone / pod / cluster allocation state machine (resource-model.md §12.6). */
export const allocationStateMachine = new StateMachine<AllocationState, AllocationEvent>(
  'AllocationState',
  ALLOCATION_STATES,
  ALLOCATION_EVENTS,
  [
    { from: ['Disabled'], on: ['Enable'], to: 'Enabled' },
    { from: ['Enabled'], on: ['Disable'], to: 'Disabled' },
  ],
);
