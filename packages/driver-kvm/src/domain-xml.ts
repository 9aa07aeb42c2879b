import type { DiskSpec, NicSpec, VmSpec } from '@stratus/core';
import { ATTR, buildXml, type XmlNode } from './xml.js';

/** How the host plumbs guest VLANs (drivers.md §3.3). */
export type BridgeBackend = 'linux' | 'openvswitch';

/** Options of {@link domainXml}. */
export interface DomainXmlOptions {
  /** `kvm` on real hosts, `test` on libvirt's test driver, `lxc` for LXC. */
  domainType: string;
  /** Linux bridges (one bridge per VLAN) or Open vSwitch (label bridge + VLAN tag). */
  bridgeBackend: BridgeBackend;
  /**
   * The bridge carrying each NIC (by `deviceId`) on this host, as the network plumbing resolved it
   * (`br<pif>-<vlan>` for a Linux-bridge VLAN); absent NICs use their traffic label bridge.
   */
  bridges?: ReadonlyMap<number, string>;
  /** A fixed VNC port instead of `autoport` (the test driver prints a negative display for autoport). */
  vncPort?: number;
  /** Guest architecture (default `x86_64`). */
  arch?: string;
}

/** The VLAN id of a `vlan://<n>` broadcast URI; undefined for `vlan://untagged` and other URIs. */
export function vlanOf(nic: Pick<NicSpec, 'broadcastUri'>): number | undefined {
  const m = /^vlan:\/\/(\d+)$/i.exec(nic.broadcastUri.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  return n >= 1 && n <= 4094 ? n : undefined;
}

/** `vda`, `vdb`, … `vdz`, `vdaa` for device slot `index`. */
function diskDevice(prefix: string, index: number): string {
  let n = index;
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return prefix + s;
}

/** CloudStack's disk serial: the volume uuid without dashes, 20 characters (what QEMU keeps). */
export function diskSerial(volumeUuid: string): string {
  return volumeUuid.replace(/-/g, '').slice(0, 20);
}

/** The `<disk>` element for a volume or ISO. */
export function diskElement(disk: DiskSpec): XmlNode {
  if (disk.type === 'ISO') {
    return {
      [`${ATTR}type`]: 'file',
      [`${ATTR}device`]: 'cdrom',
      driver: { [`${ATTR}name`]: 'qemu', [`${ATTR}type`]: 'raw' },
      ...(disk.path !== '' ? { source: { [`${ATTR}file`]: disk.path } } : {}),
      target: { [`${ATTR}dev`]: diskDevice('hd', Math.max(0, disk.deviceId - 1)), [`${ATTR}bus`]: 'ide' },
      readonly: '',
    };
  }
  const iotune: XmlNode = {};
  if (disk.iops?.max !== undefined && disk.iops.max > 0) {
    iotune.read_iops_sec = String(disk.iops.max);
    iotune.write_iops_sec = String(disk.iops.max);
  }
  const node: XmlNode = {
    [`${ATTR}type`]: 'file',
    [`${ATTR}device`]: 'disk',
    driver: {
      [`${ATTR}name`]: 'qemu',
      [`${ATTR}type`]: disk.format === 'raw' ? 'raw' : 'qcow2',
      [`${ATTR}cache`]: 'none',
    },
    source: { [`${ATTR}file`]: disk.path },
    target: { [`${ATTR}dev`]: diskDevice('vd', disk.deviceId), [`${ATTR}bus`]: 'virtio' },
    serial: diskSerial(disk.volumeUuid),
  };
  if (Object.keys(iotune).length > 0) node.iotune = iotune;
  if (disk.readOnly) node.readonly = { '#text': '' };
  return node;
}

/** The `<interface>` element for a NIC on the bridge `bridge`. */
export function interfaceElement(nic: NicSpec, bridge: string, backend: BridgeBackend): XmlNode {
  const node: XmlNode = {
    [`${ATTR}type`]: 'bridge',
    mac: { [`${ATTR}address`]: nic.mac.toLowerCase() },
    source: { [`${ATTR}bridge`]: bridge },
    model: { [`${ATTR}type`]: 'virtio' },
  };
  const vlan = vlanOf(nic);
  if (backend === 'openvswitch') {
    node.virtualport = { [`${ATTR}type`]: 'openvswitch' };
    if (vlan !== undefined) node.vlan = { tag: { [`${ATTR}id`]: String(vlan) } };
  }
  if (nic.networkRateMbps !== undefined && nic.networkRateMbps > 0) {
    // libvirt <bandwidth> average is in KiB/s; CloudStack converts Mbit/s the same way
    const kbytes = String(Math.round((nic.networkRateMbps * 1_000_000) / 8 / 1024));
    node.bandwidth = { inbound: { [`${ATTR}average`]: kbytes }, outbound: { [`${ATTR}average`]: kbytes } };
  }
  return node;
}

/** The bridge a NIC attaches to when nothing else is said: OVS and untagged → the label bridge. */
export function defaultBridge(nic: NicSpec, backend: BridgeBackend, pif?: string): string {
  const vlan = vlanOf(nic);
  if (backend === 'openvswitch' || vlan === undefined) return nic.trafficLabel;
  return `br${pif ?? nic.trafficLabel}-${vlan}`;
}

/** CPU shares from the VM's speed, as CloudStack's `LibvirtComputingResource` does: vCPUs × MHz. */
export function cpuShares(spec: Pick<VmSpec, 'cpus' | 'cpuMhz'>): number {
  return Math.max(2, spec.cpus * spec.cpuMhz);
}

/**
 * The libvirt domain XML for a VM spec (drivers.md §3.5): memory (max) and currentMemory (min), vCPUs, CPU shares
 * from MHz, CPU mode, boot order, UEFI, ACPI/APIC, clock, lifecycle actions, disks in device order with serials,
 * NICs in device order on their bridge/VLAN with rate limits, VNC console, serial console and the guest-agent
 * channel. Built as an element tree and serialised by xml2js, so names and paths are escaped, never
 * concatenated into markup.
 */
export function domainXml(spec: VmSpec, options: DomainXmlOptions): string {
  const kib = (bytes: number): string => String(Math.ceil(bytes / 1024));
  const windows = /windows/i.test(spec.osType);
  const os: XmlNode = {
    type: { [`${ATTR}arch`]: options.arch ?? 'x86_64', '#text': 'hvm' },
  };
  if (spec.uefi === true) {
    os.loader = { [`${ATTR}readonly`]: 'yes', [`${ATTR}type`]: 'pflash', '#text': '/usr/share/OVMF/OVMF_CODE.fd' };
  }
  const boot = spec.bootOrder.length > 0 ? spec.bootOrder : ['hd'];
  os.boot = boot.map((dev) => ({ [`${ATTR}dev`]: dev }));
  if (spec.bootArgs !== '') os.cmdline = spec.bootArgs;

  const disks = [...spec.disks].sort((a, b) => a.deviceId - b.deviceId).map(diskElement);
  const nics = [...spec.nics]
    .sort((a, b) => a.deviceId - b.deviceId)
    .map((nic) =>
      interfaceElement(
        nic,
        options.bridges?.get(nic.deviceId) ?? defaultBridge(nic, options.bridgeBackend),
        options.bridgeBackend,
      ),
    );
  const graphics: XmlNode = {
    [`${ATTR}type`]: 'vnc',
    [`${ATTR}listen`]: '0.0.0.0',
    ...(options.vncPort !== undefined
      ? { [`${ATTR}port`]: String(options.vncPort), [`${ATTR}autoport`]: 'no' }
      : { [`${ATTR}autoport`]: 'yes' }),
    ...(spec.vncPassword !== '' ? { [`${ATTR}passwd`]: spec.vncPassword } : {}),
  };

  const domain: XmlNode = {
    [`${ATTR}type`]: options.domainType,
    name: spec.name,
    uuid: spec.uuid,
    description: spec.osType,
    memory: { [`${ATTR}unit`]: 'KiB', '#text': kib(spec.maxRamBytes) },
    currentMemory: { [`${ATTR}unit`]: 'KiB', '#text': kib(spec.minRamBytes) },
    vcpu: { [`${ATTR}placement`]: 'static', '#text': String(spec.cpus) },
    cputune: { shares: String(cpuShares(spec)) },
    ...(spec.cpuMode !== undefined && spec.cpuMode !== '' ? { cpu: { [`${ATTR}mode`]: spec.cpuMode } } : {}),
    os,
    features: { acpi: { '#text': '' }, apic: { '#text': '' }, pae: { '#text': '' } },
    clock: { [`${ATTR}offset`]: windows ? 'localtime' : 'utc' },
    on_poweroff: 'destroy',
    on_reboot: 'restart',
    on_crash: 'destroy',
    devices: {
      disk: disks,
      interface: nics,
      serial: { [`${ATTR}type`]: 'pty', target: { [`${ATTR}port`]: '0' } },
      console: { [`${ATTR}type`]: 'pty', target: { [`${ATTR}type`]: 'serial', [`${ATTR}port`]: '0' } },
      channel: {
        [`${ATTR}type`]: 'unix',
        target: { [`${ATTR}type`]: 'virtio', [`${ATTR}name`]: 'org.qemu.guest_agent.0' },
      },
      graphics,
    },
  };
  return buildXml({ domain });
}
