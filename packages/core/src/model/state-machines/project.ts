import { StateMachine } from '../state-machine.js';

/** Project states (CloudStack `Project.State`), resource-model.md §12.13. */
export const PROJECT_STATES = ['Active', 'Suspended', 'Disabled'] as const;

/** A project state. */
export type ProjectState = (typeof PROJECT_STATES)[number];

/**
 * Project events, resource-model.md §12.13:
 * - `Suspend`: resources are kept but stopped; nothing new may be created. Active → Suspended.
 * - `Activate`: Suspended → Active.
 * - `Delete`: cleanup runs, then the project is removed. Any state → Disabled (so a retried delete
 *   of a `Disabled` project is legal).
 */
export const PROJECT_EVENTS = ['Suspend', 'Activate', 'Delete'] as const;

/** A project event. */
export type ProjectEvent = (typeof PROJECT_EVENTS)[number];

/** New projects are created `Active`. */
export const PROJECT_INITIAL_STATE = 'Active' satisfies ProjectState;

/** The project state machine (resource-model.md §12.13). */
export const projectStateMachine = new StateMachine<ProjectState, ProjectEvent>(
  'Project',
  PROJECT_STATES,
  PROJECT_EVENTS,
  [
    { from: ['Active'], on: ['Suspend'], to: 'Suspended' },
    { from: ['Suspended'], on: ['Activate'], to: 'Active' },
    { from: ['Active', 'Suspended', 'Disabled'], on: ['Delete'], to: 'Disabled' },
  ],
);
