/**
 * A hypervisor type as CloudStack spells it (`Hypervisor.HypervisorType`): `KVM`, `XenServer`, `VMware`,
 * `Simulator`, … Open-ended: a third-party driver may bring its own. The driver registry compares types
 * case-insensitively, as CloudStack's `HypervisorType.getType` does.
 */
export type HypervisorTypeName =
  | 'KVM'
  | 'XenServer'
  | 'VMware'
  | 'Simulator'
  | 'Hyperv'
  | 'LXC'
  | 'Ovm'
  | 'BareMetal'
  | (string & {});
