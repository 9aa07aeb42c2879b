import type { HostFiles, TransferProgress } from './libvirt-transport.js';
import type { SshSession } from './ssh-session.js';

/** Host files over the session's kept SFTP connection. */
export class SftpFiles implements HostFiles {
  constructor(private readonly session: SshSession) {}

  async size(remotePath: string): Promise<number | undefined> {
    const sftp = await this.session.sftp();
    if ((await sftp.exists(remotePath)) !== '-') return undefined;
    return (await sftp.stat(remotePath)).size;
  }
  async upload(localPath: string, remotePath: string, onProgress?: TransferProgress): Promise<void> {
    const sftp = await this.session.sftp();
    await sftp.fastPut(localPath, remotePath, {
      ...(onProgress !== undefined
        ? { step: (done: number, _c: number, total: number) => onProgress(done, total) }
        : {}),
    });
  }
  async download(remotePath: string, localPath: string, onProgress?: TransferProgress): Promise<void> {
    const sftp = await this.session.sftp();
    await sftp.fastGet(remotePath, localPath, {
      ...(onProgress !== undefined
        ? { step: (done: number, _c: number, total: number) => onProgress(done, total) }
        : {}),
    });
  }
  async rename(from: string, to: string): Promise<void> {
    await (await this.session.sftp()).posixRename(from, to);
  }
  async remove(remotePath: string): Promise<void> {
    await (await this.session.sftp()).delete(remotePath, true);
  }
}
