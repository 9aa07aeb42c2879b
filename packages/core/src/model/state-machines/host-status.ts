import { StateMachine } from '../state-machine.js';

/**
 * Host connection states (CloudStack `Status`), resource-model.md §12.2. Independent of the
 * administrative `HostResourceState` (§15 pitfall 1): allocation needs `Up` **and** `Enabled`.
 */
export const HOST_STATUSES = [
  'Creating',
  'Connecting',
  'Up',
  'Down',
  'Disconnected',
  'Alert',
  'Removed',
  'Error',
  'Rebalancing',
] as const;

/** A host connection state. */
export type HostStatus = (typeof HOST_STATUSES)[number];

/** Host connection events (CloudStack `Status.Event`), resource-model.md §12.2. */
export const HOST_STATUS_EVENTS = [
  'AgentConnected',
  'Ping',
  'Ready',
  'PingTimeout',
  'AgentDisconnected',
  'ShutdownRequested',
  'ManagementServerDown',
  'WaitedTooLong',
  'HostDown',
  'Remove',
  'StartAgentRebalance',
  'RebalanceCompleted',
  'RebalanceFailed',
  'Error',
] as const;

/** A host connection event. */
export type HostStatusEvent = (typeof HOST_STATUS_EVENTS)[number];

/**
 * The event that brings a brand-new host (no status yet; the spec's "new" row) into the machine.
 * A host may also be persisted in `Creating` first, from which the same event applies.
 */
export const HOST_STATUS_INITIAL_EVENT = 'AgentConnected' satisfies HostStatusEvent;

/** The status a brand-new host lands in: "new —AgentConnected→ Connecting". */
export const HOST_STATUS_INITIAL_STATE = 'Connecting' satisfies HostStatus;

/** Statuses meaning "lost connection" (§12.2). */
export const HOST_LOST_CONNECTION_STATUSES: ReadonlySet<HostStatus> = new Set<HostStatus>([
  'Down',
  'Disconnected',
  'Alert',
]);

/** The host connection state machine (resource-model.md §12.2), driven by agent connects and pings. */
export const hostStatusStateMachine = new StateMachine<HostStatus, HostStatusEvent>(
  'HostStatus',
  HOST_STATUSES,
  HOST_STATUS_EVENTS,
  [
    // "new" (no status yet) is handled by HOST_STATUS_INITIAL_EVENT / HOST_STATUS_INITIAL_STATE.
    { from: ['Creating'], on: ['AgentConnected'], to: 'Connecting' },
    { from: ['Creating'], on: ['Error'], to: 'Error' },

    { from: ['Connecting'], on: ['AgentConnected', 'Ping'], to: 'Connecting' },
    { from: ['Connecting'], on: ['Ready'], to: 'Up' },
    { from: ['Connecting'], on: ['PingTimeout', 'AgentDisconnected'], to: 'Alert' },
    { from: ['Connecting'], on: ['ShutdownRequested', 'ManagementServerDown'], to: 'Disconnected' },
    { from: ['Connecting'], on: ['HostDown'], to: 'Down' },

    { from: ['Up'], on: ['Ping'], to: 'Up' },
    { from: ['Up'], on: ['PingTimeout', 'AgentDisconnected'], to: 'Alert' },
    { from: ['Up'], on: ['ShutdownRequested', 'ManagementServerDown'], to: 'Disconnected' },
    { from: ['Up'], on: ['HostDown'], to: 'Down' },
    { from: ['Up'], on: ['AgentConnected'], to: 'Connecting' },
    { from: ['Up'], on: ['StartAgentRebalance'], to: 'Rebalancing' },
    { from: ['Up'], on: ['Remove'], to: 'Removed' },

    {
      from: ['Disconnected'],
      on: ['ShutdownRequested', 'ManagementServerDown', 'AgentDisconnected'],
      to: 'Disconnected',
    },
    { from: ['Disconnected'], on: ['PingTimeout', 'WaitedTooLong'], to: 'Alert' },
    { from: ['Disconnected'], on: ['AgentConnected'], to: 'Connecting' },
    { from: ['Disconnected'], on: ['Ping'], to: 'Up' },
    { from: ['Disconnected'], on: ['HostDown'], to: 'Down' },
    { from: ['Disconnected'], on: ['Remove'], to: 'Removed' },

    { from: ['Down'], on: ['AgentConnected'], to: 'Connecting' },
    { from: ['Down'], on: ['ManagementServerDown', 'AgentDisconnected', 'PingTimeout', 'HostDown'], to: 'Down' },
    { from: ['Down'], on: ['Remove'], to: 'Removed' },

    { from: ['Alert'], on: ['AgentConnected'], to: 'Connecting' },
    { from: ['Alert'], on: ['Ping'], to: 'Up' },
    { from: ['Alert'], on: ['ManagementServerDown', 'AgentDisconnected'], to: 'Alert' },
    { from: ['Alert'], on: ['ShutdownRequested'], to: 'Disconnected' },
    { from: ['Alert'], on: ['HostDown'], to: 'Down' },
    { from: ['Alert'], on: ['Remove'], to: 'Removed' },

    { from: ['Rebalancing'], on: ['RebalanceCompleted', 'AgentConnected'], to: 'Connecting' },
    { from: ['Rebalancing'], on: ['RebalanceFailed', 'ManagementServerDown'], to: 'Disconnected' },
    { from: ['Rebalancing'], on: ['AgentDisconnected'], to: 'Rebalancing' },

    { from: ['Error'], on: ['AgentConnected'], to: 'Connecting' },
  ],
);
