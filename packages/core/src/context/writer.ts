import { AsyncLocalStorage } from 'node:async_hooks';
import type { Insertable, Transaction } from 'kysely';
import type { EventInput, ResourceType, StratusEvent } from '../events/event-types.js';
import type { StateMachine } from '../model/state-machine.js';
import { type CasResult, type CasTransition, casTransition } from '../store/cas.js';
import { json } from '../store/codec.js';
import { executeCached } from '../store/compiled-queries.js';
import type { Database } from '../store/schema.js';
import { newUuid } from '../store/uuid.js';
import type { Caller } from './caller.js';
import type { CloudContext } from './cloud-context.js';

/** A usage-relevant change (spec/operations.md §9.1). */
export interface UsageEventInput {
  type: string;
  accountId: number;
  domainId: number;
  zoneId?: number | null;
  resourceId: number;
  resourceName?: string | null;
  offeringId?: number | null;
  templateId?: number | null;
  size?: number | null;
  resourceType?: string | null;
}

/** How many events one INSERT writes at most. */
const EVENTS_PER_INSERT = 32;

const DONE: Promise<void> = Promise.resolve();

/** The writer whose transaction the current async flow runs in, if any (internal: read through {@link CloudContext}). @internal */
export const activeWriter = new AsyncLocalStorage<Writer>();

/** One transaction's view: its connection, its time, and the events it records. */
export class Writer {
  readonly now: number;

  constructor(
    readonly db: Transaction<Database>,
    private readonly ctx: CloudContext,
    readonly caller: Caller,
    private readonly recorded: StratusEvent[],
    private readonly committed: Array<() => void> = [],
    private readonly rolledBack: Array<() => void> = [],
    /** Events recorded and not yet written, shared with the transaction's nested writers. */
    private readonly unwritten: StratusEvent[] = [],
    private readonly unwrittenUsage: Array<Insertable<Database['usageEvents']>> = [],
  ) {
    this.now = ctx.clock.now();
  }

  private isOpen = true;

  /** Whether the transaction is still running (work the transaction started may outlive it). */
  get open(): boolean {
    return this.isOpen;
  }

  close(): void {
    this.isOpen = false;
  }

  /** This transaction, acting for another caller (a nested write). */
  as(caller: Caller): Writer {
    if (caller === this.caller) return this;
    return new Writer(
      this.db,
      this.ctx,
      caller,
      this.recorded,
      this.committed,
      this.rolledBack,
      this.unwritten,
      this.unwrittenUsage,
    );
  }

  /** Runs `callback` once this transaction has committed (never if it rolls back). */
  afterCommit(callback: () => void): void {
    this.committed.push(callback);
  }

  /** Runs `callback` if this transaction rolls back (never if it commits). */
  afterRollback(callback: () => void): void {
    this.rolledBack.push(callback);
  }

  /** Serialises check-then-write sections across processes (see Store.lock). */
  lock(name: string): Promise<void> {
    return this.ctx.store.lock(this.db, name);
  }

  /**
   * Records an event in this transaction: its row is written with the transaction's other events
   * (one statement for all of them, before commit) and it is delivered in-process after commit.
   */
  event(input: EventInput): Promise<void> {
    this.unwritten.push(this.eventRecord(input));
    return DONE;
  }

  /** {@link event}, written at once: for a caller that needs the event's id. */
  async eventNow(input: EventInput): Promise<StratusEvent & { id: number }> {
    const event = this.eventRecord(input);
    this.unwritten.push(event);
    await this.flushEvents();
    return event as StratusEvent & { id: number };
  }

  /**
   * Publishes an event on the in-process bus after commit, in order with the transaction's other
   * events, without storing it (see {@link StratusEvent.id}: state changes).
   */
  publish(input: EventInput): void {
    const event = this.eventRecord(input);
    event.id = null;
    this.unwritten.push(event);
  }

  /**
   * Writes the events and usage events recorded and not yet written (at the latest, the
   * transaction does before commit).
   */
  async flushEvents(): Promise<void> {
    const usage = this.unwrittenUsage;
    while (usage.length > 0) {
      const rows = usage.splice(0, EVENTS_PER_INSERT);
      await executeCached(
        this.db,
        `writer.usage:${rows.length}`,
        rows.flatMap((r) => Object.values(r)),
        (db) => db.insertInto('usageEvents').values(rows),
      );
    }
    const unwritten = this.unwritten;
    while (unwritten.length > 0) {
      const events = unwritten.splice(0, EVENTS_PER_INSERT);
      const batch = events.filter((e) => e.id !== null);
      if (batch.length === 0) {
        this.recorded.push(...events);
        continue;
      }
      const rows = batch.map((e) => ({
        uuid: e.uuid,
        type: e.type,
        state: e.state,
        level: e.level,
        description: e.description,
        userId: e.userId,
        accountId: e.accountId,
        domainId: e.domainId,
        resourceType: e.resourceType,
        resourceId: e.resourceId,
        resourceUuid: e.resourceUuid,
        startId: e.startId,
        parameters: json(e.parameters),
        created: this.now,
        archived: 0,
      }));
      const parameters = rows.flatMap((r) => Object.values(r));
      if (this.ctx.store.engine === 'sqlite') {
        // One INSERT gives its rows consecutive rowids, in order, ending at the last insert id.
        const { insertId } = await executeCached(this.db, `writer.events:${rows.length}`, parameters, (db) =>
          db.insertInto('events').values(rows),
        );
        const first = Number(insertId) - batch.length + 1;
        batch.forEach((event, i) => {
          event.id = first + i;
        });
      } else {
        const { rows: ids } = await executeCached<{ id: number; uuid: string }>(
          this.db,
          `writer.events.returning:${rows.length}`,
          parameters,
          (db) => db.insertInto('events').values(rows).returning(['id', 'uuid']),
        );
        const byUuid = new Map(ids.map((r) => [r.uuid, Number(r.id)]));
        for (const event of batch) event.id = byUuid.get(event.uuid)!;
      }
      this.recorded.push(...events);
    }
  }

  private eventRecord(input: EventInput): StratusEvent {
    return {
      id: 0,
      uuid: newUuid(),
      type: input.type,
      state: input.state ?? 'Completed',
      level: input.level ?? 'INFO',
      description: input.description,
      userId: input.userId === undefined ? this.caller.userId : input.userId,
      accountId: input.accountId === undefined ? this.caller.accountId : input.accountId,
      domainId: input.domainId === undefined ? this.caller.domainId : input.domainId,
      resourceType: input.resourceType ?? null,
      resourceId: input.resourceId ?? null,
      resourceUuid: input.resourceUuid ?? null,
      startId: input.startId ?? null,
      parameters: input.parameters ?? {},
      created: new Date(this.now),
      archived: false,
    };
  }

  /** Records a usage event (spec/operations.md §9.1) in this transaction (written with its events). */
  async usage(input: UsageEventInput): Promise<void> {
    const values = {
      type: input.type,
      accountId: input.accountId,
      domainId: input.domainId,
      zoneId: input.zoneId ?? null,
      resourceId: input.resourceId,
      resourceName: input.resourceName ?? null,
      offeringId: input.offeringId ?? null,
      templateId: input.templateId ?? null,
      size: input.size ?? null,
      resourceType: input.resourceType ?? null,
      created: this.now,
    };
    this.unwrittenUsage.push(values);
  }

  /**
   * Compare-and-set state transition plus its event (`<PREFIX>.STATE.CHANGE`, e.g.
   * `HOST.STATE.CHANGE`), in this transaction.
   */
  async transition<S extends string, E extends string>(
    t: CasTransition<S, E> & {
      resource: { type: ResourceType; uuid: string; accountId?: number | null; domainId?: number | null };
      eventPrefix: string;
    },
  ): Promise<CasResult<S>> {
    const result = await casTransition(this.db, t);
    const type = `${t.eventPrefix}.STATE.CHANGE`;
    // A state change is only published (it is not stored): built for listeners there are.
    if (!this.ctx.bus.hasListeners(type)) return result;
    const steps: Array<[S, E, S]> =
      result.via === undefined || t.then === undefined
        ? [[result.from, t.event, result.to]]
        : [
            [result.from, t.event, result.via],
            [result.via, t.then, result.to],
          ];
    for (const [from, event, to] of steps) {
      this.publish({
        type,
        description: `${t.resource.type} ${t.resource.uuid}: ${from} --${event}--> ${to}`,
        resourceType: t.resource.type,
        resourceId: t.id,
        resourceUuid: t.resource.uuid,
        ...(t.resource.accountId !== undefined ? { accountId: t.resource.accountId } : {}),
        ...(t.resource.domainId !== undefined ? { domainId: t.resource.domainId } : {}),
        parameters: { machine: (t.machine as StateMachine<S, E>).name, column: t.column ?? 'state', from, event, to },
      });
    }
    return result;
  }
}
