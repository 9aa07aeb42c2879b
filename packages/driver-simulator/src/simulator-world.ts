import {
  type ConnectTarget,
  type ConsoleInfo,
  type DiskFormat,
  type DiskSpec,
  DriverError,
  type DriverErrorCode,
  type DriverErrorScope,
  type HostRef,
  type HostReport,
  type HypervisorCapabilities,
  type HypervisorTypeName,
  InvalidParameterError,
  type NicSpec,
  type SecondaryStoreRef,
  type SnapshotResult,
  type TemplateResult,
  type TemplateTarget,
  type VmSpec,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { nameUuid } from './deterministic-id.js';
import type { HypervisorProfile } from './hypervisor-profile.js';
import { dropIfUnused, labelResolves, networkNameOf, unplugAll } from './sim-network.js';
import type { SimHostRequest } from './sim-url.js';
import { DEFAULT_POOL_CAPACITY_BYTES, type SimulatorOptions } from './simulator-options.js';
import {
  emptyState,
  type SimHost,
  type SimPool,
  type SimSecondaryStore,
  type SimSnapshot,
  type SimState,
  type SimVm,
  type SimVolume,
} from './simulator-state.js';

const CONSOLE_BASE_PORT = 5900;

/** Scope of a failure on a host. */
export const hostScope = (guid: string): DriverErrorScope => ({ kind: 'host', ref: guid });
/** Scope of a failure on a pool. */
export const poolScope = (uuid: string): DriverErrorScope => ({ kind: 'pool', ref: uuid });

/** A simulator driver error. */
export function fail(code: DriverErrorCode, message: string, scope?: DriverErrorScope): DriverError {
  return new DriverError(code, `simulator: ${message}`, scope === undefined ? {} : { scope });
}

/** Whether a disk is a volume (not an ISO). */
export const isVolumeDisk = (d: DiskSpec): boolean => d.type === 'ROOT' || d.type === 'DATADISK';

/**
 * The simulated data center and its rules: hosts, VMs, pools, volumes, snapshots and secondary storage, with
 * the lookups, space accounting and validations a hypervisor applies. `SimulatorDriver` puts the contract
 * surface (latency, faults, serialization, log) around it; every method here is synchronous.
 */
export class SimulatorWorld {
  readonly state: SimState = emptyState();
  private hostCount = 0;

  constructor(
    readonly type: HypervisorTypeName,
    readonly profile: HypervisorProfile,
    readonly caps: HypervisorCapabilities,
    private readonly options: SimulatorOptions,
  ) {}

  /** Capacity of a new shared pool: `details.capacityBytes`, else the `pools.capacityBytes` option, else 10 TiB. */
  poolCapacity(details: Readonly<Record<string, string>> | undefined): number {
    const configured = Number(details?.capacityBytes);
    if (Number.isFinite(configured) && configured > 0) return configured;
    return this.options.pools?.capacityBytes ?? DEFAULT_POOL_CAPACITY_BYTES;
  }

  unsupported(what: string): DriverError {
    return fail('Unsupported', `${what} is not supported by this ${this.type} simulator`);
  }

  findHost(idOrName: string): SimHost {
    const byGuid = this.state.hosts.get(idOrName);
    if (byGuid !== undefined) return byGuid;
    for (const h of this.state.hosts.values()) if (h.name === idOrName) return h;
    throw fail('NotFound', `no host ${idOrName}`);
  }

  knownHost(ref: HostRef): SimHost {
    const h = this.state.hosts.get(ref.guid);
    if (h === undefined) throw fail('NotFound', `unknown host ${ref.guid}`, hostScope(ref.guid));
    return h;
  }

  liveHost(ref: HostRef): SimHost {
    const h = this.knownHost(ref);
    if (!h.connected) throw fail('Unreachable', `host ${h.name} is not connected`, hostScope(h.guid));
    if (h.down) throw fail('Unreachable', `host ${h.name} does not answer`, hostScope(h.guid));
    return h;
  }

  vmOn(h: SimHost, vmName: string): SimVm {
    const vm = this.state.vms.get(vmName);
    if (vm === undefined || vm.host !== h.guid)
      throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, hostScope(h.guid));
    return vm;
  }

  pool(uuid: string): SimPool {
    const p = this.state.pools.get(uuid);
    if (p === undefined) throw fail('NotFound', `no pool ${uuid}`, poolScope(uuid));
    return p;
  }

  visiblePool(h: SimHost, uuid: string): SimPool {
    const p = this.pool(uuid);
    if (!p.hosts.has(h.guid)) {
      throw fail('InvalidState', `pool ${uuid} is not available on host ${h.name}`, hostScope(h.guid));
    }
    return p;
  }

  volume(uuid: string): SimVolume {
    const v = this.state.volumes.get(uuid);
    if (v === undefined) throw fail('NotFound', `no volume ${uuid}`);
    return v;
  }

  snapshot(uuid: string): SimSnapshot {
    const s = this.state.snapshots.get(uuid);
    if (s === undefined) throw fail('NotFound', `no snapshot ${uuid}`);
    return s;
  }

  secondary(store: SecondaryStoreRef): SimSecondaryStore {
    let s = this.state.secondary.get(store.uuid);
    if (s === undefined) {
      s = { uuid: store.uuid, url: store.url, objects: new Map() };
      this.state.secondary.set(s.uuid, s);
    }
    return s;
  }

  reserve(p: SimPool, bytes: number): void {
    if (p.usedBytes + bytes > p.capacityBytes) {
      throw fail(
        'InsufficientCapacity',
        `pool ${p.uuid} has ${p.capacityBytes - p.usedBytes} bytes free, ${bytes} needed`,
        poolScope(p.uuid),
      );
    }
    p.usedBytes += bytes;
  }

  release(p: SimPool, bytes: number): void {
    p.usedBytes = Math.max(0, p.usedBytes - bytes);
  }

  addVolume(
    p: SimPool,
    spec: VolumeSpec,
    sizeBytes: number,
    origin: { fromTemplate?: string; fromSnapshot?: string },
  ): SimVolume {
    if (!this.caps.diskFormats.includes(spec.format)) throw this.unsupported(`disk format ${spec.format}`);
    this.reserve(p, sizeBytes);
    const vol: SimVolume = {
      uuid: spec.uuid,
      name: spec.name,
      type: spec.type,
      pool: p.uuid,
      path: spec.uuid,
      sizeBytes,
      format: spec.format,
      ...origin,
      attachedTo: null,
    };
    this.state.volumes.set(vol.uuid, vol);
    return vol;
  }

  volumeResult(v: SimVolume): VolumeResult {
    return { uuid: v.uuid, poolUuid: v.pool, path: v.path, sizeBytes: v.sizeBytes, format: v.format };
  }

  snapshotResult(s: SimSnapshot): SnapshotResult {
    return {
      uuid: s.uuid,
      path: s.primaryPath,
      physicalSizeBytes: s.physicalSizeBytes,
      ...(s.parentUuid !== undefined ? { parentUuid: s.parentUuid } : {}),
    };
  }

  writeTemplate(target: TemplateTarget, format: DiskFormat, sizeBytes: number): TemplateResult {
    const store = this.secondary(target.store);
    const path = `template/tmpl/${target.uuid}/${target.uuid}.${format}`;
    const existing = store.objects.get(path);
    if (existing === undefined) {
      store.objects.set(path, { kind: 'template', uuid: target.uuid, format, sizeBytes, physicalSizeBytes: sizeBytes });
    }
    const obj = existing ?? { sizeBytes, physicalSizeBytes: sizeBytes };
    return {
      uuid: target.uuid,
      store: { uuid: store.uuid, url: store.url },
      path,
      format,
      sizeBytes: obj.sizeBytes,
      physicalSizeBytes: obj.physicalSizeBytes,
    };
  }

  discover(req: SimHostRequest, target: ConnectTarget): SimHost {
    const guid = nameUuid(`host:${req.name}`);
    const known = this.state.hosts.get(guid);
    if (known !== undefined) {
      if (known.down) throw fail('Unreachable', `host ${known.name} does not answer`, hostScope(guid));
      known.connected = true;
      return known;
    }
    const index = this.hostCount++;
    const cluster = req.pooled ? req.cluster : (target.clusterRef ?? req.cluster);
    const group = req.pooled ? `pool:${req.cluster}` : cluster !== undefined ? `cluster:${cluster}` : `host:${guid}`;
    const h: SimHost = {
      guid,
      name: req.name,
      ip: req.ip ?? `10.1.${Math.floor(index / 250)}.${(index % 250) + 1}`,
      url: `sim://${req.name}`,
      group,
      ...(req.pooled ? { poolUuid: nameUuid(`pool:${req.cluster}`) } : {}),
      cpus: req.cpus,
      cpuSockets: req.cpuSockets,
      cpuMhz: req.cpuMhz,
      memoryBytes: req.memoryBytes,
      reservedMemoryBytes: req.reservedMemoryBytes,
      hostTags: [...new Set([...req.hostTags, ...(target.hostTags ?? [])])],
      trafficLabels: req.trafficLabels,
      connected: true,
      down: false,
      maintenance: false,
      networks: new Map(),
      vms: new Set(),
    };
    if (req.localStorageBytes > 0) {
      const uuid = nameUuid(`local:${req.name}`);
      h.localPoolUuid = uuid;
      this.state.pools.set(uuid, {
        uuid,
        name: `${req.name}-local`,
        type: this.profile.localPool.type,
        path: this.profile.localPool.path,
        capacityBytes: req.localStorageBytes,
        usedBytes: 0,
        hosts: new Set([guid]),
        localTo: guid,
        templates: new Map(),
      });
    }
    this.state.hosts.set(guid, h);
    return h;
  }

  report(h: SimHost): HostReport {
    const local = h.localPoolUuid === undefined ? undefined : this.state.pools.get(h.localPoolUuid);
    return {
      guid: h.guid,
      name: h.name,
      ip: h.ip,
      url: h.url,
      cpus: h.cpus,
      cpuSockets: h.cpuSockets,
      cpuMhz: h.cpuMhz,
      memoryBytes: h.memoryBytes,
      reservedMemoryBytes: h.reservedMemoryBytes,
      hypervisorType: this.type,
      hypervisorVersion: this.options.hypervisorVersion ?? this.profile.version,
      capabilities: {
        hvm: true,
        cpuModel: 'Stratus Simulated CPU',
        cpuFlags: ['vmx', 'sse4_2', 'avx2'],
        uefi: true,
        gpuGroups: [],
      },
      ...(h.poolUuid !== undefined ? { poolUuid: h.poolUuid } : {}),
      hostTags: [...h.hostTags],
      details: {
        os: 'Stratus Simulator',
        kernel: 'sim',
        cpuModel: 'Stratus Simulated CPU',
        networkBackend: 'bridge',
        group: h.group,
      },
      localStorage:
        local === undefined
          ? []
          : [
              {
                uuid: local.uuid,
                name: local.name,
                path: local.path,
                type: local.type,
                capacityBytes: local.capacityBytes,
                availableBytes: local.capacityBytes - local.usedBytes,
              },
            ],
    };
  }

  newVm(h: SimHost, spec: VmSpec, foreign: boolean): SimVm {
    const vm: SimVm = {
      name: spec.name,
      host: h.guid,
      power: 'stopped',
      spec,
      foreign,
      consolePort: null,
      ignoresShutdown: false,
    };
    this.state.vms.set(vm.name, vm);
    h.vms.add(vm.name);
    return vm;
  }

  /**
   * Powers a VM off. Its VIFs go away with it; with `cleanup` (a stop command, the default) the VLAN networks
   * of its NICs are also removed when nothing else uses them, as CloudStack's stop does. Without it (the guest
   * shut down by itself, the host crashed) empty networks linger until the next stop or `cleanupNetwork`.
   */
  powerOff(h: SimHost, vm: SimVm, cleanup = true): void {
    vm.power = 'stopped';
    vm.consolePort = null;
    unplugAll(h, vm.name, false);
    if (!cleanup) return;
    for (const nic of vm.spec.nics) {
      const network = h.networks.get(networkNameOf(this.profile, nic));
      if (network !== undefined) dropIfUnused(h, network, this.caps.networkCleanup);
    }
  }

  freeConsolePort(h: SimHost): number {
    const used = new Set<number>();
    for (const name of h.vms) {
      const port = this.state.vms.get(name)?.consolePort;
      if (port !== null && port !== undefined) used.add(port);
    }
    let port = CONSOLE_BASE_PORT;
    while (used.has(port)) port += 1;
    return port;
  }

  console(h: SimHost, vm: SimVm): ConsoleInfo {
    const port = vm.consolePort ?? CONSOLE_BASE_PORT;
    switch (this.caps.console) {
      case 'rfb':
        return { protocol: 'rfb', host: h.ip, url: `https://${h.ip}/console?ref=${vm.spec.uuid}` };
      case 'webmks':
        return {
          protocol: 'webmks',
          host: h.ip,
          port: 443,
          url: `wss://${h.ip}/ticket/${nameUuid(`ticket:${vm.name}:${port}`)}`,
          ticket: nameUuid(`ticket:${vm.name}:${port}`),
        };
      default:
        return { protocol: 'vnc', host: h.ip, port, password: vm.spec.vncPassword };
    }
  }

  validateSpec(spec: VmSpec): void {
    if (spec.name.trim() === '') throw new InvalidParameterError('spec.name', spec.name, 'a VM needs a name');
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1) {
      throw new InvalidParameterError('spec.cpus', spec.cpus, 'must be a positive integer');
    }
    if (!(spec.maxRamBytes > 0) || spec.minRamBytes > spec.maxRamBytes) {
      throw new InvalidParameterError('spec.maxRamBytes', spec.maxRamBytes, 'must be positive and ≥ minRamBytes');
    }
  }

  /** Every volume disk exists, sits on a pool the host sees and is not attached to another VM; ISOs are staged. */
  validateDisks(h: SimHost, vmName: string, disks: readonly DiskSpec[]): void {
    for (const disk of disks) {
      if (isVolumeDisk(disk)) {
        const vol = this.state.volumes.get(disk.volumeUuid);
        if (vol === undefined) {
          const scope = disk.poolRef === undefined ? undefined : poolScope(disk.poolRef.uuid);
          throw fail('NotFound', `volume ${disk.volumeUuid} does not exist`, scope);
        }
        this.visiblePool(h, vol.pool);
        if (vol.attachedTo !== null && vol.attachedTo !== vmName) {
          throw fail('InvalidState', `volume ${vol.uuid} is attached to VM ${vol.attachedTo}`, poolScope(vol.pool));
        }
      } else if (disk.poolRef !== undefined) {
        const p = this.visiblePool(h, disk.poolRef.uuid);
        if (!p.templates.has(disk.volumeUuid)) {
          throw fail('NotFound', `ISO ${disk.volumeUuid} is not staged on pool ${p.uuid}`, poolScope(p.uuid));
        }
      }
    }
  }

  /** Every NIC's traffic label resolves on the host. */
  validateNics(h: SimHost, nics: readonly NicSpec[]): void {
    for (const nic of nics) {
      if (!labelResolves(h, nic.trafficLabel)) {
        throw fail(
          'NotFound',
          `traffic label ${nic.trafficLabel} does not resolve on host ${h.name}`,
          hostScope(h.guid),
        );
      }
    }
  }

  /** Moves the VM's volume attachments from the `previous` disk list to `next`. */
  attachDisks(vm: SimVm, previous: readonly DiskSpec[], next: readonly DiskSpec[]): void {
    const wanted = new Set(next.filter(isVolumeDisk).map((d) => d.volumeUuid));
    for (const disk of previous) {
      const volume = this.state.volumes.get(disk.volumeUuid);
      if (volume?.attachedTo === vm.name && !wanted.has(volume.uuid)) volume.attachedTo = null;
    }
    for (const uuid of wanted) {
      const volume = this.state.volumes.get(uuid);
      if (volume !== undefined) volume.attachedTo = vm.name;
    }
  }
}
