import { el, escapeXml, leaf, type MoRef, mor, optLeaf, typed, type XmlFragment } from './soap-xml.js';
import { child, childrenOf, numberOf, textOf, toXml, type XNode } from './xml-node.js';

/** A virtual device as read from `config.hardware.device`. */
export interface DeviceInfo {
  key: number;
  /** `VirtualDisk`, `VirtualVmxnet3`, `VirtualCdrom`, `VirtualLsiLogicController`… */
  type: string;
  controllerKey?: number;
  unitNumber?: number;
  /** Backing file (`[ds] dir/file.vmdk`, an ISO). */
  fileName?: string;
  capacityInKB?: number;
  macAddress?: string;
  /** Standard port group name of a NIC. */
  deviceName?: string;
  /** Distributed port group key of a NIC. */
  portgroupKey?: string;
  node: XNode;
}

/** Reads `config.hardware.device` (an `ArrayOfVirtualDevice`). */
export function readDevices(val: XNode | undefined): DeviceInfo[] {
  return (val?.children ?? []).map((d) => {
    const backing = child(d, 'backing');
    const info: DeviceInfo = { key: numberOf(d, 'key') ?? 0, type: d.xsiType ?? d.name, node: d };
    const ck = numberOf(d, 'controllerKey');
    const un = numberOf(d, 'unitNumber');
    const cap = numberOf(d, 'capacityInKB');
    if (ck !== undefined) info.controllerKey = ck;
    if (un !== undefined) info.unitNumber = un;
    if (cap !== undefined) info.capacityInKB = cap;
    const file = textOf(backing, 'fileName');
    if (file !== undefined) info.fileName = file;
    const mac = textOf(d, 'macAddress');
    if (mac !== undefined) info.macAddress = mac;
    const dn = textOf(backing, 'deviceName');
    if (dn !== undefined) info.deviceName = dn;
    const pk = textOf(child(backing, 'port'), 'portgroupKey');
    if (pk !== undefined) info.portgroupKey = pk;
    return info;
  });
}

/** Whether a device is a disk, a CD-ROM, a NIC, a SCSI or an IDE controller. */
export const isDisk = (d: DeviceInfo) => d.type === 'VirtualDisk';
export const isCdrom = (d: DeviceInfo) => d.type === 'VirtualCdrom';
export const isNic = (d: DeviceInfo) => /^Virtual(Vmxnet\d?|E1000e?|PCNet32|Ethernet.*)$/.test(d.type);
export const isScsiController = (d: DeviceInfo) =>
  /^(VirtualLsiLogic|VirtualLsiLogicSAS|ParaVirtualSCSI|VirtualBusLogic)Controller$/.test(d.type);
export const isIdeController = (d: DeviceInfo) => d.type === 'VirtualIDEController';

/** A `VirtualDeviceConfigSpec` (`deviceChange` entry). */
export function deviceChange(
  operation: 'add' | 'remove' | 'edit',
  device: XmlFragment,
  fileOperation?: 'create' | 'destroy',
): XmlFragment {
  return el('deviceChange', leaf('operation', operation), optLeaf('fileOperation', fileOperation), device);
}

/** A new LSI Logic SCSI controller on bus 0. */
export function scsiController(key: number): XmlFragment {
  return typed(
    'device',
    'VirtualLsiLogicController',
    leaf('key', key),
    leaf('busNumber', 0),
    leaf('sharedBus', 'noSharing'),
  );
}

/** A disk backed by an existing (or, with fileOperation create, new) VMDK file. */
export function diskDevice(d: {
  key: number;
  fileName: string;
  controllerKey: number;
  unitNumber: number;
  capacityInKB: number;
}): XmlFragment {
  return typed(
    'device',
    'VirtualDisk',
    leaf('key', d.key),
    typed(
      'backing',
      'VirtualDiskFlatVer2BackingInfo',
      leaf('fileName', d.fileName),
      leaf('diskMode', 'persistent'),
      leaf('thinProvisioned', true),
    ),
    leaf('controllerKey', d.controllerKey),
    leaf('unitNumber', d.unitNumber),
    leaf('capacityInKB', d.capacityInKB),
  );
}

/**
 * The disk device as read, with a new capacity (an `edit` for a resize): the whole device goes back, as the API
 * expects for an edit (the simulator even needs its `deviceInfo`).
 */
export function resizedDisk(d: DeviceInfo, capacityInKB: number): XmlFragment {
  const children = d.node.children
    .filter((c) => c.name !== 'capacityInBytes')
    .map((c) => (c.name === 'capacityInKB' ? { ...c, text: String(capacityInKB), children: [] } : c));
  if (!children.some((c) => c.name === 'capacityInKB'))
    children.push({ name: 'capacityInKB', uri: '', attrs: {}, text: String(capacityInKB), children: [] });
  return toXml({ ...d.node, children }, 'device');
}

/** The CD-ROM as read, with its backing set to an ISO file (an `edit`). */
export function cdromWithIso(d: DeviceInfo, isoFile: string): XmlFragment {
  const backing: XNode = {
    name: 'backing',
    uri: '',
    xsiType: 'VirtualCdromIsoBackingInfo',
    attrs: {},
    text: '',
    children: [{ name: 'fileName', uri: '', attrs: {}, text: isoFile, children: [] }],
  };
  const children = d.node.children.map((c) => (c.name === 'backing' ? backing : c));
  if (!children.some((c) => c.name === 'backing')) children.splice(1, 0, backing);
  return toXml({ ...d.node, children }, 'device');
}

/** A device to remove, by key (its type kept). */
export function deviceRef(d: DeviceInfo): XmlFragment {
  return typed('device', d.type, leaf('key', d.key));
}

const connected = el(
  'connectable',
  leaf('startConnected', true),
  leaf('allowGuestControl', true),
  leaf('connected', true),
);

/** Where a NIC is plugged: a standard port group by name, or a distributed port group. */
export type NicBacking = { portGroup: string } | { switchUuid: string; portgroupKey: string };

/** A vmxnet3 NIC with core's MAC (`addressType manual`: the hypervisor never invents one). */
export function nicDevice(key: number, mac: string, backing: NicBacking): XmlFragment {
  const b =
    'portGroup' in backing
      ? typed('backing', 'VirtualEthernetCardNetworkBackingInfo', leaf('deviceName', backing.portGroup))
      : typed(
          'backing',
          'VirtualEthernetCardDistributedVirtualPortBackingInfo',
          el('port', leaf('switchUuid', backing.switchUuid), leaf('portgroupKey', backing.portgroupKey)),
        );
  return typed(
    'device',
    'VirtualVmxnet3',
    leaf('key', key),
    b,
    connected,
    leaf('addressType', 'manual'),
    leaf('macAddress', mac),
  );
}

/** A CD-ROM on an IDE controller with an ISO file (or with `key` of an existing CD-ROM, for an edit). */
export function cdromDevice(key: number, controllerKey: number, unitNumber: number, isoFile: string): XmlFragment {
  return typed(
    'device',
    'VirtualCdrom',
    leaf('key', key),
    typed('backing', 'VirtualCdromIsoBackingInfo', leaf('fileName', isoFile)),
    connected,
    leaf('controllerKey', controllerKey),
    leaf('unitNumber', unitNumber),
  );
}

/** An `OptionValue` of `extraConfig`. */
export function extraConfig(key: string, value: string): XmlFragment {
  return typed(
    'extraConfig',
    'OptionValue',
    leaf('key', key),
    `<value xsi:type="xsd:string">${escapeXml(value)}</value>`,
  );
}

/** The first unit number of a SCSI controller not in use (7 is the controller's own). */
export function freeScsiUnit(devices: readonly DeviceInfo[], controllerKey: number, preferred?: number): number {
  const used = new Set(devices.filter((d) => d.controllerKey === controllerKey).map((d) => d.unitNumber));
  if (preferred !== undefined && preferred !== 7 && preferred < 16 && !used.has(preferred)) return preferred;
  for (let u = 0; u < 16; u++) if (u !== 7 && !used.has(u)) return u;
  return -1;
}

/** `VirtualMachineRelocateSpec` (vMotion / storage vMotion). */
export function relocateSpec(o: {
  host?: MoRef;
  pool?: MoRef;
  datastore?: MoRef;
  disks?: ReadonlyArray<{ key: number; datastore: MoRef }>;
}): XmlFragment {
  return el(
    'spec',
    o.datastore ? mor('datastore', o.datastore) : undefined,
    o.pool ? mor('pool', o.pool) : undefined,
    o.host ? mor('host', o.host) : undefined,
    ...(o.disks ?? []).map((d) => el('disk', leaf('diskId', d.key), mor('datastore', d.datastore))),
  );
}

/** Every `VirtualDisk` file of a device list. */
export function diskFiles(devices: readonly DeviceInfo[]): string[] {
  return devices.filter(isDisk).flatMap((d) => (d.fileName ? [d.fileName] : []));
}

/** Reads an `ArrayOfManagedObjectReference` value. */
export function refsOf(val: XNode | undefined): MoRef[] {
  return childrenOf(val, 'ManagedObjectReference').map((n) => ({ type: n.attrs.type ?? '', value: n.text }));
}
