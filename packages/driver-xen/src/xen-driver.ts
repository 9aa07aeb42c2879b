/**
 * The XenServer / XCP-ng driver (drivers.md §4): a cluster is a pool reached through its master, one session per pool.
 * VMs are made in CloudStack's sequence (the guest-OS template's record, `VM.create`, `VBD.create`/`VIF.create` with
 * every constructor field, `Async.VM.start_on`); primary storage is an SR with a PBD plugged on every host; volumes
 * are VDIs named after core's uuid; guest VLANs are pool networks made on first use.
 */

import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type BackupSnapshotOptions,
  type CheckNetworkResult,
  type ConnectTarget,
  type CreateVolumeOptions,
  type DiskSpec,
  DriverError,
  type DriverErrorScope,
  type HostRef,
  type HostReport,
  type HypervisorCapabilities,
  type HypervisorDriver,
  type MigrateVmOptions,
  type MigrateVmResult,
  type MigrateVolumeOptions,
  type OperationContext,
  type PingOptions,
  type PingReport,
  type PoolRef,
  type PoolSpec,
  type ResizeVolumeOptions,
  type SecondaryStoreRef,
  type SnapshotBackupResult,
  type SnapshotRef,
  type SnapshotResult,
  type SnapshotSpec,
  type StagedTemplate,
  type StartVmResult,
  type StopVmOptions,
  type StoragePoolReport,
  type TemplateResult,
  type TemplateSpec,
  type TemplateTarget,
  type TrafficLabelCheck,
  type VmPowerReport,
  type VmRuntimeState,
  type VmSpec,
  type VolumeRef,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { imageObjectPath } from '@stratus/core/driver-kit';
import { toDriverError, XapiError } from './xapi-error.js';
import { XapiPoolSession } from './xapi-pool-session.js';
import { labelNetwork, nicNetwork } from './xen-network.js';
import type { XenDriverOptions } from './xen-options.js';
import { insideDir, readSecondaryObject, secondaryStoreDir } from './xen-secondary.js';

type Rec = Record<string, unknown>;
const VOLUME_KEY = 'stratus-volume';
const TEMPLATE_KEY = 'stratus-template';
const ISO_KEY = 'stratus-iso';
const SNAPSHOT_KEY = 'stratus-snapshot';

/** The XAPI SR type of a core pool type. */
function srType(type: string): string {
  switch (type) {
    case 'NetworkFilesystem':
      return 'nfs';
    case 'IscsiLUN':
    case 'Iscsi':
      return 'lvmoiscsi';
    case 'EXT':
    case 'Filesystem':
      return 'ext';
    case 'LVM':
      return 'lvm';
    default:
      throw new DriverError('Unsupported', `XenServer has no primary storage of type ${type}`);
  }
}

/**
 * A `VDI.create` record with every constructor field XAPI requires (a missing one is
 * `FIELD_MISSING`): a user disk on `sr` of `size` bytes.
 */
function vdiRecord(
  name: string,
  description: string,
  sr: string,
  size: number | bigint,
  options: { sharable?: boolean; readOnly?: boolean; otherConfig?: Record<string, string> } = {},
): Record<string, unknown> {
  return {
    name_label: name,
    name_description: description,
    SR: sr,
    virtual_size: String(size),
    type: 'user',
    sharable: options.sharable ?? false,
    read_only: options.readOnly ?? false,
    other_config: options.otherConfig ?? {},
    sm_config: {},
    xenstore_data: {},
    tags: [],
  };
}

/** XenServer and XCP-ng through XAPI. */
export class XenDriver implements HypervisorDriver {
  readonly type = 'XenServer';
  /** Pool sessions by the host guids they serve. */
  private readonly sessions = new Map<string, XapiPoolSession>();
  /** Pool sessions by pool uuid (one per pool). */
  private readonly pools = new Map<string, XapiPoolSession>();

  constructor(private readonly options: XenDriverOptions = {}) {}

  capabilities(): HypervisorCapabilities {
    return {
      connectionUnit: 'pool',
      liveMigration: true,
      storageMigration: false,
      volumeMigration: true,
      hotPlugDisk: true,
      volumeSnapshots: true,
      incrementalSnapshots: false,
      volumeResize: true,
      linkedClone: true,
      securityGroups: false,
      networkCleanup: false,
      poolTypes: ['NetworkFilesystem', 'IscsiLUN', 'PreSetup', 'EXT'],
      diskFormats: ['vhd', 'raw', 'iso'],
      console: 'rfb',
    };
  }

  private session(host: HostRef): XapiPoolSession {
    const s = this.sessions.get(host.guid);
    if (!s)
      throw new DriverError('Unreachable', `XenServer host ${host.guid} is not connected (connect its pool first)`, {
        scope: { kind: 'host', ref: host.guid },
      });
    return s;
  }

  /** Run `fn` against the host's pool, failures as typed driver errors scoped to the host. */
  private async on<T>(host: HostRef, what: string, fn: (x: XapiPoolSession, h: string) => Promise<T>): Promise<T> {
    const scope: DriverErrorScope = { kind: 'host', ref: host.guid };
    try {
      const x = this.session(host);
      const h = String(await x.call('host.get_by_uuid', [host.guid]));
      return await fn(x, h);
    } catch (e) {
      throw toDriverError(e, scope, `xen ${what}`);
    }
  }

  // ── hosts ──────────────────────────────────────────────────────────────────────────────────────────────

  async connect(target: ConnectTarget, ctx: OperationContext = {}): Promise<HostReport[]> {
    const username = target.credentials?.username ?? 'root';
    const password = target.credentials?.password;
    if (password === undefined)
      throw new DriverError('AuthFailed', 'XenServer needs a password (credentials.password)');
    const x = new XapiPoolSession({
      url: target.url,
      username,
      password,
      ...(this.options.tls ? { tls: this.options.tls } : {}),
      ...(this.options.callTimeoutMs ? { callTimeoutMs: this.options.callTimeoutMs } : {}),
      ...(this.options.taskTimeoutMs ? { taskTimeoutMs: this.options.taskTimeoutMs } : {}),
      ...(this.options.eventTimeoutSeconds ? { eventTimeoutSeconds: this.options.eventTimeoutSeconds } : {}),
    });
    try {
      const signal = ctx.signal ? { signal: ctx.signal } : {};
      await x.login(signal);
      const [poolRef] = (await x.call('pool.get_all', [], signal)) as string[];
      const pool = (await x.call('pool.get_record', [poolRef], signal)) as Rec;
      const hosts = (await x.call('host.get_all_records', [], signal)) as Record<string, Rec>;
      const reports: HostReport[] = [];
      const u = new URL(target.url);
      for (const [ref, h] of Object.entries(hosts)) {
        const metrics = (await x.call('host_metrics.get_record', [h.metrics], signal)) as Rec;
        const cpu = h.cpu_info as Record<string, string>;
        const sw = h.software_version as Record<string, string>;
        const flags = (cpu.flags ?? '').split(/\s+/).filter(Boolean);
        const caps = h.capabilities as string[];
        const hostUrl = new URL(target.url);
        hostUrl.hostname = String(h.address);
        reports.push({
          guid: String(h.uuid),
          name: String(h.name_label),
          ip: String(h.address),
          url: hostUrl.origin,
          cpus: Number(cpu.cpu_count),
          cpuSockets: Number(cpu.socket_count ?? 1),
          cpuMhz: Math.round(Number(cpu.speed)),
          memoryBytes: Number(metrics.memory_total),
          reservedMemoryBytes: Number(h.memory_overhead),
          hypervisorType: 'XenServer',
          hypervisorVersion: String(sw.product_version ?? ''),
          capabilities: {
            hvm: caps.some((c) => c.startsWith('hvm')),
            ...(cpu.modelname ? { cpuModel: cpu.modelname } : {}),
            cpuFlags: flags,
            uefi: false,
            gpuGroups: [],
          },
          poolUuid: String(pool.uuid),
          hostTags: [...(target.hostTags ?? [])],
          details: {
            product_brand: String(sw.product_brand ?? ''),
            network_backend: String(sw.network_backend ?? 'bridge'),
            master: String(pool.master === ref),
            url: u.origin,
          },
          localStorage: [],
        });
        this.sessions.set(String(h.uuid), x);
      }
      const previous = this.pools.get(String(pool.uuid));
      this.pools.set(String(pool.uuid), x);
      if (previous && previous !== x) await previous.close();
      return reports;
    } catch (e) {
      await x.close();
      throw toDriverError(e, undefined, 'xen connect');
    }
  }

  async disconnect(host: HostRef): Promise<void> {
    const x = this.sessions.get(host.guid);
    this.sessions.delete(host.guid);
    if (x && ![...this.sessions.values()].includes(x)) {
      for (const [k, v] of this.pools) if (v === x) this.pools.delete(k);
      await x.close();
    }
  }

  async ping(host: HostRef, options: PingOptions = {}): Promise<PingReport> {
    try {
      return await this.on(host, 'ping', async (x, h) => {
        const rec = (await x.call('host.get_record', [h], { timeoutMs: 10_000 })) as Rec;
        const metrics = (await x.call('host_metrics.get_record', [rec.metrics], { timeoutMs: 10_000 })) as Rec;
        const vmStates: Record<string, VmPowerReport> = {};
        for (const vm of rec.resident_VMs as string[]) {
          const v = (await x.call('VM.get_record', [vm], { timeoutMs: 10_000 })) as Rec;
          if (v.is_control_domain === true) continue;
          vmStates[String(v.name_label)] = {
            powerState: v.power_state === 'Running' || v.power_state === 'Paused' ? 'PowerOn' : 'PowerOff',
            host: host.guid,
          };
        }
        for (const name of options.expectedVms ?? [])
          if (!vmStates[name]) vmStates[name] = { powerState: 'PowerReportMissing', host: host.guid };
        // the pool answers for its members: a member the master sees as not live is unreachable
        const live = metrics.live === true;
        return { reachable: live, healthy: live && rec.enabled === true, vmStates: live ? vmStates : {} };
      });
    } catch {
      return { reachable: false, healthy: false, vmStates: {} };
    }
  }

  async checkNetwork(host: HostRef, labels: readonly TrafficLabelCheck[]): Promise<CheckNetworkResult> {
    return this.on(host, 'checkNetwork', async (x, h) => {
      const unresolved: TrafficLabelCheck[] = [];
      for (const l of labels) {
        try {
          const net = await labelNetwork(x, l.label);
          const pifs = (await x.call('network.get_PIFs', [net])) as string[];
          const hosts = await Promise.all(pifs.map((p) => x.call('PIF.get_host', [p])));
          if (pifs.length > 0 && !hosts.includes(h)) unresolved.push(l);
        } catch {
          unresolved.push(l);
        }
      }
      return { ok: unresolved.length === 0, unresolved };
    });
  }

  async prepareMaintenance(host: HostRef): Promise<void> {
    await this.on(host, 'prepareMaintenance', (x, h) => x.call('host.disable', [h]));
  }

  async cancelMaintenance(host: HostRef): Promise<void> {
    await this.on(host, 'cancelMaintenance', (x, h) => x.call('host.enable', [h]));
  }

  // ── VMs ────────────────────────────────────────────────────────────────────────────────────────────────

  /** The VM named `name` (not a template), or undefined. */
  private async vmByName(x: XapiPoolSession, name: string): Promise<string | undefined> {
    const refs = (await x.call('VM.get_by_name_label', [name])) as string[];
    for (const r of refs) if ((await x.call('VM.get_is_a_template', [r])) !== true) return r;
    return undefined;
  }

  private async vdiOf(x: XapiPoolSession, path: string): Promise<string> {
    return String(await x.call('VDI.get_by_uuid', [path]));
  }

  async startVm(host: HostRef, spec: VmSpec, ctx: OperationContext = {}): Promise<StartVmResult> {
    return this.on(host, 'startVm', async (x, h) => {
      const existing = await this.vmByName(x, spec.name);
      if (existing) {
        const state = String(await x.call('VM.get_power_state', [existing]));
        if (state === 'Running' && (await x.call('VM.get_resident_on', [existing])) === h)
          return { console: await this.console(x, existing, h) };
        if (state !== 'Halted') await x.call('VM.hard_shutdown', [existing]);
        await x.call('VM.destroy', [existing]);
      }
      const vm = await this.createVm(x, h, spec);
      try {
        await x.callAsync('VM.start_on', [vm, h, false, false], {
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.onProgress ? { onProgress: (p: number) => ctx.onProgress?.(p, 'starting') } : {}),
        });
      } catch (e) {
        await x.call('VM.destroy', [vm]).catch(() => undefined);
        throw e;
      }
      return { console: await this.console(x, vm, h) };
    });
  }

  /** CloudStack's sequence: the guest-OS template's record edited, `VM.create`, then every VBD and VIF. */
  private async createVm(x: XapiPoolSession, h: string, spec: VmSpec): Promise<string> {
    const fallback = this.options.fallbackTemplate ?? 'Other install media';
    let templates = (await x.call('VM.get_by_name_label', [spec.osType])) as string[];
    if (templates.length === 0) templates = (await x.call('VM.get_by_name_label', [fallback])) as string[];
    if (templates.length === 0) throw new DriverError('NotFound', `no guest-OS template ${spec.osType} or ${fallback}`);
    const record = (await x.call('VM.get_record', [templates[0]])) as Rec;
    const {
      disks: _d,
      default_template: _t,
      mac_seed: _m,
      ...otherConfig
    } = record.other_config as Record<string, string>;
    const minRam = String(spec.minRamBytes);
    const maxRam = String(spec.maxRamBytes);
    const vm = String(
      await x.call('VM.create', [
        {
          ...record,
          is_a_template: false,
          name_label: spec.name,
          name_description: spec.uuid,
          affinity: h,
          other_config: { ...otherConfig, 'vm-uuid': spec.uuid },
          memory_static_min: minRam,
          memory_dynamic_min: minRam,
          memory_dynamic_max: maxRam,
          memory_static_max: maxRam,
          VCPUs_max: String(spec.cpus),
          VCPUs_at_startup: String(spec.cpus),
          VCPUs_params: { weight: String(Math.max(1, Math.round((spec.cpuMhz * spec.cpus) / 100))) },
          actions_after_shutdown: 'destroy',
          actions_after_reboot: 'restart',
          actions_after_crash: 'destroy',
          PV_args: spec.bootArgs,
          HVM_boot_params: {
            order: spec.bootOrder.map((b) => ({ hd: 'c', cdrom: 'd', network: 'n' })[b]).join('') || 'cd',
          },
        },
      ]),
    );
    try {
      let cd = false;
      for (const disk of spec.disks) {
        if (disk.type === 'ISO') cd = true;
        await x.call('VBD.create', [await this.vbdRecord(x, vm, disk, h)]);
      }
      if (!cd) await x.call('VBD.create', [this.emptyCd(vm)]);
      for (const nic of spec.nics) {
        await x.call('VIF.create', [
          {
            VM: vm,
            network: await nicNetwork(x, h, nic),
            device: String(nic.deviceId),
            MAC: nic.mac,
            MTU: '1500',
            other_config: {},
            qos_algorithm_type: nic.networkRateMbps ? 'ratelimit' : '',
            qos_algorithm_params: nic.networkRateMbps ? { kbps: String(nic.networkRateMbps * 125) } : {},
            locking_mode: 'network_default',
            ipv4_allowed: [],
            ipv6_allowed: [],
          },
        ]);
      }
    } catch (e) {
      await x.call('VM.destroy', [vm]).catch(() => undefined);
      throw e;
    }
    return vm;
  }

  private emptyCd(vm: string): Rec {
    return {
      VM: vm,
      VDI: 'OpaqueRef:NULL',
      userdevice: '3',
      bootable: false,
      mode: 'RO',
      type: 'CD',
      empty: true,
      unpluggable: true,
      other_config: {},
      qos_algorithm_type: '',
      qos_algorithm_params: {},
    };
  }

  /**
   * The VDI of an ISO: a staged copy (a VDI uuid), or one imported once from secondary storage into an SR the host
   * sees (shared first), read-only and tagged with the ISO's location.
   */
  private async isoVdi(x: XapiPoolSession, h: string, disk: DiskSpec): Promise<string> {
    if (!disk.path.includes('/')) return this.vdiOf(x, disk.path);
    const key = `iso:${disk.path}`;
    const running = this.isoStaging.get(key);
    if (running) return running;
    const work = (async () => {
      const srs: Array<{ sr: string; shared: boolean }> = [];
      for (const pbd of (await x.call('host.get_PBDs', [h])) as string[]) {
        if ((await x.call('PBD.get_currently_attached', [pbd])) !== true) continue;
        const sr = String(await x.call('PBD.get_SR', [pbd]));
        const rec = (await x.call('SR.get_record', [sr])) as Rec;
        for (const vdi of rec.VDIs as string[]) {
          const oc = (await x.call('VDI.get_other_config', [vdi])) as Record<string, string>;
          if (oc[ISO_KEY] === disk.path) return vdi;
        }
        if (rec.content_type !== 'iso') srs.push({ sr, shared: rec.shared === true });
      }
      srs.sort((a, b) => Number(b.shared) - Number(a.shared));
      if (!srs[0]) throw new DriverError('InvalidState', 'the host sees no SR to hold an ISO');
      const bytes = await readSecondaryObject(disk.path, this.options);
      const vdi = String(
        await x.call('VDI.create', [
          vdiRecord(disk.path.split('/').pop() ?? 'iso', disk.volumeUuid, srs[0].sr, bytes.length, {
            sharable: true,
            readOnly: true,
          }),
        ]),
      );
      try {
        await x.importVdi(vdi, 'raw', bytes);
        await x.call('VDI.add_to_other_config', [vdi, ISO_KEY, disk.path]);
      } catch (e) {
        await x.call('VDI.destroy', [vdi]).catch(() => undefined);
        throw e;
      }
      return vdi;
    })().finally(() => this.isoStaging.delete(key));
    this.isoStaging.set(key, work);
    return work;
  }

  private async vbdRecord(x: XapiPoolSession, vm: string, disk: DiskSpec, h?: string): Promise<Rec> {
    const iso = disk.type === 'ISO';
    return {
      VM: vm,
      VDI: iso && h ? await this.isoVdi(x, h, disk) : await this.vdiOf(x, disk.path),
      userdevice: String(iso ? 3 : disk.deviceId),
      bootable: disk.deviceId === 0 || (iso && disk.deviceId === 0),
      mode: iso || disk.readOnly ? 'RO' : 'RW',
      type: iso ? 'CD' : 'Disk',
      empty: false,
      unpluggable: true,
      other_config: {},
      qos_algorithm_type: '',
      qos_algorithm_params: {},
    };
  }

  private async console(x: XapiPoolSession, vm: string, h: string): Promise<StartVmResult['console']> {
    const consoles = (await x.call('VM.get_consoles', [vm])) as string[];
    const address = String(await x.call('host.get_address', [h]));
    for (const c of consoles) {
      const rec = (await x.call('console.get_record', [c])) as Rec;
      if (rec.protocol === 'rfb') return { protocol: 'rfb', host: address, url: String(rec.location) };
    }
    return { protocol: 'rfb', host: address };
  }

  async stopVm(host: HostRef, vmName: string, options: StopVmOptions = {}): Promise<void> {
    await this.on(host, 'stopVm', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) return;
      await this.halt(x, vm, options);
      // as CloudStack's XenServer resource: a stopped VM's record goes (its VDIs stay); the next start makes it anew
      await x.call('VM.destroy', [vm]);
    });
  }

  /** Clean shutdown, then hard after the timeout; `force` hard at once. Already halted: nothing. */
  private async halt(x: XapiPoolSession, vm: string, options: StopVmOptions): Promise<void> {
    {
      const state = String(await x.call('VM.get_power_state', [vm]));
      if (state === 'Halted') return;
      const signal = options.signal ? { signal: options.signal } : {};
      if (!options.force && state === 'Running') {
        try {
          await x.callAsync('VM.clean_shutdown', [vm], {
            ...signal,
            timeoutMs: options.timeoutMs ?? this.options.shutdownTimeoutMs ?? 60_000,
          });
          return;
        } catch (e) {
          if (e instanceof XapiError && e.code === 'VM_BAD_POWER_STATE' && e.params[2] === 'halted') return;
          // the guest did not shut down: pull the power cord
        }
      }
      try {
        await x.callAsync('VM.hard_shutdown', [vm], signal);
      } catch (e) {
        if (!(e instanceof XapiError && e.code === 'VM_BAD_POWER_STATE' && e.params[2] === 'halted')) throw e;
      }
    }
  }

  async rebootVm(host: HostRef, vmName: string, ctx: OperationContext = {}): Promise<void> {
    await this.on(host, 'rebootVm', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) throw new DriverError('NotFound', `no VM ${vmName}`);
      await x.callAsync('VM.hard_reboot', [vm], ctx.signal ? { signal: ctx.signal } : {});
    });
  }

  async destroyVm(host: HostRef, vmName: string): Promise<void> {
    await this.on(host, 'destroyVm', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) return;
      if (String(await x.call('VM.get_power_state', [vm])) !== 'Halted') await x.callAsync('VM.hard_shutdown', [vm]);
      await x.call('VM.destroy', [vm]);
    });
  }

  async getVmState(host: HostRef, vmName: string): Promise<VmRuntimeState> {
    return this.on(host, 'getVmState', async (x, h) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) return 'missing';
      const state = String(await x.call('VM.get_power_state', [vm]));
      if (state === 'Halted') return (await x.call('VM.get_affinity', [vm])) === h ? 'stopped' : 'missing';
      if ((await x.call('VM.get_resident_on', [vm])) !== h) return 'missing';
      return state === 'Running' ? 'running' : state === 'Paused' ? 'paused' : 'unknown';
    });
  }

  async prepareMigration(destination: HostRef, spec: VmSpec): Promise<void> {
    await this.on(destination, 'prepareMigration', async (x, h) => {
      for (const nic of spec.nics) await nicNetwork(x, h, nic);
    });
  }

  async migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options: MigrateVmOptions = {},
  ): Promise<MigrateVmResult> {
    return this.on(source, 'migrateVm', async (x) => {
      if (this.sessions.get(destination.guid) !== x)
        throw new DriverError('InvalidState', `host ${destination.guid} is not in the pool of ${source.guid}`);
      const vm = await this.vmByName(x, vmName);
      if (!vm) throw new DriverError('NotFound', `no VM ${vmName}`);
      const dest = String(await x.call('host.get_by_uuid', [destination.guid]));
      await x.callAsync('VM.pool_migrate', [vm, dest, { live: String(options.live !== false) }], {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      });
      return { hostGuid: destination.guid };
    });
  }

  // ── storage ────────────────────────────────────────────────────────────────────────────────────────────

  private async srOf(x: XapiPoolSession, pool: PoolRef & { path?: string }): Promise<string | undefined> {
    const refs = (await x.call('SR.get_by_name_label', [pool.uuid])) as string[];
    if (refs[0]) return refs[0];
    if (pool.type === 'PreSetup' && pool.path) {
      const preset = (await x.call('SR.get_by_name_label', [pool.path.replace(/^\//, '')])) as string[];
      return preset[0];
    }
    return undefined;
  }

  private async srReport(x: XapiPoolSession, sr: string): Promise<StoragePoolReport> {
    const rec = (await x.call('SR.get_record', [sr])) as Rec;
    const templates: string[] = [];
    for (const vdi of rec.VDIs as string[]) {
      const oc = (await x.call('VDI.get_other_config', [vdi])) as Record<string, string>;
      if (oc[TEMPLATE_KEY]) templates.push(oc[TEMPLATE_KEY]);
    }
    const capacity = Number(rec.physical_size);
    return { capacityBytes: capacity, availableBytes: capacity - Number(rec.physical_utilisation), templates };
  }

  async createStoragePool(host: HostRef, pool: PoolSpec): Promise<StoragePoolReport> {
    return this.on(host, 'createStoragePool', async (x, h) => {
      let sr = await this.srOf(x, pool);
      if (sr === undefined) {
        if (pool.type === 'PreSetup') throw new DriverError('NotFound', `no SR is named ${pool.path}`);
        const type = srType(pool.type);
        const deviceConfig: Record<string, string> =
          type === 'nfs'
            ? { server: pool.server ?? '', serverpath: pool.path }
            : type === 'lvmoiscsi'
              ? (() => {
                  const [, iqn = '', lun = '0'] = pool.path.split('/');
                  return { target: pool.server ?? '', targetIQN: iqn, SCSIid: lun };
                })()
              : { device: pool.path };
        const shared = type === 'nfs' || type === 'lvmoiscsi';
        sr = String(
          await x.callAsync('SR.create', [h, deviceConfig, '0', pool.uuid, pool.name, type, 'user', shared, {}]),
        );
      }
      // a PBD plugged on this host
      const pbds = (await x.call('SR.get_PBDs', [sr])) as string[];
      let mine: string | undefined;
      for (const p of pbds) if ((await x.call('PBD.get_host', [p])) === h) mine = p;
      if (mine === undefined) {
        const config = pbds[0] ? ((await x.call('PBD.get_device_config', [pbds[0]])) as Record<string, string>) : {};
        mine = String(await x.call('PBD.create', [{ host: h, SR: sr, device_config: config, other_config: {} }]));
      }
      if ((await x.call('PBD.get_currently_attached', [mine])) !== true) await x.call('PBD.plug', [mine]);
      return this.srReport(x, sr);
    });
  }

  async deleteStoragePool(host: HostRef, pool: PoolRef): Promise<void> {
    await this.on(host, 'deleteStoragePool', async (x, h) => {
      const sr = await this.srOf(x, pool);
      if (sr === undefined) return;
      for (const p of (await x.call('SR.get_PBDs', [sr])) as string[]) {
        if ((await x.call('PBD.get_host', [p])) !== h) continue;
        if ((await x.call('PBD.get_currently_attached', [p])) === true) await x.call('PBD.unplug', [p]);
        await x.call('PBD.destroy', [p]);
      }
      if (((await x.call('SR.get_PBDs', [sr])) as string[]).length === 0 && pool.type !== 'PreSetup')
        await x.call('SR.forget', [sr]);
    });
  }

  private async volumeVdi(x: XapiPoolSession, volume: VolumeRef): Promise<string | undefined> {
    if (volume.path) {
      try {
        return await this.vdiOf(x, volume.path);
      } catch (e) {
        if (!(e instanceof XapiError && e.code === 'UUID_INVALID')) throw e;
      }
    }
    const refs = (await x.call('VDI.get_by_name_label', [volume.uuid])) as string[];
    return refs[0];
  }

  private async volumeResult(x: XapiPoolSession, vdi: string, poolUuid: string, uuid: string): Promise<VolumeResult> {
    const rec = (await x.call('VDI.get_record', [vdi])) as Rec;
    return { uuid, poolUuid, path: String(rec.uuid), sizeBytes: Number(rec.virtual_size), format: 'vhd' };
  }

  async createVolume(host: HostRef, volume: VolumeSpec, options: CreateVolumeOptions = {}): Promise<VolumeResult> {
    return this.on(host, 'createVolume', async (x) => {
      const existing = await this.volumeVdi(x, { uuid: volume.uuid, pool: volume.pool });
      if (existing) {
        const result = await this.volumeResult(x, existing, volume.pool.uuid, volume.uuid);
        if (result.sizeBytes !== volume.sizeBytes && !options.fromTemplate)
          throw new DriverError('AlreadyExists', `volume ${volume.uuid} exists with another size`);
        return result;
      }
      const sr = await this.srOf(x, volume.pool);
      if (sr === undefined)
        throw new DriverError('NotFound', `pool ${volume.pool.uuid} has no SR`, {
          scope: { kind: 'pool', ref: volume.pool.uuid },
        });
      let vdi: string;
      if (options.fromTemplate) {
        const base = await this.vdiOf(x, options.fromTemplate.path);
        vdi = String(await x.callAsync('VDI.clone', [base, {}]));
        await x.call('VDI.set_name_label', [vdi, volume.uuid]);
        await x.call('VDI.set_other_config', [vdi, { [VOLUME_KEY]: volume.uuid }]);
        const size = Number(await x.call('VDI.get_virtual_size', [vdi]));
        if (volume.sizeBytes > size) await x.call('VDI.resize', [vdi, String(volume.sizeBytes)]);
      } else {
        try {
          vdi = String(
            await x.call('VDI.create', [
              vdiRecord(volume.uuid, volume.name, sr, volume.sizeBytes, { otherConfig: { [VOLUME_KEY]: volume.uuid } }),
            ]),
          );
        } catch (e) {
          throw toDriverError(e, { kind: 'pool', ref: volume.pool.uuid }, 'xen createVolume');
        }
      }
      return this.volumeResult(x, vdi, volume.pool.uuid, volume.uuid);
    });
  }

  async deleteVolume(host: HostRef, volume: VolumeRef): Promise<void> {
    await this.on(host, 'deleteVolume', async (x) => {
      const vdi = await this.volumeVdi(x, volume);
      if (vdi === undefined) return;
      try {
        await x.call('VDI.destroy', [vdi]);
      } catch (e) {
        if (!(e instanceof XapiError && e.code === 'HANDLE_INVALID')) throw e;
      }
    });
  }

  async resizeVolume(
    host: HostRef,
    volume: VolumeRef,
    newSizeBytes: number,
    _options?: ResizeVolumeOptions,
  ): Promise<VolumeResult> {
    return this.on(host, 'resizeVolume', async (x) => {
      const vdi = await this.volumeVdi(x, volume);
      if (vdi === undefined) throw new DriverError('NotFound', `no volume ${volume.uuid}`);
      const size = Number(await x.call('VDI.get_virtual_size', [vdi]));
      if (newSizeBytes < size) throw new DriverError('Unsupported', 'XenServer volumes grow only');
      if (newSizeBytes > size) await x.call('VDI.resize', [vdi, String(newSizeBytes)]);
      return this.volumeResult(x, vdi, volume.pool.uuid, volume.uuid);
    });
  }

  private async vbdAt(x: XapiPoolSession, vm: string, userdevice: string): Promise<string | undefined> {
    for (const vbd of (await x.call('VM.get_VBDs', [vm])) as string[])
      if ((await x.call('VBD.get_userdevice', [vbd])) === userdevice) return vbd;
    return undefined;
  }

  async attachVolume(host: HostRef, vmName: string, disk: DiskSpec): Promise<void> {
    await this.on(host, 'attachVolume', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) throw new DriverError('NotFound', `no VM ${vmName}`);
      const vdi = await this.vdiOf(x, disk.path);
      const at = await this.vbdAt(x, vm, String(disk.deviceId));
      if (at && (await x.call('VBD.get_VDI', [at])) === vdi) return;
      const vbd = String(await x.call('VBD.create', [await this.vbdRecord(x, vm, disk)]));
      if (String(await x.call('VM.get_power_state', [vm])) === 'Running') await x.callAsync('VBD.plug', [vbd]);
    });
  }

  async detachVolume(host: HostRef, vmName: string, disk: DiskSpec): Promise<void> {
    await this.on(host, 'detachVolume', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) return;
      let vdi: string;
      try {
        vdi = await this.vdiOf(x, disk.path);
      } catch {
        return;
      }
      for (const vbd of (await x.call('VM.get_VBDs', [vm])) as string[]) {
        if ((await x.call('VBD.get_VDI', [vbd])) !== vdi) continue;
        if ((await x.call('VBD.get_currently_attached', [vbd])) === true) await x.callAsync('VBD.unplug', [vbd]);
        await x.call('VBD.destroy', [vbd]);
      }
    });
  }

  private async cdOf(x: XapiPoolSession, vm: string): Promise<string | undefined> {
    for (const vbd of (await x.call('VM.get_VBDs', [vm])) as string[])
      if ((await x.call('VBD.get_type', [vbd])) === 'CD') return vbd;
    return undefined;
  }

  async attachIso(host: HostRef, vmName: string, iso: DiskSpec): Promise<void> {
    await this.on(host, 'attachIso', async (x, h) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) throw new DriverError('NotFound', `no VM ${vmName}`);
      const vdi = await this.isoVdi(x, h, iso);
      let cd = await this.cdOf(x, vm);
      if (cd === undefined) cd = String(await x.call('VBD.create', [this.emptyCd(vm)]));
      if ((await x.call('VBD.get_empty', [cd])) !== true) {
        if ((await x.call('VBD.get_VDI', [cd])) === vdi) return;
        await x.call('VBD.eject', [cd]);
      }
      await x.call('VBD.insert', [cd, vdi]);
    });
  }

  async detachIso(host: HostRef, vmName: string): Promise<void> {
    await this.on(host, 'detachIso', async (x) => {
      const vm = await this.vmByName(x, vmName);
      if (!vm) return;
      const cd = await this.cdOf(x, vm);
      if (cd && (await x.call('VBD.get_empty', [cd])) !== true) await x.call('VBD.eject', [cd]);
    });
  }

  private readonly staging = new Map<string, Promise<StagedTemplate>>();
  private readonly isoStaging = new Map<string, Promise<string>>();

  /**
   * Stage a template or ISO in the pool's SR once (drivers.md §2.6): a VDI tagged with the template's uuid, its bytes
   * imported through `/import_raw_vdi`. Concurrent requests for one (template, pool) share one copy; a VDI whose
   * import did not finish is not tagged, so it is never taken for a staged copy.
   */
  async copyTemplateToPrimary(
    host: HostRef,
    template: TemplateSpec,
    pool: PoolRef,
    ctx: OperationContext = {},
  ): Promise<StagedTemplate> {
    const key = `${template.uuid}@${pool.uuid}`;
    const running = this.staging.get(key);
    if (running) return running;
    const work = this.on(host, 'copyTemplateToPrimary', async (x) => {
      const sr = await this.srOf(x, pool);
      if (sr === undefined)
        throw new DriverError('NotFound', `pool ${pool.uuid} has no SR`, { scope: { kind: 'pool', ref: pool.uuid } });
      const staged = (vdiUuid: string, size: number, physical: number): StagedTemplate => ({
        templateUuid: template.uuid,
        poolUuid: pool.uuid,
        path: vdiUuid,
        sizeBytes: size,
        physicalSizeBytes: physical,
      });
      for (const vdi of (await x.call('SR.get_VDIs', [sr])) as string[]) {
        const rec = (await x.call('VDI.get_record', [vdi])) as Rec;
        if ((rec.other_config as Record<string, string>)[TEMPLATE_KEY] === template.uuid)
          return staged(String(rec.uuid), Number(rec.virtual_size), Number(rec.physical_utilisation));
      }
      const bytes = await readSecondaryObject(template.url, this.options);
      const format = template.format === 'vhd' ? 'vhd' : 'raw';
      const size = Math.max(template.sizeBytes, format === 'raw' ? bytes.length : 0);
      const vdi = String(
        await x.call('VDI.create', [
          vdiRecord(`${template.isIso ? 'iso' : 'template'}-${template.uuid}`, template.name, sr, size, {
            readOnly: template.isIso === true,
          }),
        ]),
      );
      try {
        await x.importVdi(vdi, format, bytes, ctx.signal ? { signal: ctx.signal } : {});
        await x.call('VDI.add_to_other_config', [vdi, TEMPLATE_KEY, template.uuid]);
      } catch (e) {
        await x.call('VDI.destroy', [vdi]).catch(() => undefined);
        throw e;
      }
      return staged(String(await x.call('VDI.get_uuid', [vdi])), size, bytes.length);
    }).finally(() => this.staging.delete(key));
    this.staging.set(key, work);
    return work;
  }

  /** Export a stopped VM's volume through `/export_raw_vdi` into the image store as a VHD template. */
  async createTemplateFromVolume(
    host: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx: OperationContext = {},
  ): Promise<TemplateResult> {
    return this.on(host, 'createTemplateFromVolume', async (x) => {
      const vdi = await this.volumeVdi(x, volume);
      if (vdi === undefined) throw new DriverError('NotFound', `no volume ${volume.uuid}`);
      for (const vbd of (await x.call('VDI.get_VBDs', [vdi])) as string[])
        if ((await x.call('VBD.get_currently_attached', [vbd])) === true)
          throw new DriverError('InvalidState', `volume ${volume.uuid} is attached to a running VM; stop it first`);
      const format = template.format === 'raw' ? 'raw' : 'vhd';
      const dir = secondaryStoreDir(template.store, this.options);
      const relative = imageObjectPath({ uuid: template.uuid, kind: 'template', extension: format });
      const file = insideDir(dir, relative);
      const bytes = await x.exportVdi(vdi, format, ctx.signal ? { signal: ctx.signal } : {});
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
      return {
        uuid: template.uuid,
        store: { uuid: template.store.uuid, url: template.store.url },
        path: relative,
        format,
        sizeBytes: Number(await x.call('VDI.get_virtual_size', [vdi])),
        physicalSizeBytes: bytes.length,
      };
    });
  }

  /** Cold volume migration between two SRs of the pool: `VDI.copy` to the destination, then the source destroyed. */
  async migrateVolume(
    host: HostRef,
    volume: VolumeRef,
    destination: PoolRef,
    options: MigrateVolumeOptions = {},
  ): Promise<VolumeResult> {
    return this.on(host, 'migrateVolume', async (x) => {
      if (options.vmName !== undefined)
        throw new DriverError('Unsupported', 'xen: live storage migration (VDI.pool_migrate) is not offered');
      const vdi = await this.volumeVdi(x, volume);
      if (vdi === undefined) throw new DriverError('NotFound', `no volume ${volume.uuid}`);
      const sr = await this.srOf(x, destination);
      if (sr === undefined) throw new DriverError('NotFound', `pool ${destination.uuid} has no SR`);
      if ((await x.call('VDI.get_SR', [vdi])) === sr) return this.volumeResult(x, vdi, destination.uuid, volume.uuid);
      const copy = String(await x.callAsync('VDI.copy', [vdi, sr], options.signal ? { signal: options.signal } : {}));
      await x.call('VDI.set_other_config', [copy, { [VOLUME_KEY]: volume.uuid }]);
      await x.call('VDI.set_name_label', [copy, volume.uuid]);
      await x.call('VDI.destroy', [vdi]);
      return this.volumeResult(x, copy, destination.uuid, volume.uuid);
    });
  }

  // ── volume snapshots ───────────────────────────────────────────────────────────────────────────────────

  private async snapshotVdi(x: XapiPoolSession, snapshot: SnapshotRef): Promise<string | undefined> {
    if (snapshot.primaryPath) {
      try {
        return await this.vdiOf(x, snapshot.primaryPath);
      } catch (e) {
        if (!(e instanceof XapiError && e.code === 'UUID_INVALID')) throw e;
      }
    }
    return undefined;
  }

  /** `VDI.snapshot` of the volume, tagged with core's snapshot uuid (idempotent by it). */
  async createSnapshot(host: HostRef, snapshot: SnapshotSpec, ctx: OperationContext = {}): Promise<SnapshotResult> {
    return this.on(host, 'createSnapshot', async (x) => {
      const vdi = await this.volumeVdi(x, snapshot.volume);
      if (vdi === undefined) throw new DriverError('NotFound', `no volume ${snapshot.volume.uuid}`);
      for (const s of (await x.call('VDI.get_snapshots', [vdi])) as string[]) {
        const rec = (await x.call('VDI.get_record', [s])) as Rec;
        if ((rec.other_config as Record<string, string>)[SNAPSHOT_KEY] === snapshot.uuid)
          return { uuid: snapshot.uuid, path: String(rec.uuid), physicalSizeBytes: Number(rec.physical_utilisation) };
      }
      const snap = String(await x.callAsync('VDI.snapshot', [vdi, {}], ctx.signal ? { signal: ctx.signal } : {}));
      await x.call('VDI.add_to_other_config', [snap, SNAPSHOT_KEY, snapshot.uuid]);
      await x.call('VDI.set_name_label', [snap, snapshot.name]);
      const rec = (await x.call('VDI.get_record', [snap])) as Rec;
      return { uuid: snapshot.uuid, path: String(rec.uuid), physicalSizeBytes: Number(rec.physical_utilisation) };
    });
  }

  /** Export the snapshot's VDI into the image store (`snapshots/<volume>/<snapshot>.vhd`), then drop it from primary. */
  async backupSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    store: SecondaryStoreRef,
    options: BackupSnapshotOptions = {},
  ): Promise<SnapshotBackupResult> {
    return this.on(host, 'backupSnapshot', async (x) => {
      const relative = `snapshots/${snapshot.volume.uuid}/${snapshot.uuid}.vhd`;
      const file = insideDir(secondaryStoreDir(store, this.options), relative);
      const vdi = await this.snapshotVdi(x, snapshot);
      let size: number;
      if (vdi === undefined) {
        if (!snapshot.backup) throw new DriverError('NotFound', `snapshot ${snapshot.uuid} is on no storage`);
        size = (await stat(file)).size;
        return { store, path: relative, physicalSizeBytes: size, removedFromPrimary: true };
      }
      const bytes = await x.exportVdi(vdi, 'vhd', options.signal ? { signal: options.signal } : {});
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
      const remove = options.keepOnPrimary !== true;
      if (remove) await x.call('VDI.destroy', [vdi]);
      return { store, path: relative, physicalSizeBytes: bytes.length, removedFromPrimary: remove };
    });
  }

  /** Remove the snapshot from primary and secondary storage; not found is success. */
  async deleteSnapshot(host: HostRef, snapshot: SnapshotRef): Promise<void> {
    await this.on(host, 'deleteSnapshot', async (x) => {
      const vdi = await this.snapshotVdi(x, snapshot);
      if (vdi !== undefined) await x.call('VDI.destroy', [vdi]);
      if (snapshot.backup) {
        const file = insideDir(secondaryStoreDir(snapshot.backup.store, this.options), snapshot.backup.path);
        await rm(file, { force: true });
      }
    });
  }

  /** A new VDI from the snapshot: a clone while it is on primary, else its backup imported. */
  async createVolumeFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    volume: VolumeSpec,
    ctx: OperationContext = {},
  ): Promise<VolumeResult> {
    return this.on(host, 'createVolumeFromSnapshot', async (x) => {
      const existing = await this.volumeVdi(x, { uuid: volume.uuid, pool: volume.pool });
      if (existing) return this.volumeResult(x, existing, volume.pool.uuid, volume.uuid);
      const sr = await this.srOf(x, volume.pool);
      if (sr === undefined) throw new DriverError('NotFound', `pool ${volume.pool.uuid} has no SR`);
      const source = await this.snapshotVdi(x, snapshot);
      let vdi: string;
      if (source !== undefined) {
        vdi = String(await x.callAsync('VDI.copy', [source, sr], ctx.signal ? { signal: ctx.signal } : {}));
        await x.call('VDI.set_other_config', [vdi, { [VOLUME_KEY]: volume.uuid }]);
        await x.call('VDI.set_name_label', [vdi, volume.uuid]);
      } else {
        if (!snapshot.backup) throw new DriverError('NotFound', `snapshot ${snapshot.uuid} is on no storage`);
        const file = insideDir(secondaryStoreDir(snapshot.backup.store, this.options), snapshot.backup.path);
        const bytes = await readFile(file);
        vdi = String(
          await x.call('VDI.create', [
            vdiRecord(volume.uuid, volume.name, sr, volume.sizeBytes, { otherConfig: { [VOLUME_KEY]: volume.uuid } }),
          ]),
        );
        try {
          await x.importVdi(vdi, 'vhd', bytes, ctx.signal ? { signal: ctx.signal } : {});
        } catch (e) {
          await x.call('VDI.destroy', [vdi]).catch(() => undefined);
          throw e;
        }
      }
      return this.volumeResult(x, vdi, volume.pool.uuid, volume.uuid);
    });
  }

  /** A template in the image store from the snapshot: its VDI exported, or its backup copied. */
  async createTemplateFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    template: TemplateTarget,
    ctx: OperationContext = {},
  ): Promise<TemplateResult> {
    return this.on(host, 'createTemplateFromSnapshot', async (x) => {
      const dir = secondaryStoreDir(template.store, this.options);
      const relative = imageObjectPath({ uuid: template.uuid, kind: 'template', extension: 'vhd' });
      const file = insideDir(dir, relative);
      const source = await this.snapshotVdi(x, snapshot);
      let bytes: Buffer;
      let size: number;
      if (source !== undefined) {
        bytes = await x.exportVdi(source, 'vhd', ctx.signal ? { signal: ctx.signal } : {});
        size = Number(await x.call('VDI.get_virtual_size', [source]));
      } else {
        if (!snapshot.backup) throw new DriverError('NotFound', `snapshot ${snapshot.uuid} is on no storage`);
        bytes = await readFile(insideDir(secondaryStoreDir(snapshot.backup.store, this.options), snapshot.backup.path));
        const vdi = await this.volumeVdi(x, snapshot.volume);
        size = vdi ? Number(await x.call('VDI.get_virtual_size', [vdi])) : bytes.length;
      }
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.part`, bytes);
      await rename(`${file}.part`, file);
      return {
        uuid: template.uuid,
        store: { uuid: template.store.uuid, url: template.store.url },
        path: relative,
        format: 'vhd',
        sizeBytes: size,
        physicalSizeBytes: bytes.length,
      };
    });
  }

  /** Log out of every pool. */
  async close(): Promise<void> {
    const all = new Set([...this.pools.values(), ...this.sessions.values()]);
    this.pools.clear();
    this.sessions.clear();
    await Promise.all([...all].map((x) => x.close()));
  }
}

/** The XenServer driver: `createCloud({ hypervisors: [xenDriver({ tls: { fingerprint256 } })] })`. */
export function xenDriver(options: XenDriverOptions = {}): XenDriver {
  return new XenDriver(options);
}
