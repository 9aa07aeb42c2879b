/**
 * Event types, CloudStack's names verbatim where CloudStack has one (spec/operations.md §7), and
 * `<RESOURCE>.STATE.CHANGE` for state-machine transitions.
 */
export type EventLevel = 'INFO' | 'WARN' | 'ERROR';

/** Scheduled (async job submitted), Started, Completed, Created (resource created). */
export type EventState = 'Scheduled' | 'Started' | 'Completed' | 'Created';

/** The kinds of resource an event can be about. */
export type ResourceType =
  | 'Zone'
  | 'Pod'
  | 'Cluster'
  | 'Host'
  | 'StoragePool'
  | 'ImageStore'
  | 'PhysicalNetwork'
  | 'TrafficType'
  | 'ServiceOffering'
  | 'DiskOffering'
  | 'NetworkOffering'
  | 'Template'
  | 'Iso'
  | 'Domain'
  | 'Account'
  | 'User'
  | 'VirtualMachine'
  | 'Volume'
  | 'Snapshot'
  | 'Network'
  | 'IpAddress'
  | 'AsyncJob'
  | 'Configuration'
  | 'HypervisorCapability'
  | 'Nic'
  | 'FirewallRule'
  | 'LoadBalancer'
  | 'SecurityGroup'
  | 'AffinityGroup'
  | 'DedicatedResource'
  | 'Vpc'
  | 'NetworkAcl'
  | 'PrivateGateway';

/** A typed event: what happened, to which resource, on whose behalf. */
export interface StratusEvent {
  /**
   * The stored event's id; `null` for a state change (`<RESOURCE>.STATE.CHANGE`), which is
   * published on the bus and not stored: as in CloudStack, the event log holds actions (VM.CREATE,
   * VM.START, …), and state transitions go to the event bus.
   */
  id: number | null;
  uuid: string;
  type: string;
  state: EventState;
  level: EventLevel;
  description: string;
  userId: number | null;
  accountId: number | null;
  domainId: number | null;
  resourceType: ResourceType | null;
  resourceId: number | null;
  resourceUuid: string | null;
  /** Links Started/Completed to the Scheduled event of the same job. */
  startId: number | null;
  parameters: Record<string, unknown>;
  created: Date;
  archived: boolean;
}

/** The parameters of a `<RESOURCE>.STATE.CHANGE` event: which state machine moved, and how. */
export interface StateChangeParameters {
  /** The state machine's name, e.g. `VirtualMachine`. */
  machine: string;
  /** The state column (`state`; hosts also have `status` and `resourceState`). */
  column?: string;
  from: string;
  event: string;
  to: string;
}

/** Whether `event` is a state change (`<RESOURCE>.STATE.CHANGE`), with its parameters typed. */
export function isStateChange(
  event: StratusEvent,
): event is StratusEvent & { parameters: StateChangeParameters & Record<string, unknown> } {
  const p = event.parameters;
  return (
    event.type.endsWith('.STATE.CHANGE') &&
    typeof p.from === 'string' &&
    typeof p.to === 'string' &&
    typeof p.event === 'string'
  );
}

/** What a service hands the event log; the rest is filled in. */
export interface EventInput {
  type: string;
  description: string;
  state?: EventState;
  level?: EventLevel;
  resourceType?: ResourceType;
  resourceId?: number;
  resourceUuid?: string;
  accountId?: number | null;
  domainId?: number | null;
  userId?: number | null;
  startId?: number;
  parameters?: Record<string, unknown>;
}
