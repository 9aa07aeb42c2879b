import { ConcurrentModificationError, InvalidParameterError, NotFoundError } from '../errors.js';
import type { Ref, Resolved } from '../model/ref.js';
import { isRootAdmin, requireAccess } from '../resources/permissions.js';
import { resolveRef, resolveRefs } from '../resources/ref-resolution.js';
import { snapshotPolicyRefs, volumeRefs } from '../resources/ref-tables.js';
import { newUuid } from '../store/uuid.js';
import { decodePolicy, type SnapshotPolicy } from './snapshot-records.js';
import { SnapshotRestore } from './snapshot-restore.js';
import {
  nextSnapshotRun,
  parseSnapshotSchedule,
  requireTimezone,
  SNAPSHOT_INTERVALS,
  type SnapshotInterval,
} from './snapshots-schedule.js';
import { getVolume } from './volume-record.js';

/** Outcome of one {@link SnapshotService.runDueSnapshotPolicies} pass. */
export interface PolicyRunReport {
  taken: number[];
  skippedInactive: number[];
  failed: Array<{ policyId: number; error: string }>;
  deletedByRetention: number[];
}

/**
 * Recurring snapshot policies: schedules evaluated in their time zone, `maxSnaps` retention and the
 * inactive-volume rule. A layer of {@link SnapshotService}.
 */
export class SnapshotPolicies extends SnapshotRestore {
  // ── Recurring policies ───────────────────────────────────────────────────────────────────────────────

  /**
   * Creates a recurring policy, or updates the volume's policy of the same interval (one per
   * interval, storage.md §5.3, §10). `maxSnaps` ≤ `snapshot.max.<interval>` and, for non-admin
   * owners, ≤ the account's snapshot limit.
   */
  async createPolicy(input: {
    volumeId: Ref;
    intervalType: SnapshotInterval;
    schedule: string;
    timezone: string;
    maxSnaps: number;
  }): Promise<SnapshotPolicy> {
    return this.createPolicyResolved(await resolveRefs(this.ctx.db, input, { volumeId: volumeRefs }));
  }

  /** {@link createPolicy} with the input's references resolved to numeric ids. */
  private createPolicyResolved(
    input: Resolved<{
      volumeId: Ref;
      intervalType: SnapshotInterval;
      schedule: string;
      timezone: string;
      maxSnaps: number;
    }>,
  ): Promise<SnapshotPolicy> {
    return this.ctx.write(async (w) => {
      const volume = await getVolume(w.db, input.volumeId);
      await requireAccess(w.db, w.caller, volume, 'create a snapshot policy');
      this.requireSnapshots(volume);
      if (!SNAPSHOT_INTERVALS.includes(input.intervalType))
        throw new InvalidParameterError('intervalType', input.intervalType, `one of ${SNAPSHOT_INTERVALS.join(', ')}`);
      const parsed = parseSnapshotSchedule(input.intervalType, input.schedule);
      const timezone = requireTimezone(input.timezone);
      const cap = await this.settings.get(
        `snapshot.max.${input.intervalType.toLowerCase() as 'hourly' | 'daily' | 'weekly' | 'monthly'}`,
        {},
        w.db,
      );
      if (!Number.isSafeInteger(input.maxSnaps) || input.maxSnaps < 1 || input.maxSnaps > cap)
        throw new InvalidParameterError(
          'maxSnaps',
          input.maxSnaps,
          `must be 1–${cap} (snapshot.max.${input.intervalType.toLowerCase()})`,
        );
      if (!isRootAdmin(w.caller)) {
        const limit = await this.settings.get('max.account.snapshots', { accountId: volume.accountId }, w.db);
        if (limit >= 0 && input.maxSnaps > limit)
          throw new InvalidParameterError('maxSnaps', input.maxSnaps, `exceeds the account's snapshot limit ${limit}`);
      }
      const nextRun = nextSnapshotRun(input.intervalType, parsed, timezone, w.now);
      const existing = await w.db
        .selectFrom('snapshotPolicies')
        .selectAll()
        .where('volumeId', '=', volume.id)
        .where('intervalType', '=', input.intervalType)
        .where('removed', 'is', null)
        .executeTakeFirst();
      let id: number;
      if (existing) {
        id = Number(existing.id);
        await w.db
          .updateTable('snapshotPolicies')
          .set((eb) => ({
            schedule: input.schedule,
            timezone,
            maxSnaps: input.maxSnaps,
            active: 1,
            nextRun,
            updatedCount: eb('updatedCount', '+', 1),
          }))
          .where('id', '=', id)
          .execute();
      } else {
        const row = await w.db
          .insertInto('snapshotPolicies')
          .values({
            uuid: newUuid(),
            volumeId: volume.id,
            intervalType: input.intervalType,
            schedule: input.schedule,
            timezone,
            maxSnaps: input.maxSnaps,
            active: 1,
            accountId: volume.accountId,
            domainId: volume.domainId,
            nextRun,
            lastRun: null,
            created: w.now,
            removed: null,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        id = Number(row.id);
      }
      await w.event({
        type: existing ? 'SNAPSHOTPOLICY.UPDATE' : 'SNAPSHOTPOLICY.CREATE',
        description: `${input.intervalType} snapshot policy ${input.schedule} (${timezone}, keep ${input.maxSnaps}) on volume ${volume.name}`,
        resourceType: 'Volume',
        resourceId: volume.id,
        resourceUuid: volume.uuid,
        accountId: volume.accountId,
        domainId: volume.domainId,
        parameters: { policyId: id, nextRun },
      });
      return decodePolicy(
        await w.db.selectFrom('snapshotPolicies').selectAll().where('id', '=', id).executeTakeFirstOrThrow(),
      );
    });
  }

  async listPolicies(volumeId: Ref): Promise<SnapshotPolicy[]> {
    volumeId = await resolveRef(this.ctx.db, volumeRefs, volumeId, 'volumeId');
    const rows = await this.ctx.db
      .selectFrom('snapshotPolicies')
      .selectAll()
      .where('volumeId', '=', volumeId)
      .where('removed', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => decodePolicy(r));
  }

  /** Deletes a policy and its future schedule; its snapshots stay. */
  async deletePolicy(policyId: Ref): Promise<void> {
    policyId = await resolveRef(this.ctx.db, snapshotPolicyRefs, policyId, 'policyId');
    return this.ctx.write(async (w) => {
      const p = await w.db
        .selectFrom('snapshotPolicies')
        .selectAll()
        .where('id', '=', policyId)
        .where('removed', 'is', null)
        .executeTakeFirst();
      if (!p) throw new NotFoundError('SnapshotPolicy', 'policyId', policyId);
      await requireAccess(
        w.db,
        w.caller,
        { accountId: Number(p.accountId), domainId: Number(p.domainId) },
        'delete a snapshot policy',
      );
      await w.db
        .updateTable('snapshotPolicies')
        .set({ removed: w.now, active: 0 })
        .where('id', '=', policyId)
        .execute();
      await w.event({
        type: 'SNAPSHOTPOLICY.DELETE',
        description: `snapshot policy ${p.uuid} deleted`,
        resourceType: 'Volume',
        resourceId: Number(p.volumeId),
        accountId: Number(p.accountId),
        domainId: Number(p.domainId),
        parameters: { policyId },
      });
    });
  }

  /**
   * Runs every policy whose next run is due by the context's clock (call it on a timer, every
   * `snapshot.poll.interval`). Each due policy is claimed by compare-and-set on its schedule row
   * (so two processes never both run one interval), rescheduled, then: skipped when its volume has
   * been inactive since its last snapshot; otherwise snapshotted (a job), after which the policy's
   * snapshots beyond `maxSnaps` are deleted oldest first.
   */
  async runDueSnapshotPolicies(): Promise<PolicyRunReport> {
    const now = this.ctx.clock.now();
    const report: PolicyRunReport = { taken: [], skippedInactive: [], failed: [], deletedByRetention: [] };
    const due = await this.ctx.db
      .selectFrom('snapshotPolicies')
      .selectAll()
      .where('removed', 'is', null)
      .where('active', '=', 1)
      .where('nextRun', '<=', now)
      .orderBy('nextRun')
      .execute();
    for (const row of due) {
      const policy = decodePolicy(row);
      const next = nextSnapshotRun(
        policy.intervalType,
        parseSnapshotSchedule(policy.intervalType, policy.schedule),
        policy.timezone,
        now,
      );
      const claim = await this.ctx.db
        .updateTable('snapshotPolicies')
        .set({ nextRun: next, lastRun: now, updatedCount: Number(row.updatedCount) + 1 })
        .where('id', '=', policy.id)
        .where('updatedCount', '=', Number(row.updatedCount))
        .executeTakeFirst();
      if (Number(claim.numUpdatedRows) !== 1) continue;
      try {
        const volume = await getVolume(this.ctx.db, policy.volumeId);
        const active = await this.isActive(this.ctx.db, volume);
        if (!active) {
          const last = await this.ctx.db
            .selectFrom('snapshots')
            .select(['volumeActive'])
            .where('volumeId', '=', volume.id)
            .where('removed', 'is', null)
            .where('state', 'not in', ['Error', 'Destroyed'])
            .orderBy('created', 'desc')
            .orderBy('id', 'desc')
            .executeTakeFirst();
          if (last && Number(last.volumeActive) === 0) {
            report.skippedInactive.push(policy.id);
            continue;
          }
        }
        const job = await this.jobs.submit(
          {
            cmd: 'createSnapshot',
            info: { volumeId: volume.id, policyId: policy.id },
            instance: { type: 'Volume', id: volume.id, uuid: volume.uuid },
            eventType: 'SNAPSHOT.CREATE',
            description: `${policy.intervalType} snapshot of volume ${volume.name}`,
          },
          (h) => this.take(volume.id, { type: policy.intervalType, policyId: policy.id, signal: h.signal }),
        );
        const snap = await job.result;
        report.taken.push(snap.id);
        const kept = await this.list({ policyId: policy.id, state: 'BackedUp' });
        for (const old of kept.slice(0, Math.max(0, kept.length - policy.maxSnaps))) {
          await this.deleteNow(old.id);
          report.deletedByRetention.push(old.id);
        }
      } catch (error) {
        if (error instanceof ConcurrentModificationError) continue;
        report.failed.push({ policyId: policy.id, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return report;
  }
}
