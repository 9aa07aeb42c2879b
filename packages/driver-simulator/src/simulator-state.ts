import type { DiskFormat, PoolType, VmSpec } from '@stratus/core';

/** A simulated network object on a host: a bridge, XAPI network or port group. */
export interface SimNetwork {
  name: string;
  label: string;
  /** VLAN id; null for the untagged label bridge itself, which is permanent. */
  vlan: number | null;
  /** `vmName#deviceId` of every VIF on it. */
  vifs: Set<string>;
}

/** A simulated host. */
export interface SimHost {
  guid: string;
  name: string;
  ip: string;
  url: string;
  /** Hosts with the same group may migrate to each other (pool / cluster). */
  group: string;
  poolUuid?: string;
  cpus: number;
  cpuSockets: number;
  cpuMhz: number;
  memoryBytes: number;
  reservedMemoryBytes: number;
  hostTags: string[];
  trafficLabels: string[] | null;
  localPoolUuid?: string;
  connected: boolean;
  down: boolean;
  maintenance: boolean;
  networks: Map<string, SimNetwork>;
  /** VM names defined on the host. */
  vms: Set<string>;
}

/** A simulated VM. */
export interface SimVm {
  name: string;
  host: string;
  power: 'running' | 'stopped';
  /** The definition: the last spec started with, as edited by attach/detach/plug/scale. */
  spec: VmSpec;
  /** Defined on the host behind core's back (see `defineForeignVm`). */
  foreign: boolean;
  consolePort: number | null;
  /** The guest ignores ACPI shutdown (see `setGuestIgnoresShutdown`). */
  ignoresShutdown: boolean;
}

/** A template or ISO staged on a pool. */
export interface SimStagedTemplate {
  templateUuid: string;
  path: string;
  format: DiskFormat;
  sizeBytes: number;
  physicalSizeBytes: number;
  /** How many times it was copied in (1 unless it was removed and staged again). */
  copies: number;
}

/** A simulated primary storage pool. */
export interface SimPool {
  uuid: string;
  name: string;
  type: PoolType;
  server?: string;
  path: string;
  capacityBytes: number;
  usedBytes: number;
  /** Guids of the hosts that see it. */
  hosts: Set<string>;
  /** A host's local pool (only that host can ever see it). */
  localTo?: string;
  templates: Map<string, SimStagedTemplate>;
}

/** A simulated volume. */
export interface SimVolume {
  uuid: string;
  name: string;
  type: 'ROOT' | 'DATADISK';
  pool: string;
  path: string;
  sizeBytes: number;
  format: DiskFormat;
  fromTemplate?: string;
  fromSnapshot?: string;
  attachedTo: string | null;
}

/** A simulated volume snapshot. */
export interface SimSnapshot {
  uuid: string;
  name: string;
  volume: string;
  /** The pool of the copy on primary, while there is one. */
  primaryPool: string | null;
  primaryPath: string;
  physicalSizeBytes: number;
  parentUuid?: string;
  backup?: { store: string; path: string };
}

/** An object on secondary storage. */
export interface SimSecondaryObject {
  kind: 'snapshot' | 'template';
  uuid: string;
  format: DiskFormat;
  sizeBytes: number;
  physicalSizeBytes: number;
}

/** A simulated secondary storage. */
export interface SimSecondaryStore {
  uuid: string;
  url: string;
  objects: Map<string, SimSecondaryObject>;
}

/** Everything the simulator knows. */
export interface SimState {
  hosts: Map<string, SimHost>;
  vms: Map<string, SimVm>;
  pools: Map<string, SimPool>;
  volumes: Map<string, SimVolume>;
  snapshots: Map<string, SimSnapshot>;
  secondary: Map<string, SimSecondaryStore>;
}

/** A new, empty state. */
export function emptyState(): SimState {
  return {
    hosts: new Map(),
    vms: new Map(),
    pools: new Map(),
    volumes: new Map(),
    snapshots: new Map(),
    secondary: new Map(),
  };
}

// ── Views returned by inspect() ──────────────────────────────────────────────────────────────────────

/** A host as `inspect()` shows it. */
export interface SimHostView {
  guid: string;
  name: string;
  ip: string;
  group: string;
  poolUuid?: string;
  cpus: number;
  cpuMhz: number;
  memoryBytes: number;
  reservedMemoryBytes: number;
  /** Reserved memory plus every running VM's `maxRamBytes`. */
  usedMemoryBytes: number;
  hostTags: string[];
  connected: boolean;
  down: boolean;
  maintenance: boolean;
  /** Network objects by name, with the VIFs on each. */
  networks: Record<string, { label: string; vlan: number | null; vifs: string[] }>;
  vms: string[];
}

/** A VM as `inspect()` shows it. */
export interface SimVmView {
  name: string;
  host: string;
  power: 'running' | 'stopped';
  foreign: boolean;
  consolePort: number | null;
  spec: VmSpec;
}

/** A pool as `inspect()` shows it. */
export interface SimPoolView {
  uuid: string;
  name: string;
  type: PoolType;
  path: string;
  capacityBytes: number;
  usedBytes: number;
  hosts: string[];
  localTo?: string;
  templates: Record<string, Omit<SimStagedTemplate, 'templateUuid'>>;
}

/** A deep copy of the simulator's whole state, for assertions. */
export interface SimulatorStateView {
  type: string;
  hosts: Record<string, SimHostView>;
  vms: Record<string, SimVmView>;
  pools: Record<string, SimPoolView>;
  volumes: Record<string, SimVolume>;
  snapshots: Record<string, SimSnapshot>;
  secondary: Record<string, { url: string; objects: Record<string, SimSecondaryObject> }>;
  /** Calls per operation. */
  operations: Record<string, { ok: number; error: number }>;
}

/** Memory in use on a host: its reservation plus every running VM's maximum. */
export function usedMemory(state: SimState, host: SimHost, excludeVm?: string): number {
  let used = host.reservedMemoryBytes;
  for (const name of host.vms) {
    if (name === excludeVm) continue;
    const vm = state.vms.get(name);
    if (vm?.power === 'running') used += vm.spec.maxRamBytes;
  }
  return used;
}

/** Builds the `inspect()` view: plain objects, deep-copied. */
export function viewOf(
  state: SimState,
  type: string,
  operations: Record<string, { ok: number; error: number }>,
): SimulatorStateView {
  const hosts: Record<string, SimHostView> = {};
  for (const h of state.hosts.values()) {
    const networks: SimHostView['networks'] = {};
    for (const n of h.networks.values()) networks[n.name] = { label: n.label, vlan: n.vlan, vifs: [...n.vifs].sort() };
    hosts[h.guid] = {
      guid: h.guid,
      name: h.name,
      ip: h.ip,
      group: h.group,
      ...(h.poolUuid !== undefined ? { poolUuid: h.poolUuid } : {}),
      cpus: h.cpus,
      cpuMhz: h.cpuMhz,
      memoryBytes: h.memoryBytes,
      reservedMemoryBytes: h.reservedMemoryBytes,
      usedMemoryBytes: usedMemory(state, h),
      hostTags: [...h.hostTags],
      connected: h.connected,
      down: h.down,
      maintenance: h.maintenance,
      networks,
      vms: [...h.vms].sort(),
    };
  }
  const vms: Record<string, SimVmView> = {};
  for (const vm of state.vms.values()) {
    vms[vm.name] = {
      name: vm.name,
      host: vm.host,
      power: vm.power,
      foreign: vm.foreign,
      consolePort: vm.consolePort,
      spec: structuredClone(vm.spec),
    };
  }
  const pools: Record<string, SimPoolView> = {};
  for (const p of state.pools.values()) {
    const templates: SimPoolView['templates'] = {};
    for (const { templateUuid, ...rest } of p.templates.values()) templates[templateUuid] = { ...rest };
    pools[p.uuid] = {
      uuid: p.uuid,
      name: p.name,
      type: p.type,
      path: p.path,
      capacityBytes: p.capacityBytes,
      usedBytes: p.usedBytes,
      hosts: [...p.hosts].sort(),
      ...(p.localTo !== undefined ? { localTo: p.localTo } : {}),
      templates,
    };
  }
  const secondary: SimulatorStateView['secondary'] = {};
  for (const s of state.secondary.values()) {
    secondary[s.uuid] = { url: s.url, objects: structuredClone(Object.fromEntries(s.objects)) };
  }
  return {
    type,
    hosts,
    vms,
    pools,
    volumes: structuredClone(Object.fromEntries(state.volumes)),
    snapshots: structuredClone(Object.fromEntries(state.snapshots)),
    secondary,
    operations,
  };
}
