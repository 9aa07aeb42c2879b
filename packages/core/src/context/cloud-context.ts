import type { Kysely } from 'kysely';
import type { DriverRegistry } from '../driver/index.js';
import type { EventBus } from '../events/event-bus.js';
import type { StratusEvent } from '../events/event-types.js';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { type Caller, ROOT_ADMIN } from './caller.js';
import { type Clock, systemClock } from './clock.js';
import { type Logger, silentLogger } from './logger.js';
import { ResourceGuards } from './resource-guards.js';
import { StepTracer } from './step-tracer.js';
import { activeWriter, Writer } from './writer.js';

/**
 * What every service shares: the store, the event bus, the drivers, the clock and the logger.
 * Writes go through {@link CloudContext.write}, which runs one transaction and delivers the
 * events it recorded only after it commits.
 */
export class CloudContext {
  constructor(
    readonly store: Store,
    readonly bus: EventBus,
    readonly drivers: DriverRegistry,
    readonly clock: Clock = systemClock,
    readonly logger: Logger = silentLogger,
    /** On whose behalf this context's services act. */
    readonly caller: Caller = ROOT_ADMIN,
    readonly hooks: ResourceGuards = new ResourceGuards(),
    /** Timing hook for benchmarks and profiling; inert unless `tracer.onStep` is set. */
    readonly tracer: StepTracer = new StepTracer(),
  ) {}

  /** The same cloud, acting on behalf of another caller. */
  withCaller(caller: Caller): CloudContext {
    return new CloudContext(
      this.store,
      this.bus,
      this.drivers,
      this.clock,
      this.logger,
      caller,
      this.hooks,
      this.tracer,
    );
  }

  /**
   * Where to read: inside a {@link write} (in its async flow) the transaction's own connection —
   * so a read sees the transaction's writes and never waits for the connection the transaction
   * holds (SQLite has one) — otherwise the root connection.
   */
  get db(): Kysely<Database> {
    const active = activeWriter.getStore();
    return active?.open ? active.db : this.store.db;
  }

  /** The transaction this async flow runs in, if it runs in one (see {@link write}). */
  get writer(): Writer | undefined {
    const active = activeWriter.getStore();
    return active?.open ? active : undefined;
  }

  /**
   * Runs `fn` in one transaction and delivers its events after commit. A `write` inside another
   * (in the same async flow) joins the outer transaction: its rows and events commit, or roll
   * back, with the outer one.
   */
  async write<T>(fn: (w: Writer) => Promise<T>): Promise<T> {
    const outer = activeWriter.getStore();
    if (outer?.open) return fn(outer.as(this.caller));
    const recorded: StratusEvent[] = [];
    const committed: Array<() => void> = [];
    const rolledBack: Array<() => void> = [];
    let result: T;
    try {
      result = await this.store.transaction((tx) => {
        const writer = new Writer(tx, this, this.caller, recorded, committed, rolledBack);
        return activeWriter
          .run(writer, async () => {
            const value = await fn(writer);
            await writer.flushEvents();
            return value;
          })
          .finally(() => writer.close());
      });
    } catch (error) {
      for (const callback of rolledBack) callback();
      throw error;
    }
    for (const callback of committed) callback();
    for (const event of recorded) this.bus.emit(event);
    return result;
  }
}
