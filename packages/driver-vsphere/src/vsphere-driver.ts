import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type BackupSnapshotOptions,
  type CheckNetworkResult,
  type ConnectTarget,
  type CreateVolumeOptions,
  type DiskSpec,
  DriverError,
  type HostRef,
  type HostReport,
  type HypervisorCapabilities,
  type HypervisorDriver,
  InvalidParameterError,
  type MigrateVmOptions,
  type MigrateVmResult,
  type MigrateVolumeOptions,
  type NicSpec,
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
  type VmPowerState,
  type VmRuntimeState,
  type VmSpec,
  type VolumeRef,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { KeyedLock } from '@stratus/core/driver-kit';
import { ovfDescriptor, readTar, writeTar } from './ova.js';
import { el, leaf, type MoRef, mor, typed, type XmlFragment } from './soap-xml.js';
import { parseTrafficLabel, portGroupName, vlanOf } from './traffic-label.js';
import { Vcenter } from './vcenter.js';
import { isFault } from './vim-fault.js';
import { VimHttp } from './vim-http.js';
import { silentLogger } from './vim-logger.js';
import { moRefOf } from './vim-session.js';
import {
  cdromDevice,
  cdromWithIso,
  type DeviceInfo,
  deviceChange,
  deviceRef,
  diskDevice,
  extraConfig,
  freeScsiUnit,
  isCdrom,
  isDisk,
  isIdeController,
  isScsiController,
  type NicBacking,
  nicDevice,
  readDevices,
  refsOf,
  relocateSpec,
  resizedDisk,
  scsiController,
} from './vm-devices.js';
import type { VsphereDriverOptions } from './vsphere-options.js';
import { parseVsphereUrl } from './vsphere-url.js';
import { child, childrenOf, numberOf, textOf, toXml, type XNode } from './xml-node.js';

/** What the driver knows about a host it connected. */
interface HostEntry {
  vc: Vcenter;
  guid: string;
  name: string;
  host: MoRef;
  cluster: MoRef;
  datacenter: MoRef;
  datacenterName: string;
  /** The cluster's root resource pool. */
  resourcePool: MoRef;
  vmFolder: MoRef;
  networkFolder: MoRef;
  ip: string;
}

/** A primary pool as a datastore of a datacenter. */
interface PoolEntry {
  datastore: MoRef;
  name: string;
  datacenterName: string;
  datacenter: MoRef;
}

/** A VM as found by name. */
interface VmEntry {
  ref: MoRef;
  host?: MoRef;
  power: string;
  devices: DeviceInfo[];
}

const VOLUME_DIR = 'stratus-volumes';
const ISO_DIR = 'stratus-iso';
const SNAPSHOT_DIR = 'stratus-snapshots';
const TEMPLATE_PREFIX = 'stratus-tmpl-';
const KB = 1024;

/** vSphere inventory names escape `%`, `/` and `\` (as `%25`, `%2f`, `%5c`). */
export function encodeInventoryName(name: string): string {
  return name.replace(/%/g, '%25').replace(/\//g, '%2f').replace(/\\/g, '%5c');
}

/** The inverse of {@link encodeInventoryName}. */
export function decodeInventoryName(name: string): string {
  return name.replace(/%(25|2f|5c)/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

const POWER: Record<string, VmPowerState> = { poweredOn: 'PowerOn', poweredOff: 'PowerOff' };
const RUNTIME: Record<string, VmRuntimeState> = { poweredOn: 'running', poweredOff: 'stopped', suspended: 'paused' };

function hostFail(code: DriverError['driverCode'], message: string, ref: HostRef | string): DriverError {
  return new DriverError(code, message, { scope: { kind: 'host', ref: typeof ref === 'string' ? ref : ref.guid } });
}

function poolFail(code: DriverError['driverCode'], message: string, pool: string): DriverError {
  return new DriverError(code, message, { scope: { kind: 'pool', ref: pool } });
}

/** `[ds] dir/file` → `{ datastore, path }`. */
export function parseDatastorePath(p: string): { datastore: string; path: string } {
  const m = /^\[([^\]]*)\]\s*(.*)$/.exec(p);
  if (!m) throw new InvalidParameterError('path', p, 'not a datastore path ([datastore] dir/file)');
  return { datastore: m[1]!, path: m[2]! };
}

/**
 * The vSphere hypervisor driver (drivers.md §5): a CloudStack cluster is a vSphere cluster
 * (`vmware://vcenter/datacenter/cluster`, one host with `…/cluster/host`); every host of one vCenter shares one session;
 * primary storage is a datastore (VMFS/PreSetup as the admin made it, NFS mounted with `CreateNasDatastore` on each
 * host); templates (OVA) are imported once per datastore as template VMs (`ImportVApp` + `HttpNfcLease`) and root
 * volumes cloned from them with `CloneVM_Task` (a worker VM whose disk becomes the volume, as CloudStack does);
 * volumes are VMDK files in `[datastore] stratus-volumes/`; NICs sit on port groups named as CloudStack names them.
 */
export class VsphereDriver implements HypervisorDriver {
  readonly type = 'VMware';
  private readonly vcenters = new Map<string, Vcenter>();
  private readonly hosts = new Map<string, HostEntry>();
  private readonly pools = new Map<string, PoolEntry>();
  private readonly locks = new KeyedLock();
  private readonly options: Required<
    Pick<
      VsphereDriverOptions,
      'callTimeoutMs' | 'taskTimeoutMs' | 'shutdownTimeoutMs' | 'portsPerDvPortGroup' | 'vncPortBase'
    >
  > &
    VsphereDriverOptions;

  constructor(options: VsphereDriverOptions = {}) {
    this.options = {
      callTimeoutMs: 30_000,
      taskTimeoutMs: 30 * 60_000,
      shutdownTimeoutMs: 60_000,
      portsPerDvPortGroup: 256,
      vncPortBase: 5900,
      ...options,
    };
  }

  capabilities(): HypervisorCapabilities {
    return {
      connectionUnit: 'cluster',
      liveMigration: true,
      volumeMigration: true,
      storageMigration: true,
      hotPlugDisk: true,
      volumeSnapshots: true,
      incrementalSnapshots: false,
      volumeResize: true,
      linkedClone: true,
      securityGroups: false,
      networkCleanup: false,
      poolTypes: ['NetworkFilesystem', 'VMFS', 'PreSetup'],
      diskFormats: ['vmdk', 'ova', 'iso'],
      console: 'vnc',
    };
  }

  // ── sessions and hosts ───────────────────────────────────────────────────────────────────────────────

  private vcenterFor(origin: string, username: string, password: string): Vcenter {
    const key = `${origin}|${username}|${createHash('sha256').update(password).digest('hex')}`;
    let vc = this.vcenters.get(key);
    if (vc === undefined) {
      vc = new Vcenter(
        new VimHttp({
          origin,
          timeoutMs: this.options.callTimeoutMs,
          ...(this.options.tls ? { tls: this.options.tls } : {}),
        }),
        username,
        password,
        this.options.taskTimeoutMs,
        this.options.logger ?? silentLogger,
      );
      this.vcenters.set(key, vc);
    }
    return vc;
  }

  private entry(ref: HostRef): HostEntry {
    const e = this.hosts.get(ref.guid);
    if (e === undefined)
      throw hostFail('Unreachable', `host ${ref.name ?? ref.guid} is not connected to this driver`, ref);
    return e;
  }

  async connect(target: ConnectTarget, ctx: OperationContext = {}): Promise<HostReport[]> {
    const where = parseVsphereUrl(target.url);
    const { username, password } = target.credentials ?? { username: '' };
    if (!username || password === undefined)
      throw new InvalidParameterError(
        'credentials',
        username || undefined,
        'a vCenter needs a user name and a password',
      );
    const vc = this.vcenterFor(where.origin, username, password);
    await vc.session.open(ctx.signal ? { signal: ctx.signal } : {});
    const about = vc.session.content.about;
    const datacenter = await vc.findByInventoryPath(encodeInventoryName(where.datacenter));
    if (datacenter?.type !== 'Datacenter')
      throw new DriverError('NotFound', `vCenter ${where.origin} has no datacenter ${where.datacenter}`, {
        details: { url: target.url },
      });
    const cluster = await vc.findByInventoryPath(
      `${encodeInventoryName(where.datacenter)}/host/${encodeInventoryName(where.cluster)}`,
    );
    if (cluster === undefined)
      throw new DriverError('NotFound', `datacenter ${where.datacenter} has no cluster ${where.cluster}`, {
        details: { url: target.url },
      });
    if (cluster.type !== 'ClusterComputeResource')
      throw new DriverError(
        'Unsupported',
        `${where.cluster} is a standalone host, not a cluster: CloudStack adds VMware clusters`,
        {
          details: { url: target.url },
        },
      );
    const dc = await vc.props(datacenter, ['vmFolder', 'networkFolder']);
    const cl = await vc.props(cluster, ['host', 'resourcePool']);
    const hostRefs = refsOf(cl.get('host'));
    const hosts = await vc.collector.properties('HostSystem', hostRefs, [
      'name',
      'summary.hardware',
      'summary.runtime',
      'config.product',
      'config.network.vnic',
    ]);
    const reports: HostReport[] = [];
    for (const h of hosts) {
      const name = decodeInventoryName(h.props.get('name')?.text ?? h.obj.value);
      if (where.host !== undefined && name !== where.host) continue;
      const hw = h.props.get('summary.hardware');
      const runtime = h.props.get('summary.runtime');
      const product = h.props.get('config.product');
      const ip =
        childrenOf(h.props.get('config.network.vnic'), 'HostVirtualNic')
          .map((n) => textOf(child(child(n, 'spec'), 'ip'), 'ipAddress'))
          .find((a) => a !== undefined && a !== '') ?? '';
      const guid = `${h.obj.value}@${about.instanceUuid}`;
      const entry: HostEntry = {
        vc,
        guid,
        name,
        host: h.obj,
        cluster,
        datacenter,
        datacenterName: where.datacenter,
        resourcePool: moRefOf(cl.get('resourcePool'))!,
        vmFolder: moRefOf(dc.get('vmFolder'))!,
        networkFolder: moRefOf(dc.get('networkFolder'))!,
        ip,
      };
      this.hosts.set(guid, entry);
      const threads = numberOf(hw, 'numCpuThreads') ?? numberOf(hw, 'numCpuCores') ?? 0;
      reports.push({
        guid,
        name,
        ip,
        url: `${target.url
          .replace(/\/+$/, '')
          .split('/')
          .slice(0, where.host ? -1 : undefined)
          .join('/')}/${encodeURIComponent(name)}`,
        cpus: threads,
        cpuSockets: numberOf(hw, 'numCpuPkgs') ?? 1,
        cpuMhz: numberOf(hw, 'cpuMhz') ?? 0,
        memoryBytes: numberOf(hw, 'memorySize') ?? 0,
        reservedMemoryBytes: 0,
        hypervisorType: 'VMware',
        hypervisorVersion: `${textOf(product, 'version') ?? ''} build-${textOf(product, 'build') ?? ''}`,
        capabilities: { hvm: true, cpuModel: textOf(hw, 'cpuModel') ?? '', cpuFlags: [], uefi: true, gpuGroups: [] },
        poolUuid: `${cluster.value}@${about.instanceUuid}`,
        hostTags: [...(target.hostTags ?? [])],
        details: {
          vcenter: where.origin,
          vcenterVersion: about.fullName,
          apiVersion: vc.session.apiVersion,
          datacenter: where.datacenter,
          cluster: where.cluster,
          connectionState: textOf(runtime, 'connectionState') ?? '',
          inMaintenanceMode: textOf(runtime, 'inMaintenanceMode') ?? 'false',
          moref: h.obj.value,
        },
        localStorage: [],
      });
    }
    if (where.host !== undefined && reports.length === 0)
      throw new DriverError('NotFound', `cluster ${where.cluster} has no host ${where.host}`, {
        details: { url: target.url },
      });
    return reports;
  }

  async disconnect(host: HostRef): Promise<void> {
    const e = this.hosts.get(host.guid);
    if (e === undefined) return;
    this.hosts.delete(host.guid);
    if ([...this.hosts.values()].some((h) => h.vc === e.vc)) return;
    for (const [key, vc] of this.vcenters) if (vc === e.vc) this.vcenters.delete(key);
    await e.vc.close();
  }

  /** Logs out of every vCenter. */
  async close(): Promise<void> {
    this.hosts.clear();
    const all = [...this.vcenters.values()];
    this.vcenters.clear();
    await Promise.all(all.map((vc) => vc.close().catch(() => undefined)));
  }

  async ping(host: HostRef, options: PingOptions = {}): Promise<PingReport> {
    const e = this.hosts.get(host.guid);
    if (e === undefined) return { reachable: false, healthy: false, vmStates: {} };
    try {
      const signal = options.signal ? { signal: options.signal } : {};
      const [h] = await e.vc.collector.properties('HostSystem', [e.host], ['summary.runtime'], signal);
      const runtime = h?.props.get('summary.runtime');
      const connected = textOf(runtime, 'connectionState') === 'connected';
      // VMs by runtime.host (authoritative; HostSystem.vm lags a relocation in the simulator).
      const vms = (
        await e.vc.collector.list(
          e.vmFolder,
          'VirtualMachine',
          ['name', 'runtime.powerState', 'runtime.host', 'config.template'],
          signal,
        )
      ).filter((vm) => moRefOf(vm.props.get('runtime.host'))?.value === e.host.value);
      const vmStates: PingReport['vmStates'] = {};
      for (const vm of vms) {
        if (vm.props.get('config.template')?.text === 'true') continue;
        const name = decodeInventoryName(vm.props.get('name')?.text ?? '');
        vmStates[name] = {
          powerState: POWER[vm.props.get('runtime.powerState')?.text ?? ''] ?? 'PowerUnknown',
          host: e.guid,
        };
      }
      for (const name of options.expectedVms ?? [])
        vmStates[name] ??= { powerState: 'PowerReportMissing', host: e.guid };
      return { reachable: connected, healthy: connected && textOf(runtime, 'powerState') !== 'poweredOff', vmStates };
    } catch (error) {
      if (error instanceof DriverError) return { reachable: false, healthy: false, vmStates: {} };
      throw error;
    }
  }

  async checkNetwork(
    host: HostRef,
    labels: readonly TrafficLabelCheck[],
    ctx: OperationContext = {},
  ): Promise<CheckNetworkResult> {
    const e = this.entry(host);
    const info = await this.networkInfo(e, e.host, ctx.signal);
    const vswitches = new Set(childrenOf(info, 'vswitch').map((s) => textOf(s, 'name') ?? ''));
    const unresolved: TrafficLabelCheck[] = [];
    for (const check of labels) {
      try {
        const label = parseTrafficLabel(check.label, this.options.defaultSwitchType);
        const ok =
          label.switchType === 'vmwaresvs'
            ? vswitches.has(label.switchName)
            : (await this.findDvs(e, label.switchName)) !== undefined;
        if (!ok) unresolved.push(check);
      } catch (error) {
        if (!(error instanceof InvalidParameterError)) throw error;
        unresolved.push(check);
      }
    }
    return { ok: unresolved.length === 0, unresolved };
  }

  async prepareMaintenance(host: HostRef, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    const props = await e.vc.props(e.host, ['summary.runtime'], ctx.signal);
    if (textOf(props.get('summary.runtime'), 'connectionState') !== 'connected')
      throw hostFail('Unreachable', `host ${e.name} is not connected to its vCenter`, host);
    if (this.options.vcenterMaintenanceMode && textOf(props.get('summary.runtime'), 'inMaintenanceMode') !== 'true')
      await e.vc.task('EnterMaintenanceMode_Task', e.host, [leaf('timeout', 0), leaf('evacuatePoweredOffVms', false)], {
        ...ctx,
        scope: { kind: 'host', ref: e.guid },
      });
  }

  async cancelMaintenance(host: HostRef, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    const props = await e.vc.props(e.host, ['summary.runtime'], ctx.signal);
    if (this.options.vcenterMaintenanceMode && textOf(props.get('summary.runtime'), 'inMaintenanceMode') === 'true')
      await e.vc.task('ExitMaintenanceMode_Task', e.host, [leaf('timeout', 0)], {
        ...ctx,
        scope: { kind: 'host', ref: e.guid },
      });
  }

  // ── VMs ──────────────────────────────────────────────────────────────────────────────────────────────

  /** Finds a VM (not a template) of the host's datacenter by name. */
  private async findVm(e: HostEntry, name: string, signal?: AbortSignal): Promise<VmEntry | undefined> {
    const all = await e.vc.collector.list(
      e.vmFolder,
      'VirtualMachine',
      ['name', 'runtime.host', 'runtime.powerState', 'config.template', 'config.hardware.device'],
      signal ? { signal } : {},
    );
    const encoded = encodeInventoryName(name);
    const vm = all.find(
      (v) => v.props.get('name')?.text === encoded && v.props.get('config.template')?.text !== 'true',
    );
    if (vm === undefined) return undefined;
    const host = moRefOf(vm.props.get('runtime.host'));
    return {
      ref: vm.obj,
      ...(host ? { host } : {}),
      power: vm.props.get('runtime.powerState')?.text ?? '',
      devices: readDevices(vm.props.get('config.hardware.device')),
    };
  }

  /** The VM when it is registered on the host (a VM elsewhere in the datacenter is not this host's). */
  private async findVmOn(e: HostEntry, name: string, signal?: AbortSignal): Promise<VmEntry | undefined> {
    const vm = await this.findVm(e, name, signal);
    return vm?.host?.value === e.host.value ? vm : undefined;
  }

  private async requireVm(e: HostEntry, name: string, signal?: AbortSignal): Promise<VmEntry> {
    const vm = await this.findVmOn(e, name, signal);
    if (vm === undefined) throw hostFail('NotFound', `VM ${name} is not on host ${e.name}`, e.guid);
    return vm;
  }

  async getVmState(host: HostRef, vmName: string, ctx: OperationContext = {}): Promise<VmRuntimeState> {
    const e = this.entry(host);
    const vm = await this.findVm(e, vmName, ctx.signal);
    if (vm === undefined || vm.host?.value !== e.host.value) return 'missing';
    return RUNTIME[vm.power] ?? 'unknown';
  }

  async startVm(host: HostRef, spec: VmSpec, ctx: OperationContext = {}): Promise<StartVmResult> {
    const e = this.entry(host);
    if (spec.cpus < 1) throw new InvalidParameterError('spec.cpus', spec.cpus, 'a VM needs at least one CPU');
    return this.locks.run(`vm:${spec.name}`, async () => {
      const task = { ...ctx, scope: { kind: 'host' as const, ref: e.guid } };
      const backings = await this.plumbNics(e, spec.nics, ctx);
      let vm = await this.findVm(e, spec.name, ctx.signal);
      if (vm === undefined) {
        const root = spec.disks.find((d) => d.type === 'ROOT') ?? spec.disks.find((d) => d.type !== 'ISO');
        const ds = root ? parseDatastorePath(root.path).datastore : await this.anyDatastoreOf(e);
        const disks = spec.disks.filter((d) => d.type !== 'ISO');
        const config = el(
          'config',
          leaf('name', encodeInventoryName(spec.name)),
          leaf('guestId', spec.osType && /Guest$|^other/.test(spec.osType) ? spec.osType : 'otherGuest64'),
          leaf('annotation', `stratus vm ${spec.uuid}`),
          el('files', leaf('vmPathName', `[${ds}]`)),
          leaf('numCPUs', spec.cpus),
          leaf('memoryMB', Math.ceil(spec.maxRamBytes / (KB * KB))),
          deviceChange('add', scsiController(-100)),
          ...disks.map((d, i) =>
            deviceChange(
              'add',
              diskDevice({
                key: -1 - i,
                fileName: d.path,
                controllerKey: -100,
                unitNumber: d.deviceId === 7 ? 8 : d.deviceId,
                capacityInKB: Math.ceil(d.sizeBytes / KB),
              }),
            ),
          ),
          ...spec.nics.map((n, i) => deviceChange('add', nicDevice(-200 - i, n.mac, backings[i]!))),
          extraConfig('RemoteDisplay.vnc.enabled', 'true'),
          extraConfig('RemoteDisplay.vnc.port', String(this.vncPort(spec.name))),
          extraConfig('RemoteDisplay.vnc.password', spec.vncPassword),
        );
        await e.vc.task('CreateVM_Task', e.vmFolder, [config, mor('pool', e.resourcePool), mor('host', e.host)], task);
        vm = await this.requireVm(e, spec.name, ctx.signal);
      } else {
        if (vm.power === 'poweredOn') {
          if (vm.host?.value === e.host.value) return this.consoleOf(e, spec);
          throw hostFail('InvalidState', `VM ${spec.name} is running on another host`, host);
        }
        if (vm.host?.value !== e.host.value)
          await e.vc.task('RelocateVM_Task', vm.ref, [relocateSpec({ host: e.host, pool: e.resourcePool })], task);
        await this.reconcileVm(e, vm, spec, backings, ctx);
        vm = await this.requireVm(e, spec.name, ctx.signal);
      }
      const iso = spec.disks.find((d) => d.type === 'ISO');
      if (iso !== undefined) await this.insertIso(e, vm, iso, ctx);
      ctx.onProgress?.(80, 'powering on');
      await e.vc.task('PowerOnVM_Task', vm.ref, [mor('host', e.host)], task);
      return this.consoleOf(e, spec);
    });
  }

  private vncPort(name: string): number {
    const h = createHash('sha256').update(name).digest().readUInt16BE(0);
    return this.options.vncPortBase + (h % 100);
  }

  private consoleOf(e: HostEntry, spec: VmSpec): StartVmResult {
    return {
      console: { protocol: 'vnc', host: e.ip || e.name, port: this.vncPort(spec.name), password: spec.vncPassword },
    };
  }

  /** Makes a stopped VM's CPU, memory, disks and NICs those of the spec (`ReconfigVM_Task`). */
  private async reconcileVm(
    e: HostEntry,
    vm: VmEntry,
    spec: VmSpec,
    backings: readonly NicBacking[],
    ctx: OperationContext,
  ): Promise<void> {
    const changes: XmlFragment[] = [];
    const wanted = spec.disks.filter((d) => d.type !== 'ISO');
    const scsi = vm.devices.find(isScsiController);
    for (const d of vm.devices.filter(isDisk))
      if (!wanted.some((w) => w.path === d.fileName)) changes.push(deviceChange('remove', deviceRef(d)));
    const kept = vm.devices.filter((d) => !isDisk(d) || wanted.some((w) => w.path === d.fileName));
    let key = -1;
    for (const w of wanted) {
      if (vm.devices.some((d) => isDisk(d) && d.fileName === w.path)) continue;
      if (scsi === undefined) throw hostFail('InvalidState', `VM ${spec.name} has no SCSI controller`, e.guid);
      const unit = freeScsiUnit(kept, scsi.key, w.deviceId);
      kept.push({ key, type: 'VirtualDisk', controllerKey: scsi.key, unitNumber: unit, node: undefined as never });
      changes.push(
        deviceChange(
          'add',
          diskDevice({
            key: key--,
            fileName: w.path,
            controllerKey: scsi.key,
            unitNumber: unit,
            capacityInKB: Math.ceil(w.sizeBytes / KB),
          }),
        ),
      );
    }
    const nics = vm.devices.filter((d) => d.macAddress !== undefined);
    for (const n of nics) changes.push(deviceChange('remove', deviceRef(n)));
    for (const [i, n] of spec.nics.entries())
      changes.push(deviceChange('add', nicDevice(-200 - i, n.mac, backings[i]!)));
    await e.vc.task(
      'ReconfigVM_Task',
      vm.ref,
      [el('spec', leaf('numCPUs', spec.cpus), leaf('memoryMB', Math.ceil(spec.maxRamBytes / (KB * KB))), ...changes)],
      { ...ctx, scope: { kind: 'host', ref: e.guid } },
    );
  }

  async stopVm(host: HostRef, vmName: string, options: StopVmOptions = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.findVmOn(e, vmName, options.signal);
      if (vm === undefined || vm.power === 'poweredOff') return;
      const task = {
        ...(options.signal ? { signal: options.signal } : {}),
        scope: { kind: 'host' as const, ref: e.guid },
      };
      if (!options.force) {
        try {
          await e.vc.invoke('ShutdownGuest', vm.ref, [], options.signal ? { signal: options.signal } : {});
          const until = Date.now() + (options.timeoutMs ?? this.options.shutdownTimeoutMs);
          while (Date.now() < until) {
            const p = await e.vc.props(vm.ref, ['runtime.powerState'], options.signal);
            if (p.get('runtime.powerState')?.text === 'poweredOff') return;
            await new Promise((r) => setTimeout(r, 500));
          }
        } catch (error) {
          // No VMware Tools in the guest (or it refused): pull the power cord, as CloudStack does.
          if (!(error instanceof DriverError) || error.driverCode === 'Timeout' || error.driverCode === 'Unreachable')
            throw error;
        }
      }
      try {
        await e.vc.task('PowerOffVM_Task', vm.ref, [], task);
      } catch (error) {
        if (!isFault(error, 'InvalidPowerState')) throw error;
      }
    });
  }

  async rebootVm(host: HostRef, vmName: string, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.requireVm(e, vmName, ctx.signal);
      if (vm.power !== 'poweredOn') throw hostFail('InvalidState', `VM ${vmName} is ${vm.power}, not running`, host);
      try {
        await e.vc.invoke('RebootGuest', vm.ref, [], ctx.signal ? { signal: ctx.signal } : {});
      } catch (error) {
        if (!isFault(error, 'MethodNotFound', 'ToolsUnavailable', 'NotSupported', 'InvalidState')) throw error;
        await e.vc.task('ResetVM_Task', vm.ref, [], { ...ctx, scope: { kind: 'host', ref: e.guid } });
      }
    });
  }

  async destroyVm(host: HostRef, vmName: string, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.findVmOn(e, vmName, ctx.signal);
      if (vm === undefined) return;
      const task = { ...ctx, scope: { kind: 'host' as const, ref: e.guid } };
      if (vm.power !== 'poweredOff')
        await e.vc.task('PowerOffVM_Task', vm.ref, [], task).catch((error: unknown) => {
          if (!isFault(error, 'InvalidPowerState')) throw error;
        });
      // Volumes outlive the VM (core deletes them): detach every disk before Destroy_Task removes the VM's files.
      const disks = vm.devices.filter(isDisk);
      if (disks.length > 0)
        await e.vc.task(
          'ReconfigVM_Task',
          vm.ref,
          [el('spec', ...disks.map((d) => deviceChange('remove', deviceRef(d))))],
          task,
        );
      await e.vc.task('Destroy_Task', vm.ref, [], task).catch((error: unknown) => {
        if (!isFault(error, 'ManagedObjectNotFound')) throw error;
      });
    });
  }

  async prepareMigration(destination: HostRef, spec: VmSpec, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(destination);
    await this.plumbNics(e, spec.nics, ctx);
  }

  async migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options: MigrateVmOptions = {},
  ): Promise<MigrateVmResult> {
    const from = this.entry(source);
    const to = this.entry(destination);
    if (from.vc !== to.vc || from.cluster.value !== to.cluster.value)
      throw hostFail('InvalidState', `hosts ${from.name} and ${to.name} are not in one vSphere cluster`, destination);
    return this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.findVm(from, vmName, options.signal);
      if (vm === undefined) throw hostFail('NotFound', `VM ${vmName} does not exist`, source);
      if (vm.host?.value !== from.host.value) {
        if (vm.host?.value === to.host.value) return { hostGuid: to.guid };
        throw hostFail('InvalidState', `VM ${vmName} is not on host ${from.name}`, source);
      }
      if (options.live !== false && vm.power !== 'poweredOn')
        throw hostFail('InvalidState', `VM ${vmName} is ${vm.power}: a live migration needs it running`, source);
      await from.vc.task('RelocateVM_Task', vm.ref, [relocateSpec({ host: to.host, pool: to.resourcePool })], {
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        scope: { kind: 'host', ref: to.guid },
      });
      return { hostGuid: to.guid };
    });
  }

  /** The host's `HostNetworkSystem.networkInfo` (vSwitches and port groups as the host has them now). */
  private async networkInfo(e: HostEntry, host: MoRef, signal?: AbortSignal): Promise<XNode | undefined> {
    const p = await e.vc.props(host, ['configManager.networkSystem'], signal);
    const ns = moRefOf(p.get('configManager.networkSystem'));
    if (ns === undefined) throw hostFail('DeviceError', `host ${host.value} has no network system`, e.guid);
    return (await e.vc.props(ns, ['networkInfo'], signal)).get('networkInfo');
  }

  // ── networks ─────────────────────────────────────────────────────────────────────────────────────────

  private async findDvs(e: HostEntry, name: string): Promise<{ ref: MoRef; uuid: string } | undefined> {
    const all = await e.vc.collector.list(
      e.networkFolder,
      ['DistributedVirtualSwitch', 'VmwareDistributedVirtualSwitch'],
      ['name', 'uuid'],
    );
    const dvs = all.find((d) => d.props.get('name')?.text === encodeInventoryName(name));
    return dvs ? { ref: dvs.obj, uuid: dvs.props.get('uuid')?.text ?? '' } : undefined;
  }

  /**
   * Finds or creates the port group of each NIC (drivers.md §5.7): on a standard vSwitch on every host of the cluster
   * (`AddPortGroup`, the same name everywhere), on a distributed switch once (`AddDVPortgroup_Task`); reused when
   * there, never removed. Returns each NIC's backing.
   */
  private async plumbNics(e: HostEntry, nics: readonly NicSpec[], ctx: OperationContext): Promise<NicBacking[]> {
    const out: NicBacking[] = [];
    for (const nic of nics) {
      const label = parseTrafficLabel(nic.trafficLabel, this.options.defaultSwitchType);
      const vlan =
        vlanOf(nic.broadcastUri) ??
        (nic.trafficType === 'Public' && label.vlan && label.vlan !== 'untagged' ? Number(label.vlan) : undefined);
      const name = portGroupName(nic.trafficType, vlan, nic.networkRateMbps, label.switchName);
      out.push(
        await this.locks.run(`pg:${e.cluster.value}:${name}`, () =>
          label.switchType === 'vmwaresvs'
            ? this.standardPortGroup(e, name, label.switchName, vlan, ctx)
            : this.distributedPortGroup(e, name, label.switchName, vlan, ctx),
        ),
      );
    }
    return out;
  }

  private async standardPortGroup(
    e: HostEntry,
    name: string,
    vswitch: string,
    vlan: number | undefined,
    ctx: OperationContext,
  ): Promise<NicBacking> {
    const cl = await e.vc.props(e.cluster, ['host'], ctx.signal);
    const hosts = await e.vc.collector.properties('HostSystem', refsOf(cl.get('host')), [
      'name',
      'configManager.networkSystem',
    ]);
    for (const h of hosts) {
      const groups = childrenOf(await this.networkInfo(e, h.obj, ctx.signal), 'portgroup');
      const existing = groups.find((g) => textOf(child(g, 'spec'), 'name') === name);
      if (existing !== undefined) {
        const existingVlan = numberOf(child(existing, 'spec'), 'vlanId') ?? 0;
        if (existingVlan !== (vlan ?? 0))
          throw hostFail(
            'AlreadyExists',
            `port group ${name} on host ${h.props.get('name')?.text} has VLAN ${existingVlan}, not ${vlan ?? 0}`,
            e.guid,
          );
        continue;
      }
      const ns = moRefOf(h.props.get('configManager.networkSystem'));
      if (ns === undefined)
        throw hostFail('DeviceError', `host ${h.props.get('name')?.text} has no network system`, e.guid);
      try {
        await e.vc.invoke('AddPortGroup', ns, [
          el('portgrp', leaf('name', name), leaf('vlanId', vlan ?? 0), leaf('vswitchName', vswitch), el('policy')),
        ]);
      } catch (error) {
        // vcsim keeps one network object per name in the datacenter and faults the second host's add: it is there.
        if (!isFault(error, 'DuplicateName', 'AlreadyExists')) throw error;
      }
    }
    return { portGroup: name };
  }

  private async distributedPortGroup(
    e: HostEntry,
    name: string,
    switchName: string,
    vlan: number | undefined,
    ctx: OperationContext,
  ): Promise<NicBacking> {
    const dvs = await this.findDvs(e, switchName);
    if (dvs === undefined) throw hostFail('NotFound', `distributed switch ${switchName} does not exist`, e.guid);
    const find = async () => {
      const groups = await e.vc.collector.list(e.networkFolder, 'DistributedVirtualPortgroup', [
        'name',
        'key',
        'config.distributedVirtualSwitch',
      ]);
      return groups.find(
        (g) =>
          g.props.get('name')?.text === encodeInventoryName(name) &&
          moRefOf(g.props.get('config.distributedVirtualSwitch'))?.value === dvs.ref.value,
      );
    };
    let pg = await find();
    if (pg === undefined) {
      await e.vc.task(
        'AddDVPortgroup_Task',
        dvs.ref,
        [
          el(
            'spec',
            leaf('name', encodeInventoryName(name)),
            leaf('numPorts', this.options.portsPerDvPortGroup),
            typed(
              'defaultPortConfig',
              'VMwareDVSPortSetting',
              typed(
                'vlan',
                'VmwareDistributedVirtualSwitchVlanIdSpec',
                leaf('inherited', false),
                leaf('vlanId', vlan ?? 0),
              ),
            ),
            leaf('type', 'earlyBinding'),
          ),
        ],
        { ...ctx, scope: { kind: 'host', ref: e.guid } },
      );
      pg = await find();
    }
    if (pg === undefined) throw hostFail('DeviceError', `distributed port group ${name} was not created`, e.guid);
    return { switchUuid: dvs.uuid, portgroupKey: pg.props.get('key')?.text ?? pg.obj.value };
  }

  // ── storage ──────────────────────────────────────────────────────────────────────────────────────────

  private async anyDatastoreOf(e: HostEntry): Promise<string> {
    const p = await e.vc.props(e.host, ['datastore']);
    const [ds] = await e.vc.collector.properties('Datastore', refsOf(p.get('datastore')), ['name']);
    if (ds === undefined) throw hostFail('InvalidState', `host ${e.name} has no datastore`, e.guid);
    return decodeInventoryName(ds.props.get('name')?.text ?? '');
  }

  private pool(ref: PoolRef): PoolEntry {
    const p = this.pools.get(ref.uuid);
    if (p === undefined)
      throw poolFail('NotFound', `pool ${ref.uuid} was never made usable on a host of this driver`, ref.uuid);
    return p;
  }

  async createStoragePool(host: HostRef, pool: PoolSpec, ctx: OperationContext = {}): Promise<StoragePoolReport> {
    const e = this.entry(host);
    const hostProps = await e.vc.props(e.host, ['datastore', 'configManager.datastoreSystem'], ctx.signal);
    const mounted = await e.vc.collector.properties('Datastore', refsOf(hostProps.get('datastore')), [
      'name',
      'summary',
      'info',
    ]);
    let ds: (typeof mounted)[number] | undefined;
    if (pool.type === 'NetworkFilesystem') {
      if (!pool.server) throw new InvalidParameterError('pool.server', pool.server, 'an NFS pool needs a server');
      ds = mounted.find((d) => {
        const nas = child(d.props.get('info'), 'nas');
        return textOf(nas, 'remoteHost') === pool.server && textOf(nas, 'remotePath') === pool.path;
      });
      if (ds === undefined) {
        const localPath = this.options.nasLocalPath?.(pool) ?? pool.uuid;
        const dss = moRefOf(hostProps.get('configManager.datastoreSystem'));
        if (dss === undefined) throw hostFail('DeviceError', `host ${e.name} has no datastore system`, host);
        const created = await e.vc.invoke('CreateNasDatastore', dss, [
          el(
            'spec',
            leaf('remoteHost', pool.server),
            leaf('remotePath', pool.path),
            leaf('localPath', localPath),
            leaf('accessMode', 'readWrite'),
            leaf('type', 'NFS'),
          ),
        ]);
        const ref = moRefOf(created)!;
        [ds] = await e.vc.collector.properties('Datastore', [ref], ['name', 'summary', 'info']);
      }
    } else if (pool.type === 'VMFS' || pool.type === 'PreSetup') {
      const parts = pool.path.split('/').filter((p) => p !== '');
      const name = parts[parts.length - 1];
      if (name === undefined)
        throw new InvalidParameterError('pool.path', pool.path, 'expected /<datacenter>/<datastore>');
      if (parts.length > 1 && parts[0] !== e.datacenterName)
        throw poolFail(
          'NotFound',
          `pool ${pool.name} is in datacenter ${parts[0]}, host ${e.name} in ${e.datacenterName}`,
          pool.uuid,
        );
      ds = mounted.find((d) => decodeInventoryName(d.props.get('name')?.text ?? '') === name);
      if (ds === undefined) throw poolFail('NotFound', `datastore ${name} is not mounted on host ${e.name}`, pool.uuid);
    } else {
      throw new DriverError('Unsupported', `vSphere primary storage is NFS, VMFS or PreSetup, not ${pool.type}`, {
        scope: { kind: 'pool', ref: pool.uuid },
      });
    }
    if (ds === undefined)
      throw poolFail('DeviceError', `datastore of pool ${pool.name} not found after mounting`, pool.uuid);
    const name = decodeInventoryName(ds.props.get('name')?.text ?? '');
    this.pools.set(pool.uuid, { datastore: ds.obj, name, datacenterName: e.datacenterName, datacenter: e.datacenter });
    const summary = ds.props.get('summary');
    const templates = await this.templatesOn(e, pool.uuid);
    return {
      capacityBytes: numberOf(summary, 'capacity') ?? 0,
      availableBytes: numberOf(summary, 'freeSpace') ?? 0,
      templates,
    };
  }

  private async templatesOn(e: HostEntry, poolUuid: string): Promise<string[]> {
    const vms = await e.vc.collector.list(e.vmFolder, 'VirtualMachine', ['name', 'config.template']);
    const suffix = `@${poolUuid}`;
    return vms
      .filter((v) => v.props.get('config.template')?.text === 'true')
      .map((v) => decodeInventoryName(v.props.get('name')?.text ?? ''))
      .filter((n) => n.startsWith(TEMPLATE_PREFIX) && n.endsWith(suffix))
      .map((n) => n.slice(TEMPLATE_PREFIX.length, -suffix.length));
  }

  async deleteStoragePool(host: HostRef, pool: PoolRef, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    const p = this.pools.get(pool.uuid);
    if (p === undefined) return;
    if (pool.type === 'NetworkFilesystem') {
      const hostProps = await e.vc.props(e.host, ['datastore', 'configManager.datastoreSystem'], ctx.signal);
      if (!refsOf(hostProps.get('datastore')).some((r) => r.value === p.datastore.value)) return;
      await e.vc
        .invoke('RemoveDatastore', moRefOf(hostProps.get('configManager.datastoreSystem'))!, [
          mor('datastore', p.datastore),
        ])
        .catch((error: unknown) => {
          if (!isFault(error, 'NotFound', 'ManagedObjectNotFound')) throw error;
        });
    }
    // VMFS and PreSetup datastores are the admin's: the pool only stops being used.
  }

  // ── datastore files ──────────────────────────────────────────────────────────────────────────────────

  private folderUrl(p: PoolEntry, file: string): string {
    const q = new URLSearchParams({ dcPath: p.datacenterName, dsName: p.name });
    return `/folder/${file.split('/').map(encodeURIComponent).join('/')}?${q}`;
  }

  private async makeDirectory(vc: Vcenter, p: PoolEntry, dir: string): Promise<void> {
    if (vc.session.content.fileManager === undefined)
      throw new DriverError('Unsupported', 'this vCenter has no FileManager');
    await vc
      .invoke('MakeDirectory', vc.session.content.fileManager, [
        leaf('name', `[${p.name}] ${dir}`),
        mor('datacenter', p.datacenter),
        leaf('createParentDirectories', true),
      ])
      .catch((error: unknown) => {
        if (!isFault(error, 'FileAlreadyExists')) throw error;
      });
  }

  /** Uploads bytes to a datastore file over `/folder` with the session cookie. */
  private async upload(vc: Vcenter, p: PoolEntry, file: string, data: Buffer, ctx: OperationContext): Promise<void> {
    await vc.session.open();
    const res = await vc.http.transfer('PUT', this.folderUrl(p, file), {
      data,
      headers: { cookie: vc.session.cookieHeader ?? '', 'content-type': 'application/octet-stream' },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      operation: `upload of [${p.name}] ${file}`,
      timeoutMs: this.options.taskTimeoutMs,
    });
    if (res.status !== 200 && res.status !== 201 && res.status !== 204)
      throw poolFail('DeviceError', `upload of [${p.name}] ${file}: HTTP ${res.status}`, p.name);
  }

  /** Downloads a datastore file over `/folder`; undefined when it is not there. */
  private async download(vc: Vcenter, p: PoolEntry, file: string, ctx: OperationContext): Promise<Buffer | undefined> {
    await vc.session.open();
    const res = await vc.http.transfer('GET', this.folderUrl(p, file), {
      headers: { cookie: vc.session.cookieHeader ?? '' },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      operation: `download of [${p.name}] ${file}`,
      timeoutMs: this.options.taskTimeoutMs,
    });
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw poolFail('DeviceError', `download of [${p.name}] ${file}: HTTP ${res.status}`, p.name);
    return res.data;
  }

  /** The local file of an object on secondary storage (`secondaryStorageMounts`). */
  private secondaryFile(url: string): string {
    for (const [store, dir] of Object.entries(this.options.secondaryStorageMounts ?? {})) {
      const base = store.replace(/\/+$/, '');
      if (url === base || url.startsWith(`${base}/`)) return path.join(dir, url.slice(base.length + 1));
    }
    throw new DriverError(
      'NotFound',
      `secondary storage of ${url} is not mounted on this management server (secondaryStorageMounts)`,
      {
        details: { url },
      },
    );
  }

  private secondaryDir(store: { url: string }): string {
    const dir =
      this.options.secondaryStorageMounts?.[store.url] ??
      this.options.secondaryStorageMounts?.[store.url.replace(/\/+$/, '')];
    if (dir === undefined)
      throw new DriverError(
        'NotFound',
        `secondary storage ${store.url} is not mounted on this management server (secondaryStorageMounts)`,
      );
    return dir;
  }

  // ── templates ────────────────────────────────────────────────────────────────────────────────────────

  async copyTemplateToPrimary(
    host: HostRef,
    template: TemplateSpec,
    poolRef: PoolRef,
    ctx: OperationContext = {},
  ): Promise<StagedTemplate> {
    const e = this.entry(host);
    const p = this.pool(poolRef);
    return this.locks.run(`template:${template.uuid}@${poolRef.uuid}`, async () => {
      const bytes = async () => readFile(this.secondaryFile(template.url));
      if (template.isIso || template.format === 'iso') {
        const file = `${ISO_DIR}/${template.uuid}.iso`;
        const data = await bytes();
        await this.makeDirectory(e.vc, p, ISO_DIR);
        await this.upload(e.vc, p, file, data, ctx);
        return {
          templateUuid: template.uuid,
          poolUuid: poolRef.uuid,
          path: `[${p.name}] ${file}`,
          sizeBytes: data.length,
          physicalSizeBytes: data.length,
        };
      }
      if (template.format !== 'ova')
        throw new DriverError('Unsupported', `vSphere templates are OVA, not ${template.format}`, {
          details: { template: template.uuid },
        });
      const name = `${TEMPLATE_PREFIX}${template.uuid}@${poolRef.uuid}`;
      const existing = await e.vc.collector.list(e.vmFolder, 'VirtualMachine', ['name', 'config.template']);
      const found = existing.find((v) => v.props.get('name')?.text === encodeInventoryName(name));
      if (found?.props.get('config.template')?.text === 'true')
        return {
          templateUuid: template.uuid,
          poolUuid: poolRef.uuid,
          path: name,
          sizeBytes: template.sizeBytes,
          physicalSizeBytes: template.physicalSizeBytes ?? template.sizeBytes,
        };
      if (found !== undefined) await e.vc.task('Destroy_Task', found.obj, [], ctx); // a half-finished import
      const ova = readTar(await bytes(), template.url);
      const ovf = ova.find((f) => f.name.endsWith('.ovf'));
      if (ovf === undefined)
        throw new DriverError('DeviceError', `${template.url} has no .ovf descriptor`, { vendorCode: 'BadOva' });
      ctx.onProgress?.(5, 'import spec');
      const ovfManager = e.vc.session.content.ovfManager;
      if (ovfManager === undefined)
        throw new DriverError('Unsupported', `${e.vc.http.origin} has no OvfManager to import templates`);
      const spec = await e.vc.invoke('CreateImportSpec', ovfManager, [
        leaf('ovfDescriptor', ovf.data.toString('utf8')),
        mor('resourcePool', e.resourcePool),
        mor('datastore', p.datastore),
        el(
          'cisp',
          leaf('locale', ''),
          leaf('deploymentOption', ''),
          leaf('entityName', encodeInventoryName(name)),
          leaf('diskProvisioning', 'thin'),
        ),
      ]);
      const errors = childrenOf(spec, 'error');
      if (errors.length > 0)
        throw new DriverError(
          'DeviceError',
          `the OVF of ${template.url} was refused: ${errors.map((x) => textOf(x, 'localizedMessage') ?? x.xsiType).join('; ')}`,
          { vendorCode: errors[0]?.xsiType ?? 'OvfError' },
        );
      const importSpec = child(spec, 'importSpec');
      if (importSpec === undefined)
        throw new DriverError('DeviceError', `CreateImportSpec gave no import spec for ${template.url}`);
      const lease = moRefOf(
        await e.vc.invoke('ImportVApp', e.resourcePool, [
          toXml(importSpec, 'spec'),
          mor('folder', e.vmFolder),
          mor('host', e.host),
        ]),
      )!;
      try {
        const info = await this.leaseReady(e.vc, lease);
        const items = childrenOf(spec, 'fileItem');
        for (const url of childrenOf(info, 'deviceUrl')) {
          const importKey = textOf(url, 'importKey');
          const item = items.find((i) => textOf(i, 'deviceId') === importKey);
          const file = ova.find((f) => f.name === textOf(item, 'path'));
          if (file === undefined) continue;
          const target = (textOf(url, 'url') ?? '').replace('://*', `://${new URL(e.vc.http.origin).host}`);
          const res = await e.vc.http.transfer(textOf(item, 'create') === 'true' ? 'PUT' : 'POST', target, {
            data: file.data,
            headers: { cookie: e.vc.session.cookieHeader ?? '', 'content-type': 'application/x-vnd.vmware-streamVmdk' },
            operation: `upload of ${file.name}`,
            timeoutMs: this.options.taskTimeoutMs,
            ...(ctx.signal ? { signal: ctx.signal } : {}),
          });
          if (res.status >= 300)
            throw new DriverError('DeviceError', `upload of ${file.name} to the import lease: HTTP ${res.status}`);
        }
        await e.vc.invoke('HttpNfcLeaseComplete', lease);
        const vm = moRefOf(child(info, 'entity'))!;
        await e.vc.invoke('MarkAsTemplate', vm);
      } catch (error) {
        await e.vc.invoke('HttpNfcLeaseAbort', lease).catch(() => undefined);
        throw error;
      }
      ctx.onProgress?.(100, 'imported');
      return {
        templateUuid: template.uuid,
        poolUuid: poolRef.uuid,
        path: name,
        sizeBytes: template.sizeBytes,
        physicalSizeBytes: template.physicalSizeBytes ?? template.sizeBytes,
      };
    });
  }

  private async leaseReady(vc: Vcenter, lease: MoRef): Promise<XNode | undefined> {
    const until = Date.now() + this.options.taskTimeoutMs;
    while (Date.now() < until) {
      const p = await vc.props(lease, ['state', 'info', 'error']);
      const state = p.get('state')?.text;
      if (state === 'ready') return p.get('info');
      if (state === 'error')
        throw new DriverError(
          'DeviceError',
          `import lease failed: ${textOf(p.get('error'), 'localizedMessage') ?? ''}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new DriverError('Timeout', 'import lease never became ready');
  }

  async createTemplateFromVolume(
    host: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx: OperationContext = {},
  ): Promise<TemplateResult> {
    const e = this.entry(host);
    const p = this.pool(volume.pool);
    const file = this.volumePath(volume, p);
    return this.locks.run(`template-out:${template.uuid}`, async () => {
      const flat = await this.diskBytes(e, p, file, ctx);
      if (flat === undefined)
        throw poolFail('NotFound', `volume ${volume.uuid} has no disk file ${file}`, volume.pool.uuid);
      return this.writeOva(template, flat);
    });
  }

  /** The bytes of a disk on a datastore: its flat extent (`-flat.vmdk`), or the file itself. */
  private async diskBytes(
    e: HostEntry,
    p: PoolEntry,
    file: string,
    ctx: OperationContext,
  ): Promise<Buffer | undefined> {
    const { path: dsPath } = parseDatastorePath(file);
    return (
      (await this.download(e.vc, p, dsPath.replace(/\.vmdk$/, '-flat.vmdk'), ctx)) ??
      (await this.download(e.vc, p, dsPath, ctx))
    );
  }

  /** Writes a one-disk OVA (OVF descriptor first) into the template's secondary storage, through a part file. */
  private async writeOva(template: TemplateTarget, flat: Buffer): Promise<TemplateResult> {
    const rel = `template/tmpl/${template.uuid}/${template.uuid}.ova`;
    const target = path.join(this.secondaryDir(template.store), rel);
    const diskFile = `${template.uuid}-disk1.vmdk`;
    const capacityBytes = Math.max(flat.length, KB * KB);
    const ova = writeTar([
      {
        name: `${template.uuid}.ovf`,
        data: Buffer.from(ovfDescriptor({ name: template.name, diskFile, diskBytes: flat.length, capacityBytes })),
      },
      { name: diskFile, data: flat },
    ]);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(`${target}.part`, ova);
    await rename(`${target}.part`, target);
    return {
      uuid: template.uuid,
      store: template.store,
      path: rel,
      format: 'ova',
      sizeBytes: capacityBytes,
      physicalSizeBytes: ova.length,
    };
  }

  // ── volume snapshots (full copies, as CloudStack's VMware snapshots are) ───────────────────────────────

  async createSnapshot(host: HostRef, snapshot: SnapshotSpec, ctx: OperationContext = {}): Promise<SnapshotResult> {
    const e = this.entry(host);
    const p = this.pool(snapshot.volume.pool);
    const source = this.volumePath(snapshot.volume, p);
    const target = `[${p.name}] ${SNAPSHOT_DIR}/${snapshot.uuid}.vmdk`;
    const vdm = e.vc.session.content.virtualDiskManager!;
    const task = { ...ctx, scope: { kind: 'pool' as const, ref: snapshot.volume.pool.uuid } };
    return this.locks.run(`snapshot:${snapshot.uuid}`, async () => {
      await this.makeDirectory(e.vc, p, SNAPSHOT_DIR);
      // A disk in use is copied from a VM snapshot's frozen base, the VM snapshot removed afterwards (consolidated).
      const vm = snapshot.vmName !== undefined ? await this.findVmOn(e, snapshot.vmName, ctx.signal) : undefined;
      const vmSnapshot = vm
        ? moRefOf(
            await e.vc.task(
              'CreateSnapshot_Task',
              vm.ref,
              [
                leaf('name', `stratus-${snapshot.uuid}`),
                leaf('description', snapshot.name),
                leaf('memory', false),
                leaf('quiesce', false),
              ],
              task,
            ),
          )
        : undefined;
      try {
        await e.vc.task(
          'CopyVirtualDisk_Task',
          vdm,
          [
            leaf('sourceName', source),
            mor('sourceDatacenter', p.datacenter),
            leaf('destName', target),
            mor('destDatacenter', p.datacenter),
            leaf('force', false),
          ],
          task,
        );
      } catch (error) {
        if (!isFault(error, 'FileAlreadyExists')) throw error;
      } finally {
        if (vmSnapshot) await e.vc.task('RemoveSnapshot_Task', vmSnapshot, [leaf('removeChildren', false)], task);
      }
      const bytes = await this.diskBytes(e, p, target, ctx);
      return { uuid: snapshot.uuid, path: target, physicalSizeBytes: bytes?.length ?? 0 };
    });
  }

  async backupSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    store: SecondaryStoreRef,
    options: BackupSnapshotOptions = {},
  ): Promise<SnapshotBackupResult> {
    const e = this.entry(host);
    const rel = `snapshots/${snapshot.volume.uuid}/${snapshot.uuid}.vmdk`;
    const target = path.join(this.secondaryDir(store), rel);
    return this.locks.run(`snapshot:${snapshot.uuid}`, async () => {
      if (snapshot.backup !== undefined && snapshot.primaryPath === undefined)
        return {
          store: snapshot.backup.store,
          path: snapshot.backup.path,
          physicalSizeBytes: 0,
          removedFromPrimary: true,
        };
      if (snapshot.primaryPath === undefined)
        throw poolFail('NotFound', `snapshot ${snapshot.uuid} is on no primary storage`, snapshot.volume.pool.uuid);
      const p = this.pool(snapshot.volume.pool);
      const bytes = await this.diskBytes(e, p, snapshot.primaryPath, options);
      if (bytes === undefined)
        throw poolFail('NotFound', `snapshot file ${snapshot.primaryPath} is gone`, snapshot.volume.pool.uuid);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(`${target}.part`, bytes);
      await rename(`${target}.part`, target);
      if (!options.keepOnPrimary) await this.deleteDisk(e, p, snapshot.primaryPath, options);
      return {
        store: { uuid: store.uuid, url: store.url },
        path: rel,
        physicalSizeBytes: bytes.length,
        removedFromPrimary: !options.keepOnPrimary,
      };
    });
  }

  private async deleteDisk(e: HostEntry, p: PoolEntry, file: string, ctx: OperationContext): Promise<void> {
    await e.vc
      .task(
        'DeleteVirtualDisk_Task',
        e.vc.session.content.virtualDiskManager!,
        [leaf('name', file), mor('datacenter', p.datacenter)],
        ctx,
      )
      .then(
        () => undefined,
        (error: unknown) => {
          if (!isFault(error, 'FileNotFound', 'NotFound')) throw error;
        },
      );
  }

  async deleteSnapshot(host: HostRef, snapshot: SnapshotRef, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`snapshot:${snapshot.uuid}`, async () => {
      const p = this.pools.get(snapshot.volume.pool.uuid);
      if (snapshot.primaryPath !== undefined && p !== undefined) await this.deleteDisk(e, p, snapshot.primaryPath, ctx);
      if (snapshot.backup !== undefined)
        await rm(path.join(this.secondaryDir(snapshot.backup.store), snapshot.backup.path), { force: true });
    });
  }

  /** The snapshot's bytes, from primary while it is there, else from its backup. */
  private async snapshotBytes(e: HostEntry, snapshot: SnapshotRef, ctx: OperationContext): Promise<Buffer> {
    const p = this.pools.get(snapshot.volume.pool.uuid);
    if (snapshot.primaryPath !== undefined && p !== undefined) {
      const bytes = await this.diskBytes(e, p, snapshot.primaryPath, ctx);
      if (bytes !== undefined) return bytes;
    }
    if (snapshot.backup !== undefined)
      return readFile(path.join(this.secondaryDir(snapshot.backup.store), snapshot.backup.path));
    throw poolFail(
      'NotFound',
      `snapshot ${snapshot.uuid} has no copy on primary or secondary storage`,
      snapshot.volume.pool.uuid,
    );
  }

  async createVolumeFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    volume: VolumeSpec,
    ctx: OperationContext = {},
  ): Promise<VolumeResult> {
    const e = this.entry(host);
    const p = this.pool(volume.pool);
    const bytes = await this.snapshotBytes(e, snapshot, ctx);
    const created = await this.createVolume(host, volume, ctx);
    // The new disk's descriptor comes from vSphere; its extent gets the snapshot's bytes.
    const { path: dsPath } = parseDatastorePath(created.path);
    await this.upload(e.vc, p, dsPath.replace(/\.vmdk$/, '-flat.vmdk'), bytes, ctx);
    return created;
  }

  async createTemplateFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    template: TemplateTarget,
    ctx: OperationContext = {},
  ): Promise<TemplateResult> {
    const e = this.entry(host);
    return this.locks.run(`template-out:${template.uuid}`, async () =>
      this.writeOva(template, await this.snapshotBytes(e, snapshot, ctx)),
    );
  }

  // ── volumes ──────────────────────────────────────────────────────────────────────────────────────────

  private volumePath(volume: Pick<VolumeRef, 'uuid' | 'path'>, p: PoolEntry): string {
    return volume.path?.startsWith('[') ? volume.path : `[${p.name}] ${VOLUME_DIR}/${volume.uuid}.vmdk`;
  }

  async createVolume(host: HostRef, volume: VolumeSpec, options: CreateVolumeOptions = {}): Promise<VolumeResult> {
    const e = this.entry(host);
    const p = this.pool(volume.pool);
    const file = `[${p.name}] ${VOLUME_DIR}/${volume.uuid}.vmdk`;
    const result: VolumeResult = {
      uuid: volume.uuid,
      poolUuid: volume.pool.uuid,
      path: file,
      sizeBytes: volume.sizeBytes,
      format: 'vmdk',
    };
    const vdm = e.vc.session.content.virtualDiskManager;
    if (vdm === undefined) throw new DriverError('Unsupported', 'this vCenter has no VirtualDiskManager');
    return this.locks.run(`volume:${volume.uuid}`, async () => {
      await this.makeDirectory(e.vc, p, VOLUME_DIR);
      const task = {
        ...(options.signal ? { signal: options.signal } : {}),
        scope: { kind: 'pool' as const, ref: volume.pool.uuid },
      };
      if (options.fromTemplate === undefined) {
        try {
          await e.vc.task(
            'CreateVirtualDisk_Task',
            vdm,
            [
              leaf('name', file),
              mor('datacenter', p.datacenter),
              typed(
                'spec',
                'FileBackedVirtualDiskSpec',
                leaf('diskType', 'thin'),
                leaf('adapterType', 'lsiLogic'),
                leaf('capacityKb', Math.ceil(volume.sizeBytes / KB)),
              ),
            ],
            task,
          );
        } catch (error) {
          if (!isFault(error, 'FileAlreadyExists')) throw error;
        }
        return result;
      }
      if (e.vc.session.content.about.apiType !== 'VirtualCenter')
        throw new DriverError(
          'Unsupported',
          `CloneVM_Task needs vCenter; ${e.vc.http.origin} is a standalone ESXi (${e.vc.session.content.about.apiType})`,
        );
      const source = await e.vc.collector.list(e.vmFolder, 'VirtualMachine', ['name', 'config.template']);
      const tmpl = source.find((v) => v.props.get('name')?.text === encodeInventoryName(options.fromTemplate!.path));
      if (tmpl === undefined)
        throw poolFail(
          'NotFound',
          `template ${options.fromTemplate.path} is not staged on pool ${p.name}`,
          volume.pool.uuid,
        );
      // CloudStack's cloneVolumeFromBaseTemplate: a worker VM cloned from the template, its disk moved to the volume's
      // path, the worker destroyed.
      const worker = `stratus-worker-${volume.uuid}`;
      const stale = source.find((v) => v.props.get('name')?.text === worker);
      if (stale !== undefined) await this.destroyWorker(e, stale.obj, options);
      const cloned = moRefOf(
        await e.vc.task(
          'CloneVM_Task',
          tmpl.obj,
          [
            mor('folder', e.vmFolder),
            leaf('name', worker),
            el(
              'spec',
              el('location', mor('datastore', p.datastore), mor('pool', e.resourcePool), mor('host', e.host)),
              leaf('template', false),
              leaf('powerOn', false),
            ),
          ],
          { ...task, ...(options.onProgress ? { onProgress: options.onProgress } : {}) },
        ),
      );
      if (cloned === undefined) throw new DriverError('DeviceError', 'CloneVM_Task returned no VM');
      try {
        const devices = readDevices(
          (await e.vc.props(cloned, ['config.hardware.device'])).get('config.hardware.device'),
        );
        const disk = devices.find(isDisk);
        if (disk?.fileName === undefined)
          throw new DriverError('DeviceError', `template ${options.fromTemplate.path} has no disk`);
        await e.vc.task('ReconfigVM_Task', cloned, [el('spec', deviceChange('remove', deviceRef(disk)))], task);
        await e.vc.task(
          'MoveVirtualDisk_Task',
          vdm,
          [
            leaf('sourceName', disk.fileName),
            mor('sourceDatacenter', p.datacenter),
            leaf('destName', file),
            mor('destDatacenter', p.datacenter),
            leaf('force', false),
          ],
          task,
        );
        return { ...result, sizeBytes: Math.max(volume.sizeBytes, (disk.capacityInKB ?? 0) * KB) };
      } finally {
        await this.destroyWorker(e, cloned, options);
      }
    });
  }

  private async destroyWorker(e: HostEntry, vm: MoRef, ctx: OperationContext): Promise<void> {
    await e.vc.task('Destroy_Task', vm, [], ctx.signal ? { signal: ctx.signal } : {}).catch((error: unknown) => {
      if (!isFault(error, 'ManagedObjectNotFound')) throw error;
    });
  }

  async deleteVolume(host: HostRef, volume: VolumeRef, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    const p = this.pools.get(volume.pool.uuid);
    if (p === undefined) return;
    const vdm = e.vc.session.content.virtualDiskManager!;
    await this.locks.run(`volume:${volume.uuid}`, () =>
      e.vc
        .task(
          'DeleteVirtualDisk_Task',
          vdm,
          [leaf('name', this.volumePath(volume, p)), mor('datacenter', p.datacenter)],
          ctx,
        )
        .then(
          () => undefined,
          (error: unknown) => {
            if (!isFault(error, 'FileNotFound', 'NotFound')) throw error;
          },
        ),
    );
  }

  async resizeVolume(
    host: HostRef,
    volume: VolumeRef,
    newSizeBytes: number,
    options: ResizeVolumeOptions = {},
  ): Promise<VolumeResult> {
    const e = this.entry(host);
    const p = this.pool(volume.pool);
    const file = this.volumePath(volume, p);
    const capacityInKB = Math.ceil(newSizeBytes / KB);
    const result: VolumeResult = {
      uuid: volume.uuid,
      poolUuid: volume.pool.uuid,
      path: file,
      sizeBytes: newSizeBytes,
      format: 'vmdk',
    };
    const grow = async (vm: VmEntry) => {
      const disk = vm.devices.find((d) => isDisk(d) && d.fileName === file);
      if (disk === undefined) return false;
      if ((disk.capacityInKB ?? 0) > capacityInKB)
        throw new DriverError(
          'Unsupported',
          `volume ${volume.uuid} is ${disk.capacityInKB} KB: vSphere disks do not shrink`,
        );
      if ((disk.capacityInKB ?? 0) < capacityInKB)
        await e.vc.task(
          'ReconfigVM_Task',
          vm.ref,
          [el('spec', deviceChange('edit', resizedDisk(disk, capacityInKB)))],
          options,
        );
      return true;
    };
    if (options.vmName !== undefined) {
      const vm = await this.requireVm(e, options.vmName, options.signal);
      if (await grow(vm)) return result;
      throw hostFail('NotFound', `volume ${volume.uuid} is not attached to VM ${options.vmName}`, host);
    }
    // A detached disk grows on a worker VM, as CloudStack's VMware resource does (ExtendVirtualDisk_Task is not
    // everywhere: the govmomi simulator lacks it).
    return this.locks.run(`volume:${volume.uuid}`, async () => {
      const worker = `stratus-resize-${volume.uuid}`;
      const ds = parseDatastorePath(file).datastore;
      const stale = await this.findVm(e, worker);
      if (stale !== undefined) await this.destroyWorkerKeepingDisks(e, stale, options);
      await e.vc.task(
        'CreateVM_Task',
        e.vmFolder,
        [
          el(
            'config',
            leaf('name', worker),
            leaf('guestId', 'otherGuest64'),
            el('files', leaf('vmPathName', `[${ds}]`)),
            leaf('numCPUs', 1),
            leaf('memoryMB', 64),
            deviceChange('add', scsiController(-100)),
            deviceChange(
              'add',
              diskDevice({
                key: -1,
                fileName: file,
                controllerKey: -100,
                unitNumber: 0,
                capacityInKB: Math.ceil(newSizeBytes / KB / 2),
              }),
            ),
          ),
          mor('pool', e.resourcePool),
          mor('host', e.host),
        ],
        options,
      );
      const vm = await this.requireVm(e, worker, options.signal);
      try {
        await grow(vm);
      } finally {
        await this.destroyWorkerKeepingDisks(e, await this.requireVm(e, worker), options);
      }
      return result;
    });
  }

  private async destroyWorkerKeepingDisks(e: HostEntry, vm: VmEntry, ctx: OperationContext): Promise<void> {
    const disks = vm.devices.filter(isDisk);
    if (disks.length > 0)
      await e.vc.task(
        'ReconfigVM_Task',
        vm.ref,
        [el('spec', ...disks.map((d) => deviceChange('remove', deviceRef(d))))],
        ctx,
      );
    await this.destroyWorker(e, vm.ref, ctx);
  }

  async migrateVolume(
    host: HostRef,
    volume: VolumeRef,
    destination: PoolRef,
    options: MigrateVolumeOptions = {},
  ): Promise<VolumeResult> {
    const e = this.entry(host);
    const from = this.pool(volume.pool);
    const to = this.pool(destination);
    const source = this.volumePath(volume, from);
    const target = `[${to.name}] ${VOLUME_DIR}/${volume.uuid}.vmdk`;
    const result: VolumeResult = {
      uuid: volume.uuid,
      poolUuid: destination.uuid,
      path: target,
      sizeBytes: 0,
      format: 'vmdk',
    };
    return this.locks.run(`volume:${volume.uuid}`, async () => {
      if (options.vmName !== undefined) {
        // Storage vMotion of the one disk.
        const vm = await this.requireVm(e, options.vmName, options.signal);
        const disk = vm.devices.find((d) => isDisk(d) && d.fileName === source);
        if (disk === undefined)
          throw hostFail('NotFound', `volume ${volume.uuid} is not attached to VM ${options.vmName}`, host);
        await e.vc.task(
          'RelocateVM_Task',
          vm.ref,
          [relocateSpec({ disks: [{ key: disk.key, datastore: to.datastore }] })],
          options,
        );
        const moved = (await this.requireVm(e, options.vmName)).devices.find((d) => d.key === disk.key);
        return { ...result, path: moved?.fileName ?? target, sizeBytes: (disk.capacityInKB ?? 0) * KB };
      }
      await this.makeDirectory(e.vc, to, VOLUME_DIR);
      await e.vc.task(
        'MoveVirtualDisk_Task',
        e.vc.session.content.virtualDiskManager!,
        [
          leaf('sourceName', source),
          mor('sourceDatacenter', from.datacenter),
          leaf('destName', target),
          mor('destDatacenter', to.datacenter),
          leaf('force', false),
        ],
        { ...options, scope: { kind: 'pool', ref: destination.uuid } },
      );
      return result;
    });
  }

  async attachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.requireVm(e, vmName, ctx.signal);
      if (vm.devices.some((d) => isDisk(d) && d.fileName === disk.path)) return;
      const scsi = vm.devices.find(isScsiController);
      if (scsi === undefined) throw hostFail('InvalidState', `VM ${vmName} has no SCSI controller`, host);
      const unit = freeScsiUnit(vm.devices, scsi.key, disk.deviceId);
      if (unit < 0) throw hostFail('InsufficientCapacity', `VM ${vmName} has no free SCSI slot`, host);
      await e.vc.task(
        'ReconfigVM_Task',
        vm.ref,
        [
          el(
            'spec',
            deviceChange(
              'add',
              diskDevice({
                key: -1,
                fileName: disk.path,
                controllerKey: scsi.key,
                unitNumber: unit,
                capacityInKB: Math.ceil(disk.sizeBytes / KB),
              }),
            ),
          ),
        ],
        { ...ctx, scope: { kind: 'host', ref: e.guid } },
      );
    });
  }

  async detachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.findVmOn(e, vmName, ctx.signal);
      const device = vm?.devices.find((d) => isDisk(d) && d.fileName === disk.path);
      if (vm === undefined || device === undefined) return;
      await e.vc.task('ReconfigVM_Task', vm.ref, [el('spec', deviceChange('remove', deviceRef(device)))], {
        ...ctx,
        scope: { kind: 'host', ref: e.guid },
      });
    });
  }

  /** The ISO on a datastore: as staged (`[ds] path`), or uploaded next to the VM from secondary storage. */
  private async isoOnDatastore(e: HostEntry, vm: VmEntry, iso: DiskSpec, ctx: OperationContext): Promise<string> {
    if (iso.path.startsWith('[')) return iso.path;
    const poolUuid = iso.poolRef?.uuid;
    const p = poolUuid !== undefined ? this.pools.get(poolUuid) : undefined;
    const target = p ?? [...this.pools.values()].find((x) => x.datacenter.value === e.datacenter.value);
    if (target === undefined)
      throw hostFail(
        'NotFound',
        `no datastore of datacenter ${e.datacenterName} is known to hold ISO ${iso.volumeUuid}`,
        e.guid,
      );
    const file = `${ISO_DIR}/${iso.volumeUuid}.iso`;
    await this.makeDirectory(e.vc, target, ISO_DIR);
    await this.upload(e.vc, target, file, await readFile(this.secondaryFile(iso.path)), ctx);
    void vm;
    return `[${target.name}] ${file}`;
  }

  private async insertIso(e: HostEntry, vm: VmEntry, iso: DiskSpec, ctx: OperationContext): Promise<void> {
    const file = await this.isoOnDatastore(e, vm, iso, ctx);
    const existing = vm.devices.find(isCdrom);
    if (existing?.fileName === file) return;
    const ide = vm.devices.find(isIdeController);
    if (ide === undefined) throw hostFail('InvalidState', `VM has no IDE controller for a CD-ROM`, e.guid);
    const change = existing
      ? deviceChange('edit', cdromWithIso(existing, file))
      : deviceChange('add', cdromDevice(-300, ide.key, 0, file));
    await e.vc.task('ReconfigVM_Task', vm.ref, [el('spec', change)], { ...ctx, scope: { kind: 'host', ref: e.guid } });
  }

  async attachIso(host: HostRef, vmName: string, iso: DiskSpec, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () =>
      this.insertIso(e, await this.requireVm(e, vmName, ctx.signal), iso, ctx),
    );
  }

  async detachIso(host: HostRef, vmName: string, _iso: DiskSpec, ctx: OperationContext = {}): Promise<void> {
    const e = this.entry(host);
    await this.locks.run(`vm:${vmName}`, async () => {
      const vm = await this.findVmOn(e, vmName, ctx.signal);
      const cdrom = vm?.devices.find(isCdrom);
      if (vm === undefined || cdrom === undefined) return;
      await e.vc.task('ReconfigVM_Task', vm.ref, [el('spec', deviceChange('remove', deviceRef(cdrom)))], {
        ...ctx,
        scope: { kind: 'host', ref: e.guid },
      });
    });
  }
}

/** Creates the vSphere driver: `createCloud({ hypervisors: [vsphereDriver({ tls: { ca } })] })`. */
export function vsphereDriver(options: VsphereDriverOptions = {}): VsphereDriver {
  return new VsphereDriver(options);
}
