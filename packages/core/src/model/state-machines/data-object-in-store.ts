import { StateMachine } from '../state-machine.js';

/**
 * States of a data object's copy in one store (CloudStack `ObjectInDataStoreStateMachine.State`):
 * one row per template × image store and per template × primary pool, resource-model.md §12.9.
 */
export const DATA_OBJECT_IN_STORE_STATES = [
  'Allocated',
  'Creating',
  'Ready',
  'Copying',
  'Failed',
  'Destroying',
  'Destroyed',
] as const;

/** A per-store copy state. */
export type DataObjectInStoreState = (typeof DATA_OBJECT_IN_STORE_STATES)[number];

/**
 * Per-store copy events, resource-model.md §12.9. CloudStack spells the success event
 * `OperationSuccessed`; the SDK normalises it to `OperationSucceeded`.
 */
export const DATA_OBJECT_IN_STORE_EVENTS = [
  'CreateOnlyRequested',
  'CopyingRequested',
  'DestroyRequested',
  'OperationSucceeded',
  'OperationFailed',
] as const;

/** A per-store copy event. */
export type DataObjectInStoreEvent = (typeof DATA_OBJECT_IN_STORE_EVENTS)[number];

/** New per-store copies start in `Allocated`. */
export const DATA_OBJECT_IN_STORE_INITIAL_STATE = 'Allocated' satisfies DataObjectInStoreState;

/**
 * The per-store copy ("data object in store") state machine (resource-model.md §12.9). Download
 * progress (`downloadState`, `downloadPercent`) is tracked alongside, not by this machine.
 */
export const dataObjectInStoreStateMachine = new StateMachine<DataObjectInStoreState, DataObjectInStoreEvent>(
  'DataObjectInStore',
  DATA_OBJECT_IN_STORE_STATES,
  DATA_OBJECT_IN_STORE_EVENTS,
  [
    { from: ['Allocated'], on: ['CreateOnlyRequested'], to: 'Creating' },
    { from: ['Allocated'], on: ['OperationSucceeded'], to: 'Ready' },
    { from: ['Allocated'], on: ['OperationFailed'], to: 'Failed' },
    { from: ['Allocated'], on: ['DestroyRequested'], to: 'Destroying' },
    { from: ['Creating'], on: ['OperationSucceeded'], to: 'Ready' },
    { from: ['Creating'], on: ['OperationFailed'], to: 'Allocated' },
    { from: ['Ready'], on: ['OperationSucceeded'], to: 'Ready' },
    { from: ['Ready'], on: ['CopyingRequested'], to: 'Copying' },
    { from: ['Copying'], on: ['OperationSucceeded', 'OperationFailed'], to: 'Ready' },
    { from: ['Ready', 'Failed'], on: ['DestroyRequested'], to: 'Destroying' },
    { from: ['Destroying'], on: ['DestroyRequested', 'OperationFailed'], to: 'Destroying' },
    { from: ['Destroying'], on: ['OperationSucceeded'], to: 'Destroyed' },
  ],
);
