/**
 * fake-junos: a Juniper SRX as a NETCONF server, for tests (drivers.md §7, §10). An ssh2 server on loopback with
 * the `netconf` subsystem; base:1.0 (`]]>]]>`) and base:1.1 (chunked) framing; a running configuration, a shared
 * candidate and a private candidate per session (`<open-configuration><private/>`), which vanishes with its
 * session; Junos's load, commit and error rules (`junos-config.ts`); firewall filter counters; fault injection and
 * a state dump. Written from Juniper's NETCONF and Junos XML protocol documentation.
 */
import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import ssh2, { type Connection, type ServerChannel } from 'ssh2';
import {
  definedCounters,
  filterSubtree,
  type JunosRpcError,
  JunosRpcFailure,
  loadInto,
  validate,
} from './junos-config.js';
import { child, childrenOf, cloneNode, el, parseXml, textOf, toXml, type XmlNode } from './junos-xml.js';
import { frame, NetconfDeframer } from './netconf-server-framing.js';

const BASE10 = 'urn:ietf:params:netconf:base:1.0';
const BASE11 = 'urn:ietf:params:netconf:base:1.1';
const NETCONF_NS = 'urn:ietf:params:xml:ns:netconf:base:1.0';
const JUNOS_NS = 'http://xml.juniper.net/junos/15.1X49/junos';

/** Options of {@link startFakeJunos}. */
export interface FakeJunosOptions {
  /** Login accepted (password authentication). Default `admin` / `Juniper123`. */
  username?: string;
  password?: string;
  /** Offer base:1.1 in the hello (default true); false keeps every session on base:1.0 framing. */
  base11?: boolean;
  /** Hostname reported in the state dump. */
  hostname?: string;
}

/**
 * A fault to inject. It fires on the `nth` matching RPC counted from when it is injected (default the first), once.
 * - `drop`: the SSH connection is cut when the RPC arrives; nothing of it is applied;
 * - `drop-after`: the RPC is applied, then the connection is cut before the reply;
 * - `delay`: the RPC is answered `delayMs` later;
 * - `error`: the RPC fails with an `rpc-error` (severity error, the given message); nothing is applied.
 */
export interface FakeJunosFault {
  /** RPC element name (`commit-configuration`, `load-configuration`, …); absent: any RPC. */
  rpc?: string;
  nth?: number;
  kind: 'drop' | 'drop-after' | 'delay' | 'error';
  delayMs?: number;
  message?: string;
}

/** One request the fake received. */
export interface FakeJunosRequest {
  sessionId: number;
  rpc: string;
  xml: string;
}

/** What {@link FakeJunos.dump} returns. */
export interface FakeJunosDump {
  hostname: string;
  running: string;
  sharedCandidateModified: boolean;
  sessions: Array<{ id: number; privateCandidate: boolean; framing: '1.0' | '1.1' }>;
  commits: number;
  counters: Record<string, Record<string, { bytes: number; packets: number }>>;
}

interface PrivateCandidate {
  copy: XmlNode;
  /** The loads made, replayed over the running configuration at commit (Junos merges a private copy's changes). */
  ops: Array<{ config: XmlNode; action: 'merge' | 'replace' }>;
  /** Set by `action="override"`: the configuration the later loads apply to at commit, instead of the running one. */
  override?: XmlNode;
}

interface Session {
  id: number;
  conn: Connection;
  channel: ServerChannel;
  deframer: NetconfDeframer;
  helloDone: boolean;
  private?: PrivateCandidate;
  queue: Promise<void>;
}

interface ArmedFault extends FakeJunosFault {
  seen: number;
}

class RpcReplyError extends Error {
  constructor(
    readonly errors: JunosRpcError[],
    readonly body: XmlNode[] = [],
  ) {
    super(errors.map((e) => e.message).join('; '));
  }
}

/** A running fake-junos. */
export class FakeJunos {
  /** Loopback address and port. */
  readonly host = '127.0.0.1';
  port = 0;
  /** Username and password it accepts. */
  readonly username: string;
  readonly password: string;
  private readonly base11: boolean;
  private readonly hostname: string;
  private running = el('configuration');
  private shared = el('configuration');
  private sharedLockedBy: number | undefined;
  private readonly sessions = new Map<number, Session>();
  private readonly connections = new Set<Connection>();
  private faults: ArmedFault[] = [];
  private readonly counters = new Map<string, Map<string, { bytes: number; packets: number }>>();
  private nextSessionId = randomInt(1000, 30000);
  private commitCount = 0;
  /** Every RPC received, in order. */
  readonly requests: FakeJunosRequest[] = [];
  private readonly server: ssh2.Server;

  constructor(options: FakeJunosOptions = {}) {
    this.username = options.username ?? 'admin';
    this.password = options.password ?? 'Juniper123';
    this.base11 = options.base11 ?? true;
    this.hostname = options.hostname ?? 'srx-fake';
    const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
    this.server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => this.onConnection(conn));
  }

  /** Start listening on 127.0.0.1 and an ephemeral port. */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, this.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stop: cut every connection, stop listening. */
  async close(): Promise<void> {
    this.dropAllSessions();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Cut every SSH connection, as a device reboot or a network loss would; private candidates vanish. */
  dropAllSessions(): void {
    for (const session of [...this.sessions.values()]) this.cut(session);
    for (const c of this.connections) c.end();
  }

  /** The session is gone at once: nothing it sent afterwards is executed, its private candidate is dropped. */
  private cut(session: Session): void {
    this.sessions.delete(session.id);
    session.private = undefined;
    if (this.sharedLockedBy === session.id) this.sharedLockedBy = undefined;
    session.conn.end();
  }

  /** Arm a fault (see {@link FakeJunosFault}). */
  injectFault(fault: FakeJunosFault): void {
    this.faults.push({ ...fault, seen: 0 });
  }

  /** Disarm every fault not yet fired. */
  clearFaults(): void {
    this.faults = [];
  }

  /** Forget the configuration, counters, faults and request log (between tests). */
  reset(): void {
    this.running = el('configuration');
    this.shared = el('configuration');
    this.sharedLockedBy = undefined;
    this.counters.clear();
    this.faults = [];
    this.requests.length = 0;
    this.commitCount = 0;
  }

  /** A copy of the committed (running) configuration. */
  runningConfig(): XmlNode {
    return cloneNode(this.running);
  }

  /** Set a firewall filter counter's cumulative value (as traffic through the device would). */
  setCounter(filter: string, counter: string, bytes: number, packets = Math.ceil(bytes / 1000)): void {
    const f = this.counters.get(filter) ?? new Map<string, { bytes: number; packets: number }>();
    f.set(counter, { bytes, packets });
    this.counters.set(filter, f);
  }

  /** The state of the device, for assertions and for a failing test's log. */
  dump(): FakeJunosDump {
    const counters: FakeJunosDump['counters'] = {};
    for (const [f, names] of definedCounters(this.running)) {
      counters[f] = {};
      for (const n of names) counters[f][n] = this.counters.get(f)?.get(n) ?? { bytes: 0, packets: 0 };
    }
    return {
      hostname: this.hostname,
      running: toXml(this.running),
      sharedCandidateModified: toXml(this.shared) !== toXml(this.running),
      sessions: [...this.sessions.values()].map((s) => ({
        id: s.id,
        privateCandidate: s.private !== undefined,
        framing: s.deframer.chunked ? '1.1' : '1.0',
      })),
      commits: this.commitCount,
      counters,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // SSH

  private onConnection(conn: Connection): void {
    this.connections.add(conn);
    conn.on('error', () => {});
    conn.on('close', () => this.connections.delete(conn));
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.username === this.username && ctx.password === this.password) ctx.accept();
      else ctx.reject(['password']);
    });
    conn.on('ready', () => {
      conn.on('session', (acceptSession) => {
        const sshSession = acceptSession();
        sshSession.on('subsystem', (accept, reject, info) => {
          if (info.name !== 'netconf') {
            reject?.();
            return;
          }
          this.startNetconf(conn, accept());
        });
      });
    });
  }

  private startNetconf(conn: Connection, channel: ServerChannel): void {
    const session: Session = {
      id: this.nextSessionId++,
      conn,
      channel,
      deframer: new NetconfDeframer(),
      helloDone: false,
      queue: Promise.resolve(),
    };
    this.sessions.set(session.id, session);
    const end = (): void => {
      // an uncommitted private candidate vanishes with its session; so does a lock
      this.sessions.delete(session.id);
      if (this.sharedLockedBy === session.id) this.sharedLockedBy = undefined;
    };
    channel.on('close', end);
    conn.on('close', end);
    channel.on('error', () => {});
    const caps = [
      BASE10,
      ...(this.base11 ? [BASE11] : []),
      'urn:ietf:params:netconf:capability:candidate:1.0',
      'urn:ietf:params:netconf:capability:confirmed-commit:1.0',
      'urn:ietf:params:netconf:capability:validate:1.0',
      'urn:ietf:params:netconf:capability:url:1.0?scheme=http,ftp,file',
      'urn:ietf:params:xml:ns:netconf:base:1.0',
      'urn:ietf:params:xml:ns:netconf:capability:candidate:1.0',
      'http://xml.juniper.net/netconf/junos/1.0',
      'http://xml.juniper.net/dmi/system/1.0',
    ];
    // Junos greets with two comments before its hello
    channel.write(
      `<!-- No zombies were killed during the creation of this user interface -->\n<!-- user ${this.username}, class super-user -->\n` +
        frame(
          `<hello xmlns="${NETCONF_NS}"><capabilities>${caps.map((c) => `<capability>${c}</capability>`).join('')}</capabilities><session-id>${session.id}</session-id></hello>`,
          false,
        ),
    );
    channel.on('data', (data: Buffer) => {
      session.deframer.feed(data);
      for (;;) {
        let msg: string | undefined;
        try {
          msg = session.deframer.next();
        } catch {
          channel.close();
          return;
        }
        if (msg === undefined) return;
        if (!session.helloDone) {
          this.onHello(session, msg);
          continue;
        }
        const text = msg;
        session.queue = session.queue.then(() => this.onRpc(session, text));
      }
    });
  }

  private onHello(session: Session, msg: string): void {
    let hello: XmlNode;
    try {
      hello = parseXml(msg.trim());
    } catch {
      session.channel.close();
      return;
    }
    if (hello.tag !== 'hello') {
      session.channel.close();
      return;
    }
    const offered = childrenOf(child(hello, 'capabilities'), 'capability').map((c) => c.text);
    session.helloDone = true;
    session.deframer.chunked = this.base11 && offered.includes(BASE11);
  }

  private send(session: Session, xml: string): void {
    if (!session.channel.writable) return;
    session.channel.write(frame(xml, session.deframer.chunked));
  }

  // ------------------------------------------------------------------------------------------------------------
  // RPCs

  private async onRpc(session: Session, msg: string): Promise<void> {
    if (!this.sessions.has(session.id)) return;
    let rpc: XmlNode;
    try {
      rpc = parseXml(msg.trim());
    } catch (e) {
      this.send(
        session,
        this.reply(
          {},
          [],
          [
            {
              type: 'rpc',
              tag: 'malformed-message',
              severity: 'error',
              message: `XML parse error: ${(e as Error).message.split('\n')[0]}`,
            },
          ],
        ),
      );
      return;
    }
    if (rpc.tag !== 'rpc') {
      this.send(
        session,
        this.reply(
          {},
          [],
          [
            {
              type: 'rpc',
              tag: 'unknown-element',
              severity: 'error',
              message: 'syntax error, expecting <rpc>',
              badElement: rpc.tag,
            },
          ],
        ),
      );
      return;
    }
    const op = rpc.children[0];
    const name = op?.tag ?? '';
    this.requests.push({ sessionId: session.id, rpc: name, xml: msg.trim() });
    const fault = this.takeFault(name);
    if (fault?.kind === 'drop') {
      this.cut(session);
      return;
    }
    if (fault?.kind === 'delay') await new Promise((r) => setTimeout(r, fault.delayMs ?? 1000));
    if (fault?.kind === 'error') {
      this.send(
        session,
        this.reply(
          rpc.attrs,
          [],
          [
            {
              type: 'application',
              tag: 'operation-failed',
              severity: 'error',
              message: fault.message ?? 'injected failure',
            },
          ],
        ),
      );
      return;
    }
    if (!this.sessions.has(session.id)) return;
    let body: XmlNode[] = [];
    let errors: JunosRpcError[] = [];
    try {
      ({ body, warnings: errors } = this.execute(session, name, op));
    } catch (e) {
      if (e instanceof RpcReplyError) {
        body = e.body;
        errors = e.errors;
      } else if (e instanceof JunosRpcFailure) {
        errors = e.errors;
      } else throw e;
    }
    if (fault?.kind === 'drop-after') {
      this.cut(session);
      return;
    }
    this.send(session, this.reply(rpc.attrs, body, errors));
    if (name === 'close-session') session.channel.close();
  }

  private takeFault(rpc: string): ArmedFault | undefined {
    for (const f of this.faults) {
      if (f.rpc !== undefined && f.rpc !== rpc) continue;
      f.seen += 1;
      if (f.seen === (f.nth ?? 1)) {
        this.faults.splice(this.faults.indexOf(f), 1);
        return f;
      }
    }
    return undefined;
  }

  private reply(attrs: Record<string, string>, body: XmlNode[], errors: JunosRpcError[]): string {
    const nodes = [...errors.map(errorNode), ...body];
    const echo = Object.entries(attrs)
      .map(([k, v]) => ` ${k}="${v.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')}"`)
      .join('');
    return `<rpc-reply xmlns="${NETCONF_NS}" xmlns:junos="${JUNOS_NS}"${echo}>${nodes.map((n) => toXml(n)).join('')}</rpc-reply>`;
  }

  private execute(
    session: Session,
    name: string,
    op: XmlNode | undefined,
  ): { body: XmlNode[]; warnings: JunosRpcError[] } {
    const ok = { body: [el('ok')], warnings: [] as JunosRpcError[] };
    switch (name) {
      case 'open-configuration': {
        if (child(op, 'private') === undefined) throw unsupported(name, 'only <private/> is served');
        if (
          toXml(this.shared) !== toXml(this.running) ||
          (this.sharedLockedBy !== undefined && this.sharedLockedBy !== session.id)
        ) {
          throw new RpcReplyError([
            {
              type: 'protocol',
              tag: 'operation-failed',
              severity: 'error',
              message: 'shared configuration database modified',
            },
          ]);
        }
        session.private ??= { copy: cloneNode(this.running), ops: [] };
        return ok;
      }
      case 'close-configuration':
        session.private = undefined;
        return ok;
      case 'load-configuration':
        return this.load(session, op as XmlNode);
      case 'edit-config': {
        const config = child(child(op, 'config'), 'configuration');
        if (config === undefined) throw unsupported(name, 'the fake reads <config><configuration> only');
        return { body: [el('ok')], warnings: this.applyLoad(session, config, 'merge') };
      }
      case 'discard-changes':
        this.discard(session);
        return ok;
      case 'commit-configuration':
      case 'commit':
        return this.commit(session, name === 'commit');
      case 'get-configuration': {
        const db = op?.attrs.database ?? 'candidate';
        const src = db === 'committed' ? this.running : (session.private?.copy ?? this.shared);
        const filter = child(op, 'configuration');
        const config =
          filter === undefined || filter.children.length === 0 ? cloneNode(src) : filterSubtree(src, filter);
        config.attrs = { 'junos:changed-seconds': String(Math.floor(Date.now() / 1000)) };
        return { body: [config], warnings: [] };
      }
      case 'get-config': {
        const source = child(op, 'source')?.children[0]?.tag ?? 'running';
        const src = source === 'running' ? this.running : (session.private?.copy ?? this.shared);
        const filter = child(child(op, 'filter'), 'configuration');
        const config =
          filter === undefined || filter.children.length === 0 ? cloneNode(src) : filterSubtree(src, filter);
        return { body: [el('data', [config])], warnings: [] };
      }
      case 'lock-configuration':
      case 'lock':
        if (this.sharedLockedBy !== undefined && this.sharedLockedBy !== session.id) {
          throw new RpcReplyError([
            {
              type: 'protocol',
              tag: 'lock-denied',
              severity: 'error',
              message: `configuration database locked by session ${this.sharedLockedBy}`,
            },
          ]);
        }
        this.sharedLockedBy = session.id;
        return ok;
      case 'unlock-configuration':
      case 'unlock':
        if (this.sharedLockedBy === session.id) this.sharedLockedBy = undefined;
        return ok;
      case 'get-firewall-filter-information':
        return { body: [this.firewallInformation(textOf(op, 'filtername'))], warnings: [] };
      case 'close-session':
        return ok;
      default:
        throw new RpcReplyError([
          { type: 'protocol', tag: 'operation-failed', severity: 'error', message: 'syntax error', badElement: name },
        ]);
    }
  }

  private load(session: Session, op: XmlNode): { body: XmlNode[]; warnings: JunosRpcError[] } {
    if (op.attrs.rollback !== undefined) {
      if (op.attrs.rollback !== '0') throw unsupported('load-configuration', 'only rollback="0" is served');
      this.discard(session);
      return { body: [el('load-configuration-results', [el('ok')])], warnings: [] };
    }
    const format = op.attrs.format ?? 'xml';
    const action = op.attrs.action ?? 'merge';
    if (format !== 'xml') throw unsupported('load-configuration', `format="${format}" is not served by the fake`);
    if (action !== 'merge' && action !== 'replace' && action !== 'override') {
      throw unsupported('load-configuration', `action="${action}" is not served by the fake`);
    }
    const config = child(op, 'configuration');
    if (config === undefined) {
      throw new RpcReplyError(
        [
          {
            type: 'protocol',
            tag: 'missing-element',
            severity: 'error',
            message: 'missing <configuration>',
            badElement: 'load-configuration',
          },
        ],
        [el('load-configuration-results', [el('load-error-count', [], '1')])],
      );
    }
    try {
      if (action === 'override') {
        const fresh = el('configuration');
        loadInto(fresh, config, 'merge');
        this.replaceCandidate(session, fresh);
        return { body: [el('load-configuration-results', [el('ok')])], warnings: [] };
      }
      const warnings = this.applyLoad(session, config, action);
      return { body: [el('load-configuration-results', [el('ok')])], warnings };
    } catch (e) {
      if (e instanceof JunosRpcFailure) {
        throw new RpcReplyError(e.errors, [
          el('load-configuration-results', [el('load-error-count', [], String(e.errors.length))]),
        ]);
      }
      throw e;
    }
  }

  private applyLoad(session: Session, config: XmlNode, action: 'merge' | 'replace'): JunosRpcError[] {
    if (session.private !== undefined) {
      const copy = cloneNode(session.private.copy);
      const warnings = loadInto(copy, config, action);
      session.private.copy = copy;
      session.private.ops.push({ config: cloneNode(config), action });
      return warnings;
    }
    if (this.sharedLockedBy !== undefined && this.sharedLockedBy !== session.id) {
      throw new RpcReplyError([
        {
          type: 'protocol',
          tag: 'lock-denied',
          severity: 'error',
          message: `configuration database locked by session ${this.sharedLockedBy}`,
        },
      ]);
    }
    const copy = cloneNode(this.shared);
    const warnings = loadInto(copy, config, action);
    this.shared = copy;
    return warnings;
  }

  private replaceCandidate(session: Session, config: XmlNode): void {
    if (session.private !== undefined) {
      session.private.copy = config;
      session.private.ops = [{ config: el('configuration'), action: 'merge' }];
      session.private.override = cloneNode(config);
    } else this.shared = config;
  }

  private discard(session: Session): void {
    if (session.private !== undefined) session.private = { copy: cloneNode(this.running), ops: [] };
    else this.shared = cloneNode(this.running);
  }

  private commit(session: Session, netconfStyle: boolean): { body: XmlNode[]; warnings: JunosRpcError[] } {
    let next: XmlNode;
    const priv = session.private;
    if (priv !== undefined) {
      if (priv.ops.length === 0) return { body: [el('commit-results')], warnings: [] };
      // Junos merges the private copy's changes into a copy of the current configuration, then commits that
      next = priv.override !== undefined ? cloneNode(priv.override) : cloneNode(this.running);
      for (const o of priv.ops) loadInto(next, o.config, o.action);
    } else next = cloneNode(this.shared);
    const errors = validate(next);
    if (errors.length > 0) {
      throw new RpcReplyError([
        ...errors,
        { type: 'protocol', tag: 'operation-failed', severity: 'error', message: 'configuration check-out failed' },
      ]);
    }
    this.running = next;
    this.shared = cloneNode(next);
    this.commitCount += 1;
    if (priv !== undefined) session.private = { copy: cloneNode(next), ops: [] };
    if (netconfStyle) return { body: [el('ok')], warnings: [] };
    const re = el('routing-engine', [el('name', [], 're0'), el('commit-success')]);
    return { body: [el('commit-results', priv !== undefined ? [el('load-success'), re] : [re])], warnings: [] };
  }

  private firewallInformation(only: string): XmlNode {
    const info = el('firewall-information');
    for (const [f, names] of definedCounters(this.running)) {
      if (only !== '' && only !== f) continue;
      const fi = el('filter-information', [el('filter-name', [], f)]);
      for (const n of names) {
        const v = this.counters.get(f)?.get(n) ?? { bytes: 0, packets: 0 };
        fi.children.push(
          el('counter', [
            el('counter-name', [], n),
            el('packet-count', [], String(v.packets)),
            el('byte-count', [], String(v.bytes)),
          ]),
        );
      }
      info.children.push(fi);
    }
    return info;
  }
}

function unsupported(rpc: string, message: string): RpcReplyError {
  return new RpcReplyError([
    { type: 'protocol', tag: 'operation-not-supported', severity: 'error', message, badElement: rpc },
  ]);
}

function errorNode(e: JunosRpcError): XmlNode {
  const n = el('rpc-error', [
    el('error-type', [], e.type),
    el('error-tag', [], e.tag),
    el('error-severity', [], e.severity),
  ]);
  if (e.path !== undefined) n.children.push(el('error-path', [], e.path));
  n.children.push(el('error-message', [], e.message));
  if (e.badElement !== undefined) n.children.push(el('error-info', [el('bad-element', [], e.badElement)]));
  return n;
}

/** Start a fake-junos on 127.0.0.1 and an ephemeral port. */
export async function startFakeJunos(options: FakeJunosOptions = {}): Promise<FakeJunos> {
  const fake = new FakeJunos(options);
  await fake.listen();
  return fake;
}
