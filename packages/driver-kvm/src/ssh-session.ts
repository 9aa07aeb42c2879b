/// <reference path="./ssh2-sftp-client.d.ts" />
import { DriverError, type DriverErrorScope } from '@stratus/core';
import { NodeSSH } from 'node-ssh';
import SftpClient from 'ssh2-sftp-client';
import { type HostKeyPolicy, hostVerifier } from './host-key.js';

/** Where and how to reach one host over SSH. */
export interface SshEndpoint {
  host: string;
  port: number;
  username: string;
  /** PEM/OpenSSH private key (key authentication only). */
  privateKey: string;
  hostKey: HostKeyPolicy;
  /** TCP + handshake deadline (default 10 s). */
  connectTimeoutMs?: number;
  /** Keepalive interval; a connection that misses 3 is dropped (default 5 s). */
  keepaliveIntervalMs?: number;
}

/** Result of one remote command. */
export interface RemoteResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The part of an ssh2 exec channel a long-running remote process needs (stdin, stdout, stderr, exit). node-ssh
 * ships no types for ssh2, so this names the members used.
 */
export interface RemoteChannel {
  write(data: string): boolean;
  end(): void;
  close(): void;
  signal?(name: string): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal?: string) => void): unknown;
  stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown };
}

/** A channel opened by {@link SshSession.openChannel}; `release` stops the connection-loss notification. */
export interface OpenChannel {
  channel: RemoteChannel;
  release(): void;
}

/** Options of {@link SshSession.exec}. */
export interface ExecOptions {
  stdin?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Marks a DriverError raised because the SSH connection went away, so an idempotent caller may retry once. */
export const CONNECTION_LOST = Symbol('kvm.connectionLost');

/** An `Unreachable` DriverError marked {@link CONNECTION_LOST} (the connection or the remote process went away). */
export function connectionLost(message: string, scope: DriverErrorScope, cause?: unknown): DriverError {
  const err = new DriverError('Unreachable', message, { scope, ...(cause !== undefined ? { cause } : {}) });
  (err as unknown as Record<symbol, boolean>)[CONNECTION_LOST] = true;
  return err;
}

/** Whether `err` is a connection loss (see {@link CONNECTION_LOST}). */
export function isConnectionLost(err: unknown): boolean {
  return err instanceof DriverError && (err as unknown as Record<symbol, boolean>)[CONNECTION_LOST] === true;
}

/**
 * One long-lived SSH connection to a host (node-ssh, key authentication, host key verified per policy). Commands
 * run as exec channels on that connection; when it drops (keepalive, socket close, sshd killed) the commands in
 * flight fail with `Unreachable` at once and the next command reconnects. Every command has a deadline, so
 * nothing waits forever. File transfers use a second kept connection through ssh2-sftp-client.
 */
export class SshSession {
  private ssh: NodeSSH | undefined;
  private connecting: Promise<NodeSSH> | undefined;
  private sftpClient: SftpClient | undefined;
  private sftpConnecting: Promise<SftpClient> | undefined;
  private readonly inflight = new Set<(err: DriverError) => void>();
  private closed = false;
  /** How many SSH connections this session has opened (1 while it never dropped). */
  connects = 0;

  constructor(
    private readonly endpoint: SshEndpoint,
    /** The scope of the typed errors this session raises (the host). */
    readonly scope: DriverErrorScope,
  ) {}

  private sshConfig(): { config: Record<string, unknown>; rejection: { reason?: string } } {
    const e = this.endpoint;
    const rejection: { reason?: string } = {};
    const verifier = hostVerifier(e.hostKey, e.host, e.port, rejection);
    return {
      rejection,
      config: {
        host: e.host,
        port: e.port,
        username: e.username,
        privateKey: e.privateKey,
        readyTimeout: e.connectTimeoutMs ?? 10_000,
        keepaliveInterval: e.keepaliveIntervalMs ?? 5_000,
        keepaliveCountMax: 3,
        ...(verifier !== undefined ? { hostVerifier: verifier } : {}),
      },
    };
  }

  private connectError(err: unknown, rejection: { reason?: string }): DriverError {
    const message = (err as Error)?.message ?? String(err);
    const where = `${this.endpoint.username}@${this.endpoint.host}:${this.endpoint.port}`;
    if (rejection.reason !== undefined) {
      return new DriverError('AuthFailed', `kvm: host key verification failed for ${where}: ${rejection.reason}`, {
        scope: this.scope,
        cause: err,
      });
    }
    if (/authentication|auth methods/i.test(message)) {
      return new DriverError('AuthFailed', `kvm: SSH authentication failed for ${where}: ${message}`, {
        scope: this.scope,
        cause: err,
      });
    }
    if (/timed out|timeout/i.test(message)) {
      return new DriverError('Timeout', `kvm: SSH connection to ${where} timed out`, { scope: this.scope, cause: err });
    }
    return new DriverError('Unreachable', `kvm: cannot connect to ${where}: ${message}`, {
      scope: this.scope,
      cause: err,
    });
  }

  /** The connected client, connecting (once, shared by concurrent callers) when needed. */
  async client(): Promise<NodeSSH> {
    if (this.closed) throw new DriverError('Unreachable', 'kvm: the SSH session is closed', { scope: this.scope });
    if (this.ssh?.isConnected()) return this.ssh;
    if (this.connecting !== undefined) return this.connecting;
    this.connecting = (async () => {
      const { config, rejection } = this.sshConfig();
      const ssh = new NodeSSH();
      try {
        await ssh.connect(config);
      } catch (err) {
        ssh.dispose();
        throw this.connectError(err, rejection);
      }
      this.connects++;
      const onGone = (): void => {
        if (this.ssh === ssh) this.ssh = undefined;
        const failAll = [...this.inflight];
        this.inflight.clear();
        const where = `${this.endpoint.host}:${this.endpoint.port}`;
        for (const fail of failAll)
          fail(connectionLost(`kvm: SSH connection to ${where} dropped during the command`, this.scope));
      };
      ssh.connection?.on('close', onGone);
      ssh.connection?.on('end', onGone);
      ssh.connection?.on('error', onGone);
      this.ssh = ssh;
      return ssh;
    })();
    try {
      return await this.connecting;
    } finally {
      this.connecting = undefined;
    }
  }

  /**
   * Runs one command line (already quoted) on the host. Resolves with its exit code and output; rejects with
   * `Unreachable` (connection lost, marked {@link CONNECTION_LOST}) or `Timeout` (deadline or abort).
   */
  async exec(command: string, options: ExecOptions = {}): Promise<RemoteResult> {
    const ssh = await this.client();
    const timeoutMs = options.timeoutMs ?? 120_000;
    return new Promise<RemoteResult>((resolve, reject) => {
      let channel: { close(): void } | undefined;
      let settled = false;
      const finish = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.inflight.delete(onLost);
        options.signal?.removeEventListener('abort', onAbort);
        fn();
      };
      const onLost = (err: DriverError): void => finish(() => reject(err));
      const onAbort = (): void => {
        channel?.close();
        finish(() =>
          reject(
            new DriverError('Timeout', `kvm: command aborted on ${this.endpoint.host}`, {
              scope: this.scope,
              cause: options.signal?.reason,
            }),
          ),
        );
      };
      const timer = setTimeout(() => {
        channel?.close();
        finish(() =>
          reject(
            new DriverError('Timeout', `kvm: command did not finish within ${timeoutMs} ms on ${this.endpoint.host}`, {
              scope: this.scope,
            }),
          ),
        );
      }, timeoutMs);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.inflight.add(onLost);
      ssh
        .execCommand(command, {
          ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
          onChannel: (ch) => {
            channel = ch;
          },
        })
        .then(
          (r) => finish(() => resolve({ code: r.code, stdout: r.stdout, stderr: r.stderr })),
          (err: unknown) =>
            finish(() => {
              if (this.ssh === ssh && !ssh.isConnected()) this.ssh = undefined;
              reject(
                connectionLost(
                  `kvm: SSH command failed on ${this.endpoint.host}: ${(err as Error).message}`,
                  this.scope,
                  err,
                ),
              );
            }),
        );
    });
  }

  /**
   * Opens an exec channel for a long-running remote process on the kept connection. `onLost` is called (once) if
   * the connection drops while the channel is held; call `release` when the process is done with.
   */
  async openChannel(command: string, onLost: (err: DriverError) => void): Promise<OpenChannel> {
    const ssh = await this.client();
    const conn = ssh.connection as unknown as {
      exec(cmd: string, cb: (err: Error | undefined, ch: RemoteChannel) => void): void;
    } | null;
    if (conn === null) throw connectionLost(`kvm: SSH connection to ${this.endpoint.host} is gone`, this.scope);
    let failOpen: ((err: DriverError) => void) | undefined;
    const watcher = (err: DriverError): void => {
      if (failOpen !== undefined) failOpen(err);
      else onLost(err);
    };
    this.inflight.add(watcher);
    try {
      const channel = await new Promise<RemoteChannel>((resolve, reject) => {
        failOpen = reject;
        conn.exec(command, (err, ch) => {
          if (err !== undefined && err !== null)
            reject(
              connectionLost(`kvm: cannot open a channel on ${this.endpoint.host}: ${err.message}`, this.scope, err),
            );
          else resolve(ch);
        });
      });
      failOpen = undefined;
      return { channel, release: () => this.inflight.delete(watcher) };
    } catch (err) {
      this.inflight.delete(watcher);
      throw err;
    }
  }

  /** The kept SFTP connection (ssh2-sftp-client), opened on first use and again after it drops. */
  async sftp(): Promise<SftpClient> {
    if (this.closed) throw new DriverError('Unreachable', 'kvm: the SSH session is closed', { scope: this.scope });
    if (this.sftpClient !== undefined) return this.sftpClient;
    if (this.sftpConnecting !== undefined) return this.sftpConnecting;
    this.sftpConnecting = (async () => {
      const { config, rejection } = this.sshConfig();
      const client = new SftpClient('stratus-kvm');
      try {
        await client.connect(config);
      } catch (err) {
        throw this.connectError(err, rejection);
      }
      const drop = (): void => {
        if (this.sftpClient === client) this.sftpClient = undefined;
      };
      client.on('close', drop);
      client.on('end', drop);
      client.on('error', drop);
      this.sftpClient = client;
      return client;
    })();
    try {
      return await this.sftpConnecting;
    } finally {
      this.sftpConnecting = undefined;
    }
  }

  /** Whether `client` is still the kept SFTP connection (false once it dropped or was replaced). */
  isCurrentSftp(client: SftpClient): boolean {
    return this.sftpClient === client;
  }

  /** Drops the kept SFTP connection without closing the session (the next transfer reconnects). Test hook. */
  dropSftpConnection(): void {
    this.sftpClient?.client.destroy();
  }

  /** Drops the current connection without closing the session (the next command reconnects). Test hook. */
  dropConnection(): void {
    this.ssh?.connection?.destroy();
  }

  /** Closes both connections for good. */
  async close(): Promise<void> {
    this.closed = true;
    const ssh = this.ssh;
    this.ssh = undefined;
    ssh?.dispose();
    const sftp = this.sftpClient;
    this.sftpClient = undefined;
    await sftp?.end().catch(() => undefined);
  }
}
