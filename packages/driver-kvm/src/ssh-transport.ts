import type { DriverErrorScope } from '@stratus/core';
import type { HostFiles, VirshOptions } from './libvirt-transport.js';
import { SftpFiles } from './sftp-files.js';
import { shellCommand } from './shell-quote.js';
import type { SshSession } from './ssh-session.js';
import { virshError } from './virsh-error.js';
import { VirshTransport } from './virsh-transport.js';

/**
 * virsh over SSH, the default KVM transport (drivers.md §3.1): `virsh -c <uri> <args>` on the host, every word
 * quoted for the remote shell, XML on stdin (`define /dev/stdin`), on the host's one kept SSH connection.
 */
export class SshVirshTransport extends VirshTransport {
  readonly kind = 'ssh' as const;
  readonly files: HostFiles;

  constructor(
    readonly session: SshSession,
    /** The libvirt URI virsh opens on the host, e.g. `qemu:///system`. */
    readonly libvirtUri: string,
    scope: DriverErrorScope,
    private readonly commandTimeoutMs = 120_000,
  ) {
    super(scope);
    this.files = new SftpFiles(session);
  }

  /** The exact command line sent for `args` (exported for tests of the quoting). */
  commandLine(args: readonly string[]): string {
    return shellCommand(['virsh', '-q', '-c', this.libvirtUri, ...args]);
  }

  async virsh(args: readonly string[], options: VirshOptions = {}): Promise<string> {
    const r = await this.session.exec(this.commandLine(args), {
      ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
      timeoutMs: options.timeoutMs ?? this.commandTimeoutMs,
    });
    if (r.code !== 0) throw virshError(args[0] ?? '', r.stderr, r.code, this.scope);
    return r.stdout;
  }

  async close(): Promise<void> {
    await this.session.close();
  }
}
