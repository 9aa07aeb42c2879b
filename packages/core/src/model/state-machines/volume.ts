import { StateMachine } from '../state-machine.js';

/**
 * Volume states (CloudStack `Volume.State`), resource-model.md §12.4. `Destroying` exists in the
 * enum with no transitions. `Destroy` is not terminal (the volume is recoverable); only
 * `Expunging`/`Expunged` are (§15 pitfall 4).
 */
export const VOLUME_STATES = [
  'Allocated',
  'Creating',
  'Ready',
  'Resizing',
  'Snapshotting',
  'RevertSnapshotting',
  'Migrating',
  'Attaching',
  'Copying',
  'Destroy',
  'Destroying',
  'Expunging',
  'Expunged',
  'UploadOp',
  'Uploaded',
  'UploadError',
  'UploadAbandoned',
  'NotUploaded',
  'UploadInProgress',
] as const;

/** A volume state. */
export type VolumeState = (typeof VOLUME_STATES)[number];

/** Volume events (CloudStack `Volume.Event`), resource-model.md §12.4. */
export const VOLUME_EVENTS = [
  'CreateRequested',
  'CopyRequested',
  'MigrationCopyRequested',
  'MigrationCopySucceeded',
  'MigrationCopyFailed',
  'MigrationRequested',
  'ResizeRequested',
  'SnapshotRequested',
  'RevertSnapshotRequested',
  'AttachRequested',
  'DestroyRequested',
  'RecoverRequested',
  'ExpungingRequested',
  'UploadRequested',
  'OperationRetry',
  'OperationRetryFromError',
  'OperationSucceeded',
  'OperationFailed',
  'OperationTimeout',
] as const;

/** A volume event. */
export type VolumeEvent = (typeof VOLUME_EVENTS)[number];

/**
 * New volumes start in `Allocated`: a DB row only, with no pool and no size on disk, until first
 * attach (§15 pitfall 5).
 */
export const VOLUME_INITIAL_STATE = 'Allocated' satisfies VolumeState;

/**
 * Volumes uploaded from the browser start in `NotUploaded` (the only way into the
 * `NotUploaded → UploadInProgress → Uploaded` rows, by analogy with templates, §12.9).
 */
export const VOLUME_UPLOAD_INITIAL_STATE = 'NotUploaded' satisfies VolumeState;

/** The volume state machine (resource-model.md §12.4). Rows flagged `usage` have usage impact. */
export const volumeStateMachine = new StateMachine<VolumeState, VolumeEvent>('Volume', VOLUME_STATES, VOLUME_EVENTS, [
  { from: ['Allocated'], on: ['CreateRequested', 'MigrationCopyRequested'], to: 'Creating' },
  { from: ['Allocated'], on: ['OperationSucceeded', 'OperationFailed'], to: 'Allocated' },
  { from: ['Allocated'], on: ['DestroyRequested'], to: 'Destroy' },
  { from: ['Allocated'], on: ['UploadRequested'], to: 'UploadOp' },

  { from: ['Creating'], on: ['CreateRequested', 'OperationRetry'], to: 'Creating' },
  { from: ['Creating'], on: ['OperationSucceeded'], to: 'Ready' },
  { from: ['Creating'], on: ['MigrationCopySucceeded'], to: 'Ready', usage: true },
  { from: ['Creating'], on: ['OperationFailed', 'MigrationCopyFailed'], to: 'Allocated' },
  { from: ['Creating'], on: ['DestroyRequested'], to: 'Destroy' },

  { from: ['Ready'], on: ['CreateRequested'], to: 'Creating' },
  { from: ['Ready'], on: ['OperationSucceeded', 'OperationFailed'], to: 'Ready' },
  { from: ['Ready'], on: ['ResizeRequested'], to: 'Resizing' },
  { from: ['Ready'], on: ['SnapshotRequested'], to: 'Snapshotting' },
  { from: ['Ready'], on: ['RevertSnapshotRequested'], to: 'RevertSnapshotting' },
  { from: ['Ready'], on: ['MigrationRequested'], to: 'Migrating' },
  { from: ['Ready'], on: ['AttachRequested'], to: 'Attaching' },
  { from: ['Ready'], on: ['DestroyRequested'], to: 'Destroy' },

  { from: ['Resizing'], on: ['OperationSucceeded'], to: 'Ready', usage: true },
  { from: ['Resizing'], on: ['OperationFailed'], to: 'Ready' },
  {
    from: ['Snapshotting', 'RevertSnapshotting', 'Migrating', 'Attaching'],
    on: ['OperationSucceeded', 'OperationFailed'],
    to: 'Ready',
  },

  { from: ['Destroy'], on: ['RecoverRequested'], to: 'Ready' },
  { from: ['Destroy'], on: ['ExpungingRequested'], to: 'Expunging' },
  { from: ['Destroy'], on: ['OperationSucceeded', 'OperationFailed'], to: 'Destroy', usage: true },
  { from: ['Destroy'], on: ['OperationRetryFromError'], to: 'Allocated' },

  { from: ['Expunging'], on: ['ExpungingRequested'], to: 'Expunging' },
  { from: ['Expunging'], on: ['OperationSucceeded'], to: 'Expunged' },
  { from: ['Expunging'], on: ['OperationFailed'], to: 'Destroy' },
  { from: ['Expunged'], on: ['ExpungingRequested', 'OperationSucceeded', 'OperationFailed'], to: 'Expunged' },

  { from: ['UploadOp'], on: ['OperationSucceeded'], to: 'Uploaded' },
  { from: ['UploadOp'], on: ['OperationFailed'], to: 'Allocated' },
  { from: ['UploadOp', 'Uploaded', 'UploadError', 'UploadAbandoned'], on: ['DestroyRequested'], to: 'Destroy' },
  { from: ['Uploaded'], on: ['CopyRequested'], to: 'Copying' },
  { from: ['Copying'], on: ['OperationSucceeded'], to: 'Ready', usage: true },
  { from: ['Copying'], on: ['OperationFailed'], to: 'Uploaded' },

  { from: ['NotUploaded'], on: ['UploadRequested'], to: 'UploadInProgress' },
  { from: ['NotUploaded'], on: ['OperationSucceeded'], to: 'Uploaded' },
  { from: ['NotUploaded'], on: ['OperationFailed'], to: 'UploadError' },
  { from: ['NotUploaded'], on: ['OperationTimeout'], to: 'UploadAbandoned' },
  { from: ['UploadInProgress'], on: ['OperationSucceeded'], to: 'Uploaded' },
  { from: ['UploadInProgress'], on: ['OperationFailed', 'OperationTimeout'], to: 'UploadError' },
]);
