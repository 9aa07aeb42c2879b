import { SnapshotPolicies } from './snapshot-policies.js';

export type { PolicyRunReport } from './snapshot-policies.js';
export type { SnapshotPolicy, SnapshotRecord } from './snapshot-records.js';

/**
 * Volume snapshots (spec/storage.md §5): manual snapshots as jobs (hypervisor snapshot on primary,
 * then backup to secondary, snapshot state machine), recurring policies with schedules evaluated in
 * their time zone, `maxSnaps` retention and the inactive-volume rule, restore to a new DATADISK or a
 * template, and deletion.
 *
 * One concern per file, each a layer of this class: a snapshot's own life (`snapshot-lifecycle.ts`),
 * restoring one to a volume or template (`snapshot-restore.ts`), and recurring policies
 * (`snapshot-policies.ts`); the records in `snapshot-records.ts`.
 */
export class SnapshotService extends SnapshotPolicies {}
