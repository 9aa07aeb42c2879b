import { StateMachine } from '../state-machine.js';

/**
 * Snapshot states (CloudStack `Snapshot.State`), resource-model.md §12.8. `Error` snapshots are
 * invisible to users but may still occupy storage.
 */
export const SNAPSHOT_STATES = [
  'Allocated',
  'Creating',
  'CreatedOnPrimary',
  'BackingUp',
  'BackedUp',
  'Copying',
  'Destroying',
  'Destroyed',
  'Error',
] as const;

/** A snapshot state. */
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** Snapshot events (CloudStack `Snapshot.Event`), resource-model.md §12.8. */
export const SNAPSHOT_EVENTS = [
  'CreateRequested',
  'BackupToSecondary',
  'CopyingRequested',
  'DestroyRequested',
  'OperationSucceeded',
  'OperationNotPerformed',
  'OperationFailed',
] as const;

/** A snapshot event. */
export type SnapshotEvent = (typeof SNAPSHOT_EVENTS)[number];

/** New snapshots start in `Allocated`. */
export const SNAPSHOT_INITIAL_STATE = 'Allocated' satisfies SnapshotState;

/** The snapshot state machine (resource-model.md §12.8). */
export const snapshotStateMachine = new StateMachine<SnapshotState, SnapshotEvent>(
  'Snapshot',
  SNAPSHOT_STATES,
  SNAPSHOT_EVENTS,
  [
    { from: ['Allocated'], on: ['CreateRequested'], to: 'Creating' },
    { from: ['Creating'], on: ['OperationSucceeded'], to: 'CreatedOnPrimary' },
    { from: ['Creating'], on: ['OperationNotPerformed'], to: 'BackedUp' },
    { from: ['Creating'], on: ['OperationFailed'], to: 'Error' },
    { from: ['CreatedOnPrimary'], on: ['BackupToSecondary'], to: 'BackingUp' },
    { from: ['CreatedOnPrimary'], on: ['OperationNotPerformed'], to: 'BackedUp' },
    { from: ['BackingUp'], on: ['OperationSucceeded'], to: 'BackedUp' },
    { from: ['BackingUp'], on: ['OperationFailed'], to: 'CreatedOnPrimary' },
    { from: ['BackedUp'], on: ['CopyingRequested'], to: 'Copying' },
    { from: ['Copying'], on: ['OperationSucceeded', 'OperationFailed'], to: 'BackedUp' },
    { from: ['BackedUp'], on: ['DestroyRequested'], to: 'Destroying' },
    { from: ['Destroying'], on: ['OperationSucceeded'], to: 'Destroyed' },
    { from: ['Destroying'], on: ['OperationFailed'], to: 'BackedUp' },
  ],
);
