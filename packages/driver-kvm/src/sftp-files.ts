import { DriverError } from '@stratus/core';
import type SftpClient from 'ssh2-sftp-client';
import type { HostFiles, TransferProgress } from './libvirt-transport.js';
import { shellCommand } from './shell-quote.js';
import { connectionLost, type SshSession } from './ssh-session.js';

/** ssh2-sftp-client error codes meaning "the connection is not there (any more)". */
const CONNECTION_CODES = new Set(['ERR_NOT_CONNECTED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE']);

/**
 * Host files over the session's kept SFTP connection. A transfer cut by a dropped connection fails with
 * `Unreachable` marked as a lost connection (so the driver may retry an idempotent operation once, on a new
 * connection); a missing remote file is `NotFound`; anything else is passed on as is.
 */
export class SftpFiles implements HostFiles {
  constructor(private readonly session: SshSession) {}

  private async run<T>(what: string, remotePath: string, fn: (sftp: SftpClient) => Promise<T>): Promise<T> {
    const sftp = await this.session.sftp();
    try {
      return await fn(sftp);
    } catch (err) {
      if (err instanceof DriverError) throw err;
      const code = String((err as { code?: unknown }).code ?? '');
      const message = (err as Error)?.message ?? String(err);
      if (!this.session.isCurrentSftp(sftp) || CONNECTION_CODES.has(code))
        throw connectionLost(
          `kvm: SFTP connection dropped during ${what} of ${remotePath}: ${message}`,
          this.session.scope,
          err,
        );
      if (code === 'ENOENT' || /no such file/i.test(message))
        throw new DriverError('NotFound', `kvm: ${what}: no file ${remotePath} on the host`, {
          scope: this.session.scope,
          cause: err,
        });
      throw err;
    }
  }

  size(remotePath: string): Promise<number | undefined> {
    return this.run('stat', remotePath, async (sftp) => {
      if ((await sftp.exists(remotePath)) !== '-') return undefined;
      return (await sftp.stat(remotePath)).size;
    });
  }
  upload(localPath: string, remotePath: string, onProgress?: TransferProgress): Promise<void> {
    return this.run('upload', remotePath, async (sftp) => {
      await sftp.fastPut(localPath, remotePath, {
        ...(onProgress !== undefined
          ? { step: (done: number, _c: number, total: number) => onProgress(done, total) }
          : {}),
      });
    });
  }
  download(remotePath: string, localPath: string, onProgress?: TransferProgress): Promise<void> {
    return this.run('download', remotePath, async (sftp) => {
      await sftp.fastGet(remotePath, localPath, {
        ...(onProgress !== undefined
          ? { step: (done: number, _c: number, total: number) => onProgress(done, total) }
          : {}),
      });
    });
  }
  rename(from: string, to: string): Promise<void> {
    return this.run('rename', from, async (sftp) => {
      await sftp.posixRename(from, to);
    });
  }
  remove(remotePath: string): Promise<void> {
    return this.run('remove', remotePath, async (sftp) => {
      await sftp.delete(remotePath, true);
    });
  }
  /** `cp --sparse=always` run on the host over the kept connection (SFTP has no server-side copy). */
  async copy(fromPath: string, toPath: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}) {
    const r = await this.session.exec(shellCommand(['cp', '--sparse=always', '--', fromPath, toPath]), options);
    if (r.code === 0) return;
    const message = r.stderr.trim() || `cp exited with ${r.code}`;
    throw new DriverError(
      /no such file/i.test(message) ? 'NotFound' : 'DeviceError',
      `kvm: cannot copy ${fromPath} to ${toPath} on the host: ${message}`,
      { scope: this.session.scope },
    );
  }
  mkdir(remotePath: string): Promise<void> {
    return this.run('mkdir', remotePath, async (sftp) => {
      const there = await sftp.exists(remotePath);
      if (there === 'd' || there === 'l') return;
      await sftp.mkdir(remotePath, true);
    });
  }
}
