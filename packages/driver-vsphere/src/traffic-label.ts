import { InvalidParameterError, type NicTrafficType } from '@stratus/core';

/** The switch kinds of CloudStack's VMware traffic labels. */
export type VirtualSwitchType = 'vmwaresvs' | 'vmwaredvs' | 'nexusdvs';

/** A parsed traffic label: switch name, VLAN (public traffic only) and switch kind. */
export interface TrafficLabel {
  switchName: string;
  vlan?: string;
  switchType: VirtualSwitchType;
}

const DEFAULT_SWITCH: Record<VirtualSwitchType, string> = {
  vmwaresvs: 'vSwitch0',
  vmwaredvs: 'dvSwitch0',
  nexusdvs: 'epp0',
};

/**
 * Parses CloudStack's VMware traffic label grammar `["name"][,"vlan"[,"type"]]` (drivers.md §5.7): empty parts take the
 * defaults (`vSwitch0`, `dvSwitch0` or `epp0` by type; the type defaults to `defaultType`, the zone's
 * `vmware.use.dvswitch` choice). Quotes around parts are allowed. An unknown type is an `InvalidParameterError`.
 */
export function parseTrafficLabel(label: string, defaultType: VirtualSwitchType = 'vmwaresvs'): TrafficLabel {
  const parts = label.split(',').map((p) => p.trim().replace(/^"(.*)"$/, '$1'));
  if (parts.length > 3) throw new InvalidParameterError('trafficLabel', label, 'expected ["name"][,"vlan"[,"type"]]');
  const [name = '', vlan = '', type = ''] = parts;
  if (type !== '' && !(type in DEFAULT_SWITCH))
    throw new InvalidParameterError(
      'trafficLabel',
      label,
      `unknown switch type ${type}; expected vmwaresvs, vmwaredvs or nexusdvs`,
    );
  const switchType = (type === '' ? defaultType : type) as VirtualSwitchType;
  if (vlan !== '' && !/^(\d+|untagged)$/.test(vlan))
    throw new InvalidParameterError('trafficLabel', label, `VLAN ${vlan} is neither a number nor untagged`);
  return { switchName: name === '' ? DEFAULT_SWITCH[switchType] : name, ...(vlan !== '' ? { vlan } : {}), switchType };
}

const PREFIX: Partial<Record<NicTrafficType, string>> = {
  Guest: 'cloud.guest',
  Public: 'cloud.public',
  Management: 'cloud.private',
  Control: 'cloud.private',
  Storage: 'cloud.storage',
};

/** The VLAN of a broadcast URI (`vlan://100` → `100`, `vlan://untagged` or none → undefined). */
export function vlanOf(broadcastUri: string | undefined): number | undefined {
  const m = /^vlan:\/\/(\d+)$/.exec(broadcastUri ?? '');
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 1 || n > 4094) throw new InvalidParameterError('broadcastUri', broadcastUri, 'VLAN must be 1–4094');
  return n;
}

/**
 * The port group name CloudStack gives a network on a switch (`HypervisorHostHelper`):
 * `<prefix>.<vlan|untagged>.<rateMbps|0>.1-<switch>`, e.g. `cloud.guest.600.0.1-vSwitch0`.
 */
export function portGroupName(
  trafficType: NicTrafficType,
  vlan: number | undefined,
  rateMbps: number | undefined,
  switchName: string,
): string {
  const prefix = PREFIX[trafficType] ?? 'cloud.guest';
  return `${prefix}.${vlan ?? 'untagged'}.${rateMbps && rateMbps > 0 ? Math.round(rateMbps) : 0}.1-${switchName}`;
}
