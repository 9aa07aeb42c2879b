import { describe, expect, it } from 'vitest';
import { NoTransitionError } from '../src/errors.js';
import type { StateMachine } from '../src/model/state-machine.js';
import {
  ACCOUNT_INITIAL_STATE,
  ASYNC_JOB_INITIAL_STATE,
  ASYNC_JOB_STATES,
  ASYNC_JOB_STATUS_CODES,
  ASYNC_JOB_TERMINAL_STATES,
  accountStateMachine,
  allocationStateMachine,
  asyncJobStateMachine,
  asyncJobStateOfCode,
  clusterManagedStateMachine,
  DATA_OBJECT_IN_STORE_INITIAL_STATE,
  dataObjectInStoreStateMachine,
  HOST_LOST_CONNECTION_STATUSES,
  HOST_MAINTENANCE_STATES,
  HOST_RESOURCE_INITIAL_EVENT,
  HOST_RESOURCE_INITIAL_STATE,
  HOST_STATUS_INITIAL_EVENT,
  HOST_STATUS_INITIAL_STATE,
  hostResourceStateMachine,
  hostStatusStateMachine,
  NETWORK_INITIAL_STATES,
  NETWORK_OFFERING_INITIAL_STATE,
  NIC_INITIAL_STATE,
  networkOfferingStateMachine,
  networkStateMachine,
  nicStateMachine,
  PHYSICAL_NETWORK_INITIAL_STATE,
  PROJECT_INITIAL_STATE,
  PUBLIC_IP_INITIAL_STATE,
  physicalNetworkStateMachine,
  projectStateMachine,
  publicIpStateMachine,
  SNAPSHOT_INITIAL_STATE,
  STORAGE_POOL_INITIAL_STATE,
  snapshotStateMachine,
  storagePoolStateMachine,
  TEMPLATE_REGISTERED_INITIAL_STATE,
  TEMPLATE_UPLOAD_INITIAL_STATE,
  templateStateMachine,
  USER_INITIAL_STATE,
  userStateMachine,
  VM_INITIAL_STATE,
  VM_TRANSITIONAL_STATES,
  VOLUME_INITIAL_STATE,
  VOLUME_UPLOAD_INITIAL_STATE,
  vmStateMachine,
  volumeStateMachine,
} from '../src/model/state-machines/index.js';

/** One expected (from, event) → to triple, with its usage flag. */
interface Expected {
  from: string;
  event: string;
  to: string;
  usage: boolean;
}

/**
 * Parses rows transcribed from a resource-model.md §12 table: `| From(s) | Event(s) | To | U |`,
 * comma-separated lists expanded, the U column optional.
 */
function table(text: string): Expected[] {
  const out: Expected[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const cells = line.split('|').map((cell) => cell.trim());
    const [, froms = '', events = '', to = '', usage = ''] = cells;
    for (const from of froms.split(',')) {
      for (const event of events.split(',')) {
        out.push({ from: from.trim(), event: event.trim(), to, usage: usage === 'U' });
      }
    }
  }
  return out;
}

const key = (r: { from: string; event: string; to: string }) => `${r.from} --${r.event}--> ${r.to}`;

interface MachineSpec {
  /** Expected rows, transcribed from the spec. */
  rows: Expected[];
  /** States of the enum that have no transitions. */
  idleStates?: string[];
  /** A few (from, event) pairs that must be illegal. */
  illegal: Array<[string, string]>;
}

function describeMachine<S extends string, E extends string>(
  machine: StateMachine<S, E>,
  name: string,
  spec: MachineSpec,
): void {
  describe(`${name} state machine`, () => {
    it(`is named ${name}`, () => {
      expect(machine.name).toBe(name);
    });

    it('has no duplicate expected rows (transcription sanity)', () => {
      const pairs = spec.rows.map((r) => `${r.from}/${r.event}`);
      expect(new Set(pairs).size).toBe(pairs.length);
    });

    it('accepts every spec row and lands in the stated state', () => {
      for (const row of spec.rows) {
        expect(machine.next(row.from as S, row.event as E), key(row)).toBe(row.to);
        expect(machine.transition(row.from as S, row.event as E), key(row)).toBe(row.to);
      }
    });

    it('has no row the spec lacks', () => {
      const actual = machine.rows().map(key).sort();
      const expected = spec.rows.map(key).sort();
      expect(actual).toEqual(expected);
    });

    it('flags usage exactly where the spec marks U', () => {
      for (const row of spec.rows) {
        expect(machine.hasUsage(row.from as S, row.event as E), key(row)).toBe(row.usage);
      }
      const flagged = machine
        .rows()
        .filter((r) => r.usage)
        .map(key)
        .sort();
      expect(flagged).toEqual(
        spec.rows
          .filter((r) => r.usage)
          .map(key)
          .sort(),
      );
    });

    it('declares exactly the states and events of the spec', () => {
      const states = new Set<string>(spec.idleStates ?? []);
      const events = new Set<string>();
      for (const row of spec.rows) {
        states.add(row.from);
        states.add(row.to);
        events.add(row.event);
      }
      expect(new Set(machine.states).size).toBe(machine.states.length);
      expect(new Set(machine.events).size).toBe(machine.events.length);
      expect([...machine.states].sort()).toEqual([...states].sort());
      expect([...machine.events].sort()).toEqual([...events].sort());
    });

    if (spec.idleStates !== undefined && spec.idleStates.length > 0) {
      it(`has no transition out of ${spec.idleStates.join(', ')}`, () => {
        for (const state of spec.idleStates ?? []) {
          expect(machine.rows().filter((r) => r.from === state || r.to === state)).toEqual([]);
        }
      });
    }

    it('throws NoTransitionError on illegal transitions', () => {
      expect(spec.illegal.length).toBeGreaterThan(0);
      for (const [from, event] of spec.illegal) {
        expect(machine.next(from as S, event as E)).toBeUndefined();
        expect(machine.hasUsage(from as S, event as E)).toBe(false);
        let caught: unknown;
        try {
          machine.transition(from as S, event as E);
        } catch (error) {
          caught = error;
        }
        expect(caught, `${from}/${event}`).toBeInstanceOf(NoTransitionError);
        const error = caught as NoTransitionError;
        expect(error.machine).toBe(name);
        expect(error.from).toBe(from);
        expect(error.event).toBe(event);
        expect(error.code).toBe('NO_TRANSITION');
      }
    });
  });
}

// §12.1 Virtual machine
describeMachine(vmStateMachine, 'VirtualMachine', {
  rows: table(`
| Stopped | StartRequested | Starting | |
| Stopped | StopRequested, AgentReportStopped, AgentReportShutdowned, OperationFailed, FollowAgentPowerOffReport | Stopped | |
| Stopped | DestroyRequested | Destroyed | U |
| Stopped | OperationFailedToError | Error | U |
| Stopped | ExpungeOperation | Expunging | U |
| Stopped | StorageMigrationRequested | Migrating | |
| Stopped | FollowAgentPowerOnReport | Running | U |
| Starting | OperationRetry | Starting | |
| Starting | OperationSucceeded, AgentReportRunning, FollowAgentPowerOnReport | Running | U |
| Starting | OperationFailed, AgentReportStopped, AgentReportShutdowned, FollowAgentPowerOffReport | Stopped | |
| Running | StopRequested | Stopping | |
| Running | MigrationRequested | Migrating | |
| Running | AgentReportRunning, AgentReportMigrated, OperationSucceeded, FollowAgentPowerOnReport | Running | |
| Running | AgentReportStopped, AgentReportShutdowned, FollowAgentPowerOffReport | Stopped | U |
| Stopping | StopRequested | Stopping | |
| Stopping | OperationSucceeded, AgentReportStopped, AgentReportShutdowned, FollowAgentPowerOffReport | Stopped | U |
| Stopping | OperationFailed, AgentReportRunning, FollowAgentPowerOnReport | Running | |
| Migrating | MigrationRequested | Migrating | |
| Migrating | OperationSucceeded, OperationFailed, AgentReportRunning, FollowAgentPowerOnReport | Running | |
| Migrating | AgentReportStopped, AgentReportShutdowned, FollowAgentPowerOffReport | Stopped | |
| Destroyed | RecoveryRequested | Stopped | U |
| Destroyed | ExpungeOperation | Expunging | |
| Expunging | ExpungeOperation, OperationFailed | Expunging | |
| Error | DestroyRequested, ExpungeOperation | Expunging | |
`),
  idleStates: ['Unknown', 'Shutdown'],
  illegal: [
    ['Stopped', 'MigrationRequested'],
    ['Running', 'StartRequested'],
    ['Running', 'DestroyRequested'],
    ['Expunging', 'RecoveryRequested'],
    ['Destroyed', 'StartRequested'],
    ['Unknown', 'StartRequested'],
    ['Shutdown', 'AgentReportRunning'],
  ],
});

// §12.2 Host connection Status ("new" row checked separately below)
describeMachine(hostStatusStateMachine, 'HostStatus', {
  rows: table(`
| Creating | AgentConnected | Connecting |
| Creating | Error | Error |
| Connecting | AgentConnected, Ping | Connecting |
| Connecting | Ready | Up |
| Connecting | PingTimeout, AgentDisconnected | Alert |
| Connecting | ShutdownRequested, ManagementServerDown | Disconnected |
| Connecting | HostDown | Down |
| Up | Ping | Up |
| Up | PingTimeout, AgentDisconnected | Alert |
| Up | ShutdownRequested, ManagementServerDown | Disconnected |
| Up | HostDown | Down |
| Up | AgentConnected | Connecting |
| Up | StartAgentRebalance | Rebalancing |
| Up | Remove | Removed |
| Disconnected | ShutdownRequested, ManagementServerDown, AgentDisconnected | Disconnected |
| Disconnected | PingTimeout, WaitedTooLong | Alert |
| Disconnected | AgentConnected | Connecting |
| Disconnected | Ping | Up |
| Disconnected | HostDown | Down |
| Disconnected | Remove | Removed |
| Down | AgentConnected | Connecting |
| Down | ManagementServerDown, AgentDisconnected, PingTimeout, HostDown | Down |
| Down | Remove | Removed |
| Alert | AgentConnected | Connecting |
| Alert | Ping | Up |
| Alert | ManagementServerDown, AgentDisconnected | Alert |
| Alert | ShutdownRequested | Disconnected |
| Alert | HostDown | Down |
| Alert | Remove | Removed |
| Rebalancing | RebalanceCompleted, AgentConnected | Connecting |
| Rebalancing | RebalanceFailed, ManagementServerDown | Disconnected |
| Rebalancing | AgentDisconnected | Rebalancing |
| Error | AgentConnected | Connecting |
`),
  illegal: [
    ['Creating', 'Ping'],
    ['Connecting', 'Remove'],
    ['Down', 'Ping'],
    ['Removed', 'AgentConnected'],
    ['Error', 'Ping'],
    ['Up', 'Ready'],
  ],
});

// §12.3 Host ResourceState ("new" row checked separately below)
const HOST_RESOURCE_STATES_FROM_SPEC = [
  'Creating',
  'Enabled',
  'Disabled',
  'PrepareForMaintenance',
  'ErrorInPrepareForMaintenance',
  'Maintenance',
  'ErrorInMaintenance',
  'Error',
  'Degraded',
];
describeMachine(hostResourceStateMachine, 'HostResourceState', {
  rows: [
    ...table(`
| Creating | InternalCreated | Enabled |
| Creating | Error | Error |
| Enabled | Enable, InternalCreated | Enabled |
| Enabled | Disable | Disabled |
| Enabled | AdminAskMaintenance | PrepareForMaintenance |
| Enabled | InternalEnterMaintenance | Maintenance |
| Enabled | DeclareHostDegraded | Degraded |
| Disabled | Enable | Enabled |
| Disabled | Disable, InternalCreated, DeleteHost | Disabled |
| Disabled | DeclareHostDegraded | Degraded |
| PrepareForMaintenance | InternalCreated | PrepareForMaintenance |
| PrepareForMaintenance | InternalEnterMaintenance | Maintenance |
| PrepareForMaintenance | AdminCancelMaintenance | Enabled |
| PrepareForMaintenance | UnableToMigrate | ErrorInPrepareForMaintenance |
| PrepareForMaintenance | UnableToMaintain | ErrorInMaintenance |
| Maintenance | InternalCreated | Maintenance |
| Maintenance | AdminCancelMaintenance | Enabled |
| Maintenance | DeleteHost | Disabled |
| Maintenance | DeclareHostDegraded | Degraded |
| ErrorInPrepareForMaintenance | InternalCreated, UnableToMigrate | ErrorInPrepareForMaintenance |
| ErrorInPrepareForMaintenance | ErrorsCorrected | PrepareForMaintenance |
| ErrorInPrepareForMaintenance | InternalEnterMaintenance | Maintenance |
| ErrorInPrepareForMaintenance | AdminCancelMaintenance | Enabled |
| ErrorInPrepareForMaintenance | UnableToMaintain | ErrorInMaintenance |
| ErrorInPrepareForMaintenance | Disable, DeleteHost | Disabled |
| ErrorInMaintenance | InternalCreated | ErrorInMaintenance |
| ErrorInMaintenance | AdminAskMaintenance | PrepareForMaintenance |
| ErrorInMaintenance | AdminCancelMaintenance | Enabled |
| ErrorInMaintenance | Disable, DeleteHost | Disabled |
| Error | InternalCreated | Error |
| Degraded | EnableDegradedHost | Enabled |
| Degraded | AdminAskMaintenance | Maintenance |
| Degraded | DeleteHost | Disabled |
`),
    // "UpdatePassword and Unmanaged are accepted without state change."
    ...HOST_RESOURCE_STATES_FROM_SPEC.flatMap((state) =>
      ['UpdatePassword', 'Unmanaged'].map((event) => ({ from: state, event, to: state, usage: false })),
    ),
  ],
  illegal: [
    ['Enabled', 'DeleteHost'],
    ['Enabled', 'AdminCancelMaintenance'],
    ['Maintenance', 'Enable'],
    ['Degraded', 'Enable'],
    ['Error', 'Enable'],
    ['Creating', 'Enable'],
  ],
});

// §12.4 Volume
describeMachine(volumeStateMachine, 'Volume', {
  rows: table(`
| Allocated | CreateRequested, MigrationCopyRequested | Creating | |
| Allocated | OperationSucceeded, OperationFailed | Allocated | |
| Allocated | DestroyRequested | Destroy | |
| Allocated | UploadRequested | UploadOp | |
| Creating | CreateRequested, OperationRetry | Creating | |
| Creating | OperationSucceeded | Ready | |
| Creating | MigrationCopySucceeded | Ready | U |
| Creating | OperationFailed, MigrationCopyFailed | Allocated | |
| Creating | DestroyRequested | Destroy | |
| Ready | CreateRequested | Creating | |
| Ready | OperationSucceeded, OperationFailed | Ready | |
| Ready | ResizeRequested | Resizing | |
| Ready | SnapshotRequested | Snapshotting | |
| Ready | RevertSnapshotRequested | RevertSnapshotting | |
| Ready | MigrationRequested | Migrating | |
| Ready | AttachRequested | Attaching | |
| Ready | DestroyRequested | Destroy | |
| Resizing | OperationSucceeded | Ready | U |
| Resizing | OperationFailed | Ready | |
| Snapshotting, RevertSnapshotting, Migrating, Attaching | OperationSucceeded, OperationFailed | Ready | |
| Destroy | RecoverRequested | Ready | |
| Destroy | ExpungingRequested | Expunging | |
| Destroy | OperationSucceeded, OperationFailed | Destroy | U |
| Destroy | OperationRetryFromError | Allocated | |
| Expunging | ExpungingRequested | Expunging | |
| Expunging | OperationSucceeded | Expunged | |
| Expunging | OperationFailed | Destroy | |
| Expunged | ExpungingRequested, OperationSucceeded, OperationFailed | Expunged | |
| UploadOp | OperationSucceeded | Uploaded | |
| UploadOp | OperationFailed | Allocated | |
| UploadOp, Uploaded, UploadError, UploadAbandoned | DestroyRequested | Destroy | |
| Uploaded | CopyRequested | Copying | |
| Copying | OperationSucceeded | Ready | U |
| Copying | OperationFailed | Uploaded | |
| NotUploaded | UploadRequested | UploadInProgress | |
| NotUploaded | OperationSucceeded | Uploaded | |
| NotUploaded | OperationFailed | UploadError | |
| NotUploaded | OperationTimeout | UploadAbandoned | |
| UploadInProgress | OperationSucceeded | Uploaded | |
| UploadInProgress | OperationFailed, OperationTimeout | UploadError | |
`),
  idleStates: ['Destroying'],
  illegal: [
    ['Allocated', 'AttachRequested'],
    ['Expunged', 'RecoverRequested'],
    ['Expunging', 'RecoverRequested'],
    ['Resizing', 'DestroyRequested'],
    ['Destroying', 'OperationSucceeded'],
    ['UploadInProgress', 'DestroyRequested'],
  ],
});

// §12.5 Guest network (the "new" rows are initial states, checked below)
describeMachine(networkStateMachine, 'Network', {
  rows: table(`
| Allocated | ImplementNetwork | Implementing |
| Implementing | OperationSucceeded | Implemented |
| Implementing | OperationFailed | Shutdown |
| Implemented | DestroyNetwork | Shutdown |
| Shutdown | OperationSucceeded | Allocated |
| Shutdown | OperationFailed | Shutdown |
| Allocated, Setup | DestroyNetwork | Destroy |
`),
  illegal: [
    ['Setup', 'ImplementNetwork'],
    ['Implemented', 'ImplementNetwork'],
    ['Destroy', 'ImplementNetwork'],
    ['Shutdown', 'DestroyNetwork'],
  ],
});

// §12.6 Physical network
describeMachine(physicalNetworkStateMachine, 'PhysicalNetwork', {
  rows: table(`
| Disabled | Enable | Enabled |
| Enabled | Disable | Disabled |
`),
  illegal: [
    ['Enabled', 'Enable'],
    ['Disabled', 'Disable'],
  ],
});

// §12.6 Network offering
describeMachine(networkOfferingStateMachine, 'NetworkOffering', {
  rows: table(`
| Disabled | Enable | Enabled |
| Enabled | Disable | Disabled |
| Disabled, Enabled, Inactive | Retire | Inactive |
`),
  illegal: [
    ['Inactive', 'Enable'],
    ['Inactive', 'Disable'],
    ['Enabled', 'Enable'],
  ],
});

// §12.6 Zone / pod / cluster allocation state, and cluster managed state
describeMachine(allocationStateMachine, 'AllocationState', {
  rows: table(`
| Enabled | Disable | Disabled |
| Disabled | Enable | Enabled |
`),
  illegal: [
    ['Enabled', 'Enable'],
    ['Disabled', 'Disable'],
  ],
});
describeMachine(clusterManagedStateMachine, 'ClusterManagedState', {
  rows: table(`
| Managed | Unmanage | Unmanaged |
| Unmanaged | Manage | Managed |
`),
  illegal: [
    ['Managed', 'Manage'],
    ['Unmanaged', 'Unmanage'],
  ],
});

// §12.7 Public IP address (triggers named by the SDK)
describeMachine(publicIpStateMachine, 'PublicIpAddress', {
  rows: table(`
| Free | Acquire | Allocating |
| Free, Allocating, Reserved | MarkAllocated | Allocated |
| Free | ReserveForSystem | Reserved |
| Allocating, Allocated | Release | Releasing |
| Releasing | ReleaseCompleted | Free |
`),
  illegal: [
    ['Free', 'Release'],
    ['Allocated', 'Acquire'],
    ['Reserved', 'Release'],
    ['Releasing', 'MarkAllocated'],
  ],
});

// §12.8 Snapshot
describeMachine(snapshotStateMachine, 'Snapshot', {
  rows: table(`
| Allocated | CreateRequested | Creating |
| Creating | OperationSucceeded | CreatedOnPrimary |
| Creating | OperationNotPerformed | BackedUp |
| Creating | OperationFailed | Error |
| CreatedOnPrimary | BackupToSecondary | BackingUp |
| CreatedOnPrimary | OperationNotPerformed | BackedUp |
| BackingUp | OperationSucceeded | BackedUp |
| BackingUp | OperationFailed | CreatedOnPrimary |
| BackedUp | CopyingRequested | Copying |
| Copying | OperationSucceeded, OperationFailed | BackedUp |
| BackedUp | DestroyRequested | Destroying |
| Destroying | OperationSucceeded | Destroyed |
| Destroying | OperationFailed | BackedUp |
`),
  illegal: [
    ['Allocated', 'DestroyRequested'],
    ['Error', 'DestroyRequested'],
    ['Destroyed', 'CreateRequested'],
    ['CreatedOnPrimary', 'DestroyRequested'],
  ],
});

// §12.9 Template / ISO entity state
describeMachine(templateStateMachine, 'Template', {
  rows: table(`
| NotUploaded | UploadRequested | UploadInProgress |
| NotUploaded | OperationSucceeded | Active |
| NotUploaded | OperationFailed | UploadError |
| NotUploaded | OperationTimeout | UploadAbandoned |
| UploadInProgress | OperationSucceeded | Active |
| UploadInProgress | OperationFailed, OperationTimeout | UploadError |
`),
  illegal: [
    ['Active', 'UploadRequested'],
    ['UploadError', 'OperationSucceeded'],
    ['UploadAbandoned', 'UploadRequested'],
  ],
});

// §12.9 Per-store copy (OperationSuccessed normalised to OperationSucceeded)
describeMachine(dataObjectInStoreStateMachine, 'DataObjectInStore', {
  rows: table(`
| Allocated | CreateOnlyRequested | Creating |
| Allocated | OperationSucceeded | Ready |
| Allocated | OperationFailed | Failed |
| Allocated | DestroyRequested | Destroying |
| Creating | OperationSucceeded | Ready |
| Creating | OperationFailed | Allocated |
| Ready | OperationSucceeded | Ready |
| Ready | CopyingRequested | Copying |
| Copying | OperationSucceeded, OperationFailed | Ready |
| Ready, Failed | DestroyRequested | Destroying |
| Destroying | DestroyRequested, OperationFailed | Destroying |
| Destroying | OperationSucceeded | Destroyed |
`),
  illegal: [
    ['Creating', 'DestroyRequested'],
    ['Destroyed', 'DestroyRequested'],
    ['Failed', 'OperationSucceeded'],
    ['Ready', 'OperationFailed'],
  ],
});

// §12.10 NIC
describeMachine(nicStateMachine, 'Nic', {
  rows: table(`
| Allocated | ReservationRequested | Reserving |
| Reserving | OperationCompleted | Reserved |
| Reserving | CancelRequested, OperationFailed | Allocated |
| Reserved | ReleaseRequested | Releasing |
| Releasing | OperationCompleted | Allocated |
| Releasing | OperationFailed | Reserved |
`),
  idleStates: ['Deallocating'],
  illegal: [
    ['Allocated', 'ReleaseRequested'],
    ['Reserved', 'ReservationRequested'],
    ['Deallocating', 'ReservationRequested'],
  ],
});

// §12.11 Async job
describeMachine(asyncJobStateMachine, 'AsyncJob', {
  rows: table(`
| IN_PROGRESS | Succeed | SUCCEEDED |
| IN_PROGRESS | Fail | FAILED |
| IN_PROGRESS | Cancel | CANCELLED |
`),
  illegal: [
    ['SUCCEEDED', 'Fail'],
    ['FAILED', 'Succeed'],
    ['CANCELLED', 'Cancel'],
    ['SUCCEEDED', 'Cancel'],
  ],
});

// §12.12 Storage pool status (actions named by the SDK; "CancelMaintenance → Up" as two rows)
describeMachine(storagePoolStateMachine, 'StoragePool', {
  rows: table(`
| Initial, Initialized, Creating, Attaching | Attached | Up |
| Up | EnableMaintenance | PrepareForMaintenance |
| PrepareForMaintenance | MaintenanceCompleted | Maintenance |
| PrepareForMaintenance | MaintenanceFailed | ErrorInMaintenance |
| Maintenance, ErrorInMaintenance | CancelMaintenance | CancelMaintenance |
| CancelMaintenance | MaintenanceCancelled | Up |
| Up | Disable | Disabled |
| Disabled | Enable | Up |
| Maintenance | Delete | Removed |
`),
  illegal: [
    ['Up', 'Delete'],
    ['Disabled', 'EnableMaintenance'],
    ['Up', 'CancelMaintenance'],
    ['Removed', 'Enable'],
    ['ErrorInMaintenance', 'Delete'],
  ],
});

// §12.13 Project
describeMachine(projectStateMachine, 'Project', {
  rows: table(`
| Active | Suspend | Suspended |
| Suspended | Activate | Active |
| Active, Suspended, Disabled | Delete | Disabled |
`),
  illegal: [
    ['Suspended', 'Suspend'],
    ['Active', 'Activate'],
    ['Disabled', 'Activate'],
  ],
});

// §12.13 Account / user
const ACCOUNT_TABLE = `
| enabled | Disable | disabled |
| enabled | Lock | locked |
| disabled, locked | Enable | enabled |
`;
const ACCOUNT_ILLEGAL: Array<[string, string]> = [
  ['enabled', 'Enable'],
  ['disabled', 'Lock'],
  ['locked', 'Disable'],
];
describeMachine(accountStateMachine, 'Account', { rows: table(ACCOUNT_TABLE), illegal: ACCOUNT_ILLEGAL });
describeMachine(userStateMachine, 'User', { rows: table(ACCOUNT_TABLE), illegal: ACCOUNT_ILLEGAL });

describe('initial states ("new" rows)', () => {
  it('VM starts Stopped, volume Allocated (uploads NotUploaded), snapshot Allocated, NIC Allocated', () => {
    expect(VM_INITIAL_STATE).toBe('Stopped');
    expect(VOLUME_INITIAL_STATE).toBe('Allocated');
    expect(VOLUME_UPLOAD_INITIAL_STATE).toBe('NotUploaded');
    expect(SNAPSHOT_INITIAL_STATE).toBe('Allocated');
    expect(NIC_INITIAL_STATE).toBe('Allocated');
  });

  it('host: new --AgentConnected--> Connecting, new --InternalCreated--> Enabled', () => {
    expect(HOST_STATUS_INITIAL_EVENT).toBe('AgentConnected');
    expect(HOST_STATUS_INITIAL_STATE).toBe('Connecting');
    expect(hostStatusStateMachine.transition('Creating', HOST_STATUS_INITIAL_EVENT)).toBe(HOST_STATUS_INITIAL_STATE);
    expect(HOST_RESOURCE_INITIAL_EVENT).toBe('InternalCreated');
    expect(HOST_RESOURCE_INITIAL_STATE).toBe('Enabled');
    expect(hostResourceStateMachine.transition('Creating', HOST_RESOURCE_INITIAL_EVENT)).toBe(
      HOST_RESOURCE_INITIAL_STATE,
    );
  });

  it('guest networks start Setup (fully resourced) or Allocated (needs resources)', () => {
    expect([...NETWORK_INITIAL_STATES].sort()).toEqual(['Allocated', 'Setup']);
  });

  it('physical networks and network offerings start Disabled; projects Active; accounts enabled', () => {
    expect(PHYSICAL_NETWORK_INITIAL_STATE).toBe('Disabled');
    expect(NETWORK_OFFERING_INITIAL_STATE).toBe('Disabled');
    expect(PROJECT_INITIAL_STATE).toBe('Active');
    expect(ACCOUNT_INITIAL_STATE).toBe('enabled');
    expect(USER_INITIAL_STATE).toBe('enabled');
  });

  it('templates: URL-registered Active, uploads NotUploaded; store copies Allocated', () => {
    expect(TEMPLATE_REGISTERED_INITIAL_STATE).toBe('Active');
    expect(TEMPLATE_UPLOAD_INITIAL_STATE).toBe('NotUploaded');
    expect(DATA_OBJECT_IN_STORE_INITIAL_STATE).toBe('Allocated');
  });

  it('public IPs start Free, jobs IN_PROGRESS, pools Initialized (then Attached → Up)', () => {
    expect(PUBLIC_IP_INITIAL_STATE).toBe('Free');
    expect(ASYNC_JOB_INITIAL_STATE).toBe('IN_PROGRESS');
    expect(STORAGE_POOL_INITIAL_STATE).toBe('Initialized');
    expect(storagePoolStateMachine.transition(STORAGE_POOL_INITIAL_STATE, 'Attached')).toBe('Up');
  });
});

describe('helper sets', () => {
  it('VM transitional states', () => {
    expect([...VM_TRANSITIONAL_STATES].sort()).toEqual(['Expunging', 'Migrating', 'Starting', 'Stopping']);
  });

  it('host lost-connection statuses', () => {
    expect([...HOST_LOST_CONNECTION_STATUSES].sort()).toEqual(['Alert', 'Disconnected', 'Down']);
  });

  it('host maintenance states', () => {
    expect([...HOST_MAINTENANCE_STATES].sort()).toEqual([
      'ErrorInMaintenance',
      'ErrorInPrepareForMaintenance',
      'Maintenance',
      'PrepareForMaintenance',
    ]);
  });

  it('async job terminal states have no way out', () => {
    expect([...ASYNC_JOB_TERMINAL_STATES].sort()).toEqual(['CANCELLED', 'FAILED', 'SUCCEEDED']);
    for (const state of ASYNC_JOB_TERMINAL_STATES) {
      expect(asyncJobStateMachine.rows().filter((r) => r.from === state)).toEqual([]);
    }
  });
});

describe('async job status codes', () => {
  it('maps IN_PROGRESS/SUCCEEDED/FAILED/CANCELLED to 0..3 and back', () => {
    expect(ASYNC_JOB_STATUS_CODES).toEqual({ IN_PROGRESS: 0, SUCCEEDED: 1, FAILED: 2, CANCELLED: 3 });
    for (const state of ASYNC_JOB_STATES) {
      expect(asyncJobStateOfCode(ASYNC_JOB_STATUS_CODES[state])).toBe(state);
    }
    expect(asyncJobStateOfCode(4)).toBeUndefined();
    expect(asyncJobStateOfCode(-1)).toBeUndefined();
    expect(asyncJobStateOfCode(0.5)).toBeUndefined();
  });
});
