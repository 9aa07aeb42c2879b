import { StateMachine } from '../state-machine.js';

/**
 * Host administrative states (CloudStack `ResourceState`), resource-model.md §12.3. Independent of
 * the connection `HostStatus` (§15 pitfall 1): allocation needs `Up` **and** `Enabled`.
 */
export const HOST_RESOURCE_STATES = [
  'Creating',
  'Enabled',
  'Disabled',
  'PrepareForMaintenance',
  'ErrorInPrepareForMaintenance',
  'Maintenance',
  'ErrorInMaintenance',
  'Error',
  'Degraded',
] as const;

/** A host administrative state. */
export type HostResourceState = (typeof HOST_RESOURCE_STATES)[number];

/**
 * Host administrative events (CloudStack `ResourceState.Event`), resource-model.md §12.3.
 * `UpdatePassword` and `Unmanaged` are accepted in every state without changing it.
 */
export const HOST_RESOURCE_EVENTS = [
  'InternalCreated',
  'Enable',
  'Disable',
  'AdminAskMaintenance',
  'AdminCancelMaintenance',
  'InternalEnterMaintenance',
  'UnableToMigrate',
  'UnableToMaintain',
  'ErrorsCorrected',
  'Error',
  'DeleteHost',
  'DeclareHostDegraded',
  'EnableDegradedHost',
  'UpdatePassword',
  'Unmanaged',
] as const;

/** A host administrative event. */
export type HostResourceEvent = (typeof HOST_RESOURCE_EVENTS)[number];

/**
 * The event that brings a brand-new host (no resource state yet; the spec's "new" row) into the
 * machine. A host may also be persisted in `Creating` first, from which the same event applies.
 */
export const HOST_RESOURCE_INITIAL_EVENT = 'InternalCreated' satisfies HostResourceEvent;

/** The resource state a brand-new host lands in: "new —InternalCreated→ Enabled". */
export const HOST_RESOURCE_INITIAL_STATE = 'Enabled' satisfies HostResourceState;

/**
 * The maintenance states (§12.3). The 2.2 UI names "Prepare for Maintenance" and "Ready for
 * Maintenance" map to `PrepareForMaintenance` and `Maintenance`.
 */
export const HOST_MAINTENANCE_STATES: ReadonlySet<HostResourceState> = new Set<HostResourceState>([
  'PrepareForMaintenance',
  'ErrorInPrepareForMaintenance',
  'Maintenance',
  'ErrorInMaintenance',
]);

/** The host administrative state machine (resource-model.md §12.3), driven by admin intent. */
export const hostResourceStateMachine = new StateMachine<HostResourceState, HostResourceEvent>(
  'HostResourceState',
  HOST_RESOURCE_STATES,
  HOST_RESOURCE_EVENTS,
  [
    // "new" (no state yet) is handled by HOST_RESOURCE_INITIAL_EVENT / HOST_RESOURCE_INITIAL_STATE.
    { from: ['Creating'], on: ['InternalCreated'], to: 'Enabled' },
    { from: ['Creating'], on: ['Error'], to: 'Error' },

    { from: ['Enabled'], on: ['Enable', 'InternalCreated'], to: 'Enabled' },
    { from: ['Enabled'], on: ['Disable'], to: 'Disabled' },
    { from: ['Enabled'], on: ['AdminAskMaintenance'], to: 'PrepareForMaintenance' },
    { from: ['Enabled'], on: ['InternalEnterMaintenance'], to: 'Maintenance' },
    { from: ['Enabled'], on: ['DeclareHostDegraded'], to: 'Degraded' },

    { from: ['Disabled'], on: ['Enable'], to: 'Enabled' },
    { from: ['Disabled'], on: ['Disable', 'InternalCreated', 'DeleteHost'], to: 'Disabled' },
    { from: ['Disabled'], on: ['DeclareHostDegraded'], to: 'Degraded' },

    { from: ['PrepareForMaintenance'], on: ['InternalCreated'], to: 'PrepareForMaintenance' },
    { from: ['PrepareForMaintenance'], on: ['InternalEnterMaintenance'], to: 'Maintenance' },
    { from: ['PrepareForMaintenance'], on: ['AdminCancelMaintenance'], to: 'Enabled' },
    { from: ['PrepareForMaintenance'], on: ['UnableToMigrate'], to: 'ErrorInPrepareForMaintenance' },
    { from: ['PrepareForMaintenance'], on: ['UnableToMaintain'], to: 'ErrorInMaintenance' },

    { from: ['Maintenance'], on: ['InternalCreated'], to: 'Maintenance' },
    { from: ['Maintenance'], on: ['AdminCancelMaintenance'], to: 'Enabled' },
    { from: ['Maintenance'], on: ['DeleteHost'], to: 'Disabled' },
    { from: ['Maintenance'], on: ['DeclareHostDegraded'], to: 'Degraded' },

    {
      from: ['ErrorInPrepareForMaintenance'],
      on: ['InternalCreated', 'UnableToMigrate'],
      to: 'ErrorInPrepareForMaintenance',
    },
    { from: ['ErrorInPrepareForMaintenance'], on: ['ErrorsCorrected'], to: 'PrepareForMaintenance' },
    { from: ['ErrorInPrepareForMaintenance'], on: ['InternalEnterMaintenance'], to: 'Maintenance' },
    { from: ['ErrorInPrepareForMaintenance'], on: ['AdminCancelMaintenance'], to: 'Enabled' },
    { from: ['ErrorInPrepareForMaintenance'], on: ['UnableToMaintain'], to: 'ErrorInMaintenance' },
    { from: ['ErrorInPrepareForMaintenance'], on: ['Disable', 'DeleteHost'], to: 'Disabled' },

    { from: ['ErrorInMaintenance'], on: ['InternalCreated'], to: 'ErrorInMaintenance' },
    { from: ['ErrorInMaintenance'], on: ['AdminAskMaintenance'], to: 'PrepareForMaintenance' },
    { from: ['ErrorInMaintenance'], on: ['AdminCancelMaintenance'], to: 'Enabled' },
    { from: ['ErrorInMaintenance'], on: ['Disable', 'DeleteHost'], to: 'Disabled' },

    { from: ['Error'], on: ['InternalCreated'], to: 'Error' },

    { from: ['Degraded'], on: ['EnableDegradedHost'], to: 'Enabled' },
    { from: ['Degraded'], on: ['AdminAskMaintenance'], to: 'Maintenance' },
    { from: ['Degraded'], on: ['DeleteHost'], to: 'Disabled' },

    // Accepted without state change, in every state (text under the §12.3 table).
    ...HOST_RESOURCE_STATES.map((state) => ({
      from: [state],
      on: ['UpdatePassword', 'Unmanaged'] as const,
      to: state,
    })),
  ],
);
