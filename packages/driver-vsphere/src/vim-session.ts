import { DriverError } from '@stratus/core';
import { envelope, leaf, type MoRef, methodCall, type XmlFragment } from './soap-xml.js';
import { driverErrorOfFault, isFault, soapFaultOf, type VimFault } from './vim-fault.js';
import type { VimHttp } from './vim-http.js';
import { silentLogger, type VimLogger } from './vim-logger.js';
import { child, childrenOf, parseXml, SOAP_ENV_NS, textOf, type XNode } from './xml-node.js';

/** API versions this driver speaks, newest first; the newest one the vCenter also speaks is used. */
export const SUPPORTED_API_VERSIONS = ['8.0', '7.0', '6.7', '6.5', '6.0', '5.5'] as const;

/** The parts of `ServiceContent` the driver uses (drivers.md §5.2). */
export interface ServiceContent {
  rootFolder: MoRef;
  propertyCollector: MoRef;
  viewManager: MoRef;
  sessionManager: MoRef;
  searchIndex: MoRef;
  virtualDiskManager?: MoRef;
  fileManager?: MoRef;
  ovfManager?: MoRef;
  about: {
    fullName: string;
    apiVersion: string;
    /** `VirtualCenter` or `HostAgent` (a standalone ESXi). */
    apiType: string;
    instanceUuid: string;
    build: string;
    version: string;
  };
}

/** Per-call options. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * Checks an HTTP-200 answer for faults it carries inside (a `missingSet` of a retrieve); a thrown
   * `NotAuthenticated` fault error leads to a re-login and a replay like a SOAP fault does.
   */
  check?: (response: XNode) => void;
}

/** Reads a `ManagedObjectReference` element. */
export function moRefOf(node: XNode | undefined): MoRef | undefined {
  if (node === undefined) return undefined;
  const type = node.attrs.type;
  return type === undefined ? undefined : { type, value: node.text };
}

const SERVICE_INSTANCE: MoRef = { type: 'ServiceInstance', value: 'ServiceInstance' };

/** Picks the newest API version both sides speak from `/sdk/vimServiceVersions.xml`. */
export function negotiateVersion(doc: XNode): string | undefined {
  for (const ns of childrenOf(doc, 'namespace')) {
    if (textOf(ns, 'name') !== 'urn:vim25') continue;
    const offered = [textOf(ns, 'version'), ...childrenOf(child(ns, 'priorVersions'), 'version').map((v) => v.text)]
      .filter((v): v is string => v !== undefined)
      .map((v) => v.trim());
    for (const mine of SUPPORTED_API_VERSIONS)
      if (offered.some((v) => v === mine || v.startsWith(`${mine}.`))) return mine;
  }
  return undefined;
}

/**
 * One logged-in session with one vCenter, shared by every host of it (drivers.md §5.2): negotiates the API version,
 * reads the `ServiceContent`, logs in once and keeps the `vmware_soap_session` cookie, logs in again once and replays
 * a call that faults `NotAuthenticated` (an expired or terminated session), and logs out on close. The password
 * stays in this object and never reaches a log or an error message.
 */
export class VimSession {
  private cookie: string | undefined;
  private version = '';
  private serviceContent: ServiceContent | undefined;
  private loggingIn: Promise<void> | undefined;
  private opened: Promise<void> | undefined;
  /** How many times this session logged in (the first login included). */
  logins = 0;

  constructor(
    readonly http: VimHttp,
    private readonly username: string,
    private readonly password: string,
    private readonly logger: VimLogger = silentLogger,
  ) {}

  /** The negotiated API version (`6.5`). */
  get apiVersion(): string {
    return this.version;
  }

  /** The vCenter's `ServiceContent` (after {@link open}). */
  get content(): ServiceContent {
    if (this.serviceContent === undefined) throw new Error('vSphere session used before open()');
    return this.serviceContent;
  }

  /** Negotiates, reads the service content and logs in (once; later calls wait for the first). */
  open(options: CallOptions = {}): Promise<void> {
    this.opened ??= this.doOpen(options).catch((error: unknown) => {
      this.opened = undefined;
      throw error;
    });
    return this.opened;
  }

  private async doOpen(options: CallOptions): Promise<void> {
    const versions = await this.http.get('/sdk/vimServiceVersions.xml', {
      ...options,
      operation: 'version negotiation',
    });
    if (versions.status === 200) {
      const picked = negotiateVersion(await parseXml(versions.body));
      if (picked === undefined)
        throw new DriverError(
          'Unsupported',
          `vCenter ${this.http.origin} speaks none of the API versions ${SUPPORTED_API_VERSIONS.join(', ')}`,
          { vendorMessage: versions.body.slice(0, 500) },
        );
      this.version = picked;
    }
    const res = await this.rawCall(
      'RetrieveServiceContent',
      methodCall('RetrieveServiceContent', SERVICE_INSTANCE),
      options,
    );
    this.serviceContent = readServiceContent(child(res, 'returnval'));
    if (this.version === '') this.version = this.serviceContent.about.apiVersion;
    await this.login(options);
  }

  private login(options: CallOptions): Promise<void> {
    this.loggingIn ??= (async () => {
      this.cookie = undefined;
      await this.rawCall(
        'Login',
        methodCall(
          'Login',
          this.content.sessionManager,
          leaf('userName', this.username),
          leaf('password', this.password),
        ),
        options,
      );
      if (this.cookie === undefined)
        throw new DriverError('AuthFailed', `vCenter ${this.http.origin} accepted the login but set no session cookie`);
      this.logins++;
      this.logger.debug({ vcenter: this.http.origin, user: this.username, logins: this.logins }, 'vSphere login');
    })().finally(() => {
      this.loggingIn = undefined;
    });
    return this.loggingIn;
  }

  /**
   * Calls `method` on `self` with the argument elements `args` and returns the `<methodResponse>` element. A
   * `NotAuthenticated` fault (SOAP or inside an HTTP-200 answer, see {@link CallOptions.check}) logs in again once and
   * replays the call.
   */
  async call(
    method: string,
    self: MoRef,
    args: readonly (XmlFragment | undefined)[] = [],
    options: CallOptions = {},
  ): Promise<XNode> {
    await this.open(options);
    const body = methodCall(method, self, ...args);
    const cookieUsed = this.cookie;
    try {
      return await this.rawCall(method, body, options);
    } catch (error) {
      if (!isFault(error, 'NotAuthenticated')) throw error;
      this.logger.warn({ vcenter: this.http.origin, method }, 'vSphere session not authenticated: logging in again');
      // Another call may have logged in again meanwhile: then only replay.
      if (this.cookie === cookieUsed) await this.login(options);
      return this.rawCall(method, body, options);
    }
  }

  private async rawCall(method: string, body: string, options: CallOptions): Promise<XNode> {
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      soapaction: this.version ? `urn:vim25/${this.version}` : 'urn:vim25',
    };
    if (this.cookie !== undefined) headers.cookie = this.cookie;
    const started = Date.now();
    const res = await this.http.post(envelope(body), headers, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      operation: method,
    });
    for (const c of res.setCookie) {
      const pair = c.split(';')[0]!;
      if (pair.startsWith('vmware_soap_session=')) this.cookie = pair;
    }
    let doc: XNode;
    try {
      doc = await parseXml(res.body);
    } catch (error) {
      throw new DriverError('DeviceError', `vSphere ${method}: HTTP ${res.status} with a body that is not XML`, {
        cause: error,
        vendorCode: res.status,
        vendorMessage: res.body.slice(0, 500),
      });
    }
    const bodyNode = doc.children.find((c) => c.name === 'Body' && c.uri === SOAP_ENV_NS);
    const fault = bodyNode?.children.find((c) => c.name === 'Fault' && c.uri === SOAP_ENV_NS);
    this.logger.debug(
      { vcenter: this.http.origin, method, status: res.status, ms: Date.now() - started },
      'vSphere call',
    );
    if (fault !== undefined) throw driverErrorOfFault(soapFaultOf(fault), { operation: method });
    const response = bodyNode?.children[0];
    if (res.status !== 200 || response === undefined)
      throw new DriverError('DeviceError', `vSphere ${method}: HTTP ${res.status} without an answer`, {
        vendorCode: res.status,
        vendorMessage: res.body.slice(0, 500),
      });
    options.check?.(response);
    return response;
  }

  /** The `Cookie` header of the session (for datastore file transfers over `/folder`); never logged. */
  get cookieHeader(): string | undefined {
    return this.cookie;
  }

  /** Whether the session is still logged in (`SessionIsActive` needs an id and rights; reading `currentSession` does not). */
  get loggedIn(): boolean {
    return this.cookie !== undefined;
  }

  /** Logs out (`Logout`); a session already gone is fine. */
  async close(options: CallOptions = {}): Promise<void> {
    if (this.cookie === undefined || this.serviceContent === undefined) return;
    try {
      await this.rawCall('Logout', methodCall('Logout', this.serviceContent.sessionManager), options);
    } catch (error) {
      if (!isFault(error, 'NotAuthenticated')) throw error;
    } finally {
      this.cookie = undefined;
      this.opened = undefined;
    }
  }
}

function requiredRef(node: XNode | undefined, name: string): MoRef {
  const ref = moRefOf(child(node, name));
  if (ref === undefined) throw new DriverError('DeviceError', `vSphere ServiceContent has no ${name}`);
  return ref;
}

/** Reads the `returnval` of `RetrieveServiceContent`. */
export function readServiceContent(node: XNode | undefined): ServiceContent {
  const about = child(node, 'about');
  const vdm = moRefOf(child(node, 'virtualDiskManager'));
  const fm = moRefOf(child(node, 'fileManager'));
  const ovf = moRefOf(child(node, 'ovfManager'));
  return {
    rootFolder: requiredRef(node, 'rootFolder'),
    propertyCollector: requiredRef(node, 'propertyCollector'),
    viewManager: requiredRef(node, 'viewManager'),
    sessionManager: requiredRef(node, 'sessionManager'),
    searchIndex: requiredRef(node, 'searchIndex'),
    ...(vdm ? { virtualDiskManager: vdm } : {}),
    ...(fm ? { fileManager: fm } : {}),
    ...(ovf ? { ovfManager: ovf } : {}),
    about: {
      fullName: textOf(about, 'fullName') ?? '',
      apiVersion: textOf(about, 'apiVersion') ?? '',
      apiType: textOf(about, 'apiType') ?? '',
      instanceUuid: textOf(about, 'instanceUuid') ?? '',
      build: textOf(about, 'build') ?? '',
      version: textOf(about, 'version') ?? '',
    },
  };
}

/** The fault a task or retrieve carried, as the driver error of a fault (re-exported for the collectors). */
export type { VimFault };
