/**
 * One XAPI endpoint over HTTP(S) with axios (drivers.md §4.1): JSON-RPC first (`POST /jsonrpc`); a host answering
 * `text/xml` there has no JSON-RPC, and the endpoint switches to XML-RPC (`POST /`) for good. Every call has a timeout
 * and honours an `AbortSignal`. TLS is verified by default: against the system CAs, a given CA, or a pinned SHA-256
 * certificate fingerprint; `allowUnauthorized` turns verification off, and only explicitly.
 */
import https from 'node:https';
import type { Socket } from 'node:net';
import type tls from 'node:tls';
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import { XapiError, XapiTransportError } from './xapi-error.js';
import { xmlRpcRequest, xmlRpcResponse } from './xml-rpc.js';

/** How to trust the hosts' certificates. */
export interface XapiTlsOptions {
  /** The certificate's SHA-256 fingerprint (`AA:BB:…`, as `openssl x509 -fingerprint -sha256` prints it): trust exactly it. */
  fingerprint256?: string;
  /** A CA (PEM) to verify against instead of the system's. */
  ca?: string;
  /** Accept any certificate. Off unless set. */
  allowUnauthorized?: boolean;
}

/** Per-call options. */
export interface XapiCallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Which protocol an endpoint speaks. */
export type XapiProtocol = 'json-rpc' | 'xml-rpc';

function normaliseFingerprint(f: string): string {
  return f.replace(/[^0-9a-f]/gi, '').toUpperCase();
}

/** An https agent verifying as {@link XapiTlsOptions} says. */
export function xapiHttpsAgent(options: XapiTlsOptions = {}): https.Agent {
  const pinned = options.fingerprint256 ? normaliseFingerprint(options.fingerprint256) : undefined;
  const agent = new https.Agent({
    keepAlive: true,
    rejectUnauthorized: pinned === undefined && options.allowUnauthorized !== true,
    ...(options.ca ? { ca: options.ca } : {}),
  });
  if (pinned !== undefined) {
    const create = agent.createConnection.bind(agent);
    agent.createConnection = ((opts: tls.ConnectionOptions, cb?: unknown) => {
      const socket = create(opts, cb as never) as unknown as tls.TLSSocket;
      socket.once('secureConnect', () => {
        const seen = normaliseFingerprint(socket.getPeerCertificate().fingerprint256 ?? '');
        if (seen !== pinned)
          socket.destroy(
            Object.assign(new Error(`certificate fingerprint ${seen} is not the pinned one`), { code: 'ERR_XAPI_PIN' }),
          );
      });
      return socket as unknown as Socket;
    }) as typeof agent.createConnection;
  }
  return agent;
}

/** One host's XAPI endpoint. */
export class XapiEndpoint {
  /** The protocol in use: JSON-RPC until the host shows it has none. */
  protocol: XapiProtocol = 'json-rpc';
  private readonly http: AxiosInstance;
  private seq = 0;

  constructor(
    /** `https://<address>[:port]` or `http://…`. */
    readonly url: string,
    agent: https.Agent | undefined,
    private readonly defaultTimeoutMs: number,
    forceProtocol?: XapiProtocol,
  ) {
    if (forceProtocol) this.protocol = forceProtocol;
    this.http = axios.create({
      baseURL: url.replace(/\/+$/, ''),
      ...(agent && url.startsWith('https:') ? { httpsAgent: agent } : {}),
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
      validateStatus: () => true,
      maxRedirects: 0,
    });
  }

  /** Call `method`; a XAPI failure is a {@link XapiError}, no usable answer a {@link XapiTransportError}. */
  async call(method: string, params: readonly unknown[], options: XapiCallOptions = {}): Promise<unknown> {
    if (this.protocol === 'json-rpc') {
      const answer = await this.post(
        '/jsonrpc',
        'application/json',
        JSON.stringify({ jsonrpc: '2.0', method, params, id: ++this.seq }),
        options,
      );
      if (answer.type.startsWith('text/xml')) {
        this.protocol = 'xml-rpc';
        return this.call(method, params, options);
      }
      if (!answer.type.startsWith('application/json') || answer.status !== 200)
        throw new XapiTransportError('protocol', this.url, `HTTP ${answer.status} ${answer.type} to ${method}`);
      let body: { result?: unknown; error?: unknown };
      try {
        body = JSON.parse(answer.body);
      } catch (e) {
        throw new XapiTransportError('protocol', this.url, `unparsable JSON-RPC answer to ${method}`, { cause: e });
      }
      const error = body.error;
      if (error !== undefined && error !== null) {
        if (Array.isArray(error)) throw new XapiError(String(error[0]), error.slice(1), method);
        const e = error as { message?: unknown; data?: unknown };
        throw new XapiError(String(e.message), Array.isArray(e.data) ? e.data : [], method);
      }
      return body.result;
    }
    const answer = await this.post('/', 'text/xml', xmlRpcRequest(method, params), options);
    if (answer.status !== 200 || !(answer.type.startsWith('text/xml') || answer.type.startsWith('application/xml')))
      throw new XapiTransportError('protocol', this.url, `HTTP ${answer.status} ${answer.type} to ${method}`);
    let value: unknown;
    try {
      value = await xmlRpcResponse(answer.body);
    } catch (e) {
      throw new XapiTransportError('protocol', this.url, `bad XML-RPC answer to ${method}`, { cause: e });
    }
    const status = value as { Status?: string; Value?: unknown; ErrorDescription?: unknown[] };
    if (status.Status === 'Success') return status.Value;
    if (status.Status === 'Failure') {
      const [code = 'UNKNOWN', ...rest] = (status.ErrorDescription ?? []).map(String);
      throw new XapiError(code, rest, method);
    }
    throw new XapiTransportError('protocol', this.url, `no Status in the answer to ${method}`);
  }

  /**
   * A disk transfer through the host's HTTP handlers (`PUT /import_raw_vdi`, `GET /export_raw_vdi`): the body goes
   * with its `Content-Length` (XAPI takes no chunked upload); a 302 to the host owning the SR is followed.
   */
  async transfer(
    method: 'PUT' | 'GET',
    path: string,
    query: Record<string, string>,
    body: Buffer | undefined,
    options: XapiCallOptions = {},
  ): Promise<{ status: number; data: Buffer }> {
    const timeout = options.timeoutMs ?? this.defaultTimeoutMs;
    let url = `${path}?${new URLSearchParams(query).toString()}`;
    for (let hop = 0; hop < 3; hop++) {
      try {
        const res = await this.http.request<ArrayBuffer>({
          method,
          url,
          ...(body
            ? {
                data: body,
                headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(body.length) },
              }
            : {}),
          responseType: 'arraybuffer',
          transformResponse: [(d: unknown) => d],
          timeout,
          maxBodyLength: Number.POSITIVE_INFINITY,
          maxContentLength: Number.POSITIVE_INFINITY,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        if (res.status === 302 && typeof res.headers.location === 'string') {
          url = res.headers.location;
          continue;
        }
        return { status: res.status, data: Buffer.from(res.data ?? new ArrayBuffer(0)) };
      } catch (e) {
        if (options.signal?.aborted)
          throw new XapiTransportError('timeout', this.url, 'aborted', { cause: options.signal.reason });
        throw new XapiTransportError(
          isAxiosError(e) && e.code === 'ECONNABORTED' ? 'timeout' : 'unreachable',
          this.url,
          `${method} ${path}: ${String(e)}`,
          { cause: e },
        );
      }
    }
    throw new XapiTransportError('protocol', this.url, `${method} ${path}: too many redirects`);
  }

  private async post(path: string, type: string, body: string, options: XapiCallOptions) {
    const timeout = options.timeoutMs ?? this.defaultTimeoutMs;
    try {
      const res = await this.http.post<string>(path, body, {
        headers: { 'Content-Type': type, Accept: type },
        timeout,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { status: res.status, type: String(res.headers['content-type'] ?? ''), body: res.data };
    } catch (e) {
      if (options.signal?.aborted)
        throw new XapiTransportError('timeout', this.url, 'aborted', { cause: options.signal.reason });
      if (isAxiosError(e)) {
        const code = e.code ?? '';
        if (code === 'ECONNABORTED' || code === 'ETIMEDOUT')
          throw new XapiTransportError('timeout', this.url, `no answer within ${timeout} ms`, { cause: e });
        if (code === 'ERR_XAPI_PIN' || code.startsWith('ERR_TLS') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code))
          throw new XapiTransportError('tls', this.url, `TLS: ${e.message}`, { cause: e });
        if (code === 'ECONNRESET' || code === 'ERR_BAD_RESPONSE' || /socket hang up/.test(e.message))
          throw new XapiTransportError('reset', this.url, `connection reset: ${e.message}`, { cause: e });
        throw new XapiTransportError('unreachable', this.url, `${code || 'error'}: ${e.message}`, { cause: e });
      }
      throw new XapiTransportError('unreachable', this.url, String(e), { cause: e });
    }
  }
}
