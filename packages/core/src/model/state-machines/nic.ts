import { StateMachine } from '../state-machine.js';

/**
 * NIC states (CloudStack `Nic.State`), resource-model.md §12.10. `Deallocating` has no
 * transitions: it is set procedurally when the VM is expunged.
 */
export const NIC_STATES = ['Allocated', 'Reserving', 'Reserved', 'Releasing', 'Deallocating'] as const;

/** A NIC state. */
export type NicState = (typeof NIC_STATES)[number];

/** NIC events (CloudStack `Nic.Event`), resource-model.md §12.10. */
export const NIC_EVENTS = [
  'ReservationRequested',
  'ReleaseRequested',
  'CancelRequested',
  'OperationCompleted',
  'OperationFailed',
] as const;

/** A NIC event. */
export type NicEvent = (typeof NIC_EVENTS)[number];

/** New NICs start in `Allocated`. */
export const NIC_INITIAL_STATE = 'Allocated' satisfies NicState;

/** The NIC state machine (resource-model.md §12.10). */
export const nicStateMachine = new StateMachine<NicState, NicEvent>('Nic', NIC_STATES, NIC_EVENTS, [
  { from: ['Allocated'], on: ['ReservationRequested'], to: 'Reserving' },
  { from: ['Reserving'], on: ['OperationCompleted'], to: 'Reserved' },
  { from: ['Reserving'], on: ['CancelRequested', 'OperationFailed'], to: 'Allocated' },
  { from: ['Reserved'], on: ['ReleaseRequested'], to: 'Releasing' },
  { from: ['Releasing'], on: ['OperationCompleted'], to: 'Allocated' },
  { from: ['Releasing'], on: ['OperationFailed'], to: 'Reserved' },
]);
