import { randomBytes } from 'node:crypto';
import { DriverError, type DriverErrorScope } from '@stratus/core';
import type { HostFiles, VirshOptions } from './libvirt-transport.js';
import { SftpFiles } from './sftp-files.js';
import type { SshSession } from './ssh-session.js';
import { SshVirshTransport } from './ssh-transport.js';
import { virshError } from './virsh-error.js';
import { type Deadline, VirshProcess } from './virsh-process.js';
import { virshLine } from './virsh-quote.js';
import { VirshTransport } from './virsh-transport.js';

/** The word virsh commands use for "read the XML from stdin"; a session swaps it for a temp file. */
const STDIN = '/dev/stdin';

/**
 * virsh over SSH through ONE interactive virsh per host (the KVM driver's default transport; issue 6: "one
 * long-lived connection and one virsh session per host"). The virsh process lives on an exec channel of the host's
 * kept SSH connection ({@link VirshProcess}); commands are queued and run one at a time, each with a deadline
 * (covering its wait in the queue) and abort support.
 *
 * - A command that needs stdin content (`define /dev/stdin`, `pool-create`, `attach-device`…) gets the content
 *   written to a private temp file on the host first (a random name, `cat` with noclobber on an exec channel of
 *   the same connection, mode 0600), the file's path in place of `/dev/stdin`, and the file removed afterwards. So even defines go
 *   through the session's libvirt connection.
 * - Arguments are quoted for virsh's own line parser; control characters (newline, tab…) are refused with an
 *   `InvalidParameterError` before anything is sent.
 * - When the session dies (virsh exits or is killed, the channel closes, the connection drops) the command in
 *   flight fails with `Unreachable` (marked as a lost connection, so the driver retries idempotent operations once)
 *   and the next command opens a new session, reconnecting first if needed. A command past its deadline or aborted
 *   fails with `Timeout` and the session is killed (its output is no longer in step).
 * - A host whose virsh lacks `echo --err` falls back to one virsh process per command ({@link SshVirshTransport}).
 */
export class SessionVirshTransport extends VirshTransport {
  readonly kind = 'ssh' as const;
  /** How this transport runs virsh: one kept interactive session (or per command, after a fallback). */
  get virshMode(): 'session' | 'exec' {
    return this.fallback ? 'exec' : 'session';
  }
  readonly files: HostFiles;
  /** How many virsh sessions this transport has opened (1 while none died). */
  sessionsOpened = 0;
  private proc: VirshProcess | undefined;
  private tail: Promise<void> = Promise.resolve();
  private fallback = false;
  private readonly perCommand: SshVirshTransport;
  private readonly where: string;

  constructor(
    readonly session: SshSession,
    /** The libvirt URI virsh opens on the host, e.g. `qemu:///system`. */
    readonly libvirtUri: string,
    scope: DriverErrorScope,
    private readonly commandTimeoutMs = 120_000,
  ) {
    super(scope);
    this.files = new SftpFiles(session);
    this.perCommand = new SshVirshTransport(session, libvirtUri, scope, commandTimeoutMs);
    this.where = scope.ref;
  }

  /** PID of the current virsh session on the host (tests kill it). */
  get sessionPid(): number | undefined {
    return this.proc?.dead === undefined ? this.proc?.pid : undefined;
  }

  async virsh(args: readonly string[], options: VirshOptions = {}): Promise<string> {
    if (this.fallback) return this.perCommand.virsh(args, options);
    virshLine(args); // refuse unsafe words before anything reaches the host
    const deadline: Deadline = {
      at: Date.now() + (options.timeoutMs ?? this.commandTimeoutMs),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    };
    if (options.stdin === undefined) return this.enqueue(args, deadline);
    if (!args.includes(STDIN)) throw new TypeError(`virsh ${args[0]}: stdin given but no ${STDIN} argument`);
    // the name is chosen here, so the file can be removed even when the write's answer is lost with the connection
    const name = `stratus-virsh.${randomBytes(12).toString('hex')}.xml`;
    const at = `"\${TMPDIR:-/tmp}/${name}"`;
    try {
      const file = await this.writeTemp(at, options.stdin, deadline);
      return await this.enqueue(
        args.map((a) => (a === STDIN ? file : a)),
        deadline,
      );
    } finally {
      await this.session.exec(`rm -f -- ${at}`, { timeoutMs: 10_000 }).catch(() => undefined);
    }
  }

  /** Writes `content` to a new private file (`at`, a shell word) on the host over the kept connection; its path. */
  private async writeTemp(at: string, content: string, deadline: Deadline): Promise<string> {
    const r = await this.session.exec(`umask 077 && set -C && cat > ${at} && printf '%s' ${at}`, {
      stdin: content,
      timeoutMs: Math.max(1, deadline.at - Date.now()),
      ...(deadline.signal !== undefined ? { signal: deadline.signal } : {}),
    });
    const path = r.stdout.trim();
    if (r.code !== 0 || !path.startsWith('/'))
      throw new DriverError('DeviceError', `kvm: cannot write a temp file on ${this.where}: ${r.stderr.trim()}`, {
        scope: this.scope,
      });
    return path;
  }

  /** Queues one command; the queue runs one at a time. A command that expires or is aborted while queued leaves. */
  private enqueue(args: readonly string[], deadline: Deadline): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      let queued = true;
      const leave = (err: DriverError): void => {
        if (!queued) return;
        queued = false;
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onAbort);
        reject(err);
      };
      const onAbort = (): void =>
        leave(
          new DriverError('Timeout', `kvm: command aborted on ${this.where}`, {
            scope: this.scope,
            cause: deadline.signal?.reason,
          }),
        );
      const timer = setTimeout(
        () =>
          leave(
            new DriverError('Timeout', `kvm: virsh ${args[0]} waited past its deadline on ${this.where}`, {
              scope: this.scope,
            }),
          ),
        Math.max(0, deadline.at - Date.now()),
      );
      if (deadline.signal?.aborted) onAbort();
      else deadline.signal?.addEventListener('abort', onAbort, { once: true });
      this.tail = this.tail.then(async () => {
        if (!queued) return;
        queued = false;
        clearTimeout(timer);
        deadline.signal?.removeEventListener('abort', onAbort);
        try {
          resolve(await this.runNow(args, deadline));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private async process(deadline: Deadline): Promise<VirshProcess | undefined> {
    if (this.proc !== undefined && this.proc.dead === undefined) return this.proc;
    this.proc = undefined;
    try {
      this.proc = await VirshProcess.open(this.session, this.libvirtUri, this.scope, this.where, deadline);
    } catch (err) {
      if (DriverError.is(err, 'Unsupported')) {
        this.fallback = true;
        return undefined;
      }
      throw err;
    }
    this.sessionsOpened++;
    return this.proc;
  }

  private async runNow(args: readonly string[], deadline: Deadline): Promise<string> {
    const proc = await this.process(deadline);
    if (proc === undefined) {
      return this.perCommand.virsh(args, {
        timeoutMs: Math.max(1, deadline.at - Date.now()),
        ...(deadline.signal !== undefined ? { signal: deadline.signal } : {}),
      });
    }
    const reply = await proc.run(virshLine(args), deadline);
    if (/^error:/m.test(reply.stderr)) throw virshError(args[0] ?? '', reply.stderr, null, this.scope);
    return reply.stdout;
  }

  /** Ends the current virsh session without closing the transport (the next command opens a new one). Test hook. */
  killSession(): void {
    this.proc?.kill();
  }

  async close(): Promise<void> {
    this.proc?.end();
    this.proc = undefined;
    await this.session.close();
  }
}
