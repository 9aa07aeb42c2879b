import type { CloudContext, Writer } from '../context.js';
import { NotFoundError, PermissionDeniedError, StratusError } from '../errors.js';
import type { ResourceType } from '../events/event-types.js';
import type { ListOptions } from '../model/list-options.js';
import { redactDeep } from '../model/redact.js';
import type { Ref } from '../model/ref.js';
import {
  ASYNC_JOB_INITIAL_STATE,
  ASYNC_JOB_STATUS_CODES,
  ASYNC_JOB_TERMINAL_STATES,
  type AsyncJobEvent,
  type AsyncJobState,
  asyncJobStateMachine,
} from '../model/state-machines/index.js';
import { applyPaging, listPaging } from '../resources/list-paging.js';
import { isRootAdmin, requireAccess } from '../resources/permissions.js';
import { resolveRef } from '../resources/ref-resolution.js';
import { jobRefs } from '../resources/ref-tables.js';
import { json } from '../store/codec.js';
import { insertRow } from '../store/insert-row.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import { newUuid } from '../store/uuid.js';
import type { ManagementServer } from './management-server.js';

/** A job as stored and reported (CloudStack's queryAsyncJobResult). */
export interface Job<R = unknown> {
  id: number;
  uuid: string;
  cmd: string;
  status: AsyncJobState;
  /** 0 pending, 1 succeeded, 2 failed, 3 cancelled. */
  statusCode: number;
  /** 0–100. */
  progress: number;
  progressMessage: string | null;
  /** 0, or the error's httpCode when the job failed. */
  resultCode: number;
  /** The result on success; `{ errorcode, errortext, code }` on failure. */
  result: R | JobError | null;
  instanceType: string | null;
  instanceId: number | null;
  accountId: number | null;
  userId: number | null;
  executingMsid: string | null;
  created: Date;
  lastUpdated: Date;
  completed: Date | null;
}

/** How a failed job's error is stored and reported: CloudStack's error code and text, and the Stratus code. */
export interface JobError {
  errorcode: number;
  errortext: string;
  /** The Stratus error code, e.g. INSUFFICIENT_CAPACITY. */
  code: string;
}

/** What a running job's body gets. */
export interface JobHandle {
  readonly id: number;
  readonly uuid: string;
  /** Aborted when the job is cancelled. */
  readonly signal: AbortSignal;
  /**
   * Records progress (0–100) and emits nothing else; cheap enough to call per step. Inside a
   * transaction it is written with it; outside, at most every `PROGRESS_WRITE_INTERVAL_MS` (250 ms)
   * (the latest value, by a timer), while this process's own reads see it at once.
   */
  progress(percent: number, message?: string): Promise<void>;
  /**
   * Records the job's success with `result` in the caller's transaction (one commit instead of
   * two); the job's body must then return that same result and do nothing more. If the
   * transaction rolls back, the job ends as the body's outcome says, as usual.
   */
  succeedIn?(w: Writer, result: unknown): Promise<void>;
}

/** A job to submit: its command, parameters, the entity it acts on, and its event type and description. */
export interface JobSpec {
  /** The command, e.g. `deployVirtualMachine`. */
  cmd: string;
  /** The parameters, stored with the job. */
  info?: Record<string, unknown>;
  /** The entity the job acts on; jobs on one entity run one at a time. */
  instance?: { type: ResourceType; id: number; uuid?: string };
  /** The event type for Scheduled/Started/Completed, e.g. `VM.START`. */
  eventType: string;
  description: string;
}

/** A submitted job: its id at once, its outcome later. */
export interface SubmittedJob<R> {
  id: number;
  uuid: string;
  /** Resolves with the result, rejects with the job's error. */
  result: Promise<R>;
}

type Row = Awaited<ReturnType<typeof selectJob>>;

function selectJob(ctx: CloudContext, id: number) {
  return ctx.db.selectFrom('asyncJobs').selectAll().where('id', '=', id).executeTakeFirst();
}

function decode<R>(row: NonNullable<Row>): Job<R> {
  const status = row.status as AsyncJobState;
  return {
    id: Number(row.id),
    uuid: row.uuid,
    cmd: row.cmd,
    status,
    statusCode: ASYNC_JOB_STATUS_CODES[status],
    progress: Number(row.processStatus),
    progressMessage: row.progressMessage,
    resultCode: Number(row.resultCode),
    result: row.result === null ? null : (JSON.parse(row.result) as R | JobError),
    instanceType: row.instanceType,
    instanceId: row.instanceId === null ? null : Number(row.instanceId),
    accountId: row.accountId === null ? null : Number(row.accountId),
    userId: row.userId === null ? null : Number(row.userId),
    executingMsid: row.executingMsid,
    created: new Date(Number(row.created)),
    lastUpdated: new Date(Number(row.lastUpdated)),
    completed: row.completed === null ? null : new Date(Number(row.completed)),
  };
}

/** A job that failed because its executor died or it was cancelled. */
export class JobAbortedError extends StratusError {
  constructor(message: string) {
    super('JOB_ABORTED', 530, message);
  }
}

/**
 * Asynchronous jobs (spec/operations.md §10): every long operation is a persisted job with a
 * status, progress and result that can be awaited in-process or polled from anywhere; it emits
 * Scheduled, Started and Completed events; jobs on one entity run one at a time in this process
 * (and entity state changes are compare-and-set across processes).
 */
/** Per-process job bookkeeping, shared by every caller's view of the job service. */
interface JobRuntime {
  /** The tail of each entity's queue of jobs. */
  queues: Map<string, Promise<unknown>>;
  /** Abort controllers of the jobs running in this process. */
  running: Map<number, AbortController>;
  /** Progress of this process's running jobs not yet written to the store. */
  unwritten: Map<number, ProgressValues>;
}

interface ProgressValues {
  processStatus: number;
  progressMessage: string | null;
  lastUpdated: number;
}

/**
 * Progress reported outside a transaction is written at most this often per job: a job's steps
 * report progress far more often than anyone polls it, and each write is a commit.
 */
export const PROGRESS_WRITE_INTERVAL_MS = 250;

/**
 * A job of this process as it runs: in progress, at the version it was created with (progress
 * writes leave the version alone; only ending the job, here or by another process, changes it).
 */
const RUNNING = { state: 'IN_PROGRESS', version: 0 } as const satisfies { state: AsyncJobState; version: number };

/**
 * Asynchronous jobs (CloudStack's async jobs): submit, query, wait for and cancel them. Jobs on one
 * entity run one at a time; a job of a management server that died is failed by the survivors.
 */
export class JobService {
  private readonly queues: Map<string, Promise<unknown>>;
  private readonly running: Map<number, AbortController>;
  private readonly unwritten: Map<number, ProgressValues>;

  constructor(
    private readonly ctx: CloudContext,
    private readonly server: ManagementServer,
    private readonly runtime: JobRuntime = { queues: new Map(), running: new Map(), unwritten: new Map() },
  ) {
    this.queues = runtime.queues;
    this.running = runtime.running;
    this.unwritten = runtime.unwritten;
  }

  /** The same job service acting for another caller (same queues, same running jobs). */
  withContext(ctx: CloudContext): JobService {
    return new JobService(ctx, this.server, this.runtime);
  }

  /** Persists the job (Scheduled event) and runs `body` asynchronously. */
  async submit<R>(spec: JobSpec, body: (job: JobHandle) => Promise<R>): Promise<SubmittedJob<R>> {
    const tracer = this.ctx.tracer;
    const mark = tracer.mark();
    const recorded = await this.ctx.write((w) => this.record(w, spec));
    tracer.step('job.submit', mark);
    return this.enqueue(recorded, spec, body);
  }

  /**
   * {@link submit} inside the caller's transaction: the job row and its Scheduled event commit
   * with the caller's writes (one commit instead of two), and the job starts only once they have
   * committed — never if they roll back. Do not await `result` inside that transaction.
   */
  async submitIn<R>(w: Writer, spec: JobSpec, body: (job: JobHandle) => Promise<R>): Promise<SubmittedJob<R>> {
    const recorded = await this.record(w, spec);
    let settle!: (outcome: Promise<R>) => void;
    const result = new Promise<R>((resolve) => {
      settle = resolve;
    });
    w.afterCommit(() => settle(this.enqueue(recorded, spec, body).result));
    return { id: recorded.id, uuid: recorded.uuid, result };
  }

  /** Writes the job row and its Scheduled event. */
  private async record(w: Writer, spec: JobSpec): Promise<{ id: number; uuid: string; scheduledEventId: number }> {
    const now = w.now;
    const event = await w.eventNow({
      type: spec.eventType,
      state: 'Scheduled',
      description: spec.description,
      ...(spec.instance
        ? {
            resourceType: spec.instance.type,
            resourceId: spec.instance.id,
            ...(spec.instance.uuid ? { resourceUuid: spec.instance.uuid } : {}),
          }
        : {}),
    });
    const row = await insertRow<'asyncJobs', { id: number; uuid: string }>(
      w.db,
      'asyncJobs',
      {
        uuid: newUuid(),
        userId: w.caller.userId,
        accountId: w.caller.accountId,
        cmd: spec.cmd,
        cmdInfo: json(spec.info ?? {}),
        status: ASYNC_JOB_INITIAL_STATE,
        processStatus: 0,
        progressMessage: null,
        resultCode: 0,
        result: null,
        instanceType: spec.instance?.type ?? null,
        instanceId: spec.instance?.id ?? null,
        initMsid: this.server.msid,
        executingMsid: this.server.msid,
        completeMsid: null,
        scheduledEventId: event.id,
        created: now,
        lastUpdated: now,
        completed: null,
        removed: null,
      },
      ['id', 'uuid'],
    );
    return { id: Number(row.id), uuid: row.uuid, scheduledEventId: event.id };
  }

  /** Queues the recorded job behind its entity's earlier jobs and runs it. */
  private enqueue<R>(
    recorded: { id: number; uuid: string; scheduledEventId: number },
    spec: JobSpec,
    body: (job: JobHandle) => Promise<R>,
  ): SubmittedJob<R> {
    const { id, uuid, scheduledEventId } = recorded;
    const controller = new AbortController();
    this.running.set(id, controller);
    const key = spec.instance ? `${spec.instance.type}:${spec.instance.id}` : `job:${id}`;
    const previous = this.queues.get(key) ?? Promise.resolve();
    const result = previous
      .catch(() => undefined)
      .then(() => this.execute(id, uuid, spec, scheduledEventId, controller, body));
    const tail = result.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return { id, uuid, result };
  }

  private async execute<R>(
    id: number,
    uuid: string,
    spec: JobSpec,
    startId: number,
    controller: AbortController,
    body: (job: JobHandle) => Promise<R>,
  ): Promise<R> {
    const resource = spec.instance
      ? {
          resourceType: spec.instance.type,
          resourceId: spec.instance.id,
          ...(spec.instance.uuid ? { resourceUuid: spec.instance.uuid } : {}),
        }
      : {};
    const tracer = this.ctx.tracer;
    const failureEvent = (w: Writer, event: AsyncJobEvent, failure: JobError): Promise<unknown> =>
      w.event({
        type: spec.eventType,
        state: 'Completed',
        level: 'ERROR',
        description: `${spec.description}: ${event === 'Cancel' ? 'cancelled' : 'failed'}: ${failure.errortext}`,
        startId,
        ...resource,
        parameters: { code: failure.code },
      });
    // The Started event commits with the job's first transaction (a progress report inside one,
    // or the job's end), not in a transaction of its own; a job cancelled before it started has none.
    let started = false;
    let startedRecorded = false;
    const recordStarted = async (w: Writer) => {
      if (!started || startedRecorded) return;
      startedRecorded = true;
      w.afterRollback(() => {
        startedRecorded = false;
      });
      await w
        .as(this.ctx.caller)
        .event({ type: spec.eventType, state: 'Started', description: spec.description, startId, ...resource });
    };
    const progress = new JobProgress(this.ctx, id, uuid, this.unwritten);
    try {
      if (controller.signal.aborted) throw new JobAbortedError(`job ${uuid} was cancelled before it started`);
      started = true;
      const handle: JobHandle = {
        id,
        uuid,
        signal: controller.signal,
        progress: async (percent, message) => {
          const mark = tracer.mark();
          const w = this.ctx.writer;
          if (w !== undefined) await recordStarted(w);
          await progress.report(percent, message ?? null, w);
          tracer.step('job.progress', mark);
        },
      };
      const succeeded = async (w: Writer) => {
        await recordStarted(w);
        await w.event({
          type: spec.eventType,
          state: 'Completed',
          description: `${spec.description}: succeeded`,
          startId,
          ...resource,
        });
      };
      let finished = false;
      handle.succeedIn = async (w, result) => {
        await this.finishIn(w, id, 'Succeed', { resultCode: 0, result: result ?? null }, succeeded, RUNNING);
        w.afterCommit(() => {
          finished = true;
          progress.stop();
        });
      };
      const value = await body(handle);
      progress.stop();
      if (!finished) {
        const finishMark = tracer.mark();
        await this.finish(id, 'Succeed', { resultCode: 0, result: value ?? null }, succeeded, RUNNING);
        tracer.step('job.finish', finishMark);
      }
      return value;
    } catch (error) {
      const event: AsyncJobEvent = controller.signal.aborted ? 'Cancel' : 'Fail';
      const failure = toJobError(error);
      await this.finish(
        id,
        event,
        { resultCode: failure.errorcode, result: failure },
        async (w) => {
          await recordStarted(w);
          await failureEvent(w, event, failure);
        },
        RUNNING,
      ).catch((finishError: unknown) =>
        this.ctx.logger.error({ err: finishError, job: uuid }, 'could not record job failure'),
      );
      throw error;
    } finally {
      this.running.delete(id);
      progress.stop();
    }
  }

  private async finish(
    id: number,
    event: AsyncJobEvent,
    outcome: { resultCode: number; result: unknown },
    record: (w: Writer) => Promise<unknown>,
    expect?: { state: AsyncJobState; version: number },
  ) {
    await this.ctx.write((w) => this.finishIn(w, id, event, outcome, record, expect));
  }

  /** {@link finish} in the caller's transaction. */
  private async finishIn(
    w: Writer,
    id: number,
    event: AsyncJobEvent,
    outcome: { resultCode: number; result: unknown },
    record: (w: Writer) => Promise<unknown>,
    expect?: { state: AsyncJobState; version: number },
  ) {
    await w.transition({
      table: 'asyncJobs',
      id,
      machine: asyncJobStateMachine,
      event,
      column: 'status',
      ...(expect ? { expect } : {}),
      set: {
        resultCode: outcome.resultCode,
        result: json(redactDeep(outcome.result)),
        processStatus: event === 'Succeed' ? 100 : undefined,
        completed: w.now,
        lastUpdated: w.now,
        completeMsid: this.server.msid,
      },
      resource: { type: 'AsyncJob', uuid: String(id) },
      eventPrefix: 'JOB',
    });
    await record(w);
  }

  /** The job, for its owner or an admin over the owner's domain. */
  async get<R = unknown>(id: Ref): Promise<Job<R>> {
    id = await resolveRef(this.ctx.db, jobRefs, id, 'id');
    const row = await selectJob(this.ctx, id);
    if (!row || row.removed !== null) throw new NotFoundError('AsyncJob', 'id', id);
    const job = this.withUnwritten(decode<R>(row));
    if (job.accountId !== null && job.accountId !== this.ctx.caller.accountId) {
      const owner = await this.ctx.db
        .selectFrom('accounts')
        .select('domainId')
        .where('id', '=', job.accountId)
        .executeTakeFirst();
      await requireAccess(
        this.ctx.db,
        this.ctx.caller,
        { accountId: job.accountId, domainId: Number(owner?.domainId ?? 1) },
        'query a job',
      );
    }
    return job;
  }

  /** Waits until the job is no longer IN_PROGRESS (polling the store, so it works across processes). */
  async wait<R = unknown>(id: Ref, options: { intervalMs?: number; timeoutMs?: number } = {}): Promise<Job<R>> {
    id = await resolveRef(this.ctx.db, jobRefs, id, 'id');
    const deadline = Date.now() + (options.timeoutMs ?? 3_600_000);
    for (;;) {
      const job = await this.get<R>(id);
      if (ASYNC_JOB_TERMINAL_STATES.has(job.status)) return job;
      if (Date.now() > deadline)
        throw new JobAbortedError(`job ${job.uuid} still running after ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
    }
  }

  /** The caller's recent jobs (all jobs for a root admin), newest first. */
  async list(
    filter: { status?: AsyncJobState; instanceType?: string; instanceId?: number; limit?: number } & ListOptions = {},
  ): Promise<Job[]> {
    const paging = await listPaging(this.ctx, filter);
    let q = this.ctx.db.selectFrom('asyncJobs').selectAll().where('removed', 'is', null);
    if (!isRootAdmin(this.ctx.caller)) q = q.where('accountId', '=', this.ctx.caller.accountId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.instanceType) q = q.where('instanceType', '=', filter.instanceType);
    if (filter.instanceId !== undefined) q = q.where('instanceId', '=', filter.instanceId);
    // A job has no name: the keyword matches its command or its progress message.
    const rows = await applyPaging(
      paging?.limit === undefined ? q.orderBy('id', 'desc').limit(filter.limit ?? 100) : q.orderBy('id', 'desc'),
      paging,
      ['cmd', 'progressMessage'],
    ).execute();
    return rows.map((r) => this.withUnwritten(decode(r)));
  }

  /** The job with the progress this process has reported and not yet written. */
  private withUnwritten<R>(job: Job<R>): Job<R> {
    const values = job.status === 'IN_PROGRESS' ? this.unwritten.get(job.id) : undefined;
    if (values === undefined) return job;
    return {
      ...job,
      progress: values.processStatus,
      progressMessage: values.progressMessage,
      lastUpdated: new Date(values.lastUpdated),
    };
  }

  /**
   * Cancels a job running in this process: its body sees `signal.aborted` and the job ends
   * CANCELLED. A job of another process cannot be cancelled from here.
   */
  async cancel(id: Ref): Promise<void> {
    id = await resolveRef(this.ctx.db, jobRefs, id, 'id');
    const job = await this.get(id);
    if (job.accountId !== this.ctx.caller.accountId && !isRootAdmin(this.ctx.caller))
      throw new PermissionDeniedError('only the owner or an admin may cancel a job');
    const controller = this.running.get(id);
    if (!controller) throw new NotFoundError('running AsyncJob', 'id', id);
    controller.abort(new JobAbortedError(`job ${job.uuid} cancelled`));
  }

  /**
   * Fails the jobs whose executing process is gone (marked Down, or no heartbeat for
   * `staleAfterMs`) and cancels jobs of this cloud stuck longer than `job.cancel.threshold.minutes`.
   * Returns the jobs it ended. Entity state is brought back by the orchestrator's own recovery.
   */
  async recoverOrphans(staleAfterMs = 60_000): Promise<Job[]> {
    const dead = await this.server.deadServers(staleAfterMs);
    const ended: Job[] = [];
    const stuck = await this.ctx.db
      .selectFrom('asyncJobs')
      .select(['id', 'executingMsid'])
      .where('status', '=', 'IN_PROGRESS')
      .execute();
    for (const row of stuck) {
      if (row.executingMsid === null || !dead.includes(row.executingMsid)) continue;
      const failure: JobError = {
        errorcode: 530,
        errortext: `the management server ${row.executingMsid} running this job died`,
        code: 'JOB_ABORTED',
      };
      await this.finish(Number(row.id), 'Fail', { resultCode: 530, result: failure }, async () => undefined);
      ended.push(await this.get(Number(row.id)));
    }
    return ended;
  }

  /** Removes finished jobs older than `job.expire.minutes`. Returns how many. */
  async purgeExpired(expireMinutes: number): Promise<number> {
    const cutoff = this.ctx.clock.now() - expireMinutes * 60_000;
    const result = await this.ctx.db
      .updateTable('asyncJobs')
      .set({ removed: this.ctx.clock.now() })
      .where('status', '!=', 'IN_PROGRESS')
      .where('completed', '<', cutoff)
      .where('removed', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

/**
 * A running job's progress: written with the transaction it is reported in, otherwise kept for
 * this process's reads and written at most every {@link PROGRESS_WRITE_INTERVAL_MS} (the latest
 * value, by a timer).
 */
class JobProgress {
  private writtenAt: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ctx: CloudContext,
    private readonly jobId: number,
    private readonly jobUuid: string,
    /** Shared with the job service's reads. */
    private readonly unwritten: Map<number, ProgressValues>,
  ) {
    this.writtenAt = ctx.clock.now();
  }

  async report(percent: number, message: string | null, w: Writer | undefined): Promise<void> {
    const values: ProgressValues = {
      processStatus: Math.max(0, Math.min(100, Math.round(percent))),
      progressMessage: message,
      lastUpdated: this.ctx.clock.now(),
    };
    if (w !== undefined) {
      this.unwritten.delete(this.jobId);
      this.writtenAt = values.lastUpdated;
      await this.write(values);
      return;
    }
    this.unwritten.set(this.jobId, values);
    const wait = this.writtenAt + PROGRESS_WRITE_INTERVAL_MS - values.lastUpdated;
    if (wait <= 0) await this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.flush().catch((error: unknown) =>
          this.ctx.logger.warn({ err: error, job: this.jobUuid }, 'could not record job progress'),
        );
      }, wait);
      this.timer.unref();
    }
  }

  /** The job ended: nothing more is written. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unwritten.delete(this.jobId);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const values = this.unwritten.get(this.jobId);
    if (values === undefined) return;
    this.writtenAt = this.ctx.clock.now();
    await this.write(values);
    if (this.unwritten.get(this.jobId) === values) this.unwritten.delete(this.jobId);
  }

  /** Only while the job is in progress: a late write never touches an ended job. */
  private write(values: ProgressValues) {
    const id = this.jobId;
    return runStatement(this.ctx.db, writeProgress, { ...values, id });
  }
}

export function toJobError(error: unknown): JobError {
  if (error instanceof StratusError) return { errorcode: error.httpCode, errortext: error.message, code: error.code };
  return { errorcode: 530, errortext: error instanceof Error ? error.message : String(error), code: 'INTERNAL_ERROR' };
}

/** A job's progress, written only while it is in progress. */
const writeProgress = statement('job.progress', (db, p: ProgressValues & { id: number }) =>
  db
    .updateTable('asyncJobs')
    .set({ processStatus: p.processStatus, progressMessage: p.progressMessage, lastUpdated: p.lastUpdated })
    .where('id', '=', p.id)
    .where('status', '=', 'IN_PROGRESS'),
);
