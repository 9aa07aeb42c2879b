import {
  type ConnectTarget,
  DriverError,
  type HostRef,
  type HostReport,
  InvalidParameterError,
  type LocalStorageReport,
  type OperationContext,
  type PingOptions,
  type PingReport,
  type VmPowerReport,
} from '@stratus/core';
import { defaultHostKeyPolicy } from './host-key.js';
import { KvmBase } from './kvm-base.js';
import type { LibvirtTransport } from './libvirt-transport.js';
import { libvirtUriOnHost } from './libvirt-uri-on-host.js';
import { managementAddress } from './management-address.js';
import { NativeTransport } from './native-transport.js';
import { SessionVirshTransport } from './session-transport.js';
import { SshSession } from './ssh-session.js';
import { SshVirshTransport } from './ssh-transport.js';
import { attr, child, children, parseXml, text } from './xml.js';

const DEFAULT_LABELS: Readonly<Record<string, string>> = {
  Public: 'cloudbr0',
  Guest: 'cloudbr1',
  Management: 'cloudbr1',
};

/** KVM hosts: connecting (SSH session, SSH exec or the native binding), the host report, ping, maintenance and closing connections. */
export abstract class KvmHostConnection extends KvmBase {
  protected transportFor(target: ConnectTarget): { transport: LibvirtTransport; ip: string; sshUser?: string } {
    const scope = { kind: 'host' as const, ref: target.url };
    if ((this.options.mode ?? 'ssh') === 'native') {
      let hostname: string;
      try {
        hostname = new URL(target.url).hostname;
      } catch {
        throw new InvalidParameterError('target.url', target.url, 'not a libvirt URI');
      }
      return { transport: new NativeTransport(target.url, scope), ip: hostname };
    }
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new InvalidParameterError('target.url', target.url, 'expected ssh://user@host[:port]');
    }
    const uriOnHost = libvirtUriOnHost(url);
    if (url.protocol !== 'ssh:' && uriOnHost === undefined) {
      throw new InvalidParameterError(
        'target.url',
        target.url,
        'expected ssh://user@host[:port] or a libvirt URI over SSH (qemu+ssh://user@host/system)',
      );
    }
    const username = decodeURIComponent(url.username) || target.credentials?.username;
    const privateKey = target.credentials?.privateKey;
    if (username === undefined || username === '')
      throw new InvalidParameterError('target.credentials.username', username, 'an SSH user is required');
    if (privateKey === undefined || privateKey === '')
      throw new InvalidParameterError('target.credentials.privateKey', '(missing)', 'KVM hosts use key authentication');
    const session = new SshSession(
      {
        host: url.hostname,
        port: url.port === '' ? 22 : Number(url.port),
        username,
        privateKey,
        hostKey: this.options.hostKey ?? defaultHostKeyPolicy(),
        ...(this.options.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
        ...(this.options.keepaliveIntervalMs !== undefined
          ? { keepaliveIntervalMs: this.options.keepaliveIntervalMs }
          : {}),
      },
      scope,
    );
    const libvirtUri = target.details?.libvirtUri ?? uriOnHost ?? this.options.libvirtUri ?? 'qemu:///system';
    return {
      transport:
        (this.options.transport ?? 'session') === 'session'
          ? new SessionVirshTransport(session, libvirtUri, scope, this.options.commandTimeoutMs)
          : new SshVirshTransport(session, libvirtUri, scope, this.options.commandTimeoutMs),
      ip: url.hostname,
      sshUser: username,
    };
  }

  async connect(target: ConnectTarget, _ctx?: OperationContext): Promise<HostReport[]> {
    const { transport, ip: endpoint, sshUser } = this.transportFor(target);
    try {
      const ip = await managementAddress(endpoint, transport.scope);
      const node = await transport.nodeInfo();
      const caps = parseXml(await transport.virsh(['capabilities']));
      const hostEl = child(child(caps, 'capabilities'), 'host');
      const cpuEl = child(hostEl, 'cpu');
      const uuid = text(hostEl, 'uuid');
      const hostname = (await transport.virsh(['hostname']).catch(() => '')).trim() || ip;
      const guid = `${uuid !== undefined && uuid !== '' ? uuid : hostname}-LibvirtComputingResource`;
      const version = await transport.virsh(['version']).catch(() => '');
      const lib = /Using library:\s*(.+)/.exec(version)?.[1]?.trim() ?? '';
      const hv = /Running hypervisor:\s*(.+)/.exec(version)?.[1]?.trim() ?? '';
      const guests = children(child(caps, 'capabilities'), 'guest');
      const hvm = guests.some((g) => text(g, 'os_type') === 'hvm');
      const flags = children(child(cpuEl, 'features') ?? cpuEl, 'feature')
        .map((f) => attr(f, 'name') ?? '')
        .filter((s) => s !== '');
      const featuresEl = child(cpuEl, 'features');
      if (flags.length === 0 && featuresEl !== undefined)
        flags.push(...Object.keys(featuresEl).filter((k) => !k.startsWith('@_')));
      const ifaces = await this.interfaceNames(transport);
      const labels = this.options.trafficLabels ?? DEFAULT_LABELS;
      const details: Record<string, string> = {
        'network.backend': this.backend === 'openvswitch' ? 'openvswitch' : 'bridge',
        bridges: ifaces.join(','),
        'cpu.arch': text(cpuEl, 'arch') ?? '',
        transport: transport.kind,
      };
      for (const [traffic, label] of Object.entries(labels)) {
        if (ifaces.includes(label)) details[`trafficLabel.${traffic}`] = label;
      }
      const localStorage = await this.localPools(transport);
      const existing = this.hosts.get(guid);
      if (existing !== undefined && existing.transport !== transport) await existing.transport.close();
      const url = target.url;
      this.hosts.set(guid, { guid, name: hostname, ip, url, transport, ...(sshUser !== undefined ? { sshUser } : {}) });
      return [
        {
          guid,
          name: hostname,
          ip,
          url,
          cpus: node.cpus,
          cpuSockets: node.sockets,
          cpuMhz: node.mhz,
          memoryBytes: node.memoryKiB * 1024,
          reservedMemoryBytes: 0,
          hypervisorType: 'KVM',
          hypervisorVersion: [lib, hv].filter((s) => s !== '').join(', '),
          capabilities: { hvm, cpuModel: node.model, cpuFlags: flags, uefi: false, gpuGroups: [] },
          hostTags: [...(target.hostTags ?? [])],
          details,
          localStorage,
        },
      ];
    } catch (err) {
      await transport.close().catch(() => undefined);
      throw err;
    }
  }

  protected async localPools(t: LibvirtTransport): Promise<LocalStorageReport[]> {
    const out: LocalStorageReport[] = [];
    const poolNames = (await t.virsh(['pool-list', '--all', '--name'])).split('\n').map((s) => s.trim());
    for (const name of poolNames.filter((s) => s !== '')) {
      const pool = child(parseXml(await t.virsh(['pool-dumpxml', '--', name])), 'pool');
      if (attr(pool, 'type') !== 'dir') continue;
      out.push({
        uuid: text(pool, 'uuid') ?? name,
        name,
        path: text(child(pool, 'target'), 'path') ?? '',
        type: 'Filesystem',
        capacityBytes: Number(text(pool, 'capacity') ?? 0),
        availableBytes: Number(text(pool, 'available') ?? 0),
      });
    }
    return out;
  }

  async disconnect(ref: HostRef, _ctx?: OperationContext): Promise<void> {
    const h = this.hosts.get(ref.guid);
    if (h === undefined) return;
    this.hosts.delete(ref.guid);
    await h.transport.close();
  }

  async ping(ref: HostRef, options?: PingOptions): Promise<PingReport> {
    const h = this.hosts.get(ref.guid);
    if (h === undefined) return { reachable: false, healthy: false, vmStates: {} };
    let domains: Awaited<ReturnType<LibvirtTransport['listDomains']>>;
    try {
      domains = await this.op(ref, (host) => host.transport.listDomains(), options);
    } catch (err) {
      if (DriverError.is(err)) return { reachable: false, healthy: false, vmStates: {} };
      throw err;
    }
    const vmStates: Record<string, VmPowerReport> = {};
    for (const d of domains) vmStates[d.name] = { powerState: d.active ? 'PowerOn' : 'PowerOff', host: h.guid };
    for (const name of options?.expectedVms ?? [])
      vmStates[name] ??= { powerState: 'PowerReportMissing', host: h.guid };
    return { reachable: true, healthy: true, vmStates, hostHealthCheckResult: true };
  }

  /** KVM needs nothing on the host for maintenance (drivers.md §2.8); checks the host answers. */
  async prepareMaintenance(ref: HostRef, ctx?: OperationContext): Promise<void> {
    await this.op(ref, (h) => h.transport.listDomains(), ctx);
  }

  async cancelMaintenance(ref: HostRef, ctx?: OperationContext): Promise<void> {
    await this.op(ref, (h) => h.transport.listDomains(), ctx);
  }

  /** Closes every host connection. */
  async close(): Promise<void> {
    const all = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(all.map((h) => h.transport.close()));
  }
}
