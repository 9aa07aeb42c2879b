import { StateMachine } from '../state-machine.js';

/**
 * Public IP address states (CloudStack `IpAddress.State`), resource-model.md §12.7. `Allocating`
 * means "owned but not yet pushed to network elements": count and list it as owned, not free
 * (§15 pitfall 11). Only `Free` rows are candidates for allocation.
 */
export const PUBLIC_IP_STATES = ['Free', 'Allocating', 'Allocated', 'Reserved', 'Releasing'] as const;

/** A public IP address state. */
export type PublicIpState = (typeof PUBLIC_IP_STATES)[number];

/**
 * Public IP address events (named by the SDK; §12.7 gives triggers, not CloudStack event names):
 * - `Acquire`: acquire (`associateIpAddress`): reserved for the owner, not yet pushed to elements.
 *   Free → Allocating.
 * - `MarkAllocated`: source NAT assignment, or the first IP association applied to network
 *   elements. Free, Allocating, Reserved → Allocated.
 * - `ReserveForSystem`: reserve for system use. Free → Reserved.
 * - `Release`: release (`disassociateIpAddress`); rules are revoked first.
 *   Allocating, Allocated → Releasing.
 * - `ReleaseCompleted`: elements de-provisioned, owner fields cleared. Releasing → Free.
 */
export const PUBLIC_IP_EVENTS = [
  'Acquire',
  'MarkAllocated',
  'ReserveForSystem',
  'Release',
  'ReleaseCompleted',
] as const;

/** A public IP address event. */
export type PublicIpEvent = (typeof PUBLIC_IP_EVENTS)[number];

/** Public IP rows are created `Free` when their VLAN range is added. */
export const PUBLIC_IP_INITIAL_STATE = 'Free' satisfies PublicIpState;

/** The public IP address state machine (resource-model.md §12.7). */
export const publicIpStateMachine = new StateMachine<PublicIpState, PublicIpEvent>(
  'PublicIpAddress',
  PUBLIC_IP_STATES,
  PUBLIC_IP_EVENTS,
  [
    { from: ['Free'], on: ['Acquire'], to: 'Allocating' },
    { from: ['Free', 'Allocating', 'Reserved'], on: ['MarkAllocated'], to: 'Allocated' },
    { from: ['Free'], on: ['ReserveForSystem'], to: 'Reserved' },
    { from: ['Allocating', 'Allocated'], on: ['Release'], to: 'Releasing' },
    { from: ['Releasing'], on: ['ReleaseCompleted'], to: 'Free' },
  ],
);
