import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { DriverError, type DriverErrorScope } from '@stratus/core';
import { shellQuote } from './shell-quote.js';
import { connectionLost, type RemoteChannel, type SshSession } from './ssh-session.js';
import { virshError } from './virsh-error.js';

/** What one command printed between its markers. */
export interface VirshReply {
  stdout: string;
  /** The command's own stderr (its `error: …` lines), markers removed. */
  stderr: string;
}

/** A deadline and an abort signal for one wait. */
export interface Deadline {
  /** Epoch ms. */
  at: number;
  signal?: AbortSignal;
}

/** virsh's interactive prompts (`virsh # `, `virsh > ` when read-only) as they appear in stdout. */
const PROMPT = /virsh [#>] /g;

function lastPrompt(s: string): number {
  let last = -1;
  for (const m of s.matchAll(PROMPT)) last = m.index ?? last;
  return last;
}

/**
 * The remote command line of an interactive virsh: the shell prints its PID (the `exec`ed virsh keeps it), then
 * becomes virsh with an English locale (the error mapping reads English messages), no line wrapping in readline's
 * echo, no user inputrc and no history file written on the host.
 */
export function sessionCommand(libvirtUri: string): string {
  return `echo $$; exec env LC_ALL=C.UTF-8 COLUMNS=1000000 INPUTRC=/dev/null XDG_CACHE_HOME=/dev/null virsh -q -c ${shellQuote(libvirtUri)}`;
}

/**
 * One interactive `virsh -c <uri>` on an exec channel of the host's kept SSH connection (drivers.md §3.1: prompts
 * are echoed into stdout; `echo <marker>` delimits). A command is written as
 *
 * ```
 * echo --err <m>''a      echo <m>''a      <command>      echo <m>''z      echo --err <m>''z
 * ```
 *
 * (one per line; `<m>` random). The quotes make the printed markers `<m>a`/`<m>z` differ from readline's echo of
 * the lines that print them, so the command's stdout is what lies between `<m>a` and `<m>z` (minus the prompt and
 * the echoed command line) and its stderr what lies between `error: <m>a` and `error: <m>z`; both streams are
 * awaited because their order across the SSH channel is not guaranteed. The caller runs one command at a time.
 */
export class VirshProcess {
  /** PID of virsh on the host (for tests that kill it). */
  pid: number | undefined;
  /** Set once the process is gone (exited, channel closed, connection dropped, killed). */
  dead: DriverError | undefined;
  private out = '';
  private err = '';
  private readonly outText = new StringDecoder('utf8');
  private readonly errText = new StringDecoder('utf8');
  /** Whether readline echoes input lines into stdout (it does unless virsh was built without readline). */
  private echoes = true;
  private exitCode: number | null = null;
  private wake: (() => void) | undefined;
  private release: () => void = () => undefined;

  private constructor(
    private readonly channel: RemoteChannel,
    private readonly scope: DriverErrorScope,
    private readonly where: string,
  ) {}

  /**
   * Starts virsh on the host and checks the protocol: reads the PID, then probes that `echo --err` works and whether
   * readline echoes. A virsh without `echo --err` gets `Unsupported`; one that exits at once (missing binary, bad
   * URI) gets the mapped virsh error.
   */
  static async open(
    session: SshSession,
    libvirtUri: string,
    scope: DriverErrorScope,
    where: string,
    deadline: Deadline,
  ): Promise<VirshProcess> {
    let proc: VirshProcess | undefined;
    const early: DriverError[] = [];
    const opened = await session.openChannel(sessionCommand(libvirtUri), (err) => {
      if (proc !== undefined) proc.die(err);
      else early.push(err);
    });
    proc = new VirshProcess(opened.channel, scope, where);
    proc.release = opened.release;
    if (early[0] !== undefined) proc.die(early[0]);
    proc.listen();
    try {
      await proc.until(() => proc.out.includes('\n'), deadline);
      const nl = proc.out.indexOf('\n');
      const pid = Number.parseInt(proc.out.slice(0, nl), 10);
      proc.pid = Number.isFinite(pid) ? pid : undefined;
      proc.out = proc.out.slice(nl + 1);
      const m = randomBytes(9).toString('hex');
      proc.channel.write(`echo --err ${m}''e\necho ${m}''s\n`);
      await proc.until(
        () =>
          proc.out.includes(`${m}s`) && (proc.err.includes(`error: ${m}e`) || /doesn't support option/.test(proc.err)),
        deadline,
      );
      if (!proc.err.includes(`error: ${m}e`)) {
        proc.kill();
        throw new DriverError('Unsupported', `kvm: virsh on ${where} has no "echo --err"; a session needs it`, {
          scope,
        });
      }
      proc.echoes = proc.out.includes(`echo ${m}''s`);
      proc.out = proc.out.slice(proc.out.indexOf(`${m}s`) + m.length + 1);
      proc.err = proc.err.slice(proc.err.indexOf(`error: ${m}e`) + m.length + 8);
      return proc;
    } catch (err) {
      proc.kill();
      if (DriverError.is(err, 'Unreachable') && proc.exitCode !== null && proc.exitCode !== 0) {
        // virsh (or the shell) exited by itself: say why, and do not mark it a lost connection (no retry)
        throw virshError('session', proc.err, proc.exitCode, scope);
      }
      throw err;
    }
  }

  private listen(): void {
    this.channel.on('data', (chunk: Buffer) => {
      this.out += this.outText.write(chunk);
      this.wake?.();
    });
    this.channel.stderr.on('data', (chunk: Buffer) => {
      this.err += this.errText.write(chunk);
      this.wake?.();
    });
    this.channel.on('exit', (code: number | null) => {
      this.exitCode = code;
    });
    this.channel.on('close', () =>
      this.die(
        connectionLost(
          `kvm: the virsh session on ${this.where} ended${this.exitCode !== null ? ` (exit ${this.exitCode})` : ''}`,
          this.scope,
        ),
      ),
    );
  }

  private die(err: DriverError): void {
    if (this.dead !== undefined) return;
    this.dead = err;
    this.release();
    this.wake?.();
  }

  /** Ends the process: SIGKILL where sshd accepts signal requests, and the channel closed (EOF ends virsh). */
  kill(): void {
    if (this.dead === undefined)
      this.die(connectionLost(`kvm: the virsh session on ${this.where} was ended`, this.scope));
    try {
      this.channel.signal?.('KILL');
    } catch {
      // the channel may be gone already
    }
    try {
      this.channel.close();
    } catch {
      // idem
    }
  }

  /** Quits virsh politely (EOF on its stdin). */
  end(): void {
    if (this.dead === undefined)
      this.die(connectionLost(`kvm: the virsh session on ${this.where} was closed`, this.scope));
    try {
      this.channel.end();
    } catch {
      // already closed
    }
  }

  /**
   * Waits until `ready()` holds. Rejects with the process's death, or with `Timeout` at the deadline or on abort,
   * and then kills the process: the command may still be running there, so the stream is no longer in step.
   */
  private until(ready: () => boolean, deadline: Deadline): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (fn: () => void): void => {
        this.wake = undefined;
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const check = (): void => {
        if (ready()) done(resolve);
        else if (this.dead !== undefined) {
          const dead = this.dead;
          done(() => reject(dead));
        }
      };
      const expire = (message: string, cause?: unknown): void => {
        done(() => {
          this.kill();
          reject(new DriverError('Timeout', message, { scope: this.scope, ...(cause !== undefined ? { cause } : {}) }));
        });
      };
      const onAbort = (): void => expire(`kvm: command aborted on ${this.where}`, deadline.signal?.reason);
      const timer = setTimeout(
        () => expire(`kvm: virsh did not answer on ${this.where} before the deadline`),
        Math.max(0, deadline.at - Date.now()),
      );
      if (deadline.signal?.aborted) return onAbort();
      deadline.signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = check;
      check();
    });
  }

  /** Runs one (already quoted, single-line) command and returns what it printed. */
  async run(line: string, deadline: Deadline): Promise<VirshReply> {
    if (this.dead !== undefined) throw this.dead;
    const m = randomBytes(9).toString('hex');
    const start = `${m}a`;
    const end = `${m}z`;
    this.channel.write(`echo --err ${m}''a\necho ${m}''a\n${line}\necho ${m}''z\necho --err ${m}''z\n`);
    const errStart = `error: ${start}\n`;
    const errEnd = `error: ${end}`;
    await this.until(() => {
      const so = this.out.indexOf(start);
      const es = this.err.indexOf(errStart);
      return so >= 0 && this.out.includes(end, so) && es >= 0 && this.err.includes(errEnd, es);
    }, deadline);
    const so = this.out.indexOf(start) + start.length;
    const eo = this.out.indexOf(end, so);
    let stdout = this.out.slice(so, eo);
    this.out = this.out.slice(eo + end.length);
    const es = this.err.indexOf(errStart) + errStart.length;
    const ee = this.err.indexOf(errEnd, es);
    const stderr = this.err.slice(es, ee);
    this.err = this.err.slice(ee + errEnd.length);
    // stdout is: prompt, readline's echo of the command line, the output, prompt, echo of `echo <m>''z`
    const lead = /^virsh [#>] /.exec(stdout);
    if (lead !== null) stdout = stdout.slice(lead[0].length);
    if (this.echoes) {
      const nl = stdout.indexOf('\n');
      stdout = nl < 0 ? '' : stdout.slice(nl + 1);
    }
    const tail = lastPrompt(stdout);
    if (tail >= 0) stdout = stdout.slice(0, tail);
    // trimmed like node-ssh's execCommand does, so both SSH transports answer alike
    return { stdout: stdout.trim(), stderr };
  }
}
