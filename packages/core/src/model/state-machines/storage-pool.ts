import { StateMachine } from '../state-machine.js';

/** Primary storage pool states (CloudStack `StoragePoolStatus`), resource-model.md §12.12. */
export const STORAGE_POOL_STATES = [
  'Initial',
  'Initialized',
  'Creating',
  'Attaching',
  'Up',
  'PrepareForMaintenance',
  'Maintenance',
  'ErrorInMaintenance',
  'CancelMaintenance',
  'Disabled',
  'Removed',
] as const;

/** A primary storage pool state. */
export type StoragePoolState = (typeof STORAGE_POOL_STATES)[number];

/**
 * Primary storage pool events (named by the SDK; §12.12 gives actions, not CloudStack event names):
 * - `Attached`: the pool is attached to all hosts of its scope. Initial, Initialized, Creating,
 *   Attaching → Up.
 * - `EnableMaintenance`: the admin enables maintenance. Up → PrepareForMaintenance.
 * - `MaintenanceCompleted`: all affected VMs are stopped. PrepareForMaintenance → Maintenance.
 * - `MaintenanceFailed`: a VM cannot be stopped. PrepareForMaintenance → ErrorInMaintenance.
 * - `CancelMaintenance`: the admin cancels maintenance. Maintenance, ErrorInMaintenance →
 *   CancelMaintenance.
 * - `MaintenanceCancelled`: the pool is back in service after a cancel. CancelMaintenance → Up.
 * - `Disable`: Up → Disabled (no new volumes while Disabled).
 * - `Enable`: Disabled → Up.
 * - `Delete`: Maintenance → Removed.
 *
 * The spec's single row "Maintenance, ErrorInMaintenance —cancel maintenance→ CancelMaintenance → Up"
 * is modelled as two transitions (`CancelMaintenance`, then `MaintenanceCancelled`), so the
 * transient `CancelMaintenance` state is observable while hosts reconnect to the pool.
 */
export const STORAGE_POOL_EVENTS = [
  'Attached',
  'EnableMaintenance',
  'MaintenanceCompleted',
  'MaintenanceFailed',
  'CancelMaintenance',
  'MaintenanceCancelled',
  'Disable',
  'Enable',
  'Delete',
] as const;

/** A primary storage pool event. */
export type StoragePoolEvent = (typeof STORAGE_POOL_EVENTS)[number];

/**
 * New pools are persisted `Initialized`, then become `Up` once attached to the hosts of their scope.
 * (§12.12 does not name the initial state; this follows CloudStack's primary data store helper.)
 */
export const STORAGE_POOL_INITIAL_STATE = 'Initialized' satisfies StoragePoolState;

/** The primary storage pool state machine (resource-model.md §12.12). */
export const storagePoolStateMachine = new StateMachine<StoragePoolState, StoragePoolEvent>(
  'StoragePool',
  STORAGE_POOL_STATES,
  STORAGE_POOL_EVENTS,
  [
    { from: ['Initial', 'Initialized', 'Creating', 'Attaching'], on: ['Attached'], to: 'Up' },
    { from: ['Up'], on: ['EnableMaintenance'], to: 'PrepareForMaintenance' },
    { from: ['PrepareForMaintenance'], on: ['MaintenanceCompleted'], to: 'Maintenance' },
    { from: ['PrepareForMaintenance'], on: ['MaintenanceFailed'], to: 'ErrorInMaintenance' },
    { from: ['Maintenance', 'ErrorInMaintenance'], on: ['CancelMaintenance'], to: 'CancelMaintenance' },
    { from: ['CancelMaintenance'], on: ['MaintenanceCancelled'], to: 'Up' },
    { from: ['Up'], on: ['Disable'], to: 'Disabled' },
    { from: ['Disabled'], on: ['Enable'], to: 'Up' },
    { from: ['Maintenance'], on: ['Delete'], to: 'Removed' },
  ],
);
