import { StateMachine } from '../state-machine.js';

/**
 * Async job states (CloudStack `JobInfo.Status`), resource-model.md §12.11, in numeric-code order
 * (`ASYNC_JOB_STATES[code]` is the state of a code).
 */
export const ASYNC_JOB_STATES = ['IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;

/** An async job state. */
export type AsyncJobState = (typeof ASYNC_JOB_STATES)[number];

/**
 * Async job events, resource-model.md §12.11:
 * - `Succeed`: the command returns.
 * - `Fail`: exception / failure.
 * - `Cancel`: cancelled, including by `job.cancel.threshold.minutes` (60).
 */
export const ASYNC_JOB_EVENTS = ['Succeed', 'Fail', 'Cancel'] as const;

/** An async job event. */
export type AsyncJobEvent = (typeof ASYNC_JOB_EVENTS)[number];

/** CloudStack's numeric job status codes (the API's `jobstatus`). */
export const ASYNC_JOB_STATUS_CODES = {
  IN_PROGRESS: 0,
  SUCCEEDED: 1,
  FAILED: 2,
  CANCELLED: 3,
} as const satisfies Record<AsyncJobState, number>;

/** A numeric job status code. */
export type AsyncJobStatusCode = (typeof ASYNC_JOB_STATUS_CODES)[AsyncJobState];

/** The state of a numeric job status code, or undefined for an unknown code. */
export function asyncJobStateOfCode(code: number): AsyncJobState | undefined {
  return Number.isInteger(code) ? ASYNC_JOB_STATES[code] : undefined;
}

/** A submitted job starts `IN_PROGRESS` (code 0). */
export const ASYNC_JOB_INITIAL_STATE = 'IN_PROGRESS' satisfies AsyncJobState;

/**
 * Terminal job states: final; completed jobs are purged after `job.expire.minutes` (1440).
 */
export const ASYNC_JOB_TERMINAL_STATES: ReadonlySet<AsyncJobState> = new Set<AsyncJobState>([
  'SUCCEEDED',
  'FAILED',
  'CANCELLED',
]);

/** The async job state machine (resource-model.md §12.11). */
export const asyncJobStateMachine = new StateMachine<AsyncJobState, AsyncJobEvent>(
  'AsyncJob',
  ASYNC_JOB_STATES,
  ASYNC_JOB_EVENTS,
  [
    { from: ['IN_PROGRESS'], on: ['Succeed'], to: 'SUCCEEDED' },
    { from: ['IN_PROGRESS'], on: ['Fail'], to: 'FAILED' },
    { from: ['IN_PROGRESS'], on: ['Cancel'], to: 'CANCELLED' },
  ],
);
