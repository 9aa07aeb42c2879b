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
  type HypervisorOperation,
  type HypervisorTypeName,
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
  type VmPowerReport,
  type VmRuntimeState,
  type VmSpec,
  type VolumeRef,
  type VolumeResult,
  type VolumeSpec,
} from '@stratus/core';
import { KeyedLock } from '@stratus/core/driver-kit';
import { nameUuid } from './deterministic-id.js';
import { FaultInjector } from './fault-injector.js';
import { type HypervisorProfile, profileFor } from './hypervisor-profile.js';
import { delay, latencyOf, throwIfAborted } from './latency.js';
import { OperationLog } from './operation-log.js';
import { ensureNetwork, hasNetwork, labelResolves, networkNameOf, unplugAll, vifOf } from './sim-network.js';
import { parseSimUrl } from './sim-url.js';
import { DEFAULT_HOST, type SimulatorHostDefaults, type SimulatorOptions } from './simulator-options.js';
import { loadWorld, saveWorld, withSharedWorld } from './simulator-persistence.js';
import { type SimSnapshot, type SimState, type SimulatorStateView, usedMemory, viewOf } from './simulator-state.js';
import { fail, hostScope, isVolumeDisk, poolScope, SimulatorWorld } from './simulator-world.js';

/** What a call is about, for the log and for fault matching. */
interface CallTarget {
  host?: HostRef;
  destination?: HostRef;
  vm?: string;
}

/** Per-call notes the body leaves for the log. */
interface CallRecord {
  note?: string;
}

interface RunOptions {
  /** Serialize on this key (one in-flight mutation per VM, one copy per template and pool). */
  lock?: string;
  /** Report progress 0 and 100. */
  long?: boolean;
}

/** JSON with sorted keys, for "same spec" comparisons. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/**
 * An in-memory hypervisor implementing the full {@link HypervisorDriver} contract, like CloudStack's own
 * Simulator hypervisor: hosts discovered from `sim://` URLs, VMs with power states, pools, volumes, staged
 * templates, snapshots and per-host network plumbing, validated the way a hypervisor would. Deterministic
 * (identities derived from names, no randomness) and, at zero latency, timer-free.
 *
 * Test hooks: {@link faults} (fault injection), {@link setHostDown}, {@link powerOffVm},
 * {@link defineForeignVm}, {@link setGuestIgnoresShutdown}, {@link inspect} and the {@link log}.
 */
export class SimulatorDriver implements HypervisorDriver {
  readonly type: HypervisorTypeName;
  /** Fault injection: make chosen calls fail. */
  readonly faults = new FaultInjector();
  /** Every call answered, with counts per operation. */
  readonly log: OperationLog;

  private readonly world: SimulatorWorld;
  private readonly state: SimState;
  private readonly profile: HypervisorProfile;
  private readonly caps: HypervisorCapabilities;
  private readonly hostDefaults: SimulatorHostDefaults;
  private readonly locks = new KeyedLock();

  constructor(private readonly options: SimulatorOptions = {}) {
    this.type = options.type ?? 'Simulator';
    this.profile = profileFor(this.type);
    this.caps = { ...this.profile.capabilities, ...options.capabilities };
    this.hostDefaults = { ...DEFAULT_HOST, ...options.defaults };
    this.log = new OperationLog(options.logLimit ?? 10_000);
    this.world = new SimulatorWorld(this.type, this.profile, this.caps, options);
    this.state = this.world.state;
    if (options.stateFile !== undefined) loadWorld(this.world, options.stateFile);
    this.shared = options.sharedState === true ? options.stateFile : undefined;
  }

  /** The state file shared with other processes, when `sharedState` is on. */
  private readonly shared: string | undefined;

  capabilities(): HypervisorCapabilities {
    return { ...this.caps, poolTypes: [...this.caps.poolTypes], diskFormats: [...this.caps.diskFormats] };
  }

  // ── Test hooks ───────────────────────────────────────────────────────────────────────────────────────

  /**
   * Take a host down (or bring it back). A down host answers `ping` with `reachable: false` and every other call
   * with `Unreachable`. `crash: true` also powers off its VMs (power loss); otherwise they keep running behind
   * the partition, which `investigate` reports.
   */
  setHostDown(host: string, down = true, options: { crash?: boolean } = {}): void {
    const h = this.world.findHost(host);
    h.down = down;
    if (down && options.crash === true) {
      for (const name of h.vms) {
        const vm = this.state.vms.get(name);
        if (vm !== undefined) this.world.powerOff(h, vm, false);
      }
    }
  }

  /** The VM powers off by itself (guest shutdown or crash); the next `ping` reports `PowerOff`. */
  powerOffVm(vmName: string): void {
    const vm = this.state.vms.get(vmName);
    const h = vm === undefined ? undefined : this.state.hosts.get(vm.host);
    if (vm === undefined || h === undefined) throw fail('NotFound', `no VM named ${vmName}`);
    this.world.powerOff(h, vm, false);
  }

  /** Define a VM on a host behind core's back (a "foreign" VM, reported by `ping`). */
  defineForeignVm(host: string, name: string, options: { memoryBytes?: number; running?: boolean } = {}): void {
    const h = this.world.findHost(host);
    if (this.state.vms.has(name)) throw fail('AlreadyExists', `a VM named ${name} exists`);
    const memory = options.memoryBytes ?? 1024 ** 3;
    const spec: VmSpec = {
      name,
      uuid: nameUuid(`foreign:${name}`),
      type: 'User',
      cpus: 1,
      cpuMhz: 1000,
      minRamBytes: memory,
      maxRamBytes: memory,
      bootOrder: ['hd'],
      osType: 'Other',
      bootArgs: '',
      vncPassword: '',
      disks: [],
      nics: [],
      details: {},
    };
    const vm = this.world.newVm(h, spec, true);
    if (options.running !== false) {
      vm.power = 'running';
      vm.consolePort = this.world.freeConsolePort(h);
    }
  }

  /** The guest ignores ACPI shutdown: a graceful `stopVm` waits `timeoutMs`, then pulls the cord. */
  setGuestIgnoresShutdown(vmName: string, ignores = true): void {
    const vm = this.state.vms.get(vmName);
    if (vm === undefined) throw fail('NotFound', `no VM named ${vmName}`);
    vm.ignoresShutdown = ignores;
  }

  /** A deep copy of the whole simulated state. */
  inspect(): SimulatorStateView {
    return viewOf(this.state, this.type, this.log.counts());
  }

  // ── Hosts ────────────────────────────────────────────────────────────────────────────────────────────

  connect(target: ConnectTarget, ctx?: OperationContext): Promise<HostReport[]> {
    return this.run(
      'connect',
      {},
      [target],
      ctx,
      () => {
        const required = this.options.credentials;
        if (required !== undefined) {
          const given = target.credentials;
          if (
            given === undefined ||
            given.username !== required.username ||
            given.password !== required.password ||
            given.privateKey !== required.privateKey
          ) {
            throw fail('AuthFailed', `authentication failed for ${target.url}`);
          }
        }
        return parseSimUrl(target.url, this.hostDefaults).map((req) =>
          this.world.report(this.world.discover(req, target)),
        );
      },
      { long: true },
    );
  }

  disconnect(host: HostRef, ctx?: OperationContext): Promise<void> {
    return this.run('disconnect', { host }, [host], ctx, () => {
      const h = this.state.hosts.get(host.guid);
      if (h !== undefined) h.connected = false;
    });
  }

  ping(host: HostRef, options?: PingOptions): Promise<PingReport> {
    return this.run('ping', { host }, [host, options], options, () => {
      const h = this.state.hosts.get(host.guid);
      if (h === undefined || !h.connected || h.down) return { reachable: false, healthy: false, vmStates: {} };
      const vmStates: Record<string, VmPowerReport> = {};
      for (const name of h.vms) {
        const vm = this.state.vms.get(name);
        if (vm !== undefined)
          vmStates[name] = { powerState: vm.power === 'running' ? 'PowerOn' : 'PowerOff', host: h.guid };
      }
      for (const name of options?.expectedVms ?? []) {
        vmStates[name] ??= { powerState: 'PowerReportMissing', host: h.guid };
      }
      return {
        reachable: true,
        healthy: true,
        vmStates,
        gatewayAccessible: true,
        vnetAccessible: true,
        hostHealthCheckResult: true,
      };
    });
  }

  // ── VM lifecycle ─────────────────────────────────────────────────────────────────────────────────────

  startVm(host: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<StartVmResult> {
    return this.run(
      'startVm',
      { host, vm: spec.name },
      [host, spec],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        this.world.validateSpec(spec);
        if (h.maintenance) throw fail('InvalidState', `host ${h.name} is in maintenance`, hostScope(h.guid));
        const existing = this.state.vms.get(spec.name);
        if (existing !== undefined) {
          if (existing.power === 'running' && existing.host !== h.guid) {
            throw fail('AlreadyExists', `VM ${spec.name} is running on another host`, hostScope(h.guid));
          }
          if (existing.foreign)
            throw fail('AlreadyExists', `a foreign VM named ${spec.name} exists`, hostScope(h.guid));
          if (existing.power === 'running') {
            if (canonical(existing.spec) !== canonical(spec)) {
              throw fail('AlreadyExists', `VM ${spec.name} is running with a different spec`, hostScope(h.guid));
            }
            rec.note = 'already running';
            return { console: this.world.console(h, existing) };
          }
        }
        if (spec.cpus > h.cpus) {
          throw fail(
            'InsufficientCapacity',
            `VM ${spec.name} wants ${spec.cpus} vCPUs, host ${h.name} has ${h.cpus}`,
            hostScope(h.guid),
          );
        }
        const free = h.memoryBytes - usedMemory(this.state, h, spec.name);
        if (spec.maxRamBytes > free) {
          throw fail(
            'InsufficientCapacity',
            `host ${h.name} has ${free} bytes of memory free, VM ${spec.name} needs ${spec.maxRamBytes}`,
            hostScope(h.guid),
          );
        }
        this.world.validateDisks(h, spec.name, spec.disks);
        this.world.validateNics(h, spec.nics);

        // All checks passed: mutate.
        let vm = existing;
        if (vm !== undefined && vm.host !== h.guid) {
          this.state.hosts.get(vm.host)?.vms.delete(vm.name);
          vm.host = h.guid;
          h.vms.add(vm.name);
        }
        const copy = structuredClone(spec);
        const previous = vm?.spec.disks ?? [];
        if (vm === undefined) vm = this.world.newVm(h, copy, false);
        else vm.spec = copy;
        this.world.attachDisks(vm, previous, copy.disks);
        for (const nic of copy.nics) ensureNetwork(this.profile, h, nic).network.vifs.add(vifOf(vm.name, nic));
        vm.power = 'running';
        vm.consolePort = this.world.freeConsolePort(h);
        return { console: this.world.console(h, vm) };
      },
      { lock: `vm:${spec.name}`, long: true },
    );
  }

  stopVm(host: HostRef, vmName: string, options?: StopVmOptions): Promise<void> {
    return this.run(
      'stopVm',
      { host, vm: vmName },
      [host, vmName, options],
      options,
      async (rec) => {
        const h = this.world.liveHost(host);
        const vm = this.state.vms.get(vmName);
        if (vm === undefined || vm.host !== h.guid) {
          rec.note = 'not on host';
          return;
        }
        if (vm.power === 'stopped') {
          rec.note = 'already stopped';
          this.world.powerOff(h, vm);
          return;
        }
        if (vm.ignoresShutdown && options?.force !== true) {
          const wait = options?.timeoutMs ?? 0;
          if (wait > 0) await delay(wait, options?.signal, 'stopVm');
          rec.note = 'guest ignored shutdown; powered off';
        }
        this.world.powerOff(h, vm);
      },
      { lock: `vm:${vmName}` },
    );
  }

  rebootVm(host: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.run(
      'rebootVm',
      { host, vm: vmName },
      [host, vmName],
      ctx,
      () => {
        const h = this.world.liveHost(host);
        const vm = this.world.vmOn(h, vmName);
        if (vm.power !== 'running') throw fail('InvalidState', `VM ${vmName} is not running`, hostScope(h.guid));
      },
      { lock: `vm:${vmName}` },
    );
  }

  destroyVm(host: HostRef, vmName: string, ctx?: OperationContext): Promise<void> {
    return this.run(
      'destroyVm',
      { host, vm: vmName },
      [host, vmName],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const vm = this.state.vms.get(vmName);
        if (vm === undefined || vm.host !== h.guid) {
          rec.note = 'not on host';
          return;
        }
        this.world.powerOff(h, vm);
        this.world.attachDisks(vm, vm.spec.disks, []);
        h.vms.delete(vmName);
        this.state.vms.delete(vmName);
      },
      { lock: `vm:${vmName}` },
    );
  }

  getVmState(host: HostRef, vmName: string, ctx?: OperationContext): Promise<VmRuntimeState> {
    return this.run('getVmState', { host, vm: vmName }, [host, vmName], ctx, () => {
      const h = this.world.liveHost(host);
      const vm = this.state.vms.get(vmName);
      if (vm === undefined || vm.host !== h.guid) return 'missing';
      return vm.power;
    });
  }

  prepareMigration(destination: HostRef, spec: VmSpec, ctx?: OperationContext): Promise<void> {
    return this.run('prepareMigration', { host: destination, vm: spec.name }, [destination, spec], ctx, () => {
      const h = this.world.liveHost(destination);
      if (h.maintenance) throw fail('InvalidState', `host ${h.name} is in maintenance`, hostScope(h.guid));
      this.world.validateNics(h, spec.nics);
      for (const disk of spec.disks) {
        if (isVolumeDisk(disk) && disk.poolRef !== undefined) this.world.visiblePool(h, disk.poolRef.uuid);
      }
      for (const nic of spec.nics) ensureNetwork(this.profile, h, nic);
    });
  }

  migrateVm(
    source: HostRef,
    vmName: string,
    destination: HostRef,
    options?: MigrateVmOptions,
  ): Promise<MigrateVmResult> {
    return this.run(
      'migrateVm',
      { host: source, destination, vm: vmName },
      [source, vmName, destination, options],
      options,
      (rec) => {
        const src = this.world.liveHost(source);
        const dst = this.world.liveHost(destination);
        const vm = this.state.vms.get(vmName);
        if (vm?.host === dst.guid) {
          rec.note = 'already on destination';
          return { hostGuid: dst.guid };
        }
        if (vm === undefined || vm.host !== src.guid) {
          throw fail('NotFound', `VM ${vmName} is not on host ${src.name}`, hostScope(src.guid));
        }
        const live = options?.live ?? true;
        if (vm.power === 'running' && !live) {
          throw fail(
            'InvalidState',
            `VM ${vmName} is running; an offline migration needs it stopped`,
            hostScope(src.guid),
          );
        }
        if (vm.power === 'running' && !this.caps.liveMigration) throw this.world.unsupported('live migration');
        if (src.group !== dst.group) {
          throw fail('InvalidState', `host ${dst.name} is not in the cluster of host ${src.name}`, hostScope(dst.guid));
        }
        if (dst.maintenance) throw fail('InvalidState', `host ${dst.name} is in maintenance`, hostScope(dst.guid));
        for (const disk of vm.spec.disks) {
          if (!isVolumeDisk(disk)) continue;
          const volume = this.state.volumes.get(disk.volumeUuid);
          if (volume !== undefined && !this.state.pools.get(volume.pool)?.hosts.has(dst.guid)) {
            throw fail(
              'InvalidState',
              `volume ${volume.uuid} is on pool ${volume.pool}, which host ${dst.name} does not see`,
              hostScope(dst.guid),
            );
          }
        }
        if (vm.power === 'running') {
          const free = dst.memoryBytes - usedMemory(this.state, dst);
          if (vm.spec.maxRamBytes > free) {
            throw fail(
              'InsufficientCapacity',
              `host ${dst.name} has ${free} bytes of memory free`,
              hostScope(dst.guid),
            );
          }
          const missing = vm.spec.nics.filter((nic) => !hasNetwork(this.profile, dst, nic));
          if (missing.length > 0) {
            throw fail(
              'InvalidState',
              `network ${networkNameOf(this.profile, missing[0] as NicSpec)} is not plumbed on host ${dst.name} (prepareMigration first)`,
              hostScope(dst.guid),
            );
          }
        }
        const running = vm.power === 'running';
        unplugAll(src, vmName, this.caps.networkCleanup);
        src.vms.delete(vmName);
        dst.vms.add(vmName);
        vm.host = dst.guid;
        if (running) {
          for (const nic of vm.spec.nics) ensureNetwork(this.profile, dst, nic).network.vifs.add(vifOf(vmName, nic));
          vm.consolePort = this.world.freeConsolePort(dst);
        }
        return { hostGuid: dst.guid };
      },
      { lock: `vm:${vmName}`, long: true },
    );
  }

  migrateVolume(
    host: HostRef,
    volume: VolumeRef,
    destination: PoolRef,
    options?: MigrateVolumeOptions,
  ): Promise<VolumeResult> {
    return this.run(
      'migrateVolume',
      { host, ...(options?.vmName !== undefined ? { vm: options.vmName } : {}) },
      [host, volume, destination, options],
      options,
      (rec) => {
        const h = this.world.liveHost(host);
        const vol = this.world.volume(volume.uuid);
        const to = this.world.visiblePool(h, destination.uuid);
        if (vol.pool === to.uuid) {
          rec.note = 'already on pool';
          return this.world.volumeResult(vol);
        }
        this.world.visiblePool(h, vol.pool);
        const owner = vol.attachedTo === null ? undefined : this.state.vms.get(vol.attachedTo);
        if (owner?.power === 'running' && !this.caps.storageMigration)
          throw this.world.unsupported('live storage migration');
        this.world.reserve(to, vol.sizeBytes);
        this.world.release(this.world.pool(vol.pool), vol.sizeBytes);
        vol.pool = to.uuid;
        if (owner !== undefined) {
          owner.spec = {
            ...owner.spec,
            disks: owner.spec.disks.map((d) =>
              d.volumeUuid === vol.uuid ? { ...d, poolRef: { uuid: to.uuid, type: to.type } } : d,
            ),
          };
        }
        return this.world.volumeResult(vol);
      },
      { lock: `volume:${volume.uuid}`, long: true },
    );
  }

  // ── Storage ──────────────────────────────────────────────────────────────────────────────────────────

  createStoragePool(host: HostRef, pool: PoolSpec, ctx?: OperationContext): Promise<StoragePoolReport> {
    return this.run('createStoragePool', { host }, [host, pool], ctx, () => {
      const h = this.world.liveHost(host);
      let p = this.state.pools.get(pool.uuid);
      if (p?.localTo !== undefined) {
        if (p.localTo !== h.guid) {
          throw fail('InvalidState', `pool ${pool.uuid} is local to another host`, hostScope(h.guid));
        }
      } else if (p !== undefined) {
        if (p.type !== pool.type || p.path !== pool.path || p.server !== pool.server) {
          throw fail(
            'AlreadyExists',
            `pool ${pool.uuid} exists with a different type or location`,
            poolScope(pool.uuid),
          );
        }
      } else {
        if (!this.caps.poolTypes.includes(pool.type)) throw this.world.unsupported(`pool type ${pool.type}`);
        p = {
          uuid: pool.uuid,
          name: pool.name,
          type: pool.type,
          ...(pool.server !== undefined ? { server: pool.server } : {}),
          path: pool.path,
          capacityBytes: this.world.poolCapacity(pool.details),
          usedBytes: 0,
          hosts: new Set(),
          templates: new Map(),
        };
        this.state.pools.set(p.uuid, p);
      }
      p.hosts.add(h.guid);
      return {
        capacityBytes: p.capacityBytes,
        availableBytes: p.capacityBytes - p.usedBytes,
        templates: [...p.templates.keys()],
      };
    });
  }

  deleteStoragePool(host: HostRef, pool: PoolRef, ctx?: OperationContext): Promise<void> {
    return this.run('deleteStoragePool', { host }, [host, pool], ctx, (rec) => {
      const h = this.world.liveHost(host);
      const p = this.state.pools.get(pool.uuid);
      if (p === undefined || !p.hosts.has(h.guid)) {
        rec.note = 'not on host';
        return;
      }
      for (const name of h.vms) {
        const vm = this.state.vms.get(name);
        if (vm?.power !== 'running') continue;
        const uses = vm.spec.disks.some(
          (d) => isVolumeDisk(d) && this.state.volumes.get(d.volumeUuid)?.pool === p.uuid,
        );
        if (uses) throw fail('InvalidState', `running VM ${name} has a volume on pool ${p.uuid}`, poolScope(p.uuid));
      }
      if (p.localTo !== undefined) {
        rec.note = 'local pool stays';
        return;
      }
      p.hosts.delete(h.guid);
      if (p.hosts.size === 0 && p.usedBytes === 0) this.state.pools.delete(p.uuid);
    });
  }

  copyTemplateToPrimary(
    host: HostRef,
    template: TemplateSpec,
    pool: PoolRef,
    ctx?: OperationContext,
  ): Promise<StagedTemplate> {
    return this.run(
      'copyTemplateToPrimary',
      { host },
      [host, template, pool],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const p = this.world.visiblePool(h, pool.uuid);
        let staged = p.templates.get(template.uuid);
        if (staged !== undefined) {
          rec.note = 'already staged';
        } else {
          if (!this.caps.diskFormats.includes(template.format))
            throw this.world.unsupported(`template format ${template.format}`);
          const physical = template.physicalSizeBytes ?? template.sizeBytes;
          this.world.reserve(p, physical);
          staged = {
            templateUuid: template.uuid,
            path: template.uuid,
            format: template.format,
            sizeBytes: template.sizeBytes,
            physicalSizeBytes: physical,
            copies: 1,
          };
          p.templates.set(template.uuid, staged);
          rec.note = 'copied';
        }
        return {
          templateUuid: staged.templateUuid,
          poolUuid: p.uuid,
          path: staged.path,
          sizeBytes: staged.sizeBytes,
          physicalSizeBytes: staged.physicalSizeBytes,
        };
      },
      { lock: `template:${template.uuid}@${pool.uuid}`, long: true },
    );
  }

  createVolume(host: HostRef, volume: VolumeSpec, options?: CreateVolumeOptions): Promise<VolumeResult> {
    return this.run(
      'createVolume',
      { host },
      [host, volume, options],
      options,
      (rec) => {
        const h = this.world.liveHost(host);
        const p = this.world.visiblePool(h, volume.pool.uuid);
        const from = options?.fromTemplate;
        const existing = this.state.volumes.get(volume.uuid);
        if (existing !== undefined) {
          const same =
            existing.pool === p.uuid &&
            existing.format === volume.format &&
            existing.type === volume.type &&
            existing.fromTemplate === from?.templateUuid &&
            (existing.sizeBytes === volume.sizeBytes || from !== undefined);
          if (!same)
            throw fail('AlreadyExists', `volume ${volume.uuid} exists with a different spec`, poolScope(p.uuid));
          rec.note = 'already exists';
          return this.world.volumeResult(existing);
        }
        let size = volume.sizeBytes;
        if (from !== undefined) {
          const staged = p.templates.get(from.templateUuid);
          if (staged === undefined) {
            throw fail('NotFound', `template ${from.templateUuid} is not staged on pool ${p.uuid}`, poolScope(p.uuid));
          }
          size = Math.max(size, staged.sizeBytes);
        }
        return this.world.volumeResult(
          this.world.addVolume(p, volume, size, from === undefined ? {} : { fromTemplate: from.templateUuid }),
        );
      },
      { lock: `volume:${volume.uuid}`, long: options?.fromTemplate !== undefined },
    );
  }

  deleteVolume(host: HostRef, volume: VolumeRef, ctx?: OperationContext): Promise<void> {
    return this.run(
      'deleteVolume',
      { host },
      [host, volume],
      ctx,
      (rec) => {
        this.world.liveHost(host);
        const vol = this.state.volumes.get(volume.uuid);
        if (vol === undefined) {
          rec.note = 'not found';
          return;
        }
        if (vol.attachedTo !== null) {
          throw fail('InvalidState', `volume ${vol.uuid} is attached to VM ${vol.attachedTo}`, poolScope(vol.pool));
        }
        this.world.release(this.world.pool(vol.pool), vol.sizeBytes);
        this.state.volumes.delete(vol.uuid);
      },
      { lock: `volume:${volume.uuid}` },
    );
  }

  resizeVolume(
    host: HostRef,
    volume: VolumeRef,
    newSizeBytes: number,
    options?: ResizeVolumeOptions,
  ): Promise<VolumeResult> {
    return this.run(
      'resizeVolume',
      { host, ...(options?.vmName !== undefined ? { vm: options.vmName } : {}) },
      [host, volume, newSizeBytes, options],
      options,
      () => {
        if (!this.caps.volumeResize) throw this.world.unsupported('volume resize');
        const h = this.world.liveHost(host);
        const vol = this.world.volume(volume.uuid);
        const p = this.world.visiblePool(h, vol.pool);
        if (newSizeBytes < vol.sizeBytes) throw this.world.unsupported(`shrinking volume ${vol.uuid}`);
        this.world.reserve(p, newSizeBytes - vol.sizeBytes);
        vol.sizeBytes = newSizeBytes;
        const owner = vol.attachedTo === null ? undefined : this.state.vms.get(vol.attachedTo);
        if (owner !== undefined) {
          owner.spec = {
            ...owner.spec,
            disks: owner.spec.disks.map((d) => (d.volumeUuid === vol.uuid ? { ...d, sizeBytes: newSizeBytes } : d)),
          };
        }
        return this.world.volumeResult(vol);
      },
      { lock: `volume:${volume.uuid}` },
    );
  }

  attachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.run(
      'attachVolume',
      { host, vm: vmName },
      [host, vmName, disk],
      ctx,
      (rec) => {
        if (!isVolumeDisk(disk)) throw new InvalidParameterError('disk.type', disk.type, 'use attachIso for an ISO');
        const h = this.world.liveHost(host);
        const vm = this.world.vmOn(h, vmName);
        const current = vm.spec.disks.find((d) => d.volumeUuid === disk.volumeUuid);
        if (current !== undefined) {
          if (current.deviceId !== disk.deviceId) {
            throw fail(
              'AlreadyExists',
              `volume ${disk.volumeUuid} is attached at device ${current.deviceId}`,
              hostScope(h.guid),
            );
          }
          rec.note = 'already attached';
          return;
        }
        if (vm.power === 'running' && !this.caps.hotPlugDisk) throw this.world.unsupported('disk hot-plug');
        this.world.validateDisks(h, vmName, [disk]);
        if (vm.spec.disks.some((d) => d.deviceId === disk.deviceId)) {
          throw fail('AlreadyExists', `VM ${vmName} has another disk at device ${disk.deviceId}`, hostScope(h.guid));
        }
        const previous = vm.spec.disks;
        vm.spec = { ...vm.spec, disks: [...previous, structuredClone(disk)] };
        this.world.attachDisks(vm, previous, vm.spec.disks);
      },
      { lock: `vm:${vmName}` },
    );
  }

  detachVolume(host: HostRef, vmName: string, disk: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.run(
      'detachVolume',
      { host, vm: vmName },
      [host, vmName, disk],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const vm = this.world.vmOn(h, vmName);
        const current = vm.spec.disks.find((d) => isVolumeDisk(d) && d.volumeUuid === disk.volumeUuid);
        if (current === undefined) {
          rec.note = 'not attached';
          return;
        }
        if (vm.power === 'running') {
          if (current.type === 'ROOT') {
            throw fail('InvalidState', `cannot detach the root disk of running VM ${vmName}`, hostScope(h.guid));
          }
          if (!this.caps.hotPlugDisk) throw this.world.unsupported('disk hot-unplug');
        }
        const previous = vm.spec.disks;
        vm.spec = { ...vm.spec, disks: previous.filter((d) => d !== current) };
        this.world.attachDisks(vm, previous, vm.spec.disks);
      },
      { lock: `vm:${vmName}` },
    );
  }

  attachIso(host: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.run(
      'attachIso',
      { host, vm: vmName },
      [host, vmName, iso],
      ctx,
      (rec) => {
        if (iso.type !== 'ISO') throw new InvalidParameterError('iso.type', iso.type, 'attachIso takes an ISO disk');
        const h = this.world.liveHost(host);
        const vm = this.world.vmOn(h, vmName);
        const inserted = vm.spec.disks.find((d) => d.type === 'ISO');
        if (inserted !== undefined) {
          if (inserted.volumeUuid !== iso.volumeUuid) {
            throw fail(
              'AlreadyExists',
              `VM ${vmName} has ISO ${inserted.volumeUuid} inserted; detach it first`,
              hostScope(h.guid),
            );
          }
          rec.note = 'already inserted';
          return;
        }
        this.world.validateDisks(h, vmName, [iso]);
        vm.spec = { ...vm.spec, disks: [...vm.spec.disks, structuredClone(iso)] };
      },
      { lock: `vm:${vmName}` },
    );
  }

  detachIso(host: HostRef, vmName: string, iso: DiskSpec, ctx?: OperationContext): Promise<void> {
    return this.run(
      'detachIso',
      { host, vm: vmName },
      [host, vmName, iso],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const vm = this.world.vmOn(h, vmName);
        if (!vm.spec.disks.some((d) => d.type === 'ISO')) rec.note = 'none inserted';
        vm.spec = { ...vm.spec, disks: vm.spec.disks.filter((d) => d.type !== 'ISO') };
      },
      { lock: `vm:${vmName}` },
    );
  }

  createSnapshot(host: HostRef, snapshot: SnapshotSpec, ctx?: OperationContext): Promise<SnapshotResult> {
    return this.run(
      'createSnapshot',
      { host, ...(snapshot.vmName !== undefined ? { vm: snapshot.vmName } : {}) },
      [host, snapshot],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const vol = this.world.volume(snapshot.volume.uuid);
        const p = this.world.visiblePool(h, vol.pool);
        const existing = this.state.snapshots.get(snapshot.uuid);
        if (existing !== undefined) {
          if (existing.volume !== vol.uuid) {
            throw fail('AlreadyExists', `snapshot ${snapshot.uuid} exists for another volume`, poolScope(p.uuid));
          }
          rec.note = 'already exists';
          return this.world.snapshotResult(existing);
        }
        let parentUuid: string | undefined;
        if (this.caps.incrementalSnapshots) {
          for (const s of this.state.snapshots.values()) if (s.volume === vol.uuid) parentUuid = s.uuid;
        }
        this.world.reserve(p, vol.sizeBytes);
        const snap: SimSnapshot = {
          uuid: snapshot.uuid,
          name: snapshot.name,
          volume: vol.uuid,
          primaryPool: p.uuid,
          primaryPath: `${vol.path}/snapshots/${snapshot.uuid}`,
          physicalSizeBytes: vol.sizeBytes,
          ...(parentUuid !== undefined ? { parentUuid } : {}),
        };
        this.state.snapshots.set(snap.uuid, snap);
        return this.world.snapshotResult(snap);
      },
      { lock: `snapshot:${snapshot.uuid}` },
    );
  }

  backupSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    store: SecondaryStoreRef,
    options?: BackupSnapshotOptions,
  ): Promise<SnapshotBackupResult> {
    return this.run(
      'backupSnapshot',
      { host },
      [host, snapshot, store, options],
      options,
      (rec) => {
        this.world.liveHost(host);
        const snap = this.world.snapshot(snapshot.uuid);
        const secondary = this.world.secondary(store);
        let removedFromPrimary = false;
        if (snap.backup === undefined) {
          if (snap.primaryPool === null) throw fail('NotFound', `snapshot ${snap.uuid} has no copy to back up`);
          const ext = this.profile.defaultFormat;
          const path = `snapshots/${snap.volume}/${snap.uuid}.${ext}`;
          secondary.objects.set(path, {
            kind: 'snapshot',
            uuid: snap.uuid,
            format: ext,
            sizeBytes: snap.physicalSizeBytes,
            physicalSizeBytes: snap.physicalSizeBytes,
          });
          snap.backup = { store: secondary.uuid, path };
        } else {
          rec.note = 'already backed up';
        }
        if (options?.keepOnPrimary !== true && snap.primaryPool !== null) {
          this.world.release(this.world.pool(snap.primaryPool), snap.physicalSizeBytes);
          snap.primaryPool = null;
          removedFromPrimary = true;
        }
        return {
          store: { uuid: secondary.uuid, url: secondary.url },
          path: snap.backup.path,
          physicalSizeBytes: snap.physicalSizeBytes,
          removedFromPrimary,
        };
      },
      { lock: `snapshot:${snapshot.uuid}`, long: true },
    );
  }

  deleteSnapshot(host: HostRef, snapshot: SnapshotRef, ctx?: OperationContext): Promise<void> {
    return this.run(
      'deleteSnapshot',
      { host },
      [host, snapshot],
      ctx,
      (rec) => {
        this.world.liveHost(host);
        const snap = this.state.snapshots.get(snapshot.uuid);
        if (snap === undefined) {
          rec.note = 'not found';
          return;
        }
        if (snap.primaryPool !== null) {
          const p = this.state.pools.get(snap.primaryPool);
          if (p !== undefined) this.world.release(p, snap.physicalSizeBytes);
        }
        if (snap.backup !== undefined) this.state.secondary.get(snap.backup.store)?.objects.delete(snap.backup.path);
        this.state.snapshots.delete(snap.uuid);
      },
      { lock: `snapshot:${snapshot.uuid}` },
    );
  }

  createVolumeFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    volume: VolumeSpec,
    ctx?: OperationContext,
  ): Promise<VolumeResult> {
    return this.run(
      'createVolumeFromSnapshot',
      { host },
      [host, snapshot, volume],
      ctx,
      (rec) => {
        const h = this.world.liveHost(host);
        const snap = this.world.snapshot(snapshot.uuid);
        const p = this.world.visiblePool(h, volume.pool.uuid);
        const existing = this.state.volumes.get(volume.uuid);
        if (existing !== undefined) {
          if (existing.fromSnapshot !== snap.uuid || existing.pool !== p.uuid) {
            throw fail('AlreadyExists', `volume ${volume.uuid} exists with a different spec`, poolScope(p.uuid));
          }
          rec.note = 'already exists';
          return this.world.volumeResult(existing);
        }
        const size = Math.max(volume.sizeBytes, snap.physicalSizeBytes);
        return this.world.volumeResult(this.world.addVolume(p, volume, size, { fromSnapshot: snap.uuid }));
      },
      { lock: `volume:${volume.uuid}`, long: true },
    );
  }

  createTemplateFromVolume(
    host: HostRef,
    volume: VolumeRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult> {
    return this.run(
      'createTemplateFromVolume',
      { host },
      [host, volume, template],
      ctx,
      () => {
        this.world.liveHost(host);
        const vol = this.world.volume(volume.uuid);
        const owner = vol.attachedTo === null ? undefined : this.state.vms.get(vol.attachedTo);
        if (owner?.power === 'running') {
          throw fail('InvalidState', `volume ${vol.uuid} belongs to running VM ${owner.name}; stop it first`);
        }
        return this.world.writeTemplate(template, template.format ?? vol.format, vol.sizeBytes);
      },
      { lock: `template:${template.uuid}`, long: true },
    );
  }

  createTemplateFromSnapshot(
    host: HostRef,
    snapshot: SnapshotRef,
    template: TemplateTarget,
    ctx?: OperationContext,
  ): Promise<TemplateResult> {
    return this.run(
      'createTemplateFromSnapshot',
      { host },
      [host, snapshot, template],
      ctx,
      () => {
        this.world.liveHost(host);
        const snap = this.world.snapshot(snapshot.uuid);
        return this.world.writeTemplate(
          template,
          template.format ?? this.profile.defaultFormat,
          snap.physicalSizeBytes,
        );
      },
      { lock: `template:${template.uuid}`, long: true },
    );
  }

  // ── Network plumbing ─────────────────────────────────────────────────────────────────────────────────

  checkNetwork(
    host: HostRef,
    labels: readonly TrafficLabelCheck[],
    ctx?: OperationContext,
  ): Promise<CheckNetworkResult> {
    return this.run('checkNetwork', { host }, [host, labels], ctx, () => {
      const h = this.world.liveHost(host);
      const unresolved = labels.filter((l) => !labelResolves(h, l.label)).map((l) => ({ ...l }));
      return { ok: unresolved.length === 0, unresolved };
    });
  }

  // ── Maintenance and HA ───────────────────────────────────────────────────────────────────────────────

  prepareMaintenance(host: HostRef, ctx?: OperationContext): Promise<void> {
    return this.run('prepareMaintenance', { host }, [host], ctx, () => {
      const h = this.world.liveHost(host);
      if (this.caps.connectionUnit === 'pool') {
        const others = [...this.state.hosts.values()].filter(
          (o) => o.group === h.group && o.guid !== h.guid && o.connected && !o.down && !o.maintenance,
        );
        if (others.length === 0) {
          throw fail('InvalidState', `host ${h.name} is the last live member of its pool`, hostScope(h.guid));
        }
      }
      h.maintenance = true;
    });
  }

  cancelMaintenance(host: HostRef, ctx?: OperationContext): Promise<void> {
    return this.run('cancelMaintenance', { host }, [host], ctx, () => {
      this.world.liveHost(host).maintenance = false;
    });
  }

  // ── Machinery ────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Runs one call: abort check, simulated latency, injected faults, then the body; logs the outcome.
   * Without latency and without a contended lock no timer and no extra await is involved.
   */
  private run<T>(
    operation: HypervisorOperation,
    target: CallTarget,
    args: readonly unknown[],
    ctx: OperationContext | undefined,
    body: (rec: CallRecord) => T | Promise<T>,
    options: RunOptions = {},
  ): Promise<T> {
    const rec: CallRecord = {};
    const exec = async (): Promise<T> => {
      const signal = ctx?.signal;
      throwIfAborted(signal, operation);
      if (options.long === true) ctx?.onProgress?.(0, `${operation} started`);
      const ms = latencyOf(this.options.latencyMs, operation);
      if (ms > 0) await delay(ms, signal, operation);
      const fault = this.faults.take({
        operation,
        ...this.describe('host', target.host),
        ...this.describe('destination', target.destination),
        ...(target.vm !== undefined ? { vm: target.vm } : {}),
        args,
      });
      if (fault !== undefined) {
        rec.note = 'injected fault';
        throw fault;
      }
      const result = await (this.shared === undefined
        ? body(rec)
        : withSharedWorld(this.world, this.shared, () => body(rec)));
      if (options.long === true) ctx?.onProgress?.(100, `${operation} done`);
      return result;
    };
    const promise = options.lock === undefined ? exec() : this.locks.run(options.lock, exec);
    const entry = {
      operation,
      ...(target.host !== undefined ? { host: target.host.guid } : {}),
      ...(target.vm !== undefined ? { vm: target.vm } : {}),
    };
    return promise.then(
      (result) => {
        this.persist();
        this.log.record({ ...entry, outcome: 'ok', ...(rec.note !== undefined ? { note: rec.note } : {}) });
        return result;
      },
      (error: unknown) => {
        this.persist();
        const errorCode =
          error instanceof DriverError ? error.driverCode : ((error as { code?: string } | null)?.code ?? 'Error');
        this.log.record({
          ...entry,
          outcome: 'error',
          errorCode,
          ...(rec.note !== undefined ? { note: rec.note } : {}),
        });
        throw error;
      },
    );
  }

  /** Saves the world to `options.stateFile`, when set, before the caller sees the call's outcome. */
  private persist(): void {
    if (this.options.stateFile !== undefined && this.shared === undefined)
      saveWorld(this.world, this.options.stateFile);
  }

  private describe(
    key: 'host' | 'destination',
    ref: HostRef | undefined,
  ): Record<string, { guid: string; name: string }> {
    if (ref === undefined) return {};
    const name = this.state.hosts.get(ref.guid)?.name ?? ref.name ?? ref.guid;
    return { [key]: { guid: ref.guid, name } };
  }
}
