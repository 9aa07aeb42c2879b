import { StateMachine, type TransitionRow } from '../state-machine.js';

/**
 * Account and user states (CloudStack `Account.State`, lower-case as stored), resource-model.md
 * §12.13. Disabled or locked users and accounts fail API authentication.
 */
export const ACCOUNT_STATES = ['enabled', 'disabled', 'locked'] as const;

/** An account (or user) state. */
export type AccountState = (typeof ACCOUNT_STATES)[number];

/**
 * Account and user events, resource-model.md §12.13:
 * - `Disable`: enabled → disabled.
 * - `Lock`: enabled → locked.
 * - `Enable`: disabled, locked → enabled.
 */
export const ACCOUNT_EVENTS = ['Disable', 'Lock', 'Enable'] as const;

/** An account (or user) event. */
export type AccountEvent = (typeof ACCOUNT_EVENTS)[number];

/** New accounts and users are created `enabled`. */
export const ACCOUNT_INITIAL_STATE = 'enabled' satisfies AccountState;

/** Users share the account state set. */
export const USER_STATES = ACCOUNT_STATES;
/** A user state. */
export type UserState = AccountState;
/** Users share the account event set. */
export const USER_EVENTS = ACCOUNT_EVENTS;
/** A user event. */
export type UserEvent = AccountEvent;
/** New users are created `enabled`. */
export const USER_INITIAL_STATE = ACCOUNT_INITIAL_STATE;

const ROWS: readonly TransitionRow<AccountState, AccountEvent>[] = [
  { from: ['enabled'], on: ['Disable'], to: 'disabled' },
  { from: ['enabled'], on: ['Lock'], to: 'locked' },
  { from: ['disabled', 'locked'], on: ['Enable'], to: 'enabled' },
];

/** The account state machine (resource-model.md §12.13). */
export const accountStateMachine = new StateMachine<AccountState, AccountEvent>(
  'Account',
  ACCOUNT_STATES,
  ACCOUNT_EVENTS,
  ROWS,
);

/** The user state machine: the account table, under its own name for error messages. */
export const userStateMachine = new StateMachine<UserState, UserEvent>('User', USER_STATES, USER_EVENTS, ROWS);
