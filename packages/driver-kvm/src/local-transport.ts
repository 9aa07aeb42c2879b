import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DriverError, type DriverErrorScope } from '@stratus/core';
import type { HostFiles, TransferProgress, VirshOptions } from './libvirt-transport.js';
import { virshError } from './virsh-error.js';
import { VirshTransport } from './virsh-transport.js';

/** Files on the local host. */
export class LocalFiles implements HostFiles {
  async size(p: string): Promise<number | undefined> {
    try {
      const s = await stat(p);
      return s.isFile() ? s.size : undefined;
    } catch {
      return undefined;
    }
  }
  async upload(localPath: string, remotePath: string, onProgress?: TransferProgress): Promise<void> {
    await copyFile(localPath, remotePath);
    const size = (await this.size(remotePath)) ?? 0;
    onProgress?.(size, size);
  }
  async download(remotePath: string, localPath: string, onProgress?: TransferProgress): Promise<void> {
    await this.upload(remotePath, localPath, onProgress);
  }
  async rename(from: string, to: string): Promise<void> {
    await rename(from, to);
  }
  async remove(p: string): Promise<void> {
    await rm(p, { force: true });
  }
  async copy(from: string, to: string): Promise<void> {
    try {
      await copyFile(from, to);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new DriverError(
        e.code === 'ENOENT' ? 'NotFound' : 'DeviceError',
        `kvm: cannot copy ${from} to ${to}: ${e.message}`,
        { cause: err },
      );
    }
  }
  async mkdir(p: string): Promise<void> {
    await mkdir(p, { recursive: true });
  }
}

/**
 * Runs virsh as a local process (no shell: arguments go to execve as they are). XML input goes through a private
 * temp file in place of `/dev/stdin` (Node's stdin pipe is a socket, which virsh cannot open as a file).
 */
export async function runLocalVirsh(
  uri: string,
  args: readonly string[],
  options: VirshOptions,
  scope: DriverErrorScope,
): Promise<string> {
  if (options.stdin === undefined || !args.includes('/dev/stdin')) return spawnVirsh(uri, args, options, scope);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stratus-virsh-'));
  const file = path.join(dir, 'input.xml');
  try {
    await writeFile(file, options.stdin, { mode: 0o600 });
    return await spawnVirsh(
      uri,
      args.map((a) => (a === '/dev/stdin' ? file : a)),
      { ...options, stdin: '' },
      scope,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function spawnVirsh(
  uri: string,
  args: readonly string[],
  options: VirshOptions,
  scope: DriverErrorScope,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('virsh', ['-q', '-c', uri, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timeoutMs = options.timeoutMs ?? 120_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new DriverError('Timeout', `kvm: virsh ${args[0]} did not finish within ${timeoutMs} ms`, { scope }));
    }, timeoutMs);
    const onAbort = (): void => {
      child.kill('SIGKILL');
      reject(new DriverError('Timeout', `kvm: virsh ${args[0]} aborted`, { scope, cause: options.signal?.reason }));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new DriverError('Unreachable', `kvm: cannot run virsh: ${err.message}`, { scope, cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve(stdout);
      else reject(virshError(args[0] ?? '', stderr, code, scope));
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** virsh run locally against a libvirt URI: the native transport's fallback for what the binding lacks. */
export class LocalVirshTransport extends VirshTransport {
  readonly kind: 'local' | 'native' = 'local';
  readonly files: HostFiles = new LocalFiles();

  constructor(
    readonly libvirtUri: string,
    scope: DriverErrorScope,
  ) {
    super(scope);
  }

  virsh(args: readonly string[], options: VirshOptions = {}): Promise<string> {
    return runLocalVirsh(this.libvirtUri, args, options, this.scope);
  }

  async close(): Promise<void> {}
}
