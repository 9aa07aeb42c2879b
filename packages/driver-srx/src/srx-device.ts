/**
 * One registered SRX (drivers.md §7): a kept NETCONF session; every change is one call of
 * open private candidate → read → one `<load-configuration action="merge">` → one `<commit-configuration/>` →
 * close, serialised per device. On an rpc-error the private candidate is discarded (`rollback="0"`) and closed, and
 * the call fails with Junos's message; on a lost session the whole call is retried on a new session
 * `numRetries` times (the private candidate of the lost session vanished with it, so nothing half-made remains).
 */
import { createHash } from 'node:crypto';
import {
  type DevicePingResult,
  type DeviceUsageCounter,
  DriverError,
  type FirewallDevice,
  type FirewallRuleConfig,
  type GuestNetworkConfig,
  InvalidParameterError,
  type NetworkDeviceConfig,
  type OperationContext,
  type PortForwardingConfig,
  type StaticNatConfig,
} from '@stratus/core';
import { names } from './junos-names.js';
import { type NetconfReply, NetconfSession, type NetconfTarget } from './netconf-session.js';
import {
  applyFirewall,
  applyPortForwarding,
  applyStaticNat,
  checkGuestNetwork,
  implementNetwork,
  shutdownNetwork,
} from './srx-operations.js';
import { SRX_DEFAULTS, type SrxDriverOptions } from './srx-options.js';
import { type SrxLayout, SrxPlan } from './srx-plan.js';
import { readSnapshot } from './srx-snapshot.js';
import { descendants, find, findAll } from './xml.js';

const READ_FILTER =
  '<get-configuration database="candidate"><configuration><interfaces/><security/><applications/><firewall/></configuration></get-configuration>';

/** A Juniper SRX as a {@link FirewallDevice}. */
export class SrxDevice implements FirewallDevice {
  private session: NetconfSession | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly target: NetconfTarget;
  private readonly layout: SrxLayout;
  private readonly numRetries: number;
  private readonly timeoutMs: number;

  constructor(config: NetworkDeviceConfig, options: SrxDriverOptions) {
    if (config.publicInterface === undefined || config.publicInterface === '') {
      throw new InvalidParameterError(
        'publicInterface',
        config.publicInterface,
        'the SRX needs its public interface (e.g. ge-0/0/1)',
      );
    }
    if (config.privateInterface === undefined || config.privateInterface === '') {
      throw new InvalidParameterError(
        'privateInterface',
        config.privateInterface,
        'the SRX needs its private interface (e.g. ge-0/0/2)',
      );
    }
    const d = config.details ?? {};
    const port = d.port !== undefined ? Number(d.port) : (options.port ?? SRX_DEFAULTS.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new InvalidParameterError('details.port', d.port, 'must be a TCP port');
    const check = options.hostKey;
    const hostVerifier =
      'insecureSkipVerify' in check
        ? () => true
        : (key: Buffer) =>
            check.sha256ByHost[config.ip] === createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
    this.target = {
      host: config.ip,
      port,
      username: config.credentials.username,
      hostVerifier,
      connectTimeoutMs: options.connectTimeoutMs ?? SRX_DEFAULTS.connectTimeoutMs,
      base11: options.base11 ?? true,
    };
    if (config.credentials.password !== undefined) this.target.password = config.credentials.password;
    if (config.credentials.privateKey !== undefined) this.target.privateKey = config.credentials.privateKey;
    this.layout = {
      publicInterface: config.publicInterface,
      privateInterface: config.privateInterface,
      publicZone: d.publiczone ?? options.publicZone ?? SRX_DEFAULTS.publicZone,
      privateZone: d.privatezone ?? options.privateZone ?? SRX_DEFAULTS.privateZone,
    };
    this.numRetries = config.numRetries ?? SRX_DEFAULTS.numRetries;
    this.timeoutMs = config.timeoutMs ?? SRX_DEFAULTS.timeoutMs;
  }

  /** Connect now (the driver's `open` does, so bad credentials fail at registration). */
  async connect(): Promise<void> {
    await this.serial(async () => {
      await this.ensureSession();
    });
  }

  async implementGuestNetwork(net: GuestNetworkConfig, ctx?: OperationContext): Promise<void> {
    checkGuestNetwork(net);
    await this.change((plan) => implementNetwork(plan, net), ctx);
  }

  async shutdownGuestNetwork(net: GuestNetworkConfig, ctx?: OperationContext): Promise<void> {
    checkGuestNetwork(net);
    await this.change((plan) => shutdownNetwork(plan, net), ctx);
  }

  async applyFirewallRules(rules: readonly FirewallRuleConfig[], ctx?: OperationContext): Promise<void> {
    await this.change((plan) => applyFirewall(plan, rules), ctx);
  }

  async applyStaticNat(rules: readonly StaticNatConfig[], ctx?: OperationContext): Promise<void> {
    await this.change((plan) => applyStaticNat(plan, rules), ctx);
  }

  async applyPortForwarding(rules: readonly PortForwardingConfig[], ctx?: OperationContext): Promise<void> {
    await this.change((plan) => applyPortForwarding(plan, rules), ctx);
  }

  /** Bytes received (input-filter terms of a public IP) and sent (its output-filter term), cumulative. */
  async getUsage(ctx?: OperationContext): Promise<DeviceUsageCounter[]> {
    const reply = await this.withRetries((s) => this.call(s, '<get-firewall-filter-information/>', ctx), ctx);
    const usage = new Map<string, DeviceUsageCounter>();
    const entry = (ip: string): DeviceUsageCounter => {
      const u = usage.get(ip) ?? { kind: 'publicIp', ref: ip, bytesSent: 0, bytesReceived: 0 };
      usage.set(ip, u);
      return u;
    };
    for (const f of descendants(reply.root, 'filter-information')) {
      const filter = find(f, 'filter-name')?.text;
      for (const c of findAll(f, 'counter')) {
        const name = find(c, 'counter-name')?.text ?? '';
        const bytes = Number(find(c, 'byte-count')?.text ?? '0');
        const ip = /^(\d+\.\d+\.\d+\.\d+)-/.exec(name)?.[1];
        if (ip === undefined || !Number.isFinite(bytes)) continue;
        if (filter === names.inFilter) entry(ip).bytesReceived += bytes;
        else if (filter === names.outFilter && name === names.sentTerm(ip)) entry(ip).bytesSent += bytes;
      }
    }
    return [...usage.values()];
  }

  /** A fresh session of its own (never queued behind a long change, drivers.md Pitfall 15). */
  async ping(ctx?: OperationContext): Promise<DevicePingResult> {
    let s: NetconfSession | undefined;
    try {
      s = await NetconfSession.open(this.target);
      await this.call(
        s,
        '<get-configuration database="committed"><configuration><system><host-name/></system></configuration></get-configuration>',
        ctx,
      );
      return { reachable: true };
    } catch (err) {
      return { reachable: false, message: (err as Error).message };
    } finally {
      await s?.close();
    }
  }

  /** Nothing to prepare on an SRX for maintenance (CloudStack's `MaintainCommand` answers success). */
  async maintain(): Promise<void> {}

  async close(): Promise<void> {
    await this.serial(async () => {
      const s = this.session;
      this.session = undefined;
      await s?.close();
    });
  }

  // ------------------------------------------------------------------------------------------------------------

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ensureSession(): Promise<NetconfSession> {
    if (this.session === undefined || this.session.closed) this.session = await NetconfSession.open(this.target);
    return this.session;
  }

  private async call(s: NetconfSession, body: string, ctx?: OperationContext): Promise<NetconfReply> {
    const reply = await s.rpc(body, this.timeoutMs, ctx?.signal);
    if (reply.errors.length > 0) {
      const message = reply.errors
        .map((x) => (x.path !== undefined ? `${x.path}: ${x.message}` : x.message))
        .join('; ');
      throw new DriverError(
        'DeviceError',
        `SRX ${this.target.host} refused ${body.slice(1, body.search(/[ />]/))}: ${message}`,
        {
          scope: { kind: 'device', ref: this.target.host },
          vendorCode: reply.errors[0]?.tag,
          vendorMessage: message,
        },
      );
    }
    return reply;
  }

  /** Run `fn` on the kept session (serialised); a lost session is replaced and the whole `fn` re-run. */
  private withRetries<T>(fn: (s: NetconfSession) => Promise<T>, ctx?: OperationContext): Promise<T> {
    return this.serial(async () => {
      for (let attempt = 0; ; attempt++) {
        const s = await this.ensureSession();
        try {
          return await fn(s);
        } catch (err) {
          if (s.closed) this.session = undefined;
          // a lost session is retried; a timeout is not (it would double a long wait), nor is a device's refusal
          const lost = DriverError.is(err, 'Unreachable');
          if (!lost || attempt >= this.numRetries || ctx?.signal?.aborted === true) throw err;
        }
      }
    });
  }

  private change(build: (plan: SrxPlan) => void, ctx?: OperationContext): Promise<void> {
    return this.withRetries(async (s) => {
      await this.call(s, '<open-configuration><private/></open-configuration>', ctx);
      try {
        const read = await this.call(s, READ_FILTER, ctx);
        const config = find(read.root, 'configuration') ?? {
          name: 'configuration',
          attributes: {},
          text: '',
          elements: [],
        };
        const plan = new SrxPlan(
          readSnapshot(config, {
            privateInterface: this.layout.privateInterface,
            inFilter: names.inFilter,
            outFilter: names.outFilter,
            staticRuleSet: names.staticRuleSet,
            dnatRuleSet: names.dnatRuleSet,
          }),
          this.layout,
        );
        build(plan);
        const load = plan.finish();
        if (load !== undefined) {
          await this.call(s, `<load-configuration action="merge" format="xml">${load}</load-configuration>`, ctx);
          await this.call(s, '<commit-configuration/>', ctx);
        }
        await this.call(s, '<close-configuration/>', ctx);
      } catch (err) {
        if (!s.closed) {
          // discard the private candidate and leave private mode; the session stays usable
          await s.rpc('<load-configuration rollback="0"/>', 30_000).catch(() => undefined);
          await s.rpc('<close-configuration/>', 30_000).catch(() => undefined);
        }
        throw err;
      }
    }, ctx);
  }
}
