import type { SnapshotState } from '../model/state-machines/index.js';
import type { SnapshotInterval } from './snapshots-schedule.js';

/** A volume snapshot. */
export interface SnapshotRecord {
  id: number;
  uuid: string;
  name: string;
  volumeId: number;
  volumeType: string;
  zoneId: number;
  poolId: number | null;
  accountId: number;
  domainId: number;
  hypervisorType: string | null;
  snapshotType: 'MANUAL' | SnapshotInterval;
  policyId: number | null;
  size: number;
  physicalSize: number;
  volumeActive: boolean;
  backupStoreId: number | null;
  backupPath: string | null;
  state: SnapshotState;
  created: Date;
  removed: Date | null;
}

/** A recurring snapshot policy. */
export interface SnapshotPolicy {
  id: number;
  uuid: string;
  volumeId: number;
  intervalType: SnapshotInterval;
  schedule: string;
  timezone: string;
  maxSnaps: number;
  active: boolean;
  nextRun: Date;
  lastRun: Date | null;
}

/** Turns a stored snapshot row into a {@link SnapshotRecord}. */
export const decodeSnapshot = (r: Record<string, unknown>): SnapshotRecord => ({
  id: Number(r.id),
  uuid: String(r.uuid),
  name: String(r.name),
  volumeId: Number(r.volumeId),
  volumeType: String(r.volumeType),
  zoneId: Number(r.zoneId),
  poolId: r.poolId === null ? null : Number(r.poolId),
  accountId: Number(r.accountId),
  domainId: Number(r.domainId),
  hypervisorType: (r.hypervisorType as string | null) ?? null,
  snapshotType: r.snapshotType as SnapshotRecord['snapshotType'],
  policyId: r.policyId === null ? null : Number(r.policyId),
  size: Number(r.size),
  physicalSize: Number(r.physicalSize),
  volumeActive: Number(r.volumeActive) === 1,
  backupStoreId: r.backupStoreId === null ? null : Number(r.backupStoreId),
  backupPath: (r.backupPath as string | null) ?? null,
  state: r.state as SnapshotState,
  created: new Date(Number(r.created)),
  removed: r.removed === null ? null : new Date(Number(r.removed)),
});

/** Turns a stored snapshot policy row into a {@link SnapshotPolicy}. */
export const decodePolicy = (r: Record<string, unknown>): SnapshotPolicy => ({
  id: Number(r.id),
  uuid: String(r.uuid),
  volumeId: Number(r.volumeId),
  intervalType: r.intervalType as SnapshotInterval,
  schedule: String(r.schedule),
  timezone: String(r.timezone),
  maxSnaps: Number(r.maxSnaps),
  active: Number(r.active) === 1,
  nextRun: new Date(Number(r.nextRun)),
  lastRun: r.lastRun === null ? null : new Date(Number(r.lastRun)),
});
