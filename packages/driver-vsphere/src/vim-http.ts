import https from 'node:https';
import { DriverError } from '@stratus/core';
import axios, { type AxiosInstance, isAxiosError } from 'axios';

/**
 * How the driver trusts a vCenter's TLS certificate. Verified by default against Node's CA store; `ca` adds a CA (or
 * pins the vCenter's own self-signed certificate, which then is its own trust anchor); `insecure: true` turns
 * verification off and must be asked for explicitly.
 */
export interface VimTlsOptions {
  /** PEM of the CA(s) or of the pinned certificate. */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** Accept any certificate (tests against a simulator only). */
  insecure?: boolean;
}

/** Options of {@link VimHttp}. */
export interface VimHttpOptions {
  /** `https://vc.example:443` or `http://127.0.0.1:8989` (the origin; `/sdk` is appended). */
  origin: string;
  tls?: VimTlsOptions;
  /** Default time limit of one call, connect included. */
  timeoutMs: number;
}

/** One HTTP answer of the SDK endpoint. */
export interface VimHttpResponse {
  status: number;
  body: string;
  setCookie: readonly string[];
}

const TLS_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

const UNREACHABLE_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/**
 * The HTTP side of the vSphere transport: POSTs envelopes to `<origin>/sdk` and GETs small documents
 * (`/sdk/vimServiceVersions.xml`) with axios, every request under a time limit (connect included) and the caller's
 * abort signal; network and TLS failures become typed {@link DriverError}s (`Unreachable`, `Timeout`, `AuthFailed`
 * for a certificate that is not trusted or does not match the host name).
 */
export class VimHttp {
  private readonly client: AxiosInstance;
  readonly origin: string;
  readonly timeoutMs: number;

  constructor(options: VimHttpOptions) {
    this.origin = options.origin.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    const tls = options.tls ?? {};
    const agentOptions: https.AgentOptions = { keepAlive: true, rejectUnauthorized: tls.insecure !== true };
    if (tls.ca !== undefined) agentOptions.ca = Array.isArray(tls.ca) ? [...tls.ca] : (tls.ca as string | Buffer);
    this.client = axios.create({
      baseURL: this.origin,
      httpsAgent: new https.Agent(agentOptions),
      proxy: false,
      maxRedirects: 0,
      responseType: 'text',
      transformResponse: (data: unknown) => data,
      validateStatus: () => true,
    });
  }

  /** POSTs one SOAP envelope to `/sdk`. */
  post(
    body: string,
    headers: Readonly<Record<string, string>>,
    options: { signal?: AbortSignal; timeoutMs?: number; operation: string },
  ): Promise<VimHttpResponse> {
    return this.request('POST', '/sdk', body, headers, options);
  }

  /** GETs a document under the origin (e.g. `/sdk/vimServiceVersions.xml`). */
  get(
    path: string,
    options: { signal?: AbortSignal; timeoutMs?: number; operation: string },
  ): Promise<VimHttpResponse> {
    return this.request('GET', path, undefined, {}, options);
  }

  /**
   * Moves file bytes (datastore `/folder` files, import-lease disks) with the session cookie in `headers`; `url` is
   * a path under the origin or an absolute URL of the same vCenter.
   */
  async transfer(
    method: 'GET' | 'PUT' | 'POST',
    url: string,
    options: {
      data?: Buffer;
      headers: Readonly<Record<string, string>>;
      signal?: AbortSignal;
      timeoutMs?: number;
      operation: string;
    },
  ): Promise<{ status: number; data: Buffer }> {
    const limit = options.timeoutMs ?? this.timeoutMs;
    const timer = AbortSignal.timeout(limit);
    const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
    try {
      const res = await this.client.request<ArrayBuffer>({
        method,
        url,
        data: options.data,
        headers: { ...options.headers },
        signal,
        responseType: 'arraybuffer',
        maxBodyLength: Number.POSITIVE_INFINITY,
        maxContentLength: Number.POSITIVE_INFINITY,
      });
      return { status: res.status, data: Buffer.from(res.data) };
    } catch (error) {
      throw this.transportError(error, options.operation, limit, options.signal, timer);
    }
  }

  private async request(
    method: 'GET' | 'POST',
    url: string,
    data: string | undefined,
    headers: Readonly<Record<string, string>>,
    options: { signal?: AbortSignal; timeoutMs?: number; operation: string },
  ): Promise<VimHttpResponse> {
    const limit = options.timeoutMs ?? this.timeoutMs;
    const timer = AbortSignal.timeout(limit);
    const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
    try {
      const res = await this.client.request<string>({ method, url, data, headers: { ...headers }, signal });
      const cookies = res.headers['set-cookie'];
      return {
        status: res.status,
        body: typeof res.data === 'string' ? res.data : String(res.data ?? ''),
        setCookie: cookies ?? [],
      };
    } catch (error) {
      throw this.transportError(error, options.operation, limit, options.signal, timer);
    }
  }

  private transportError(
    error: unknown,
    operation: string,
    limit: number,
    caller: AbortSignal | undefined,
    timer: AbortSignal,
  ): DriverError {
    const where = `vCenter ${this.origin}`;
    if (caller?.aborted)
      return new DriverError('Timeout', `${operation} on ${where} was aborted`, { cause: caller.reason });
    if (timer.aborted || (isAxiosError(error) && (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')))
      return new DriverError('Timeout', `${operation} on ${where}: no answer within ${limit} ms`, {
        cause: error,
        vendorCode: 'ETIMEDOUT',
      });
    const code = (isAxiosError(error) ? error.code : undefined) ?? (error as NodeJS.ErrnoException)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (code !== undefined && TLS_ERRORS.has(code))
      return new DriverError(
        'AuthFailed',
        `${operation} on ${where}: its TLS certificate is not trusted (${code}: ${message}); pin its certificate or CA with tls.ca`,
        { cause: error, vendorCode: code, vendorMessage: message },
      );
    if (code !== undefined && UNREACHABLE_ERRORS.has(code))
      return new DriverError('Unreachable', `${operation} on ${where}: ${code} ${message}`, {
        cause: error,
        vendorCode: code,
        vendorMessage: message,
      });
    return new DriverError('Unreachable', `${operation} on ${where} failed: ${message}`, {
      cause: error,
      ...(code !== undefined ? { vendorCode: code } : {}),
      vendorMessage: message,
    });
  }
}
