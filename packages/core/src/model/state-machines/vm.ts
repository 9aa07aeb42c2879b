import { StateMachine } from '../state-machine.js';

/**
 * Virtual machine states (CloudStack `VirtualMachine.State`), resource-model.md §12.1.
 * `Unknown` and `Shutdown` exist in the enum but have no transitions.
 */
export const VM_STATES = [
  'Starting',
  'Running',
  'Stopping',
  'Stopped',
  'Destroyed',
  'Expunging',
  'Migrating',
  'Error',
  'Unknown',
  'Shutdown',
] as const;

/** A virtual machine state. */
export type VmState = (typeof VM_STATES)[number];

/**
 * Virtual machine events (CloudStack `VirtualMachine.Event`), resource-model.md §12.1.
 * `AgentReport*` and `FollowAgentPower*` are driven by the hypervisor agent and are legal from
 * transitional states, so that the agent's view wins over an in-flight operation (§15 pitfall 3).
 */
export const VM_EVENTS = [
  'StartRequested',
  'StopRequested',
  'DestroyRequested',
  'RecoveryRequested',
  'ExpungeOperation',
  'MigrationRequested',
  'StorageMigrationRequested',
  'OperationRetry',
  'OperationSucceeded',
  'OperationFailed',
  'OperationFailedToError',
  'AgentReportRunning',
  'AgentReportStopped',
  'AgentReportShutdowned',
  'AgentReportMigrated',
  'FollowAgentPowerOnReport',
  'FollowAgentPowerOffReport',
] as const;

/** A virtual machine event. */
export type VmEvent = (typeof VM_EVENTS)[number];

/**
 * New VMs are persisted directly in `Stopped`; there is no `Created` state. "Never started" is
 * `lastHostId == null` (§15 pitfall 2).
 */
export const VM_INITIAL_STATE = 'Stopped' satisfies VmState;

/** Transitional VM states: an operation (or the agent) is expected to move the VM on. */
export const VM_TRANSITIONAL_STATES: ReadonlySet<VmState> = new Set<VmState>([
  'Starting',
  'Stopping',
  'Migrating',
  'Expunging',
]);

/**
 * The virtual machine state machine (resource-model.md §12.1). Rows flagged `usage` have usage
 * impact; capacity is booked/released by a listener on these transitions.
 */
export const vmStateMachine = new StateMachine<VmState, VmEvent>('VirtualMachine', VM_STATES, VM_EVENTS, [
  { from: ['Stopped'], on: ['StartRequested'], to: 'Starting' },
  {
    from: ['Stopped'],
    on: [
      'StopRequested',
      'AgentReportStopped',
      'AgentReportShutdowned',
      'OperationFailed',
      'FollowAgentPowerOffReport',
    ],
    to: 'Stopped',
  },
  { from: ['Stopped'], on: ['DestroyRequested'], to: 'Destroyed', usage: true },
  // Creation failed.
  { from: ['Stopped'], on: ['OperationFailedToError'], to: 'Error', usage: true },
  { from: ['Stopped'], on: ['ExpungeOperation'], to: 'Expunging', usage: true },
  { from: ['Stopped'], on: ['StorageMigrationRequested'], to: 'Migrating' },
  { from: ['Stopped'], on: ['FollowAgentPowerOnReport'], to: 'Running', usage: true },

  { from: ['Starting'], on: ['OperationRetry'], to: 'Starting' },
  {
    from: ['Starting'],
    on: ['OperationSucceeded', 'AgentReportRunning', 'FollowAgentPowerOnReport'],
    to: 'Running',
    usage: true,
  },
  {
    from: ['Starting'],
    on: ['OperationFailed', 'AgentReportStopped', 'AgentReportShutdowned', 'FollowAgentPowerOffReport'],
    to: 'Stopped',
  },

  { from: ['Running'], on: ['StopRequested'], to: 'Stopping' },
  { from: ['Running'], on: ['MigrationRequested'], to: 'Migrating' },
  {
    from: ['Running'],
    on: ['AgentReportRunning', 'AgentReportMigrated', 'OperationSucceeded', 'FollowAgentPowerOnReport'],
    to: 'Running',
  },
  {
    from: ['Running'],
    on: ['AgentReportStopped', 'AgentReportShutdowned', 'FollowAgentPowerOffReport'],
    to: 'Stopped',
    usage: true,
  },

  { from: ['Stopping'], on: ['StopRequested'], to: 'Stopping' },
  {
    from: ['Stopping'],
    on: ['OperationSucceeded', 'AgentReportStopped', 'AgentReportShutdowned', 'FollowAgentPowerOffReport'],
    to: 'Stopped',
    usage: true,
  },
  { from: ['Stopping'], on: ['OperationFailed', 'AgentReportRunning', 'FollowAgentPowerOnReport'], to: 'Running' },

  { from: ['Migrating'], on: ['MigrationRequested'], to: 'Migrating' },
  {
    from: ['Migrating'],
    on: ['OperationSucceeded', 'OperationFailed', 'AgentReportRunning', 'FollowAgentPowerOnReport'],
    to: 'Running',
  },
  {
    from: ['Migrating'],
    on: ['AgentReportStopped', 'AgentReportShutdowned', 'FollowAgentPowerOffReport'],
    to: 'Stopped',
  },

  // `Destroyed` is not terminal: the VM can be recovered until it is expunged (§15 pitfall 4).
  { from: ['Destroyed'], on: ['RecoveryRequested'], to: 'Stopped', usage: true },
  { from: ['Destroyed'], on: ['ExpungeOperation'], to: 'Expunging' },
  { from: ['Expunging'], on: ['ExpungeOperation', 'OperationFailed'], to: 'Expunging' },
  { from: ['Error'], on: ['DestroyRequested', 'ExpungeOperation'], to: 'Expunging' },
]);
