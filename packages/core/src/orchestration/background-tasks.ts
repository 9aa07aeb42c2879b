import type { CloudContext } from '../context.js';
import type { SettingKey } from '../settings/catalog.js';
import type { SettingsService } from '../settings/settings-service.js';

/** One periodic task: its name, the setting that gives its period, the period's unit, and its body. */
export interface PeriodicTask {
  name: string;
  /** The setting holding the period, and how to turn its value into milliseconds. */
  every: { key: SettingKey; unitMs: number };
  run(): Promise<unknown>;
}

/**
 * CloudStack's management-server threads as periodic tasks an embedding program starts (or runs
 * itself on its own scheduler with {@link BackgroundTasks.runOnce}): host pings and VM power
 * reconciliation, network garbage collection, expunge, recurring snapshots, expiry of stopped VMs'
 * reserved capacity, storage cleanup, job expiry and orphaned-job recovery. A task never overlaps
 * itself; a failure is logged and the task runs again at its next period. Timers do not keep the
 * process alive.
 */
export class BackgroundTasks {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();

  constructor(
    private readonly ctx: CloudContext,
    private readonly settings: SettingsService,
    readonly tasks: readonly PeriodicTask[],
  ) {}

  /** Starts every task at the period its setting gives (read now; restart to pick up changes). */
  async start(): Promise<void> {
    for (const task of this.tasks) {
      if (this.timers.has(task.name)) continue;
      const period = Number(await this.settings.get(task.every.key)) * task.every.unitMs;
      const timer = setInterval(() => void this.runTask(task), Math.max(1000, period));
      timer.unref();
      this.timers.set(task.name, timer);
    }
  }

  stop(): void {
    for (const timer of this.timers.values()) clearInterval(timer);
    this.timers.clear();
  }

  /** Runs every task once, in order; returns each task's outcome (or its error). */
  async runOnce(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const task of this.tasks) out[task.name] = await this.runTask(task);
    return out;
  }

  private async runTask(task: PeriodicTask): Promise<unknown> {
    if (this.running.has(task.name)) return { skipped: 'still running' };
    this.running.add(task.name);
    try {
      return await task.run();
    } catch (error) {
      this.ctx.logger.warn({ err: error, task: task.name }, 'background task failed');
      return { error: error instanceof Error ? error.message : String(error) };
    } finally {
      this.running.delete(task.name);
    }
  }
}
