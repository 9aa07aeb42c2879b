/**
 * One XAPI session per pool (drivers.md §4.3–4.4): logged in on the master (a member answering `HOST_IS_SLAVE` names
 * it, and the session follows), logged in again once on `SESSION_INVALID` and the call replayed, a bad password an
 * error without retry, a lost master found again by probing the other members (a slave names the master; the first
 * answer wins), `OTHER_OPERATION_IN_PROGRESS` retried after a pause. Long calls run as `Async.*` tasks watched
 * through `event.from` with a token taken before the call, and each task is destroyed once settled.
 */
import type https from 'node:https';
import { XapiError, XapiTransportError } from './xapi-error.js';
import {
  type XapiCallOptions,
  XapiEndpoint,
  type XapiProtocol,
  type XapiTlsOptions,
  xapiHttpsAgent,
} from './xapi-transport.js';
import { XapiDouble, xmlRpcResponse } from './xml-rpc.js';

/** How to reach and log in to a pool. */
export interface XapiPoolOptions {
  /** Any member, e.g. `https://10.0.0.20` (the master is followed). */
  url: string;
  username: string;
  password: string;
  tls?: XapiTlsOptions;
  /** Timeout of one API call (default 30 s). */
  callTimeoutMs?: number;
  /** Timeout of one task (default 30 min, CloudStack's `wait`). */
  taskTimeoutMs?: number;
  /** `event.from` long-poll in seconds (default 60.1; the HTTP timeout is 10 % above it). */
  eventTimeoutSeconds?: number;
  /** Tries on `OTHER_OPERATION_IN_PROGRESS` (default 5) and the pause between them (default 500 ms). */
  busyRetries?: number;
  busyRetryDelayMs?: number;
  /** Use this protocol from the start instead of JSON-RPC first. */
  protocol?: XapiProtocol;
  /** Originator string sent at login (default `stratus`). */
  originator?: string;
}

/** Options of {@link XapiPoolSession.callAsync}. */
export interface XapiTaskOptions extends XapiCallOptions {
  onProgress?: (percent: number) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const READ_ONLY = /\.(get_|get$)|^(pool|host|VM|VDI|SR|network|PIF|VBD|VIF|PBD|VLAN|task|host_metrics|console)\.get/;

/** A session on one pool's master. */
export class XapiPoolSession {
  private endpoint: XapiEndpoint;
  private readonly agent: https.Agent | undefined;
  private session: string | undefined;
  private loggingIn: Promise<string> | undefined;
  /** Addresses of the pool's members, learnt at login (for finding a new master). */
  private members: string[] = [];
  private poolRef: string | undefined;
  private closed = false;

  constructor(private readonly options: XapiPoolOptions) {
    this.agent = options.url.startsWith('https:') ? xapiHttpsAgent(options.tls) : undefined;
    this.endpoint = this.endpointFor(options.url);
  }

  /** The master's URL as last seen. */
  get masterUrl(): string {
    return this.endpoint.url;
  }

  /** The protocol in use with the master. */
  get protocol(): XapiProtocol {
    return this.endpoint.protocol;
  }

  private endpointFor(url: string): XapiEndpoint {
    const e = new XapiEndpoint(url, this.agent, this.options.callTimeoutMs ?? 30_000, this.options.protocol);
    // a host known to have no JSON-RPC keeps the pool on XML-RPC
    if (this.endpoint?.protocol === 'xml-rpc') e.protocol = 'xml-rpc';
    return e;
  }

  private urlOf(address: string): string {
    const u = new URL(this.options.url);
    u.hostname = address;
    return u.origin;
  }

  /** Log in (following `HOST_IS_SLAVE` once per hop) and learn the members. Coalesces concurrent callers. */
  login(options: XapiCallOptions = {}): Promise<string> {
    if (this.closed) return Promise.reject(new XapiTransportError('unreachable', this.endpoint.url, 'session closed'));
    this.loggingIn ??= this.doLogin(options).finally(() => {
      this.loggingIn = undefined;
    });
    return this.loggingIn;
  }

  private async doLogin(options: XapiCallOptions): Promise<string> {
    const params = [this.options.username, this.options.password, '1.0', this.options.originator ?? 'stratus'];
    for (let hop = 0; ; hop++) {
      try {
        const ref = String(await this.endpoint.call('session.login_with_password', params, options));
        this.session = ref;
        await this.learnMembers(options);
        return ref;
      } catch (e) {
        if (e instanceof XapiError && e.code === 'HOST_IS_SLAVE' && hop < 2 && e.params[0]) {
          this.endpoint = this.endpointFor(this.urlOf(e.params[0]));
          continue;
        }
        throw e;
      }
    }
  }

  private async learnMembers(options: XapiCallOptions): Promise<void> {
    const hosts = (await this.endpoint.call('host.get_all_records', [this.session], options)) as Record<
      string,
      { address: string }
    >;
    this.members = Object.values(hosts).map((h) => h.address);
    const pools = (await this.endpoint.call('pool.get_all', [this.session], options)) as string[];
    this.poolRef = pools[0];
  }

  /** Find the master after losing it: ask every other member; a slave names the master; the first answer wins. */
  private async findMaster(options: XapiCallOptions): Promise<void> {
    const lost = new URL(this.endpoint.url).hostname;
    const candidates = this.members.filter((m) => m !== lost);
    if (candidates.length === 0)
      throw new XapiTransportError('unreachable', this.endpoint.url, 'master lost, no other member known');
    const probe = async (address: string): Promise<string> => {
      const endpoint = this.endpointFor(this.urlOf(address));
      try {
        const ref = await endpoint.call(
          'session.login_with_password',
          [this.options.username, this.options.password, '1.0', 'stratus-probe'],
          options,
        );
        await endpoint.call('session.logout', [ref], options).catch(() => undefined);
        return address;
      } catch (e) {
        if (e instanceof XapiError && e.code === 'HOST_IS_SLAVE' && e.params[0]) return e.params[0];
        throw e;
      }
    };
    const master = await Promise.any(candidates.map(probe)).catch((e: AggregateError) => {
      throw new XapiTransportError('unreachable', this.endpoint.url, 'master lost and no member answers', { cause: e });
    });
    this.endpoint = this.endpointFor(this.urlOf(master));
    this.session = undefined;
    await this.login(options);
  }

  /**
   * Call `method` with the session as first parameter. `SESSION_INVALID`: log in once more and replay. The master
   * unreachable: find the new one and replay (a reset connection replays only read-only calls). `HOST_IS_SLAVE`: the
   * master moved; follow and replay. `OTHER_OPERATION_IN_PROGRESS`: retried after a pause.
   */
  async call(method: string, params: readonly unknown[] = [], options: XapiCallOptions = {}): Promise<unknown> {
    let relogged = false;
    let failedOver = false;
    let busy = 0;
    for (;;) {
      const session = this.session ?? (await this.login(options));
      try {
        return await this.endpoint.call(method, [session, ...params], options);
      } catch (e) {
        if (options.signal?.aborted) throw e;
        if (e instanceof XapiError) {
          if (e.code === 'SESSION_INVALID' && !relogged) {
            relogged = true;
            if (this.session === session) this.session = undefined;
            continue;
          }
          if (e.code === 'HOST_IS_SLAVE' && !failedOver && e.params[0]) {
            failedOver = true;
            this.endpoint = this.endpointFor(this.urlOf(e.params[0]));
            this.session = undefined;
            continue;
          }
          if (e.code === 'OTHER_OPERATION_IN_PROGRESS' && busy < (this.options.busyRetries ?? 5)) {
            busy++;
            await sleep(this.options.busyRetryDelayMs ?? 500);
            continue;
          }
          throw e;
        }
        if (
          e instanceof XapiTransportError &&
          !failedOver &&
          (e.kind === 'unreachable' || (e.kind === 'reset' && READ_ONLY.test(method)))
        ) {
          failedOver = true;
          await this.findMaster(options);
          continue;
        }
        throw e;
      }
    }
  }

  /**
   * Run `Async.<method>` and wait for its task through `event.from` (token from `event.inject` taken before the call,
   * so no event is missed; `EVENTS_LOST` re-injects and re-reads the task). Returns the task's result decoded; a failed
   * task throws its `error_info` as a {@link XapiError}. The task is destroyed once settled; cancelled on abort/timeout.
   */
  async callAsync(method: string, params: readonly unknown[] = [], options: XapiTaskOptions = {}): Promise<unknown> {
    const deadline = Date.now() + (options.timeoutMs ?? this.options.taskTimeoutMs ?? 1_800_000);
    const callOptions = { ...(options.signal ? { signal: options.signal } : {}) };
    if (!this.session) await this.login(callOptions);
    let token = String(await this.call('event.inject', ['pool', this.poolRef], callOptions));
    const task = String(await this.call(`Async.${method}`, params, callOptions));
    try {
      let record = (await this.call('task.get_record', [task], callOptions)) as TaskRecord;
      const pollSeconds = this.options.eventTimeoutSeconds ?? 60.1;
      while (record.status === 'pending') {
        const left = deadline - Date.now();
        if (left <= 0)
          throw new XapiTransportError('timeout', this.endpoint.url, `task ${method} did not finish in time`);
        const wait = Math.max(0.1, Math.min(pollSeconds, left / 1000));
        let events: { token: string; events: Array<{ ref: string; operation: string; snapshot?: TaskRecord }> };
        try {
          events = (await this.call('event.from', [['task'], token, new XapiDouble(wait + 0.01)], {
            ...callOptions,
            timeoutMs: Math.ceil(wait * 1100) + 5000,
          })) as typeof events;
        } catch (e) {
          if (e instanceof XapiError && e.code === 'EVENTS_LOST') {
            token = String(await this.call('event.inject', ['pool', this.poolRef], callOptions));
            record = (await this.call('task.get_record', [task], callOptions)) as TaskRecord;
            continue;
          }
          throw e;
        }
        token = events.token;
        for (const ev of events.events) {
          if (ev.ref !== task) continue;
          if (ev.operation === 'del') throw new XapiError('HANDLE_INVALID', ['task', task], `Async.${method}`);
          if (ev.snapshot) record = ev.snapshot;
        }
        options.onProgress?.(Math.round(Number(record.progress) * 100));
      }
      if (record.status === 'success') return await decodeTaskResult(record.result);
      const [code = 'TASK_FAILED', ...rest] = (record.error_info ?? []).map(String);
      throw new XapiError(code, rest, `Async.${method}`);
    } catch (e) {
      if (e instanceof XapiTransportError && e.kind === 'timeout')
        await this.call('task.cancel', [task]).catch(() => undefined);
      throw e;
    } finally {
      await this.call('task.destroy', [task]).catch(() => undefined);
    }
  }

  /**
   * Write a VDI's contents through the master's `/import_raw_vdi` (`format` `vhd` or `raw`); a refused session is
   * logged in again once.
   */
  async importVdi(vdi: string, format: 'vhd' | 'raw', body: Buffer, options: XapiCallOptions = {}): Promise<void> {
    await this.transfer('PUT', '/import_raw_vdi', vdi, format, body, options);
  }

  /** Read a VDI's contents through the master's `/export_raw_vdi`. */
  async exportVdi(vdi: string, format: 'vhd' | 'raw', options: XapiCallOptions = {}): Promise<Buffer> {
    return this.transfer('GET', '/export_raw_vdi', vdi, format, undefined, options);
  }

  private async transfer(
    method: 'PUT' | 'GET',
    path: string,
    vdi: string,
    format: string,
    body: Buffer | undefined,
    options: XapiCallOptions,
  ): Promise<Buffer> {
    for (let attempt = 0; ; attempt++) {
      const session = this.session ?? (await this.login(options));
      const res = await this.endpoint.transfer(method, path, { session_id: session, vdi, format }, body, {
        timeoutMs: options.timeoutMs ?? this.options.taskTimeoutMs ?? 1_800_000,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (res.status === 200) return res.data;
      if (res.status === 401 && attempt === 0) {
        this.session = undefined;
        continue;
      }
      const text = res.data.toString('utf8').slice(0, 200);
      if (res.status === 404) throw new XapiError('HANDLE_INVALID', ['VDI', vdi], path);
      throw new XapiTransportError('protocol', this.endpoint.url, `${method} ${path}: HTTP ${res.status} ${text}`);
    }
  }

  /** Log out (best effort) and refuse further calls. */
  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session) await this.endpoint.call('session.logout', [session], { timeoutMs: 5000 }).catch(() => undefined);
    this.agent?.destroy();
  }
}

interface TaskRecord {
  status: string;
  progress: number | string;
  result: string;
  error_info: unknown[];
}

/** A task's `result`: an XML-RPC `<value>` (empty for void). */
async function decodeTaskResult(result: string): Promise<unknown> {
  if (!result) return '';
  return xmlRpcResponse(`<methodResponse><params><param>${result}</param></params></methodResponse>`);
}
