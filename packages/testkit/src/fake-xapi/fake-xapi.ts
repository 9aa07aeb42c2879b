/**
 * `fake-xapi`: an XAPI pool on loopback for tests (drivers.md §4.9), written from the XenAPI documentation. Every host
 * of the pool listens on its own loopback address and one shared port, so `HOST_IS_SLAVE [<master address>]` names a
 * host the way XAPI does (an address; the port stays). It serves JSON-RPC (`POST /jsonrpc`) and XML-RPC (`POST /`,
 * `/RPC2`, `/xmlrpc`), the disk handlers `/import_raw_vdi` and `/export_raw_vdi`, sessions, `Async.*` tasks, `event.inject`/`event.from`, `system.listMethods`, fault injection,
 * a request log and a state dump. Written with node:http (node:https when given a certificate) and xml2js.
 */

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Builder } from 'xml2js';
import { DEFAULT_TEMPLATES, type FakeXapiNic, seedPool } from './fake-xapi-seed.js';
import { str } from './xapi-coerce.js';
import { parseToken, XapiDatabase, type XapiEvent, type XapiRecord } from './xapi-database.js';
import { XapiFailure } from './xapi-failure.js';
import { type XapiHandler, xapiHandlers } from './xapi-methods.js';
import { findClass, XAPI_CLASSES } from './xapi-schema.js';
import { XapiDate, XapiFloat, type XapiValue, XmlRpcDouble } from './xapi-values.js';
import { decodeMethodCall, encodeMethodResponse, encodeValue } from './xml-rpc-codec.js';

/** Options of {@link startFakeXapi}. */
export interface FakeXapiOptions {
  /** Pool members (default 2); the first is the master. */
  hosts?: number;
  /** Their loopback addresses (default `127.0.0.1`, `127.0.0.2`, …). */
  addresses?: readonly string[];
  /** Credentials `session.login_with_password` accepts (default `root` / `xenroot`). */
  username?: string;
  password?: string;
  /** `false`: an old host, whose `/jsonrpc` answers `text/xml` (default true). */
  jsonRpc?: boolean;
  /** How long an `Async.*` task stays pending before it runs (default 5 ms). */
  taskDelayMs?: number;
  /** RAM of each host (default 64 GiB). */
  hostMemoryBytes?: number;
  hostCpus?: number;
  hostCpuMhz?: number;
  productVersion?: string;
  /** Physical NICs of every host and the network name-labels on them (default eth0 cloud-private/management, eth1 cloud-public, eth2 cloud-guest). */
  nics?: readonly FakeXapiNic[];
  /** Size of a new shared SR (default 4 TiB) and of each host's local SR (default 500 GiB). */
  srSizeBytes?: number;
  localSrBytes?: number;
  templates?: readonly string[];
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string; cert: string };
  /** Events kept for `event.from` (older tokens get `EVENTS_LOST`; default 10 000). */
  maxEvents?: number;
}

/** A rule of fault injection, matched against each call. */
export interface FakeXapiFault {
  /** Method name (`VM.start`, `Async.VM.start_on`) or a pattern; every method when absent. */
  method?: string | RegExp;
  /** Only calls to this host address. */
  address?: string;
  /** Fire from the Nth matching call on (1-based, default 1). */
  nth?: number;
  /** How many times it fires (default 1). */
  times?: number;
  /**
   * `drop`: close the connection without an answer; `delay`: answer `delayMs` later; `fail`: answer the XAPI failure
   * `error`; `expireSession`: invalidate every session first (the call then fails with `SESSION_INVALID`);
   * `failMaster`: the master fails with the call in flight (as {@link FakeXapi.failHost}).
   */
  action: 'drop' | 'delay' | 'fail' | 'expireSession' | 'failMaster';
  delayMs?: number;
  error?: readonly string[];
}

/** One call as the fake saw it. */
export interface FakeXapiLogEntry {
  at: number;
  address: string;
  transport: 'json-rpc' | 'xml-rpc' | 'http';
  method: string;
  /** Parameters; a login's password is replaced by `******`. */
  params: unknown[];
  /** `ok`, a XAPI error code, `dropped`, or `unsupported` (JSON-RPC to an old host). */
  outcome: string;
}

/** A running fake pool. */
export interface FakeXapi {
  /** The port every host listens on. */
  port: number;
  /** `http(s)://<master address>:<port>`. */
  url: string;
  /** `http(s)://<address>:<port>` of each host, master first at start. */
  hostUrls: string[];
  /** The object store (records, events). */
  db: XapiDatabase;
  /** The pool ref and host refs (address order). */
  poolRef: string;
  hostRefs: string[];
  /** The current master's ref and address. */
  master(): { ref: string; address: string };
  /** Calls seen, oldest first. */
  log: FakeXapiLogEntry[];
  /** A deep copy of every record by class and ref. */
  dump(): Record<string, Record<string, XapiRecord>>;
  /** Invalidate every session (`SESSION_INVALID` on the next call). */
  expireSessions(): void;
  /** Live sessions. */
  sessionCount(): number;
  /** Add a fault rule; returns a function removing it. */
  fault(rule: FakeXapiFault): () => void;
  /** Make the host unreachable (its listener closed, connections reset); a lost master hands over to the next live host, and sessions die with it. */
  failHost(index: number): Promise<void>;
  /** Bring a failed host back (as a pool member, not master). */
  restoreHost(index: number): Promise<void>;
  /** Drop the event log: older tokens get `EVENTS_LOST`. */
  loseEvents(): void;
  /** Stop every listener. */
  stop(): Promise<void>;
}

interface Session {
  ref: string;
  uuid: string;
  user: string;
}

interface FaultState extends FakeXapiFault {
  seen: number;
  fired: number;
}

class DroppedCall extends Error {}

const NO_ASYNC = /^(session|task|event|system)\.|\.(get_|set_|add_to_|remove_from_|add_|remove_)/;

/** Starts a fake pool on loopback. */
export async function startFakeXapi(options: FakeXapiOptions = {}): Promise<FakeXapi> {
  const count = options.hosts ?? 2;
  const addresses = options.addresses ?? Array.from({ length: count }, (_, i) => `127.0.0.${i + 1}`);
  const username = options.username ?? 'root';
  const password = options.password ?? 'xenroot';
  const taskDelayMs = options.taskDelayMs ?? 5;
  const scheme = options.tls ? 'https' : 'http';
  const db = new XapiDatabase(options.maxEvents);
  const seeded = seedPool(db, {
    poolName: 'fake-xapi pool',
    hostAddresses: addresses,
    hostMemoryBytes: options.hostMemoryBytes ?? 64 * 1024 ** 3,
    hostCpus: options.hostCpus ?? 16,
    hostCpuMhz: options.hostCpuMhz ?? 2100,
    productVersion: options.productVersion ?? '8.2.1',
    nics: options.nics ?? [
      { device: 'eth0', networkLabel: 'cloud-private', management: true },
      { device: 'eth1', networkLabel: 'cloud-public' },
      { device: 'eth2', networkLabel: 'cloud-guest' },
    ],
    localSrBytes: options.localSrBytes ?? 500 * 1024 ** 3,
    templates: options.templates ?? DEFAULT_TEMPLATES,
  });
  const handlers = xapiHandlers({ db, srSizeBytes: options.srSizeBytes ?? 4 * 1024 ** 4 });
  const sessions = new Map<string, Session>();
  const faults: FaultState[] = [];
  const log: FakeXapiLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopping = false;

  const masterRef = () => db.get('pool', seeded.pool).master as string;
  const addressOf = (hostRef: string) => db.get('host', hostRef).address as string;

  // ── wire conversion ────────────────────────────────────────────────────────────────────────────────────
  const recordToWire = (cls: string, record: XapiRecord): Record<string, XapiValue> => {
    const spec = findClass(cls);
    const out: Record<string, XapiValue> = {};
    for (const [field, value] of Object.entries(record)) {
      const type = spec?.fields[field]?.type;
      out[field] =
        type === 'f' ? new XapiFloat(Number(value)) : type === 'd' ? new XapiDate(Number(value)) : (value as XapiValue);
    }
    return out;
  };
  const resultToWire = (method: string, value: unknown): XapiValue => {
    const [cls = '', name = ''] = method.split('.');
    if (name === 'get_record') return recordToWire(cls, value as XapiRecord);
    if (name === 'get_all_records')
      return Object.fromEntries(
        Object.entries(value as Record<string, XapiRecord>).map(([r, rec]) => [r, recordToWire(cls, rec)]),
      );
    if (name.startsWith('get_')) {
      const type = findClass(cls)?.fields[name.slice(4)]?.type;
      if (type === 'f') return new XapiFloat(Number(value));
      if (type === 'd') return new XapiDate(Number(value));
    }
    return value as XapiValue;
  };
  const eventToWire = (e: XapiEvent): XapiValue => ({
    id: e.id,
    timestamp: new XapiDate(e.timestamp).toString(),
    class: e.class,
    operation: e.operation,
    ref: e.ref,
    ...(e.snapshot ? { snapshot: recordToWire(e.class, e.snapshot) } : {}),
  });
  const valueBuilder = new Builder({ headless: true, rootName: 'value', renderOpts: { pretty: false } });

  // ── tasks ──────────────────────────────────────────────────────────────────────────────────────────────
  const runAsync = (method: string, handler: XapiHandler, args: unknown[], session: Session): string => {
    const task = db.insert('task', {
      name_label: `Async.${method}`,
      name_description: '',
      created: Date.now(),
      finished: 0,
      status: 'pending',
      resident_on: masterRef(),
      progress: 0,
      type: '',
      result: '',
      error_info: [],
      allowed_operations: ['cancel'],
      other_config: { session: session.uuid },
    });
    const timer = setTimeout(() => {
      timers.delete(timer);
      const rec = db.find('task', task);
      if (rec?.status !== 'pending') return;
      try {
        const result = resultToWire(method, handler.run(...args));
        const xml = result === '' ? '' : valueBuilder.buildObject(encodeValue(result));
        db.update('task', task, {
          status: 'success',
          progress: 1,
          finished: Date.now(),
          result: xml,
          allowed_operations: [],
        });
      } catch (e) {
        const failure = e instanceof XapiFailure ? e : new XapiFailure('INTERNAL_ERROR', String(e));
        db.update('task', task, {
          status: 'failure',
          progress: 1,
          finished: Date.now(),
          error_info: failure.description,
          allowed_operations: [],
        });
      }
    }, taskDelayMs);
    timers.add(timer);
    return task;
  };

  // ── events ─────────────────────────────────────────────────────────────────────────────────────────────
  const eventFrom = async (classesArg: unknown, tokenArg: unknown, timeoutArg: unknown, xml: boolean) => {
    if (!Array.isArray(classesArg)) throw new XapiFailure('FIELD_TYPE_ERROR', 'classes');
    const classes = classesArg.map((c) => str(c, 'classes').toLowerCase());
    const token = str(tokenArg, 'token');
    if (xml && !(timeoutArg instanceof XmlRpcDouble)) throw new XapiFailure('FIELD_TYPE_ERROR', 'timeout');
    const timeout = timeoutArg instanceof XmlRpcDouble ? timeoutArg.value : Number(timeoutArg);
    if (!Number.isFinite(timeout)) throw new XapiFailure('FIELD_TYPE_ERROR', 'timeout');
    const wanted = (cls: string, ref: string) =>
      classes.includes('*') || classes.includes(cls) || classes.includes(`${cls}/${ref}`);
    const counts = () => {
      const all = db.counts();
      return Object.fromEntries(
        Object.entries(all).filter(([c]) => classes.includes('*') || classes.some((w) => w.split('/')[0] === c)),
      );
    };
    const after = parseToken(token);
    if (after < 0) {
      const events: XapiValue[] = [];
      for (const spec of Object.values(XAPI_CLASSES))
        for (const [ref, rec] of db.all(spec.name))
          if (wanted(spec.name.toLowerCase(), ref))
            events.push(
              eventToWire({
                id: 0,
                timestamp: Date.now(),
                class: spec.name.toLowerCase(),
                operation: 'add',
                ref,
                snapshot: rec,
              }),
            );
      return { events, valid_ref_counts: counts(), token: db.token() };
    }
    const deadline = Date.now() + timeout * 1000;
    for (;;) {
      const events = db.eventsAfter(after).filter((e) => wanted(e.class, e.ref));
      const remaining = deadline - Date.now();
      if (events.length > 0 || remaining <= 0 || stopping)
        return { events: events.map(eventToWire), valid_ref_counts: counts(), token: db.token() };
      await db.waitForEvent(remaining);
    }
  };

  // ── dispatch ───────────────────────────────────────────────────────────────────────────────────────────
  const listMethods = (): string[] => {
    const names = [...handlers.keys(), 'session.login_with_password', 'session.logout', 'session.get_uuid'];
    names.push('task.cancel', 'task.destroy', 'event.from', 'event.inject', 'system.listMethods');
    return [...names, ...[...handlers.keys()].filter((n) => !NO_ASYNC.test(n)).map((n) => `Async.${n}`)];
  };

  const session = (arg: unknown): Session => {
    const found = typeof arg === 'string' ? sessions.get(arg) : undefined;
    if (!found) throw new XapiFailure('SESSION_INVALID', String(arg));
    return found;
  };

  const dispatch = async (address: string, method: string, params: unknown[], xml: boolean): Promise<unknown> => {
    if (method === 'system.listMethods') return listMethods();
    const master = masterRef();
    if (addressOf(master) !== address) throw new XapiFailure('HOST_IS_SLAVE', addressOf(master));
    if (method === 'session.login_with_password') {
      if (params.length < 2 || params.length > 4)
        throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', method, 4, params.length);
      const user = str(params[0], 'uname');
      if (user !== username || str(params[1], 'pwd') !== password)
        throw new XapiFailure('SESSION_AUTHENTICATION_FAILED', user, 'Authentication failure');
      const s: Session = { ref: `OpaqueRef:${randomUUID()}`, uuid: randomUUID(), user };
      sessions.set(s.ref, s);
      return s.ref;
    }
    const s = session(params[0]);
    const args = params.slice(1);
    switch (method) {
      case 'session.logout':
        sessions.delete(s.ref);
        return '';
      case 'session.get_uuid':
        return session(args[0]).uuid;
      case 'event.inject': {
        const cls = findClass(str(args[0], 'class'));
        if (!cls) throw new XapiFailure('CLASS_UNKNOWN', String(args[0]));
        return db.inject(cls.name, str(args[1], 'ref'));
      }
      case 'event.from':
        if (args.length !== 3) throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', method, 3, args.length);
        return eventFrom(args[0], args[1], args[2], xml);
      case 'task.cancel': {
        const task = str(args[0], 'task');
        const rec = db.get('task', task);
        if (rec.status !== 'pending') throw new XapiFailure('OPERATION_NOT_ALLOWED', 'task is not pending');
        db.update('task', task, {
          status: 'cancelled',
          finished: Date.now(),
          error_info: ['TASK_CANCELLED', task],
          allowed_operations: [],
        });
        return '';
      }
      case 'task.destroy':
        db.remove('task', str(args[0], 'task'));
        return '';
    }
    const isAsync = method.startsWith('Async.');
    const name = isAsync ? method.slice(6) : method;
    const handler = handlers.get(name);
    if (!handler || (isAsync && NO_ASYNC.test(name))) throw new XapiFailure('MESSAGE_METHOD_UNKNOWN', method);
    const arities = typeof handler.arity === 'number' ? [handler.arity] : handler.arity;
    if (!arities.includes(args.length))
      throw new XapiFailure('MESSAGE_PARAMETER_COUNT_MISMATCH', method, Math.max(...arities) + 1, params.length);
    if (isAsync) return runAsync(name, handler, args, s);
    return resultToWire(name, handler.run(...args));
  };

  const applyFaults = async (address: string, method: string): Promise<void> => {
    for (const f of faults) {
      const matches =
        (f.method === undefined || (typeof f.method === 'string' ? f.method === method : f.method.test(method))) &&
        (f.address === undefined || f.address === address);
      if (!matches) continue;
      f.seen++;
      if (f.seen < (f.nth ?? 1) || f.fired >= (f.times ?? 1)) continue;
      f.fired++;
      if (f.action === 'drop') throw new DroppedCall();
      if (f.action === 'delay') await new Promise((r) => setTimeout(r, f.delayMs ?? 1000));
      if (f.action === 'expireSession') sessions.clear();
      if (f.action === 'failMaster') {
        // the master dies with this call in flight: its connection is reset, a member takes over
        await api.failHost(seeded.hosts.indexOf(masterRef()));
        throw new DroppedCall();
      }
      if (f.action === 'fail') {
        const [code = 'INTERNAL_ERROR', ...rest] = f.error ?? [];
        throw new XapiFailure(code, ...rest);
      }
    }
  };

  const call = async (address: string, transport: FakeXapiLogEntry['transport'], method: string, params: unknown[]) => {
    const entry: FakeXapiLogEntry = {
      at: Date.now(),
      address,
      transport,
      method,
      params: method === 'session.login_with_password' ? [params[0], '******', ...params.slice(2)] : params,
      outcome: 'ok',
    };
    log.push(entry);
    try {
      await applyFaults(address, method);
      return await dispatch(address, method, params, transport === 'xml-rpc');
    } catch (e) {
      entry.outcome = e instanceof XapiFailure ? e.code : e instanceof DroppedCall ? 'dropped' : 'INTERNAL_ERROR';
      throw e;
    }
  };

  // ── HTTP ───────────────────────────────────────────────────────────────────────────────────────────────
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    if (res.destroyed) return;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };

  const xmlResult = (value: XapiValue) => encodeMethodResponse({ Status: 'Success', Value: value });
  const xmlFailure = (f: XapiFailure) => encodeMethodResponse({ Status: 'Failure', ErrorDescription: f.description });

  /**
   * XAPI's disk HTTP handlers on the master: `PUT /import_raw_vdi` (a known `Content-Length`, no chunked upload) and
   * `GET /export_raw_vdi`, with `session_id`, `vdi` and `format` (`raw`|`vhd`) in the query.
   */
  const diskTransfer = async (address: string, req: IncomingMessage, res: ServerResponse, url: URL) => {
    const importing = url.pathname === '/import_raw_vdi';
    const entry: FakeXapiLogEntry = {
      at: Date.now(),
      address,
      transport: 'http',
      method: `${req.method} ${url.pathname}`,
      params: [url.searchParams.get('vdi') ?? '', url.searchParams.get('format') ?? ''],
      outcome: 'ok',
    };
    log.push(entry);
    const fail = (status: number, outcome: string) => {
      entry.outcome = outcome;
      req.resume();
      send(res, status, 'text/plain', outcome);
    };
    if (req.method !== (importing ? 'PUT' : 'GET')) return fail(405, 'method not allowed');
    try {
      await applyFaults(address, entry.method);
    } catch (e) {
      if (e instanceof DroppedCall) return req.socket.destroy();
      return fail(500, e instanceof XapiFailure ? e.code : 'INTERNAL_ERROR');
    }
    if (addressOf(masterRef()) !== address) return fail(503, 'HOST_IS_SLAVE');
    if (!sessions.has(url.searchParams.get('session_id') ?? '')) return fail(401, 'SESSION_INVALID');
    const vdi = url.searchParams.get('vdi') ?? '';
    if (!db.has('VDI', vdi)) return fail(404, 'HANDLE_INVALID');
    const format = url.searchParams.get('format') ?? 'raw';
    if (format !== 'raw' && format !== 'vhd') return fail(400, 'FORMAT_UNKNOWN');
    if (!importing) {
      const bytes = db.contents.get(vdi) ?? Buffer.alloc(0);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': bytes.length });
      return res.end(bytes);
    }
    const length = req.headers['content-length'];
    if (length === undefined) return fail(411, 'Content-Length required');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (body.length !== Number(length)) return fail(400, 'short body');
    const virtual = Number(db.get('VDI', vdi).virtual_size);
    if (format === 'raw' && body.length > virtual) return fail(400, 'VDI_TOO_SMALL');
    db.contents.set(vdi, body);
    db.update('VDI', vdi, { physical_utilisation: body.length });
    return send(res, 200, 'text/plain', '');
  };

  const handle = async (address: string, req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    if (path === '/import_raw_vdi' || path === '/export_raw_vdi') return diskTransfer(address, req, res, url);
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only');
    const body = await readBody(req);
    if (path === '/jsonrpc' && options.jsonRpc !== false) {
      let request: { jsonrpc?: string; method?: unknown; params?: unknown; id?: unknown };
      try {
        request = JSON.parse(body);
      } catch {
        return send(res, 500, 'text/html', '<html><body>JSON parse error</body></html>');
      }
      const v2 = request.jsonrpc === '2.0';
      const reply = (payload: Record<string, unknown>) =>
        send(
          res,
          200,
          'application/json',
          JSON.stringify({ ...(v2 ? { jsonrpc: '2.0' } : {}), ...payload, id: request.id }),
        );
      if (request.id === undefined || typeof request.method !== 'string' || !Array.isArray(request.params))
        return reply({ error: { code: -32600, message: 'Invalid Request' } });
      try {
        const result = await call(address, 'json-rpc', request.method, request.params);
        return reply(v2 ? { result } : { result, error: null });
      } catch (e) {
        if (e instanceof DroppedCall) return req.socket.destroy();
        const f = e instanceof XapiFailure ? e : new XapiFailure('INTERNAL_ERROR', String(e));
        return reply(
          v2 ? { error: { code: 1, message: f.code, data: f.params } } : { result: null, error: f.description },
        );
      }
    }
    if (path === '/jsonrpc' || path === '/' || path === '/RPC2' || path === '/xmlrpc') {
      let decoded: Awaited<ReturnType<typeof decodeMethodCall>>;
      try {
        decoded = await decodeMethodCall(body);
      } catch (e) {
        if (path === '/jsonrpc') {
          // an old host: JSON on /jsonrpc is not understood, and the answer is XML
          let method = '';
          try {
            method = String(JSON.parse(body).method ?? '');
          } catch {}
          log.push({ at: Date.now(), address, transport: 'json-rpc', method, params: [], outcome: 'unsupported' });
          return send(res, 200, 'text/xml', xmlFailure(new XapiFailure('XMLRPC_UNMARSHAL_FAILURE', String(e))));
        }
        return send(res, 500, 'text/html', `<html><body>${String(e)}</body></html>`);
      }
      try {
        const result = await call(address, 'xml-rpc', decoded.methodName, decoded.params);
        return send(res, 200, 'text/xml', xmlResult(result as XapiValue));
      } catch (e) {
        if (e instanceof DroppedCall) return req.socket.destroy();
        const f = e instanceof XapiFailure ? e : new XapiFailure('INTERNAL_ERROR', String(e));
        return send(res, 200, 'text/xml', xmlFailure(f));
      }
    }
    return send(res, 404, 'text/plain', 'not found');
  };

  interface Listener {
    server: http.Server;
    sockets: Set<Socket>;
  }
  const listeners: Array<Listener | undefined> = [];

  const listen = (address: string, port: number) =>
    new Promise<Listener>((resolve, reject) => {
      const onRequest = (req: IncomingMessage, res: ServerResponse) => {
        handle(address, req, res).catch((e) => send(res, 500, 'text/html', `<html><body>${String(e)}</body></html>`));
      };
      const server = options.tls ? https.createServer({ ...options.tls }, onRequest) : http.createServer(onRequest);
      const sockets = new Set<Socket>();
      server.on('connection', (s: Socket) => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      server.once('error', reject);
      server.listen(port, address, () => resolve({ server, sockets }));
    });

  const close = (l: Listener) =>
    new Promise<void>((resolve) => {
      for (const s of l.sockets) s.destroy();
      l.server.close(() => resolve());
    });

  let port = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const first = await listen(addresses[0]!, 0);
      port = (first.server.address() as AddressInfo).port;
      listeners[0] = first;
      for (let i = 1; i < addresses.length; i++) listeners[i] = await listen(addresses[i]!, port);
      break;
    } catch (e) {
      await Promise.all(listeners.filter((l): l is Listener => l !== undefined).map(close));
      listeners.length = 0;
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 4) throw e;
    }
  }

  const urlOf = (address: string) => `${scheme}://${address}:${port}`;

  const api: FakeXapi = {
    port,
    url: urlOf(addresses[0]!),
    hostUrls: addresses.map(urlOf),
    db,
    poolRef: seeded.pool,
    hostRefs: seeded.hosts,
    master: () => ({ ref: masterRef(), address: addressOf(masterRef()) }),
    log,
    dump: () => db.dump(),
    expireSessions: () => sessions.clear(),
    sessionCount: () => sessions.size,
    fault(rule) {
      const state: FaultState = { ...rule, seen: 0, fired: 0 };
      faults.push(state);
      return () => {
        const i = faults.indexOf(state);
        if (i >= 0) faults.splice(i, 1);
      };
    },
    async failHost(index) {
      const hostRef = seeded.hosts[index]!;
      const l = listeners[index];
      listeners[index] = undefined;
      if (l) await close(l);
      db.update('host_metrics', db.get('host', hostRef).metrics as string, { live: false });
      if (masterRef() === hostRef) {
        const next = seeded.hosts.find(
          (h) => h !== hostRef && db.get('host_metrics', db.get('host', h).metrics as string).live === true,
        );
        if (next) db.update('pool', seeded.pool, { master: next });
        sessions.clear();
      }
    },
    async restoreHost(index) {
      if (listeners[index]) return;
      listeners[index] = await listen(addresses[index]!, port);
      db.update('host_metrics', db.get('host', seeded.hosts[index]!).metrics as string, { live: true });
    },
    loseEvents: () => db.loseEvents(),
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      db.wake();
      await Promise.all(listeners.filter((l): l is Listener => l !== undefined).map(close));
      listeners.length = 0;
    },
  };
  return api;
}
