import {
  type CheckNetworkResult,
  type ConnectTarget,
  type ConsoleInfo,
  type CreateVolumeOptions,
  type DiskSpec,
  DriverError,
  type HealthCheckResult,
  type HostRef,
  type HostReport,
  type HostStats,
  type HypervisorCapabilities,
  type HypervisorDriver,
  InvalidParameterError,
  imageObjectPath,
  KeyedLock,
  type LocalStorageReport,
  type MigrateVmOptions,
  type MigrateVmResult,
  type NetworkCleanupResult,
  type NetworkSetupResult,
  type NicSpec,
  type OperationContext,
  type PingOptions,
  type PingReport,
  type PoolRef,
  type PoolSpec,
  type RevertVmSnapshotResult,
  type SnapshotBackupResult,
  type SnapshotResult,
  type StagedTemplate,
  type StartVmResult,
  type StopVmOptions,
  type StoragePoolReport,
  type StorageStats,
  type TemplateResult,
  type TemplateSpec,
  type TemplateTarget,
  type TrafficLabelCheck,
  type VmPowerReport,
  type VmRuntimeState,
  type VmSnapshotResult,
  type VmSnapshotSpec,
  type VmSpec,
  type VmStats,
  type VolumeRef,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { type BridgeBackend, diskElement, diskSerial, domainXml, vlanOf } from './domain-xml.js';
import { defaultHostKeyPolicy } from './host-key.js';
import { fail, firstColumn, formatOf, type KvmHost, poolFail, sleep } from './kvm-host.js';
import type { KvmDriverOptions } from './kvm-options.js';
import type { LibvirtTransport } from './libvirt-transport.js';
import { managementAddress } from './management-address.js';
import { NativeTransport } from './native-transport.js';
import { downloadToLocalFile, insideDir, localSize, secondaryStoreDir } from './secondary-download.js';
import { SessionVirshTransport } from './session-transport.js';
import { isConnectionLost, SshSession } from './ssh-session.js';
import { SshVirshTransport } from './ssh-transport.js';
import { isoPathOnHost, stageSecondaryObject } from './template-staging.js';
import { hasControlCharacters, withoutControlCharacters } from './virsh-quote.js';
import { attr, buildXml, child, children, parseXml, text, type XmlNode } from './xml.js';

const DEFAULT_LABELS: Readonly<Record<string, string>> = {
  Public: 'cloudbr0',
  Guest: 'cloudbr1',
  Management: 'cloudbr1',
};

/**
 * The KVM hypervisor driver (drivers.md §3): libvirt through virsh over one kept SSH connection per host, or
 * through the native binding locally. Domain XML is generated from the `VmSpec`; storage goes through libvirt
 * pools (transient `pool-create`, `vol-create-as`, qcow2 backing files for template clones); template images are
 * uploaded over SFTP with progress. Every create is idempotent by name/uuid, deletes of missing objects succeed,
 * and every failure is a typed `DriverError`.
 */
export class KvmDriver implements HypervisorDriver {
  readonly type = 'KVM';
  private readonly hosts = new Map<string, KvmHost>();
  private readonly locks = new KeyedLock();
  private readonly cpuSamples = new Map<string, { cpuTimeNs: number; at: number }>();
  private readonly backend: BridgeBackend;

  constructor(private readonly options: KvmDriverOptions = {}) {
    this.backend = options.bridgeBackend ?? 'linux';
  }

  capabilities(): HypervisorCapabilities {
    return {
      connectionUnit: 'host',
      liveMigration: true,
      storageMigration: false,
      hotPlugDisk: true,
      hotPlugNic: false,
      vmSnapshots: true,
      vmSnapshotsWithMemory: true,
      incrementalSnapshots: false,
      volumeResize: false,
      scaleVm: false,
      linkedClone: true,
      securityGroups: false,
      investigate: false,
      fence: false,
      networkCleanup: true,
      poolTypes: ['NetworkFilesystem', 'SharedMountPoint', 'Filesystem'],
      diskFormats: ['qcow2', 'raw', 'iso'],
      console: 'vnc',
    };
  }

  /** The transport of a connected host (tests, benchmarks). */
  transportOf(host: HostRef): LibvirtTransport {
    return this.host(host).transport;
  }

  private host(ref: HostRef): KvmHost {
    const h = this.hosts.get(ref.guid);
    if (h === undefined) throw fail('Unreachable', `host ${ref.name ?? ref.guid} is not connected`);
    return h;
  }

  /** Runs `fn`, retrying once when the connection dropped under it (every operation here is idempotent). */
  private async op<T>(ref: HostRef, fn: (h: KvmHost) => Promise<T>, ctx?: OperationContext): Promise<T> {
    const h = this.host(ref);
    if (ctx?.signal?.aborted) throw fail('Timeout', 'operation aborted', h);
    try {
      return await fn(h);
    } catch (err) {
      if (!isConnectionLost(err) || ctx?.signal?.aborted) throw err;
      return fn(h);
    }
  }

  private async vmLocked<T>(ref: HostRef, vm: string, fn: (h: KvmHost) => Promise<T>, ctx?: OperationContext) {
    return this.locks.run(`vm:${ref.guid}:${vm}`, () => this.op(ref, fn, ctx));
  }

  // ── Hosts ────────────────────────────────────────────────────────────────────────────────────────────

  private transportFor(target: ConnectTarget): { transport: LibvirtTransport; ip: string; sshUser?: string } {
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
    if (url.protocol !== 'ssh:' && url.protocol !== 'qemu+ssh:') {
      throw new InvalidParameterError('target.url', target.url, 'expected ssh://user@host[:port] or qemu+ssh://');
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
    const libvirtUri = target.details?.libvirtUri ?? this.options.libvirtUri ?? 'qemu:///system';
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

  private async interfaceNames(t: LibvirtTransport): Promise<string[]> {
    try {
      return firstColumn(await t.virsh(['iface-list', '--all']));
    } catch (err) {
      if (DriverError.is(err, 'Unsupported')) return [];
      throw err;
    }
  }

  private async localPools(t: LibvirtTransport): Promise<LocalStorageReport[]> {
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

  getHostStats(ref: HostRef, ctx?: OperationContext): Promise<HostStats> {
    return this.op(
      ref,
      async (h) => {
        const mem = new Map<string, number>();
        for (const line of (await h.transport.virsh(['nodememstats'])).split('\n')) {
          const m = /^\s*(\w+)\s*:\s*(\d+)/.exec(line);
          if (m !== null) mem.set(m[1]!, Number(m[2]) * 1024);
        }
        let cpu = 0;
        const cpuOut = await h.transport.virsh(['nodecpustats', '--percent']);
        const usage = /usage:\s*([\d.]+)/i.exec(cpuOut);
        if (usage !== null) cpu = Number(usage[1]);
        return {
          cpuUtilizationPercent: cpu,
          totalMemoryBytes: mem.get('total') ?? 0,
          freeMemoryBytes: mem.get('free') ?? 0,
          networkRxBytes: 0,
          networkTxBytes: 0,
        };
      },
      ctx,
    );
  }

  async checkHealth(ref: HostRef, ctx?: OperationContext): Promise<HealthCheckResult> {
    try {
      await this.op(ref, (h) => h.transport.listDomains(), ctx);
      return { healthy: true };
    } catch (err) {
      if (DriverError.is(err)) return { healthy: false, message: err.message };
      throw err;
    }
  }

  // ── VM lifecycle ─────────────────────────────────────────────────────────────────────────────────────

  private validateSpec(spec: VmSpec): void {
    if (spec.name.trim() === '' || spec.name.includes('/') || hasControlCharacters(spec.name))
      throw new InvalidParameterError(
        'spec.name',
        spec.name,
        'a libvirt domain name must be non-empty, without "/" or control characters',
      );
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1)
      throw new InvalidParameterError('spec.cpus', spec.cpus, 'must be a positive integer');
    if (!(spec.maxRamBytes > 0) || spec.minRamBytes > spec.maxRamBytes)
      throw new InvalidParameterError('spec.maxRamBytes', spec.maxRamBytes, 'must be positive and ≥ minRamBytes');
  }

  /** Whether the defined domain matches the spec (uuid, vCPUs, max memory). */
  private sameSpec(xml: string, spec: VmSpec): boolean {
    const d = child(parseXml(xml), 'domain');
    const memKiB = Number(text(d, 'memory'));
    const unit = attr(child(d, 'memory'), 'unit') ?? 'KiB';
    const bytes = unit === 'KiB' ? memKiB * 1024 : unit === 'MiB' ? memKiB * 1024 ** 2 : memKiB;
    return (
      (text(d, 'uuid') ?? '').toLowerCase() === spec.uuid.toLowerCase() &&
      Number(text(d, 'vcpu')) === spec.cpus &&
      bytes === Math.ceil(spec.maxRamBytes / 1024) * 1024
    );
  }

  private async console(h: KvmHost, name: string, spec?: VmSpec): Promise<ConsoleInfo> {
    const d = child(parseXml(await h.transport.domainXml(name)), 'domain');
    const g = children(child(d, 'devices'), 'graphics').find((x) => attr(x, 'type') === 'vnc');
    if (g === undefined) throw fail('NotFound', `VM ${name} has no VNC console`, h);
    const port = Number(attr(g, 'port') ?? -1);
    const password = attr(g, 'passwd') ?? spec?.vncPassword;
    return {
      protocol: 'vnc',
      host: h.ip,
      ...(port > 0 ? { port } : {}),
      ...(password !== undefined && password !== '' ? { password } : {}),
    };
  }

  private stagingOptions(ctx?: OperationContext) {
    return {
      mountParent: this.options.mountParent ?? '/mnt',
      locks: this.locks,
      ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
    };
  }

  /**
   * The VM's disks with each ISO's secondary-storage location turned into a path on the host (see
   * `isoPathOnHost`); a `file://` ISO is staged on the pool of the root disk.
   */
  private async disksOnHost(h: KvmHost, disks: readonly DiskSpec[], ctx?: OperationContext): Promise<DiskSpec[]> {
    const out: DiskSpec[] = [];
    for (const disk of disks) {
      if (disk.type !== 'ISO' || disk.path === '') {
        out.push(disk);
        continue;
      }
      const root = disks.find((d) => d.type === 'ROOT' && d.poolRef !== undefined);
      const stage =
        root?.poolRef !== undefined
          ? {
              dir: text(child(await this.poolXml(h, root.poolRef.uuid), 'target'), 'path'),
              poolUuid: root.poolRef.uuid,
            }
          : {};
      out.push({ ...disk, path: await isoPathOnHost(h, disk, stage, this.stagingOptions(ctx)) });
    }
    return out;
  }

  startVm(ref: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<StartVmResult> {
    try {
      this.validateSpec(spec);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.vmLocked(
      ref,
      spec.name,
      async (h) => {
        ctx?.onProgress?.(0, 'checking');
        const state = await h.transport.domainState(spec.name);
        if (state === 'running' || state === 'paused') {
          if (!this.sameSpec(await h.transport.domainXml(spec.name, true), spec)) {
            throw fail('AlreadyExists', `VM ${spec.name} is running with a different spec`, h);
          }
          return { console: await this.console(h, spec.name, spec) };
        }
        const bridges = new Map<number, string>();
        for (const nic of spec.nics) bridges.set(nic.deviceId, (await this.plumb(h, nic)).name);
        ctx?.onProgress?.(20, 'attaching ISOs');
        const disks = await this.disksOnHost(h, spec.disks, ctx);
        ctx?.onProgress?.(30, 'defining');
        await h.transport.defineDomain(
          domainXml(
            { ...spec, disks },
            {
              domainType: this.options.domainType ?? 'kvm',
              bridgeBackend: this.backend,
              bridges,
              ...(this.options.vncPort !== undefined ? { vncPort: this.options.vncPort } : {}),
            },
          ),
        );
        ctx?.onProgress?.(60, 'starting');
        try {
          await h.transport.startDomain(spec.name);
        } catch (err) {
          // a retry after a dropped connection may find it started already
          if (!(DriverError.is(err, 'InvalidState') && (await h.transport.domainState(spec.name)) === 'running'))
            throw err;
        }
        ctx?.onProgress?.(100, 'running');
        return { console: await this.console(h, spec.name, spec) };
      },
      ctx,
    );
  }

  stopVm(ref: HostRef, vmName: string, options?: StopVmOptions): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing' || state === 'stopped') return;
        if (options?.force !== true) {
          await h.transport.shutdownDomain(vmName).catch((err: unknown) => {
            if (!DriverError.is(err, 'InvalidState')) throw err;
          });
          const until = Date.now() + (options?.timeoutMs ?? this.options.shutdownTimeoutMs ?? 30_000);
          for (;;) {
            const s = await h.transport.domainState(vmName);
            if (s === 'stopped' || s === 'missing') return;
            if (Date.now() >= until || options?.signal?.aborted) break;
            await sleep(Math.min(500, Math.max(10, until - Date.now())));
          }
        }
        await h.transport.destroyDomain(vmName).catch((err: unknown) => {
          if (!DriverError.is(err, 'InvalidState', 'NotFound')) throw err;
        });
      },
      options,
    );
  }

  rebootVm(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        if (state !== 'running') throw fail('InvalidState', `VM ${vmName} is not running`, h);
        await h.transport.rebootDomain(vmName);
      },
      ctx,
    );
  }

  destroyVm(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') return;
        if (state !== 'stopped') {
          await h.transport.destroyDomain(vmName).catch((err: unknown) => {
            if (!DriverError.is(err, 'InvalidState', 'NotFound')) throw err;
          });
        }
        await h.transport.undefineDomain(vmName).catch(async (err: unknown) => {
          if (DriverError.is(err, 'NotFound')) return;
          // a domain with snapshots: drop their metadata with it (the volumes holding them are deleted by core)
          if (DriverError.is(err, 'InvalidState') && /snapshot/i.test(err.message))
            await h.transport.virsh(['undefine', '--snapshots-metadata', '--', vmName]);
          else throw err;
        });
      },
      ctx,
    );
  }

  getVmState(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<VmRuntimeState> {
    return this.op(ref, (h) => h.transport.domainState(vmName), ctx);
  }

  prepareMigration(destination: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<void> {
    return this.op(
      destination,
      async (h) => {
        for (const nic of spec.nics) await this.plumb(h, nic);
        for (const disk of spec.disks) {
          if (disk.poolRef !== undefined) await this.poolXml(h, disk.poolRef.uuid);
        }
      },
      ctx,
    );
  }

  /** The `qemu+ssh://` URI libvirt on the source uses to reach the destination (drivers.md §3.1). */
  migrationUri(destination: HostRef): string {
    const h = this.host(destination);
    const user = this.options.migrationUser ?? h.sshUser ?? 'root';
    return `qemu+ssh://${encodeURIComponent(user)}@${h.ip}/system`;
  }

  migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options?: MigrateVmOptions,
  ): Promise<MigrateVmResult> {
    return this.vmLocked(
      source,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const args = ['migrate', '--persistent', '--undefinesource'];
        if (options?.live !== false) args.push('--live');
        if (options?.timeoutMs !== undefined) args.push('--timeout', String(Math.ceil(options.timeoutMs / 1000)));
        args.push('--', vmName, this.migrationUri(destination));
        options?.onProgress?.(0, 'migrating');
        await h.transport.virsh(args, {
          ...(options?.signal !== undefined ? { signal: options.signal } : {}),
          ...(options?.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs + 30_000 } : {}),
        });
        options?.onProgress?.(100, 'migrated');
        return { hostGuid: destination.guid };
      },
      options,
    );
  }

  migrateVolume(): Promise<VolumeResult> {
    return Promise.reject(new DriverError('Unsupported', 'kvm: storage migration is not implemented by this driver'));
  }

  getVmStats(ref: HostRef, vmNames: readonly string[], ctx?: OperationContext): Promise<Record<string, VmStats>> {
    return this.op(
      ref,
      async (h) => {
        const result: Record<string, VmStats> = {};
        for (const name of vmNames) {
          let raw: string;
          try {
            raw = await h.transport.virsh(['domstats', '--raw', '--', name]);
          } catch (err) {
            if (DriverError.is(err, 'NotFound')) continue;
            throw err;
          }
          const kv = new Map<string, number>();
          for (const line of raw.split('\n')) {
            const m = /^\s*([\w.]+)=(\d+)/.exec(line);
            if (m !== null) kv.set(m[1]!, Number(m[2]));
          }
          const sum = (re: RegExp): number =>
            [...kv.entries()].filter(([k]) => re.test(k)).reduce((a, [, v]) => a + v, 0);
          const cpuTimeNs = kv.get('cpu.time') ?? 0;
          const now = Date.now();
          const prev = this.cpuSamples.get(`${h.guid}/${name}`);
          this.cpuSamples.set(`${h.guid}/${name}`, { cpuTimeNs, at: now });
          const vcpus = Math.max(1, kv.get('vcpu.current') ?? 1);
          const cpuPct =
            prev !== undefined && now > prev.at
              ? Math.min(100, ((cpuTimeNs - prev.cpuTimeNs) / 1e6 / (now - prev.at) / vcpus) * 100)
              : 0;
          result[name] = {
            cpuUtilizationPercent: Math.max(0, cpuPct),
            memoryBytes: (kv.get('balloon.maximum') ?? kv.get('balloon.current') ?? 0) * 1024,
            ...(kv.has('balloon.rss') ? { memoryUsedBytes: (kv.get('balloon.rss') ?? 0) * 1024 } : {}),
            diskReadBytes: sum(/^block\.\d+\.rd\.bytes$/),
            diskWriteBytes: sum(/^block\.\d+\.wr\.bytes$/),
            diskReadOps: sum(/^block\.\d+\.rd\.reqs$/),
            diskWriteOps: sum(/^block\.\d+\.wr\.reqs$/),
            networkRxBytes: sum(/^net\.\d+\.rx\.bytes$/),
            networkTxBytes: sum(/^net\.\d+\.tx\.bytes$/),
          };
        }
        return result;
      },
      ctx,
    );
  }

  getConsole(ref: HostRef, vmName: string, ctx?: OperationContext): Promise<ConsoleInfo> {
    return this.op(
      ref,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        if (state !== 'running') throw fail('InvalidState', `VM ${vmName} is not running`, h);
        return this.console(h, vmName);
      },
      ctx,
    );
  }

  // ── Storage ──────────────────────────────────────────────────────────────────────────────────────────

  private async poolXml(h: KvmHost, uuid: string): Promise<XmlNode> {
    try {
      return child(parseXml(await h.transport.virsh(['pool-dumpxml', '--', uuid])), 'pool') ?? {};
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) throw poolFail('NotFound', `pool ${uuid} is not on host ${h.name}`, uuid);
      throw err;
    }
  }

  private poolDefinition(pool: PoolSpec): XmlNode {
    switch (pool.type) {
      case 'NetworkFilesystem':
        if (pool.server === undefined || pool.server === '')
          throw new InvalidParameterError('pool.server', pool.server, 'an NFS pool needs a server');
        return {
          '@_type': 'netfs',
          name: pool.uuid,
          source: { host: { '@_name': pool.server }, dir: { '@_path': pool.path }, format: { '@_type': 'nfs' } },
          target: { path: `/mnt/${pool.uuid}` },
        };
      case 'SharedMountPoint':
      case 'Filesystem':
        return { '@_type': 'dir', name: pool.uuid, target: { path: pool.path } };
      default:
        throw new DriverError('Unsupported', `kvm: pool type ${pool.type} is not supported by this driver`);
    }
  }

  private poolReport(p: XmlNode): { capacityBytes: number; availableBytes: number; allocation: number } {
    return {
      capacityBytes: Number(text(p, 'capacity') ?? 0),
      availableBytes: Number(text(p, 'available') ?? 0),
      allocation: Number(text(p, 'allocation') ?? 0),
    };
  }

  private async volumeNames(h: KvmHost, pool: string): Promise<string[]> {
    return firstColumn(await h.transport.virsh(['vol-list', '--pool', pool]));
  }

  createStoragePool(ref: HostRef, pool: PoolSpec, ctx?: OperationContext): Promise<StoragePoolReport> {
    const wanted = this.poolDefinition(pool);
    return this.locks.run(`pool:${ref.guid}:${pool.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          let p: XmlNode | undefined;
          try {
            p = await this.poolXml(h, pool.uuid);
          } catch (err) {
            if (!DriverError.is(err, 'NotFound')) throw err;
          }
          if (p !== undefined) {
            const same =
              attr(p, 'type') === wanted['@_type'] &&
              text(child(p, 'target'), 'path') === (wanted.target as { path: string }).path &&
              (wanted['@_type'] !== 'netfs' ||
                (attr(child(child(p, 'source'), 'host'), 'name') === pool.server &&
                  attr(child(child(p, 'source'), 'dir'), 'path') === pool.path));
            if (!same) throw poolFail('AlreadyExists', `pool ${pool.uuid} exists with a different location`, pool.uuid);
          } else {
            // transient, as CloudStack's LibvirtStorageAdaptor defines them
            await h.transport.virsh(['pool-create', '/dev/stdin'], { stdin: buildXml({ pool: wanted }) });
            p = await this.poolXml(h, pool.uuid);
          }
          const r = this.poolReport(p);
          const templates = (await this.volumeNames(h, pool.uuid))
            .map((n) => /^tmpl-(.+)\.(qcow2|raw|iso)$/.exec(n)?.[1])
            .filter((x): x is string => x !== undefined);
          return { capacityBytes: r.capacityBytes, availableBytes: r.availableBytes, templates };
        },
        ctx,
      ),
    );
  }

  deleteStoragePool(ref: HostRef, pool: PoolRef, ctx?: OperationContext): Promise<void> {
    return this.op(
      ref,
      async (h) => {
        const state = await h.transport.virsh(['pool-info', '--', pool.uuid]).catch((err: unknown) => {
          if (DriverError.is(err, 'NotFound')) return undefined;
          throw err;
        });
        if (state === undefined) return;
        if (/State:\s*running/i.test(state)) await h.transport.virsh(['pool-destroy', '--', pool.uuid]);
        if (/Persistent:\s*yes/i.test(state)) await h.transport.virsh(['pool-undefine', '--', pool.uuid]);
      },
      ctx,
    );
  }

  getStorageStats(ref: HostRef, pool: PoolRef, ctx?: OperationContext): Promise<StorageStats> {
    return this.op(
      ref,
      async (h) => {
        await h.transport.virsh(['pool-refresh', '--', pool.uuid]).catch((err: unknown) => {
          if (DriverError.is(err, 'NotFound')) throw poolFail('NotFound', `no pool ${pool.uuid}`, pool.uuid);
          throw err;
        });
        const r = this.poolReport(await this.poolXml(h, pool.uuid));
        return { capacityBytes: r.capacityBytes, usedBytes: r.allocation, availableBytes: r.availableBytes };
      },
      ctx,
    );
  }

  private async volumeInfo(h: KvmHost, pool: string, name: string): Promise<XmlNode | undefined> {
    try {
      return child(parseXml(await h.transport.virsh(['vol-dumpxml', '--pool', pool, '--', name])), 'volume');
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  copyTemplateToPrimary(
    ref: HostRef,
    template: TemplateSpec,
    pool: PoolRef,
    ctx?: OperationContext,
  ): Promise<StagedTemplate> {
    if (!this.capabilities().diskFormats.includes(template.format))
      return Promise.reject(new DriverError('Unsupported', `kvm: template format ${template.format}`));
    return this.locks.run(`template:${ref.guid}:${template.uuid}@${pool.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const p = await this.poolXml(h, pool.uuid);
          const dir = text(child(p, 'target'), 'path') ?? '';
          const fmt = formatOf(template.format);
          const name = `tmpl-${template.uuid}.${fmt}`;
          const finalPath = `${dir}/${name}`;
          const physicalBytes = await stageSecondaryObject(h, template.url, finalPath, {
            mountParent: this.options.mountParent ?? '/mnt',
            locks: this.locks,
            poolUuid: pool.uuid,
            ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
            ...(ctx?.onProgress !== undefined ? { onProgress: ctx.onProgress } : {}),
          });
          await h.transport.virsh(['pool-refresh', '--', pool.uuid]);
          let vol = await this.volumeInfo(h, pool.uuid, name);
          if (vol === undefined) {
            // the pool did not pick the file up on refresh (libvirt's test driver): register it as a volume
            await h.transport.virsh([
              'vol-create-as',
              pool.uuid,
              name,
              String(Math.max(template.sizeBytes, physicalBytes)),
              '--format',
              fmt,
            ]);
            vol = await this.volumeInfo(h, pool.uuid, name);
          }
          ctx?.onProgress?.(100, 'staged');
          return {
            templateUuid: template.uuid,
            poolUuid: pool.uuid,
            path: text(child(vol, 'target'), 'path') ?? finalPath,
            sizeBytes: Math.max(template.sizeBytes, Number(text(vol, 'capacity') ?? 0)),
            physicalSizeBytes: physicalBytes,
          };
        },
        ctx,
      ),
    );
  }

  private volumeResultOf(vol: XmlNode, uuid: string, pool: string): VolumeResult {
    return {
      uuid,
      poolUuid: pool,
      path: text(child(vol, 'target'), 'path') ?? '',
      sizeBytes: Number(text(vol, 'capacity') ?? 0),
      format: formatOf(attr(child(child(vol, 'target'), 'format'), 'type') ?? 'qcow2'),
    };
  }

  createVolume(ref: HostRef, volume: VolumeSpec, options?: CreateVolumeOptions): Promise<VolumeResult> {
    return this.locks.run(`volume:${ref.guid}:${volume.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const pool = volume.pool.uuid;
          await this.poolXml(h, pool);
          const from = options?.fromTemplate;
          const existing = await this.volumeInfo(h, pool, volume.uuid);
          if (existing !== undefined) {
            const r = this.volumeResultOf(existing, volume.uuid, pool);
            const backing = text(child(existing, 'backingStore'), 'path');
            const same =
              r.format === formatOf(volume.format) &&
              (from !== undefined ? backing === from.path : backing === undefined && r.sizeBytes === volume.sizeBytes);
            if (!same) throw poolFail('AlreadyExists', `volume ${volume.uuid} exists with a different spec`, pool);
            return r;
          }
          const fmt = formatOf(volume.format);
          const args = ['vol-create-as', pool, volume.uuid, String(volume.sizeBytes), '--format', fmt];
          if (from !== undefined) args.push('--backing-vol', from.path, '--backing-vol-format', 'qcow2');
          try {
            await h.transport.virsh(args);
          } catch (err) {
            if (DriverError.is(err, 'NotFound') && from !== undefined)
              throw poolFail('NotFound', `template ${from.templateUuid} is not staged on pool ${pool}`, pool);
            if (DriverError.is(err, 'InsufficientCapacity'))
              throw poolFail('InsufficientCapacity', `pool ${pool} has no room for ${volume.uuid}`, pool);
            throw err;
          }
          const vol = await this.volumeInfo(h, pool, volume.uuid);
          if (vol === undefined) throw poolFail('DeviceError', `volume ${volume.uuid} vanished after create`, pool);
          return this.volumeResultOf(vol, volume.uuid, pool);
        },
        options,
      ),
    );
  }

  /** Names of domains whose definition references `path`. */
  private async domainsUsing(h: KvmHost, match: (d: XmlNode) => boolean): Promise<string[]> {
    const users: string[] = [];
    for (const d of await h.transport.listDomains()) {
      const xml = await h.transport.domainXml(d.name, !d.active).catch(() => undefined);
      if (xml !== undefined && match(child(parseXml(xml), 'domain') ?? {})) users.push(d.name);
    }
    return users;
  }

  deleteVolume(ref: HostRef, volume: VolumeRef, ctx?: OperationContext): Promise<void> {
    return this.locks.run(`volume:${ref.guid}:${volume.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          const vol = await this.volumeInfo(h, volume.pool.uuid, volume.uuid).catch((err: unknown) => {
            if (DriverError.is(err, 'NotFound')) return undefined;
            throw err;
          });
          if (vol === undefined) return;
          const path = text(child(vol, 'target'), 'path');
          const users = await this.domainsUsing(h, (d) =>
            children(child(d, 'devices'), 'disk').some((x) => attr(child(x, 'source'), 'file') === path),
          );
          if (users.length > 0)
            throw poolFail('InvalidState', `volume ${volume.uuid} is attached to VM ${users[0]}`, volume.pool.uuid);
          await h.transport
            .virsh(['vol-delete', '--pool', volume.pool.uuid, '--', volume.uuid])
            .catch((err: unknown) => {
              if (!DriverError.is(err, 'NotFound')) throw err;
            });
        },
        ctx,
      ),
    );
  }

  /** Edits the persistent definition of a stopped domain (devices list) and defines it again. */
  private async editDisks(h: KvmHost, vmName: string, edit: (disks: XmlNode[]) => XmlNode[] | undefined) {
    const root = parseXml(await h.transport.domainXml(vmName, true));
    const d = child(root, 'domain');
    const devices = child(d, 'devices');
    if (d === undefined || devices === undefined)
      throw fail('DeviceError', `cannot read the definition of ${vmName}`, h);
    const next = edit(children(devices, 'disk'));
    if (next === undefined) return;
    devices.disk = next;
    await h.transport.defineDomain(buildXml({ domain: d }));
  }

  private sameDisk(x: XmlNode, disk: DiskSpec): boolean {
    return text(x, 'serial') === diskSerial(disk.volumeUuid) || attr(child(x, 'source'), 'file') === disk.path;
  }

  attachVolume(ref: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    if (disk.type === 'ISO')
      return Promise.reject(new InvalidParameterError('disk.type', disk.type, 'use attachIso for an ISO'));
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        if (current.some((x) => this.sameDisk(x, disk))) return;
        const users = await this.domainsUsing(h, (d) =>
          children(child(d, 'devices'), 'disk').some((x) => attr(child(x, 'source'), 'file') === disk.path),
        );
        if (users.some((u) => u !== vmName))
          throw fail('InvalidState', `volume ${disk.volumeUuid} is attached to VM ${users[0]}`, h);
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => [...disks, diskElement(disk)]);
          return;
        }
        await h.transport.virsh(['attach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
          stdin: buildXml({ disk: diskElement(disk) }),
        });
      },
      ctx,
    );
  }

  /** A VM's power state and its `<disk>` elements as the hypervisor has them now; NotFound when it is not there. */
  private async vmDisks(h: KvmHost, vmName: string) {
    const state = await h.transport.domainState(vmName);
    if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
    const disks = children(
      child(child(parseXml(await h.transport.domainXml(vmName, true)), 'domain'), 'devices'),
      'disk',
    );
    return { state, disks };
  }

  detachVolume(ref: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const found = current.find((x) => attr(x, 'device') !== 'cdrom' && this.sameDisk(x, disk));
        if (found === undefined) return;
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) =>
            disks.filter((x) => x !== disks.find((y) => this.sameDisk(y, disk) && attr(y, 'device') !== 'cdrom')),
          );
          return;
        }
        if (disk.type === 'ROOT') throw fail('InvalidState', `cannot detach the root disk of running VM ${vmName}`, h);
        await h.transport.virsh(['detach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
          stdin: buildXml({ disk: diskElement(disk) }),
        });
      },
      ctx,
    );
  }

  /**
   * Inserts an ISO into the VM's CD-ROM (`hdc`): the ISO's secondary-storage location is turned into a host path as
   * at start (NFS mounted, `file://` staged next to the VM's root disk); a running VM gets it live
   * (`change-media --insert --live --config`), a stopped one in its definition. The same ISO again is a no-op;
   * another ISO inserted is `AlreadyExists`.
   */
  attachIso(ref: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    if (iso.type !== 'ISO')
      return Promise.reject(new InvalidParameterError('iso.type', iso.type, 'attachIso takes an ISO disk'));
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const rootFile = current
          .filter((x) => attr(x, 'device') !== 'cdrom')
          .map((x) => attr(child(x, 'source'), 'file'))
          .find((f) => f !== undefined);
        const stageDir = rootFile !== undefined ? rootFile.slice(0, rootFile.lastIndexOf('/')) : undefined;
        const path = await isoPathOnHost(
          h,
          iso,
          stageDir !== undefined ? { dir: stageDir } : {},
          this.stagingOptions(ctx),
        );
        const cd = current.find((x) => attr(x, 'device') === 'cdrom' && attr(child(x, 'source'), 'file') !== undefined);
        if (cd !== undefined) {
          if (attr(child(cd, 'source'), 'file') === path) return;
          throw fail('AlreadyExists', `VM ${vmName} has another ISO inserted; detach it first`, h);
        }
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => [
            ...disks.filter((x) => attr(x, 'device') !== 'cdrom'),
            diskElement({ ...iso, path }),
          ]);
          return;
        }
        if (current.some((x) => attr(x, 'device') === 'cdrom'))
          await h.transport.virsh(['change-media', '--', vmName, 'hdc', path, '--insert', '--live', '--config']);
        else
          await h.transport.virsh(['attach-device', '--live', '--config', '--', vmName, '/dev/stdin'], {
            stdin: buildXml({ disk: diskElement({ ...iso, path }) }),
          });
      },
      ctx,
    );
  }

  detachIso(ref: HostRef, vmName: string, _iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const { state, disks: current } = await this.vmDisks(h, vmName);
        const cd = current.find((x) => attr(x, 'device') === 'cdrom' && attr(child(x, 'source'), 'file') !== undefined);
        if (cd === undefined) return;
        if (state === 'stopped') {
          await this.editDisks(h, vmName, (disks) => disks.filter((x) => attr(x, 'device') !== 'cdrom'));
          return;
        }
        await h.transport.virsh(['change-media', '--', vmName, 'hdc', '--eject', '--live', '--config']);
      },
      ctx,
    );
  }

  // ── VM snapshots (virsh snapshot-*; libvirt names a snapshot by core's uuid) ─────────────────────────────

  /** A domain snapshot's facts, undefined when it does not exist. */
  private async vmSnapshotInfo(
    h: KvmHost,
    vmName: string,
    uuid: string,
  ): Promise<{ withMemory: boolean; description: string } | undefined> {
    let xml: string;
    try {
      xml = await h.transport.virsh(['snapshot-dumpxml', '--', vmName, uuid]);
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) return undefined;
      throw err;
    }
    const s = child(parseXml(xml), 'domainsnapshot');
    const state = text(s, 'state') ?? '';
    const memory = attr(child(s, 'memory'), 'snapshot');
    return {
      // a snapshot taken of a live domain holds its memory (internal checkpoint) unless it says otherwise
      withMemory: ['running', 'paused', 'blocked', 'pmsuspended'].includes(state) && memory !== 'no',
      description: text(s, 'description') ?? '',
    };
  }

  /**
   * `snapshot-create-as`: with memory of a running VM (internal checkpoint), or disk-only of a stopped one; a
   * disk-only snapshot of a running VM asks libvirt for `--disk-only --atomic` (external overlays), which a host
   * may refuse (`Unsupported`). Idempotent by uuid.
   */
  createVmSnapshot(
    ref: HostRef,
    vmName: string,
    snapshot: VmSnapshotSpec,
    ctx?: OperationContext,
  ): Promise<VmSnapshotResult> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const existing = await this.vmSnapshotInfo(h, vmName, snapshot.uuid);
        if (existing !== undefined) {
          if (existing.withMemory !== snapshot.withMemory)
            throw fail('AlreadyExists', `VM snapshot ${snapshot.uuid} exists with a different spec`, h);
          return { uuid: snapshot.uuid };
        }
        const live = state === 'running' || state === 'paused';
        if (snapshot.withMemory && !live)
          throw fail('InvalidState', `VM ${vmName} must be running for a snapshot with memory`, h);
        const description = withoutControlCharacters([snapshot.name, snapshot.description].filter(Boolean).join(': '));
        const args = ['snapshot-create-as', '--description', description];
        if (!snapshot.withMemory && live) args.push('--disk-only', '--atomic');
        if (snapshot.quiesce === true && live) args.push('--quiesce');
        args.push('--', vmName, snapshot.uuid);
        await h.transport.virsh(args, ctx?.signal !== undefined ? { signal: ctx.signal } : {});
        return { uuid: snapshot.uuid };
      },
      ctx,
    );
  }

  /** `snapshot-delete`; a missing VM or snapshot is success. */
  deleteVmSnapshot(ref: HostRef, vmName: string, snapshotUuid: string, ctx?: OperationContext): Promise<void> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        if ((await h.transport.domainState(vmName)) === 'missing') return;
        await h.transport.virsh(['snapshot-delete', '--', vmName, snapshotUuid]).catch((err: unknown) => {
          if (!DriverError.is(err, 'NotFound')) throw err;
        });
      },
      ctx,
    );
  }

  /**
   * `snapshot-revert`: a snapshot with memory leaves the VM running, a disk-only one stopped; reverting a running
   * VM to a disk-only snapshot is refused (`InvalidState`: stop it first), as CloudStack does.
   */
  revertVmSnapshot(
    ref: HostRef,
    vmName: string,
    snapshotUuid: string,
    ctx?: OperationContext,
  ): Promise<RevertVmSnapshotResult> {
    return this.vmLocked(
      ref,
      vmName,
      async (h) => {
        const state = await h.transport.domainState(vmName);
        if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
        const snap = await this.vmSnapshotInfo(h, vmName, snapshotUuid);
        if (snap === undefined) throw fail('NotFound', `VM ${vmName} has no snapshot ${snapshotUuid}`, h);
        if (!snap.withMemory && state !== 'stopped')
          throw fail('InvalidState', `VM ${vmName} must be stopped to revert to a disk-only snapshot`, h);
        await h.transport.virsh(['snapshot-revert', '--', vmName, snapshotUuid]);
        const after = await h.transport.domainState(vmName);
        return { powerState: after === 'running' || after === 'paused' ? 'PowerOn' : 'PowerOff' };
      },
      ctx,
    );
  }

  private unsupported<T>(what: string): Promise<T> {
    return Promise.reject(new DriverError('Unsupported', `kvm: ${what} is not implemented by this driver yet`));
  }

  createSnapshot(): Promise<SnapshotResult> {
    return this.unsupported('volume snapshots');
  }
  backupSnapshot(): Promise<SnapshotBackupResult> {
    return this.unsupported('snapshot backup');
  }
  deleteSnapshot(): Promise<void> {
    return this.unsupported('volume snapshots');
  }
  createVolumeFromSnapshot(): Promise<VolumeResult> {
    return this.unsupported('volumes from snapshots');
  }
  /**
   * Writes a template to secondary storage from a volume (`createTemplateFromVolume`). The volume is resolved
   * through libvirt (`vol-dumpxml`: its file, format, virtual size, backing file); a volume a running or paused
   * domain uses is `InvalidState`. A plain file of the wanted format (qcow2 unless `template.format` says raw) is
   * downloaded as it is; a clone (qcow2 with a backing file) or one of another format is first copied to a
   * temporary volume by libvirt (`vol-create-from`, which runs `qemu-img convert`: the chain flattened into one
   * image, as CloudStack's KVM agent does), downloaded, and the copy deleted. The download runs over the host's
   * kept SFTP connection into the store's local mount (`secondaryStorageMounts`), through a part file renamed into
   * place after its size is checked; progress goes to `ctx.onProgress`. Idempotent by template uuid: a complete
   * file already there is the answer.
   */
  createTemplateFromVolume(
    ref: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult> {
    let storeDir: string;
    let format: 'qcow2' | 'raw';
    let relative: string;
    let finalPath: string;
    try {
      if (template.format !== undefined && template.format !== 'qcow2' && template.format !== 'raw')
        throw new InvalidParameterError('template.format', template.format, 'a template from a volume is qcow2 or raw');
      format = template.format ?? 'qcow2';
      storeDir = secondaryStoreDir(template.store, this.options);
      relative = imageObjectPath({ uuid: template.uuid, kind: 'template', extension: format });
      finalPath = insideDir(storeDir, relative);
    } catch (err) {
      return Promise.reject(err);
    }
    const pool = volume.pool.uuid;
    return this.locks.run(`template-out:${template.uuid}`, () =>
      this.op(
        ref,
        async (h) => {
          ctx?.onProgress?.(0, 'resolving the volume');
          const vol = await this.volumeInfo(h, pool, volume.uuid);
          if (vol === undefined) throw poolFail('NotFound', `volume ${volume.uuid} is not on pool ${pool}`, pool);
          const source = this.volumeResultOf(vol, volume.uuid, pool);
          const backing = text(child(vol, 'backingStore'), 'path');
          const users = await this.activeDomainsUsing(h, source.path);
          if (users.length > 0)
            throw poolFail(
              'InvalidState',
              `volume ${volume.uuid} is in use by running VM ${users[0]}; stop it first`,
              pool,
            );
          const convert = (backing !== undefined && backing !== '') || source.format !== format;
          const result = (physicalSizeBytes: number): TemplateResult => ({
            uuid: template.uuid,
            store: { uuid: template.store.uuid, url: template.store.url },
            path: relative,
            format,
            sizeBytes: source.sizeBytes,
            physicalSizeBytes,
          });
          const present = await localSize(finalPath);
          if (present !== undefined) {
            // only a size-checked, complete copy is ever renamed to this name
            if (convert) return result(present);
            const remote = await h.transport.files.size(source.path);
            if (remote === present) return result(present);
            throw fail(
              'AlreadyExists',
              `template ${template.uuid} exists on ${template.store.url} with ${present} bytes, the volume has ${remote}`,
              h,
            );
          }
          let remotePath = source.path;
          const exportName = `export-${template.uuid}.${format}`;
          if (convert) {
            ctx?.onProgress?.(2, 'converting');
            await this.deleteVolumeByName(h, pool, exportName);
            const xml = buildXml({
              volume: {
                name: exportName,
                capacity: String(source.sizeBytes),
                target: { format: { '@_type': format } },
              },
            });
            await h.transport.virsh(['vol-create-from', '--inputpool', pool, '--', pool, '/dev/stdin', volume.uuid], {
              stdin: xml,
              ...(ctx?.signal !== undefined ? { signal: ctx.signal } : {}),
            });
            const copy = await this.volumeInfo(h, pool, exportName);
            remotePath = text(child(copy, 'target'), 'path') ?? '';
            if (copy === undefined || remotePath === '')
              throw poolFail('DeviceError', `the copy of volume ${volume.uuid} vanished`, pool);
          }
          try {
            if (ctx?.signal?.aborted) throw fail('Timeout', 'operation aborted', h);
            const bytes = await h.transport.files.size(remotePath);
            if (bytes === undefined)
              throw poolFail('NotFound', `volume ${volume.uuid} has no file ${remotePath} on host ${h.name}`, pool);
            const base = convert ? 5 : 1;
            let last = -1;
            await downloadToLocalFile(h.transport.files, remotePath, finalPath, bytes, (done, total) => {
              const pct = base + Math.floor((total > 0 ? done / total : 0) * (99 - base));
              if (pct > last) {
                last = pct;
                ctx?.onProgress?.(pct, 'downloading');
              }
            });
            ctx?.onProgress?.(100, 'written');
            return result(bytes);
          } finally {
            if (convert) await this.deleteVolumeByName(h, pool, exportName).catch(() => undefined);
          }
        },
        ctx,
      ),
    );
  }

  /** Names of running or paused domains with a disk on `path`. */
  private async activeDomainsUsing(h: KvmHost, path: string): Promise<string[]> {
    const users: string[] = [];
    for (const d of await h.transport.listDomains()) {
      if (!d.active) continue;
      const xml = await h.transport.domainXml(d.name).catch((err: unknown) => {
        if (DriverError.is(err, 'NotFound')) return undefined;
        throw err;
      });
      const disks = children(child(child(parseXml(xml ?? '<domain/>'), 'domain'), 'devices'), 'disk');
      if (disks.some((x) => attr(child(x, 'source'), 'file') === path)) users.push(d.name);
    }
    return users;
  }

  /** `vol-delete` by name; a missing volume is fine. */
  private async deleteVolumeByName(h: KvmHost, pool: string, name: string): Promise<void> {
    await h.transport.virsh(['vol-delete', '--pool', pool, '--', name]).catch((err: unknown) => {
      if (!DriverError.is(err, 'NotFound')) throw err;
    });
  }
  createTemplateFromSnapshot(): Promise<TemplateResult> {
    return this.unsupported('templates from snapshots');
  }

  // ── Network plumbing ─────────────────────────────────────────────────────────────────────────────────

  checkNetwork(
    ref: HostRef,
    labels: readonly TrafficLabelCheck[],
    ctx?: OperationContext,
  ): Promise<CheckNetworkResult> {
    return this.op(
      ref,
      async (h) => {
        const names = new Set(await this.interfaceNames(h.transport));
        const unresolved = labels.filter((l) => !names.has(l.label));
        return { ok: unresolved.length === 0, unresolved };
      },
      ctx,
    );
  }

  /** The physical interface under a label bridge (`iface-dumpxml`), for `<pif>.<vlan>` sub-interfaces. */
  private async pifOf(h: KvmHost, label: string): Promise<string> {
    const x = child(parseXml(await h.transport.virsh(['iface-dumpxml', '--', label])), 'interface');
    const inner = children(child(x, 'bridge'), 'interface')[0];
    const name = attr(inner, 'name');
    if (name === undefined) throw fail('NotFound', `bridge ${label} has no physical interface`, h);
    return name.split('.')[0] ?? name;
  }

  private async plumb(h: KvmHost, nic: NicSpec): Promise<NetworkSetupResult> {
    const names = new Set(await this.interfaceNames(h.transport));
    if (!names.has(nic.trafficLabel))
      throw fail('NotFound', `traffic label ${nic.trafficLabel} does not resolve on host ${h.name}`, h);
    const vlan = vlanOf(nic);
    if (vlan === undefined || this.backend === 'openvswitch') return { name: nic.trafficLabel, created: false };
    const pif = await this.pifOf(h, nic.trafficLabel);
    const name = `br${pif}-${vlan}`;
    if (names.has(name)) return { name, created: false };
    const xml = buildXml({
      interface: {
        '@_type': 'bridge',
        '@_name': name,
        start: { '@_mode': 'onboot' },
        bridge: {
          '@_stp': 'off',
          interface: {
            '@_type': 'vlan',
            '@_name': `${pif}.${vlan}`,
            vlan: { '@_tag': String(vlan), interface: { '@_name': pif } },
          },
        },
      },
    });
    await h.transport.virsh(['iface-define', '/dev/stdin'], { stdin: xml });
    await h.transport.virsh(['iface-start', '--', name]).catch((err: unknown) => {
      if (!DriverError.is(err, 'InvalidState')) throw err;
    });
    return { name, created: true };
  }

  setupNetwork(ref: HostRef, nic: NicSpec, ctx?: OperationContext): Promise<NetworkSetupResult> {
    return this.locks.run(`net:${ref.guid}`, () => this.op(ref, (h) => this.plumb(h, nic), ctx));
  }

  cleanupNetwork(ref: HostRef, nic: NicSpec, ctx?: OperationContext): Promise<NetworkCleanupResult> {
    return this.locks.run(`net:${ref.guid}`, () =>
      this.op(
        ref,
        async (h) => {
          const vlan = vlanOf(nic);
          if (vlan === undefined || this.backend === 'openvswitch') return { removed: false };
          const names = new Set(await this.interfaceNames(h.transport));
          const pif = await this.pifOf(h, nic.trafficLabel);
          const name = `br${pif}-${vlan}`;
          if (!names.has(name)) return { removed: false };
          const users = await this.domainsUsing(h, (d) =>
            children(child(d, 'devices'), 'interface').some((i) => attr(child(i, 'source'), 'bridge') === name),
          );
          if (users.length > 0) return { removed: false };
          await h.transport.virsh(['iface-destroy', '--', name]).catch(() => undefined);
          await h.transport.virsh(['iface-undefine', '--', name]);
          return { removed: true };
        },
        ctx,
      ),
    );
  }

  // ── Maintenance ──────────────────────────────────────────────────────────────────────────────────────

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

/** The KVM driver: `createCloud({ hypervisors: [kvmDriver({ hostKey: { knownHostsFile } })] })`. */
export function kvmDriver(options: KvmDriverOptions = {}): KvmDriver {
  return new KvmDriver(options);
}
