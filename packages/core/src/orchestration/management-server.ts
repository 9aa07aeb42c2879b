import { hostname } from 'node:os';
import type { CloudContext } from '../context.js';
import { newUuid } from '../store/uuid.js';

/**
 * This process as a management server: a row with a heartbeat, so that other processes sharing
 * the database (and recovery after a crash) can tell which jobs lost their executor.
 */
export class ManagementServer {
  readonly msid = newUuid();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly ctx: CloudContext) {}

  /** Records this process as Up and starts its heartbeat (every `intervalMs`, not keeping the process alive). */
  async start(intervalMs = 10_000): Promise<void> {
    const now = this.ctx.clock.now();
    await this.ctx.db
      .insertInto('managementServers')
      .values({ msid: this.msid, name: hostname(), pid: process.pid, started: now, lastHeartbeat: now, state: 'Up' })
      .execute();
    this.timer = setInterval(() => {
      this.heartbeat().catch((error: unknown) =>
        this.ctx.logger.warn({ err: error }, 'management server heartbeat failed'),
      );
    }, intervalMs);
    this.timer.unref();
  }

  async heartbeat(): Promise<void> {
    await this.ctx.db
      .updateTable('managementServers')
      .set({ lastHeartbeat: this.ctx.clock.now() })
      .where('msid', '=', this.msid)
      .execute();
  }

  /** Marks this process Down (a clean shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ctx.db.updateTable('managementServers').set({ state: 'Down' }).where('msid', '=', this.msid).execute();
  }

  /**
   * Management servers that are not this one and are gone: marked Down, or silent for longer than
   * `staleAfterMs`.
   */
  async deadServers(staleAfterMs: number): Promise<string[]> {
    const cutoff = this.ctx.clock.now() - staleAfterMs;
    const rows = await this.ctx.db
      .selectFrom('managementServers')
      .select('msid')
      .where('msid', '!=', this.msid)
      .where((eb) => eb.or([eb('state', '=', 'Down'), eb('lastHeartbeat', '<', cutoff)]))
      .execute();
    return rows.map((r) => r.msid);
  }
}
