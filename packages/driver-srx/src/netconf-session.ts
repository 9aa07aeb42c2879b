/**
 * One NETCONF session over SSH (ssh2, subsystem `netconf`, drivers.md §7.1): SSH authentication by password or key,
 * the hello exchange, base:1.0 or base:1.1 framing, one RPC at a time with a `message-id`, replies parsed into
 * elements with their `rpc-error`s split into errors and warnings. Transport failures are typed `DriverError`s:
 * `AuthFailed`, `Unreachable` (refused, lost, closed mid-call), `Timeout`.
 */
import { DriverError } from '@stratus/core';
import ssh2 from 'ssh2';
import { frameMessage, NetconfReader } from './netconf-framing.js';
import { type Element, find, findAll, parse } from './xml.js';

const BASE10 = 'urn:ietf:params:netconf:base:1.0';
const BASE11 = 'urn:ietf:params:netconf:base:1.1';
const NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';

/** How to reach and log in to a NETCONF server. */
export interface NetconfTarget {
  host: string;
  port: number;
  username: string;
  password?: string;
  privateKey?: string;
  /** Checks the server's host key (raw public key blob); return false to refuse. */
  hostVerifier: (key: Buffer) => boolean;
  connectTimeoutMs: number;
  /** Offer base:1.1 in the client hello (default true). */
  base11?: boolean;
}

/** One `rpc-error` of a reply. */
export interface NetconfRpcError {
  type: string;
  tag: string;
  severity: 'error' | 'warning';
  path?: string;
  message: string;
  badElement?: string;
}

/** A parsed `rpc-reply`. */
export interface NetconfReply {
  root: Element;
  errors: NetconfRpcError[];
  warnings: NetconfRpcError[];
}

function readRpcError(el: Element): NetconfRpcError {
  const text = (n: string): string | undefined => find(el, n)?.text || undefined;
  const severity = text('error-severity') === 'warning' ? 'warning' : 'error';
  const out: NetconfRpcError = {
    type: text('error-type') ?? '',
    tag: text('error-tag') ?? '',
    severity,
    message: text('error-message') ?? text('error-tag') ?? 'rpc-error',
  };
  const p = text('error-path');
  if (p !== undefined) out.path = p;
  const bad = find(find(el, 'error-info'), 'bad-element')?.text;
  if (bad) out.badElement = bad;
  return out;
}

function collectRpcErrors(el: Element, into: NetconfRpcError[]): void {
  for (const c of el.elements) {
    if (c.name === 'rpc-error') into.push(readRpcError(c));
    else collectRpcErrors(c, into);
  }
}

/** An open NETCONF session. */
export class NetconfSession {
  /** Session id the server gave in its hello. */
  readonly sessionId: string;
  /** Server capabilities. */
  readonly capabilities: readonly string[];
  private nextId = 1;
  private pending: { resolve: (text: string) => void; reject: (err: Error) => void } | undefined;
  private ended: Error | undefined;

  private constructor(
    private readonly conn: ssh2.Client,
    private readonly channel: ssh2.ClientChannel,
    private readonly reader: NetconfReader,
    private readonly where: string,
    hello: Element,
  ) {
    this.sessionId = find(hello, 'session-id')?.text ?? '';
    this.capabilities = findAll(find(hello, 'capabilities'), 'capability').map((c) => c.text);
  }

  /** Connect, authenticate, open the `netconf` subsystem and exchange hellos. */
  static open(target: NetconfTarget): Promise<NetconfSession> {
    const where = `${target.host}:${target.port}`;
    const conn = new ssh2.Client();
    const reader = new NetconfReader();
    return new Promise<NetconfSession>((resolve, reject) => {
      let settled = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.end();
        reject(err);
      };
      const timer = setTimeout(
        () =>
          fail(
            new DriverError('Timeout', `NETCONF session to ${where} not ready in ${target.connectTimeoutMs} ms`, {
              scope: { kind: 'device', ref: target.host },
            }),
          ),
        target.connectTimeoutMs,
      );
      conn.on('error', (err: Error & { level?: string; code?: string }) => {
        if (err.level === 'client-authentication') {
          fail(
            new DriverError('AuthFailed', `SSH login to ${where} as ${target.username} refused`, {
              cause: err,
              scope: { kind: 'device', ref: target.host },
            }),
          );
        } else if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
          fail(
            new DriverError('Timeout', `SSH to ${where} timed out`, {
              cause: err,
              scope: { kind: 'device', ref: target.host },
            }),
          );
        } else if (/host key|Host denied/i.test(err.message)) {
          fail(
            new DriverError('AuthFailed', `SSH host key of ${where} not accepted`, {
              cause: err,
              scope: { kind: 'device', ref: target.host },
            }),
          );
        } else {
          fail(
            new DriverError('Unreachable', `SSH to ${where} failed: ${err.message}`, {
              cause: err,
              scope: { kind: 'device', ref: target.host },
            }),
          );
        }
      });
      conn.on('close', () =>
        fail(
          new DriverError('Unreachable', `SSH connection to ${where} closed before the NETCONF hello`, {
            scope: { kind: 'device', ref: target.host },
          }),
        ),
      );
      conn.on('ready', () => {
        conn.subsys('netconf', (err, channel) => {
          if (err) {
            fail(
              new DriverError('Unreachable', `${where} refused the netconf subsystem: ${err.message}`, {
                cause: err,
                scope: { kind: 'device', ref: target.host },
              }),
            );
            return;
          }
          const onHelloData = (data: Buffer): void => {
            reader.append(data);
            let text: string | undefined;
            try {
              text = reader.read();
            } catch (e) {
              fail(
                new DriverError('DeviceError', `bad NETCONF framing from ${where}: ${(e as Error).message}`, {
                  scope: { kind: 'device', ref: target.host },
                }),
              );
              return;
            }
            if (text === undefined) return;
            channel.off('data', onHelloData);
            let hello: Element;
            try {
              hello = parse(text.trim());
            } catch (e) {
              fail(
                new DriverError('DeviceError', `unreadable NETCONF hello from ${where}: ${(e as Error).message}`, {
                  scope: { kind: 'device', ref: target.host },
                }),
              );
              return;
            }
            if (hello.name !== 'hello') {
              fail(
                new DriverError('DeviceError', `${where} sent <${hello.name}> instead of a NETCONF hello`, {
                  scope: { kind: 'device', ref: target.host },
                }),
              );
              return;
            }
            const offer11 = target.base11 ?? true;
            const caps = [BASE10, ...(offer11 ? [BASE11] : [])];
            channel.write(
              frameMessage(
                `<?xml version="1.0" encoding="UTF-8"?><hello xmlns="${NS}"><capabilities>${caps.map((c) => `<capability>${c}</capability>`).join('')}</capabilities></hello>`,
                false,
              ),
            );
            const session = new NetconfSession(conn, channel, reader, where, hello);
            reader.chunked = offer11 && session.capabilities.includes(BASE11);
            settled = true;
            clearTimeout(timer);
            session.listen();
            resolve(session);
          };
          channel.on('data', onHelloData);
        });
      });
      const config: ssh2.ConnectConfig = {
        host: target.host,
        port: target.port,
        username: target.username,
        readyTimeout: target.connectTimeoutMs,
        hostVerifier: (key: Buffer) => target.hostVerifier(key),
        keepaliveInterval: 15_000,
      };
      if (target.password !== undefined) config.password = target.password;
      if (target.privateKey !== undefined) config.privateKey = target.privateKey;
      conn.connect(config);
    });
  }

  private listen(): void {
    const end = (why: string): void => {
      if (this.ended !== undefined) return;
      this.ended = new DriverError('Unreachable', `NETCONF session ${this.sessionId} to ${this.where} lost: ${why}`, {
        scope: { kind: 'device', ref: this.where.split(':')[0] ?? this.where },
      });
      this.pending?.reject(this.ended);
      this.pending = undefined;
    };
    this.channel.on('data', (data: Buffer) => {
      this.reader.append(data);
      for (;;) {
        let text: string | undefined;
        try {
          text = this.reader.read();
        } catch (e) {
          end(`bad framing: ${(e as Error).message}`);
          this.conn.end();
          return;
        }
        if (text === undefined) return;
        const p = this.pending;
        this.pending = undefined;
        p?.resolve(text);
      }
    });
    this.channel.on('close', () => end('channel closed'));
    this.conn.on('close', () => end('connection closed'));
    this.conn.on('error', (err: Error) => end(err.message));
  }

  /** Whether the session is gone (it is never reopened; open a new one). */
  get closed(): boolean {
    return this.ended !== undefined;
  }

  /**
   * Send one RPC (the inner XML of `<rpc>`) and wait for its reply. Rejects with `Unreachable` when the session is
   * lost before the reply, `Timeout` after `timeoutMs` (the session is then closed: a late reply cannot be matched).
   */
  async rpc(body: string, timeoutMs: number, signal?: AbortSignal): Promise<NetconfReply> {
    if (this.ended !== undefined) throw this.ended;
    if (this.pending !== undefined) throw new Error('one NETCONF RPC at a time');
    const id = String(this.nextId++);
    const text = await new Promise<string>((resolve, reject) => {
      // a late reply could not be told from the next one: the session is given up at once
      const giveUp = (err: DriverError): void => {
        this.pending = undefined;
        this.ended ??= err;
        this.conn.end();
        reject(err);
      };
      const timer = setTimeout(
        () => giveUp(new DriverError('Timeout', `NETCONF RPC to ${this.where} got no reply in ${timeoutMs} ms`)),
        timeoutMs,
      );
      const onAbort = (): void => {
        clearTimeout(timer);
        giveUp(new DriverError('Timeout', `NETCONF RPC to ${this.where} aborted`, { cause: signal?.reason }));
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending = {
        resolve: (t) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject: (err) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(err);
        },
      };
      this.channel.write(frameMessage(`<rpc xmlns="${NS}" message-id="${id}">${body}</rpc>`, this.reader.chunked));
    });
    let root: Element;
    try {
      root = parse(text.trim());
    } catch (e) {
      throw new DriverError('DeviceError', `unreadable NETCONF reply from ${this.where}: ${(e as Error).message}`);
    }
    if (root.name !== 'rpc-reply')
      throw new DriverError('DeviceError', `${this.where} sent <${root.name}> instead of <rpc-reply>`);
    if (root.attributes['message-id'] !== undefined && root.attributes['message-id'] !== id) {
      throw new DriverError(
        'DeviceError',
        `${this.where} answered message-id ${root.attributes['message-id']} to ${id}`,
      );
    }
    const all: NetconfRpcError[] = [];
    collectRpcErrors(root, all);
    return {
      root,
      errors: all.filter((x) => x.severity === 'error'),
      warnings: all.filter((x) => x.severity === 'warning'),
    };
  }

  /** `<close-session/>` (best effort), then drop the connection. */
  async close(): Promise<void> {
    if (this.ended === undefined) {
      try {
        await this.rpc('<close-session/>', 5_000);
      } catch {
        // closing anyway
      }
    }
    this.ended ??= new DriverError('Unreachable', `NETCONF session ${this.sessionId} to ${this.where} was closed`);
    this.conn.end();
  }
}
