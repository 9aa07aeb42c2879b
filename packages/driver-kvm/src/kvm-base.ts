import {
  type ConsoleInfo,
  type DiskSpec,
  DriverError,
  type HostRef,
  type HypervisorCapabilities,
  type NetworkSetupResult,
  type NicSpec,
  type OperationContext,
  type VmSpec,
  type VolumeResult,
} from '@stratus/core';
import { KeyedLock } from '@stratus/core/driver-kit';
import { type BridgeBackend, diskSerial, vlanOf } from './domain-xml.js';
import { fail, firstColumn, formatOf, type KvmHost, poolFail } from './kvm-host.js';
import type { KvmDriverOptions } from './kvm-options.js';
import type { LibvirtTransport } from './libvirt-transport.js';
import { isConnectionLost } from './ssh-session.js';
import { isoPathOnHost } from './template-staging.js';
import { attr, buildXml, child, children, parseXml, text, type XmlNode } from './xml.js';

/** The shared core of the KVM driver: connected hosts, per-key locks, the retry-once-on-a-dropped-connection wrapper, and the libvirt queries several concerns use (pools, volumes, disks, bridges, consoles). */
export abstract class KvmBase {
  protected readonly hosts = new Map<string, KvmHost>();
  protected readonly locks = new KeyedLock();
  protected readonly backend: BridgeBackend;

  /** What this driver supports (drivers.md §2.1). */
  abstract capabilities(): HypervisorCapabilities;

  constructor(protected readonly options: KvmDriverOptions = {}) {
    this.backend = options.bridgeBackend ?? 'linux';
  }

  /** The transport of a connected host (tests, benchmarks). */
  transportOf(host: HostRef): LibvirtTransport {
    return this.host(host).transport;
  }

  protected host(ref: HostRef): KvmHost {
    const h = this.hosts.get(ref.guid);
    if (h === undefined) throw fail('Unreachable', `host ${ref.name ?? ref.guid} is not connected`);
    return h;
  }

  /** Runs `fn`, retrying once when the connection dropped under it (every operation here is idempotent). */
  protected async op<T>(ref: HostRef, fn: (h: KvmHost) => Promise<T>, ctx?: OperationContext): Promise<T> {
    const h = this.host(ref);
    if (ctx?.signal?.aborted) throw fail('Timeout', 'operation aborted', h);
    try {
      return await fn(h);
    } catch (err) {
      if (!isConnectionLost(err) || ctx?.signal?.aborted) throw err;
      return fn(h);
    }
  }

  protected async vmLocked<T>(ref: HostRef, vm: string, fn: (h: KvmHost) => Promise<T>, ctx?: OperationContext) {
    return this.locks.run(`vm:${ref.guid}:${vm}`, () => this.op(ref, fn, ctx));
  }

  protected async interfaceNames(t: LibvirtTransport): Promise<string[]> {
    try {
      return firstColumn(await t.virsh(['iface-list', '--all']));
    } catch (err) {
      if (DriverError.is(err, 'Unsupported')) return [];
      throw err;
    }
  }

  /** The physical interface under a label bridge (`iface-dumpxml`), for `<pif>.<vlan>` sub-interfaces. */
  protected async pifOf(h: KvmHost, label: string): Promise<string> {
    const x = child(parseXml(await h.transport.virsh(['iface-dumpxml', '--', label])), 'interface');
    const inner = children(child(x, 'bridge'), 'interface')[0];
    const name = attr(inner, 'name');
    if (name === undefined) throw fail('NotFound', `bridge ${label} has no physical interface`, h);
    return name.split('.')[0] ?? name;
  }

  protected async plumb(h: KvmHost, nic: NicSpec): Promise<NetworkSetupResult> {
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

  protected async poolXml(h: KvmHost, uuid: string): Promise<XmlNode> {
    try {
      return child(parseXml(await h.transport.virsh(['pool-dumpxml', '--', uuid])), 'pool') ?? {};
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) throw poolFail('NotFound', `pool ${uuid} is not on host ${h.name}`, uuid);
      throw err;
    }
  }

  protected async volumeInfo(h: KvmHost, pool: string, name: string): Promise<XmlNode | undefined> {
    try {
      return child(parseXml(await h.transport.virsh(['vol-dumpxml', '--pool', pool, '--', name])), 'volume');
    } catch (err) {
      if (DriverError.is(err, 'NotFound')) return undefined;
      throw err;
    }
  }

  protected volumeResultOf(vol: XmlNode, uuid: string, pool: string): VolumeResult {
    return {
      uuid,
      poolUuid: pool,
      path: text(child(vol, 'target'), 'path') ?? '',
      sizeBytes: Number(text(vol, 'capacity') ?? 0),
      format: formatOf(attr(child(child(vol, 'target'), 'format'), 'type') ?? 'qcow2'),
    };
  }

  /** Names of domains whose definition references `path`. */
  protected async domainsUsing(h: KvmHost, match: (d: XmlNode) => boolean): Promise<string[]> {
    const users: string[] = [];
    for (const d of await h.transport.listDomains()) {
      const xml = await h.transport.domainXml(d.name, !d.active).catch(() => undefined);
      if (xml !== undefined && match(child(parseXml(xml), 'domain') ?? {})) users.push(d.name);
    }
    return users;
  }

  /** Names of running or paused domains with a disk on `path`. */
  protected async activeDomainsUsing(h: KvmHost, path: string): Promise<string[]> {
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
  protected async deleteVolumeByName(h: KvmHost, pool: string, name: string): Promise<void> {
    await h.transport.virsh(['vol-delete', '--pool', pool, '--', name]).catch((err: unknown) => {
      if (!DriverError.is(err, 'NotFound')) throw err;
    });
  }

  /** A VM's power state and its `<disk>` elements as the hypervisor has them now; NotFound when it is not there. */
  protected async vmDisks(h: KvmHost, vmName: string) {
    const state = await h.transport.domainState(vmName);
    if (state === 'missing') throw fail('NotFound', `VM ${vmName} is not on host ${h.name}`, h);
    const disks = children(
      child(child(parseXml(await h.transport.domainXml(vmName, true)), 'domain'), 'devices'),
      'disk',
    );
    return { state, disks };
  }

  /** Edits the persistent definition of a stopped domain (devices list) and defines it again. */
  protected async editDisks(h: KvmHost, vmName: string, edit: (disks: XmlNode[]) => XmlNode[] | undefined) {
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

  protected sameDisk(x: XmlNode, disk: DiskSpec): boolean {
    return text(x, 'serial') === diskSerial(disk.volumeUuid) || attr(child(x, 'source'), 'file') === disk.path;
  }

  protected stagingOptions(ctx?: OperationContext) {
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
  protected async disksOnHost(h: KvmHost, disks: readonly DiskSpec[], ctx?: OperationContext): Promise<DiskSpec[]> {
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

  protected async console(h: KvmHost, name: string, spec?: VmSpec): Promise<ConsoleInfo> {
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
}
