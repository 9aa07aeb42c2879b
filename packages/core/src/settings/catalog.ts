/**
 * The typed catalog of global settings: every CloudStack configuration key the domain spec names (plus the few
 * Stratus-only keys), with its default, value type, unit, bounds and the scopes at which it may be overridden.
 *
 * The catalog is pure data. Persisting values and resolving them most-specific-scope-first (entity value, then
 * global) is the settings service's job; this module only answers "what is this key, what is its default, and is
 * this raw value acceptable for it".
 */

import { InvalidParameterError } from '../errors.js';

/**
 * Where a setting may be overridden. CloudStack's configuration scopes; `global` is the catalog default, the others
 * are per-entity overrides (`storagepool` = primary storage pool).
 */
export type SettingScope = 'global' | 'zone' | 'cluster' | 'storagepool' | 'domain' | 'account';

/** Every scope, in CloudStack's order from broadest to narrowest. */
export const SETTING_SCOPES: readonly SettingScope[] = Object.freeze([
  'global',
  'zone',
  'cluster',
  'storagepool',
  'domain',
  'account',
] as const);

/**
 * The value type of a setting.
 * - `number`: any finite number; `integer`: a safe integer;
 * - `boolean`: `true`/`false` (strings `'true'`/`'false'` accepted);
 * - `string`: free text (optionally restricted by `allowed` or `pattern`);
 * - `cidr`: an IPv4 CIDR such as `169.254.0.0/16`;
 * - `list`: comma-separated strings, held as a string array.
 */
export type SettingType = 'number' | 'integer' | 'boolean' | 'string' | 'cidr' | 'list';

/** The union of every value a setting can hold. */
export type SettingValueType = number | boolean | string | readonly string[];

/** The definition of one setting. */
export interface SettingDefinition<T = SettingValueType> {
  /** The CloudStack configuration key, e.g. `cpu.overprovisioning.factor`. */
  readonly key: string;
  readonly type: SettingType;
  /** The default value (already in the parsed form: numbers are numbers, lists are arrays). */
  readonly default: T;
  /** Scopes at which a value may be set; always contains `global`. */
  readonly scopes: readonly SettingScope[];
  /** Functional area, e.g. `allocation`, `network`, `storage`. */
  readonly category: string;
  readonly description: string;
  /** Unit of numeric values, e.g. `seconds`, `milliseconds`, `fraction`, `GiB`. */
  readonly unit?: string;
  /** Inclusive lower bound for numeric values. */
  readonly min?: number;
  /** Inclusive upper bound for numeric values. */
  readonly max?: number;
  /** Exclusive lower bound for numeric values (the value must be strictly greater). */
  readonly exclusiveMin?: number;
  /** The only values accepted (for `list` settings: for every item). Compared case-sensitively. */
  readonly allowed?: readonly string[];
  /** A pattern every value (for `list` settings: every item) must match. */
  readonly pattern?: RegExp;
  /** Set on an alias key: the key it is an alias of (reads and writes should go to that key). */
  readonly deprecatedAliasOf?: string;
  /** The spec citation the definition was transcribed from. */
  readonly source: string;
}

/** A definition whose key is known at the type level. */
type Def<K extends string, V> = SettingDefinition<V> & { readonly key: K };

interface Meta {
  /** Defaults to `['global']`; `global` is added when missing. */
  scopes?: readonly SettingScope[];
  category: string;
  description: string;
  unit?: string;
  min?: number;
  max?: number;
  exclusiveMin?: number;
  pattern?: RegExp;
  deprecatedAliasOf?: string;
  source: string;
}

function define<const K extends string, V>(
  key: K,
  type: SettingType,
  value: V,
  meta: Meta,
  allowed?: readonly string[],
): Def<K, V> {
  const requested = meta.scopes ?? ['global'];
  const scopes = SETTING_SCOPES.filter((s) => s === 'global' || requested.includes(s));
  const def: { -readonly [P in keyof SettingDefinition<V>]: SettingDefinition<V>[P] } = {
    key,
    type,
    default: (Array.isArray(value) ? Object.freeze([...value]) : value) as V,
    scopes: Object.freeze(scopes),
    category: meta.category,
    description: meta.description,
    source: meta.source,
  };
  if (meta.unit !== undefined) def.unit = meta.unit;
  if (meta.min !== undefined) def.min = meta.min;
  if (meta.max !== undefined) def.max = meta.max;
  if (meta.exclusiveMin !== undefined) def.exclusiveMin = meta.exclusiveMin;
  if (allowed !== undefined) def.allowed = Object.freeze([...allowed]);
  if (meta.pattern !== undefined) def.pattern = meta.pattern;
  if (meta.deprecatedAliasOf !== undefined) def.deprecatedAliasOf = meta.deprecatedAliasOf;
  return Object.freeze(def) as Def<K, V>;
}

const num = <const K extends string>(key: K, value: number, meta: Meta) => define(key, 'number', value, meta);
const int = <const K extends string>(key: K, value: number, meta: Meta) => define(key, 'integer', value, meta);
const bool = <const K extends string>(key: K, value: boolean, meta: Meta) => define(key, 'boolean', value, meta);
const str = <const K extends string>(key: K, value: string, meta: Meta) => define(key, 'string', value, meta);
const cidr = <const K extends string>(key: K, value: string, meta: Meta) => define(key, 'cidr', value, meta);
const list = <const K extends string>(key: K, value: readonly string[], meta: Meta) =>
  define<K, readonly string[]>(key, 'list', value, meta);
/** A string setting restricted to `allowed`; its value type is the union of the allowed strings. */
const oneOf = <const K extends string, const A extends readonly string[]>(
  key: K,
  allowed: A,
  value: A[number],
  meta: Meta,
) => define<K, A[number]>(key, 'string', value, meta, allowed);

// ---------------------------------------------------------------------------------------------------------------
// Shared fragments
// ---------------------------------------------------------------------------------------------------------------

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = `${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}`;
const IPV4_PATTERN = new RegExp(`^${IPV4}$`);
const IPV4_RANGE_PATTERN = new RegExp(`^${IPV4}-${IPV4}$`);
const CIDR_PATTERN = new RegExp(`^${IPV4}/(?:3[0-2]|[12]?\\d)$`);

/** CloudStack's host/pool orderings for `vm.allocation.algorithm` and `volume.allocation.algorithm`. */
const ALLOCATION_ALGORITHMS = [
  'random',
  'firstfit',
  'userdispersing',
  'userconcentratedpod_random',
  'userconcentratedpod_firstfit',
  'firstfitleastconsumed',
] as const;

const FRACTION = { unit: 'fraction', min: 0, max: 1 } as const;
const LIMIT = { unit: 'count', min: -1 } as const;

const ALLOCATION = 'allocation';
const CAPACITY = 'capacity';
const ALERT = 'alert';
const HA = 'ha';
const VM = 'vm';
const SYSTEM_VM = 'system-vm';
const EVENTS = 'events';
const USAGE = 'usage';
const JOBS = 'jobs';
const TENANCY = 'tenancy';
const ACCOUNT_LIMITS = 'account-limits';
const PROJECT_LIMITS = 'project-limits';
const API = 'api';
const AGENT = 'agent';
const NETWORK = 'network';
const VPN = 'vpn';
const SECURITY_GROUPS = 'security-groups';
const EXTERNAL_DEVICES = 'external-devices';
const VMWARE = 'vmware';
const STORAGE = 'storage';
const SNAPSHOTS = 'snapshots';
const MAINTENANCE = 'maintenance';

const ALLOC_12 = 'allocation.md §12';
const ALLOC_3 = 'allocation.md §3';
const NET_14 = 'networking.md §14';
const STOR_9 = 'storage.md §9';
const OPS_HA = 'operations.md §3.3';
const OPS_LIMITS = 'operations.md §12.1';

/** `max.account.*` and `max.project.*` share their defaults (operations.md §12.1). */
const LIMIT_DEFAULTS = [
  ['user.vms', 20, 'VMs (not destroyed, not expunged)', 'count'],
  ['public.ips', 20, 'allocated public IPs (not system-dedicated)', 'count'],
  ['volumes', 20, 'volumes (not destroyed)', 'count'],
  ['snapshots', 20, 'snapshots (not destroyed)', 'count'],
  ['templates', 20, 'registered or created templates and ISOs', 'count'],
  ['networks', 20, 'guest networks owned', 'count'],
  ['vpcs', 20, 'VPCs owned', 'count'],
  ['cpus', 40, 'CPU cores of non-destroyed VMs', 'cores'],
  ['memory', 40960, 'memory of non-destroyed VMs', 'MiB'],
  ['primary.storage', 200, 'allocated primary-storage volume sizes', 'GiB'],
  ['secondary.storage', 400, 'templates, ISOs and snapshots on secondary storage', 'GiB'],
] as const;

function limit<const K extends string>(key: K, owner: 'account' | 'project'): Def<K, number> {
  const suffix = key.slice(`max.${owner}.`.length);
  const row = LIMIT_DEFAULTS.find((r) => r[0] === suffix);
  if (row === undefined) throw new Error(`no default limit for ${key}`);
  return int(key, row[1], {
    category: owner === 'account' ? ACCOUNT_LIMITS : PROJECT_LIMITS,
    description: `Default per-${owner} limit on ${row[2]}; -1 = unlimited.`,
    ...LIMIT,
    unit: row[3],
    source:
      owner === 'account'
        ? OPS_LIMITS
        : `${OPS_LIMITS} (project accounts use max.project.*; defaults mirror max.account.*)`,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The definitions
// ---------------------------------------------------------------------------------------------------------------

const DEFINITIONS = [
  // --- Allocation: planners, allocators, orderings (allocation.md §4–§7, §12) ---------------------------------
  str('vm.deployment.planner', 'FirstFitPlanner', {
    category: ALLOCATION,
    description: 'Deployment planner used when the service offering names none.',
    source: `${ALLOC_12}; allocation.md §5.1`,
  }),
  list(
    'deployment.planners.order',
    [
      'FirstFitPlanner',
      'UserDispersingPlanner',
      'UserConcentratedPodPlanner',
      'ImplicitDedicationPlanner',
      'BareMetalPlanner',
    ],
    {
      category: ALLOCATION,
      description: 'Registered deployment planners, in order.',
      source: ALLOC_12,
    },
  ),
  oneOf('vm.allocation.algorithm', ALLOCATION_ALGORITHMS, 'random', {
    category: ALLOCATION,
    description:
      'Host (and pool) ordering inside a cluster; SDK strategies alias these values (vertical = firstfit, horizontal = firstfitleastconsumed).',
    source: `${ALLOC_12}; allocation.md §6.3, §6.4`,
  }),
  oneOf('volume.allocation.algorithm', ALLOCATION_ALGORITHMS, 'random', {
    category: ALLOCATION,
    description: 'Storage-pool ordering (newer CloudStack versions order pools separately from hosts).',
    source: `${ALLOC_12}; allocation.md §6.3`,
  }),
  list('host.allocators.order', ['FirstFitRouting'], {
    category: ALLOCATION,
    description: 'Active host allocators, in order; the first non-empty result wins.',
    source: `${ALLOC_12}; allocation.md §6.1`,
  }),
  list(
    'storage.pool.allocators.order',
    ['LocalStorage', 'ClusterScopeStoragePoolAllocator', 'ZoneWideStoragePoolAllocator'],
    {
      category: ALLOCATION,
      description: 'Active storage-pool allocators, in order; the first non-empty result wins.',
      source: `${ALLOC_12}; allocation.md §7.1`,
    },
  ),
  oneOf('host.capacityType.to.order.clusters', ['CPU', 'RAM', 'COMBINED'], 'CPU', {
    category: ALLOCATION,
    description: 'Capacity type whose utilisation orders clusters (least utilised first).',
    source: `${ALLOC_12}; allocation.md §5.2`,
  }),
  num('host.capacityType.to.order.clusters.cputomemoryweight', 0.5, {
    category: ALLOCATION,
    description: 'CPU weight w in COMBINED cluster ordering: w × cpuRatio + (1 − w) × ramRatio.',
    ...FRACTION,
    unit: 'weight',
    source: `${ALLOC_12}; allocation.md §5.2`,
  }),
  bool('apply.allocation.algorithm.to.pods', false, {
    category: ALLOCATION,
    description: 'Order pods before clusters when scanning a zone.',
    source: `${ALLOC_12}; allocation.md §5.2`,
  }),
  num('vm.user.dispersion.weight', 1, {
    category: ALLOCATION,
    description: "UserDispersingPlanner weight of the account's VM spread against capacity (1 = spread only).",
    ...FRACTION,
    unit: 'weight',
    source: `${ALLOC_12}; allocation.md §5.3`,
  }),
  list('implicit.host.tags', ['GPU'], {
    category: ALLOCATION,
    description: 'Special-hardware host tags; VMs not asking for them prefer clusters and hosts without them.',
    source: `${ALLOC_12}; allocation.md §5.2, §8`,
  }),
  int('start.retry', 10, {
    category: ALLOCATION,
    description: 'Start attempts per VM start, sharing one avoid set.',
    unit: 'count',
    min: 1,
    source: `${ALLOC_12}; allocation.md §4.1; operations.md §2.3`,
  }),
  str('ha.tag', '', {
    category: ALLOCATION,
    description: 'Host tag reserving hosts for HA restarts only (empty = none).',
    source: `${ALLOC_12}; allocation.md §8`,
  }),
  bool('xenserver.check.hvm', true, {
    category: ALLOCATION,
    description: 'Drop non-HVM hosts for templates that need HVM.',
    source: `${ALLOC_12}; allocation.md §6.2`,
  }),
  bool('allow.router.on.disabled.resources', false, {
    category: ALLOCATION,
    description: 'Let system VMs (routers) use disabled zones, pods, clusters and hosts.',
    source: `${ALLOC_12}; allocation.md §4.2`,
  }),
  bool('allow.admin.vm.on.disabled.resources', false, {
    category: ALLOCATION,
    description: 'Let root-admin-owned VMs use disabled zones, pods, clusters and hosts.',
    source: `${ALLOC_12}; allocation.md §4.2`,
  }),
  int('host.reservation.release.period', 300000, {
    category: ALLOCATION,
    description: 'Period of the planner host-usage (Shared/Dedicated) release check.',
    unit: 'milliseconds',
    min: 1,
    source: `${ALLOC_12}; allocation.md §9.3`,
  }),
  str('preferred.storage.pool', '', {
    scopes: ['account'],
    category: ALLOCATION,
    description: 'Storage pool (id) tried first by pool allocators, account value then global (empty = none).',
    source: 'allocation.md §7.2; storage.md §4.2',
  }),

  // --- Capacity and over-provisioning (allocation.md §2, §3) ---------------------------------------------------
  num('cpu.overprovisioning.factor', 1, {
    scopes: ['cluster'],
    category: CAPACITY,
    description: 'CPU over-provisioning factor applied to host MHz totals at check time.',
    unit: 'factor',
    exclusiveMin: 0,
    source: `${ALLOC_12}; allocation.md §2.2; resource-model.md §2.3`,
  }),
  num('mem.overprovisioning.factor', 1, {
    scopes: ['cluster'],
    category: CAPACITY,
    description: 'Memory over-provisioning factor applied to host RAM totals at check time.',
    unit: 'factor',
    exclusiveMin: 0,
    source: `${ALLOC_12}; allocation.md §2.3; resource-model.md §2.3`,
  }),
  num('storage.overprovisioning.factor', 2, {
    scopes: ['storagepool'],
    category: CAPACITY,
    description: 'Storage over-provisioning factor for pool types that support it (never local pools).',
    unit: 'factor',
    exclusiveMin: 0,
    source: `${ALLOC_12}; allocation.md §2.4; ${STOR_9}`,
  }),
  num('cluster.cpu.allocated.capacity.disablethreshold', 0.85, {
    scopes: ['cluster'],
    category: CAPACITY,
    description: 'Skip a cluster for placement when its CPU allocation (including the request) exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; ${ALLOC_12}`,
  }),
  num('cluster.memory.allocated.capacity.disablethreshold', 0.85, {
    scopes: ['cluster'],
    category: CAPACITY,
    description: 'Skip a cluster for placement when its memory allocation (including the request) exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; ${ALLOC_12}`,
  }),
  bool('cluster.threshold.enabled', true, {
    category: CAPACITY,
    description: 'When false, clusters are never skipped for the disable thresholds.',
    source: `${ALLOC_3}; ${ALLOC_12}`,
  }),
  num('pool.storage.capacity.disablethreshold', 0.85, {
    scopes: ['zone', 'storagepool'],
    category: CAPACITY,
    description: 'Reject a pool when its physical fill (used / capacity) reaches this.',
    ...FRACTION,
    source: `${ALLOC_3} (zone, per-pool override); ${STOR_9}`,
  }),
  num('pool.storage.allocated.capacity.disablethreshold', 0.85, {
    scopes: ['zone'],
    category: CAPACITY,
    description: 'Reject a pool when (allocated + asking) / over-provisioned capacity exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; ${STOR_9}`,
  }),
  int('capacity.skipcounting.hours', 3600, {
    category: CAPACITY,
    description:
      "How long a stopped VM's capacity stays reserved on its last host. Despite the name the unit is SECONDS.",
    unit: 'seconds',
    min: 0,
    source: `${ALLOC_12}; allocation.md §2.5, §14 pitfall 1; operations.md §2.1`,
  }),
  int('capacity.check.period', 300000, {
    category: CAPACITY,
    description: 'Period of the capacity (notification threshold) evaluation.',
    unit: 'milliseconds',
    min: 1,
    source: `${ALLOC_3}; ${ALLOC_12}; operations.md §8`,
  }),
  int('extra.bytes.per.volume', 50 * 1024 * 1024, {
    category: CAPACITY,
    description: 'Per-volume overhead counted on local pools (50 MiB).',
    unit: 'bytes',
    min: 0,
    source: `${ALLOC_12}; storage.md §8`,
  }),

  // --- Alerts: notification thresholds and mail (allocation.md §3, operations.md §8) ---------------------------
  num('cluster.cpu.allocated.capacity.notificationthreshold', 0.75, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'Alert when cluster CPU allocation exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; operations.md §8`,
  }),
  num('cluster.memory.allocated.capacity.notificationthreshold', 0.75, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'Alert when cluster memory allocation exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; operations.md §8`,
  }),
  num('cluster.storage.capacity.notificationthreshold', 0.75, {
    scopes: ['cluster'],
    category: ALERT,
    description: "Alert when physical storage use of a cluster's pools exceeds this.",
    ...FRACTION,
    source: `${ALLOC_3}; storage.md §8; operations.md §8`,
  }),
  num('cluster.storage.allocated.capacity.notificationthreshold', 0.75, {
    scopes: ['cluster'],
    category: ALERT,
    description: "Alert when allocated storage of a cluster's pools exceeds this.",
    ...FRACTION,
    source: `${ALLOC_3}; storage.md §8; operations.md §8`,
  }),
  num('cluster.localStorage.capacity.notificationthreshold', 0.75, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'Alert when local-storage use of a cluster exceeds this.',
    ...FRACTION,
    source: ALLOC_3,
  }),
  num('zone.virtualnetwork.publicip.capacity.notificationthreshold', 0.75, {
    scopes: ['zone'],
    category: ALERT,
    description: 'Alert when public IP utilisation of a zone exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; operations.md §8`,
  }),
  num('zone.directnetwork.publicip.capacity.notificationthreshold', 0.75, {
    scopes: ['zone'],
    category: ALERT,
    description: 'Alert when direct-attached (shared network) IP utilisation of a zone exceeds this.',
    ...FRACTION,
    source: ALLOC_3,
  }),
  num('pod.privateip.capacity.notificationthreshold', 0.75, {
    category: ALERT,
    description:
      'Alert when pod management (private) IP utilisation exceeds this. The spec gives pod scope, which is not a setting scope; global only.',
    ...FRACTION,
    source: `${ALLOC_3}; operations.md §8`,
  }),
  num('zone.vlan.capacity.notificationthreshold', 0.75, {
    scopes: ['zone'],
    category: ALERT,
    description: 'Alert when guest VLAN utilisation of a zone exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; operations.md §8`,
  }),
  num('zone.secstorage.capacity.notificationthreshold', 0.75, {
    scopes: ['zone'],
    category: ALERT,
    description: 'Alert when secondary storage use of a zone exceeds this.',
    ...FRACTION,
    source: `${ALLOC_3}; ${STOR_9}; operations.md §8`,
  }),
  num('cpu.capacity.threshold', 0.85, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of cluster.cpu.allocated.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'cluster.cpu.allocated.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  num('memory.capacity.threshold', 0.85, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of cluster.memory.allocated.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'cluster.memory.allocated.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  num('storage.capacity.threshold', 0.85, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of cluster.storage.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'cluster.storage.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  num('storage.allocated.capacity.threshold', 0.85, {
    scopes: ['cluster'],
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of cluster.storage.allocated.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'cluster.storage.allocated.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  num('public.ip.capacity.threshold', 0.85, {
    scopes: ['zone'],
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of zone.virtualnetwork.publicip.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'zone.virtualnetwork.publicip.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  num('private.ip.capacity.threshold', 0.85, {
    category: ALERT,
    description: 'CloudStack 2.2 name, read-only alias of pod.privateip.capacity.notificationthreshold.',
    ...FRACTION,
    deprecatedAliasOf: 'pod.privateip.capacity.notificationthreshold',
    source: ALLOC_3,
  }),
  int('alert.wait', 1800, {
    category: ALERT,
    description: 'A host disconnected longer than this triggers HA investigation and an alert.',
    unit: 'seconds',
    min: 0,
    source: 'operations.md §3.2',
  }),
  int('alert.smtp.port', 465, {
    category: ALERT,
    description: 'SMTP port for alert mail.',
    unit: 'port',
    min: 1,
    max: 65535,
    source: 'operations.md §8',
  }),

  // --- High availability (operations.md §3.3) ------------------------------------------------------------------
  int('ha.workers', 5, {
    category: HA,
    description: 'HA worker threads.',
    unit: 'count',
    min: 1,
    source: OPS_HA,
  }),
  int('time.to.sleep', 60, {
    category: HA,
    description: 'HA worker idle sleep.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  int('investigate.retry.interval', 60, {
    category: HA,
    description: 'Reschedule delay when the VM is alive but its host is not Up.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  int('restart.retry.interval', 600, {
    category: HA,
    description: 'Reschedule delay after a recognised HA restart failure.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  int('max.retries', 5, {
    category: HA,
    description: 'HA restart attempts before the work item goes to Error.',
    unit: 'count',
    min: 0,
    source: OPS_HA,
  }),
  int('time.between.cleanup', 86400, {
    category: HA,
    description: 'Period of the HA work-queue cleanup.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  int('time.between.failures', 3600, {
    category: HA,
    description: 'Done/Cancelled HA work items older than this are purged.',
    unit: 'seconds',
    min: 0,
    source: OPS_HA,
  }),
  int('migrate.retry.interval', 120, {
    category: HA,
    description: 'Reschedule delay of a failed migration work item.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  int('stop.retry.interval', 600, {
    category: HA,
    description: 'Reschedule delay of a failed stop work item.',
    unit: 'seconds',
    min: 1,
    source: OPS_HA,
  }),
  bool('force.ha', false, {
    category: HA,
    description: 'Restart every VM of a failed host, HA-enabled or not.',
    source: OPS_HA,
  }),

  // --- VM lifecycle (operations.md §2) --------------------------------------------------------------------------
  int('expunge.delay', 86400, {
    category: VM,
    description: 'How long a Destroyed VM (and, as fallback of storage.cleanup.delay, a volume) waits before expunge.',
    unit: 'seconds',
    min: 0,
    source: `operations.md §2.8; ${STOR_9}`,
  }),
  int('expunge.interval', 86400, {
    category: VM,
    description: 'Period of the expunge thread.',
    unit: 'seconds',
    min: 1,
    source: `operations.md §2.8; ${STOR_9}`,
  }),
  int('expunge.workers', 1, {
    category: VM,
    description: 'Expunge worker threads.',
    unit: 'count',
    min: 1,
    source: 'operations.md §2.8',
  }),
  bool('allow.user.expunge.recover.vm', false, {
    category: VM,
    description: 'Let non-admin users expunge and recover their VMs.',
    source: 'operations.md §2.6, §2.7',
  }),
  bool('enable.dynamic.scale.vm', false, {
    category: VM,
    description: 'Allow live scaling of running VMs (out of scope for the core).',
    source: 'operations.md §2.10',
  }),
  str('instance.name', 'VM', {
    category: VM,
    description: 'Suffix of generated instance names: i-<accountId>-<vmId>-<instance.name>.',
    source: 'resource-model.md §9',
  }),
  bool('maintenance.cancel.migrate.back', true, {
    category: MAINTENANCE,
    description:
      'Stratus-only (not a CloudStack key): on cancelHostMaintenance, live-migrate back the VMs that this maintenance moved away.',
    source: 'operations.md §4.2, §16',
  }),

  // --- System VMs (operations.md §6; allocation.md §12) ---------------------------------------------------------
  int('consoleproxy.loadscan.interval', 10000, {
    category: SYSTEM_VM,
    description: 'Period of console-proxy session-count reports.',
    unit: 'milliseconds',
    min: 1,
    source: 'operations.md §6, §16',
  }),
  int('consoleproxy.session.max', 50, {
    category: SYSTEM_VM,
    description: 'Sessions per console proxy.',
    unit: 'count',
    min: 1,
    source: 'operations.md §6',
  }),
  int('consoleproxy.capacity.standby', 10, {
    category: SYSTEM_VM,
    description: 'Spare console sessions kept by starting proxies ahead of demand.',
    unit: 'count',
    min: 0,
    source: 'operations.md §6',
  }),
  str('consoleproxy.url.domain', 'realhostip.com', {
    category: SYSTEM_VM,
    description: 'Domain of console URLs https://a-b-c-d.<domain> for proxy IP a.b.c.d.',
    source: 'operations.md §6',
  }),
  bool('system.vm.use.local.storage', false, {
    scopes: ['zone'],
    category: SYSTEM_VM,
    description: 'Place system VMs on local storage pools.',
    source: `${ALLOC_12}; storage.md §2.3, §9; resource-model.md §5, §14`,
  }),
  bool('system.vm.local.storage.required', false, {
    scopes: ['zone'],
    category: SYSTEM_VM,
    description: 'Deprecated alias of system.vm.use.local.storage.',
    deprecatedAliasOf: 'system.vm.use.local.storage',
    source: `${ALLOC_12}; resource-model.md §14`,
  }),

  // --- Events, usage, jobs, tenancy (operations.md §7–§11) ------------------------------------------------------
  int('event.purge.delay', 15, {
    category: EVENTS,
    description: 'Events older than this are purged; 0 = never.',
    unit: 'days',
    min: 0,
    source: 'operations.md §7',
  }),
  str('usage.stats.job.exec.time', '00:15', {
    category: USAGE,
    description: 'First run of the usage job, HH:MM (24-hour) in usage.execution.timezone.',
    pattern: /^(?:[01]\d|2[0-3]):[0-5]\d$/,
    source: 'operations.md §9.3',
  }),
  str('usage.execution.timezone', '', {
    category: USAGE,
    description: 'Time zone of the exec time and of the day boundaries for range 1440; empty = the server time zone.',
    source: 'operations.md §9.3',
  }),
  int('usage.stats.job.aggregation.range', 1440, {
    category: USAGE,
    description: 'Minutes between usage runs; 1440 means "the previous complete day".',
    unit: 'minutes',
    min: 1,
    source: 'operations.md §9.3',
  }),
  str('usage.aggregation.timezone', 'GMT', {
    category: USAGE,
    description: 'Time zone of usage record date boundaries.',
    source: 'operations.md §9.3',
  }),
  bool('enable.usage.server', true, {
    category: USAGE,
    description: 'Master switch of usage aggregation.',
    source: 'operations.md §9.3',
  }),
  int('job.cancel.threshold.minutes', 60, {
    category: JOBS,
    description: 'A job in progress longer than this is cancelled.',
    unit: 'minutes',
    min: 1,
    source: 'operations.md §10; resource-model.md §12.11',
  }),
  int('job.expire.minutes', 1440, {
    category: JOBS,
    description: 'Finished jobs are removed after this.',
    unit: 'minutes',
    min: 1,
    source: 'operations.md §10; resource-model.md §12.11',
  }),
  int('account.cleanup.interval', 86400, {
    category: TENANCY,
    description: 'Period of the asynchronous cleanup of deleted accounts.',
    unit: 'seconds',
    min: 1,
    source: 'operations.md §11',
  }),

  // --- Resource limits (operations.md §12) ---------------------------------------------------------------------
  limit('max.account.user.vms', 'account'),
  limit('max.account.public.ips', 'account'),
  limit('max.account.volumes', 'account'),
  limit('max.account.snapshots', 'account'),
  limit('max.account.templates', 'account'),
  limit('max.account.networks', 'account'),
  limit('max.account.vpcs', 'account'),
  limit('max.account.cpus', 'account'),
  limit('max.account.memory', 'account'),
  limit('max.account.primary.storage', 'account'),
  limit('max.account.secondary.storage', 'account'),
  limit('max.project.user.vms', 'project'),
  limit('max.project.public.ips', 'project'),
  limit('max.project.volumes', 'project'),
  limit('max.project.snapshots', 'project'),
  limit('max.project.templates', 'project'),
  limit('max.project.networks', 'project'),
  limit('max.project.vpcs', 'project'),
  limit('max.project.cpus', 'project'),
  limit('max.project.memory', 'project'),
  limit('max.project.primary.storage', 'project'),
  limit('max.project.secondary.storage', 'project'),

  // --- API (operations.md §13) ----------------------------------------------------------------------------------
  int('integration.api.port', 0, {
    category: API,
    description:
      'Unauthenticated integration API port (CloudStack conventionally 8096); 0 = disabled, the SDK default. Never expose it.',
    unit: 'port',
    min: 0,
    max: 65535,
    source: 'operations.md §13.1',
  }),
  int('default.page.size', 500, {
    category: API,
    description: 'Maximum (and default) page size of list calls.',
    unit: 'count',
    min: 1,
    source: 'operations.md §13.1',
  }),

  // --- Agent / host heartbeat (resource-model.md §2.4; drivers.md §1) ------------------------------------------
  int('ping.interval', 60, {
    category: AGENT,
    description: 'Host ping (heartbeat) period.',
    unit: 'seconds',
    min: 1,
    source: 'resource-model.md §2.4; drivers.md §1',
  }),
  num('ping.timeout', 2.5, {
    category: AGENT,
    description: 'A host silent for ping.timeout × ping.interval goes to Alert.',
    unit: 'multiplier of ping.interval',
    exclusiveMin: 0,
    source: 'resource-model.md §2.4; drivers.md §1',
  }),

  // --- Networking (networking.md §14) ---------------------------------------------------------------------------
  str('guest.domain.suffix', 'cloud.internal', {
    scopes: ['zone', 'domain', 'account'],
    category: NETWORK,
    description: 'Default guest DNS suffix; precedence account > domain > zone > global.',
    source: `${NET_14}; resource-model.md §2.1`,
  }),
  int('network.guest.cidr.limit', 22, {
    category: NETWORK,
    description: 'Minimum prefix length of a guest network CIDR.',
    unit: 'prefix length',
    min: 0,
    max: 32,
    source: `${NET_14}; networking.md §4.4`,
  }),
  bool('check.pod.cidrs', true, {
    category: NETWORK,
    description: 'Pods must have distinct CIDRs.',
    source: `${NET_14}; networking.md §4.2`,
  }),
  cidr('control.cidr', '169.254.0.0/16', {
    category: NETWORK,
    description: 'Link-local control network of routers.',
    source: `${NET_14}; networking.md §4.6`,
  }),
  str('control.gateway', '169.254.0.1', {
    category: NETWORK,
    description: 'Gateway of the link-local control network.',
    pattern: IPV4_PATTERN,
    source: `${NET_14}; networking.md §4.6`,
  }),
  str('mac.address.prefix', '06', {
    category: NETWORK,
    description: 'First octet (hex) of generated guest MAC addresses.',
    pattern: /^[0-9a-fA-F]{2}$/,
    source: `${NET_14}; resource-model.md §9; drivers.md §2.5`,
  }),
  bool('use.system.public.ips', true, {
    scopes: ['account'],
    category: NETWORK,
    description: 'Fall back from dedicated to system public IP ranges.',
    source: `${NET_14}; networking.md §4.10`,
  }),
  bool('use.system.guest.vlans', true, {
    scopes: ['account'],
    category: NETWORK,
    description: 'Fall back from dedicated to system guest VLAN ranges.',
    source: `${NET_14}; networking.md §3.1`,
  }),
  bool('system.vm.public.ip.reservation.mode.strictness', false, {
    category: NETWORK,
    description: 'System VMs take public IPs only from ranges reserved for system VMs.',
    source: NET_14,
  }),
  bool('system.vm.management.ip.reservation.mode.strictness', false, {
    category: NETWORK,
    description: 'System VMs take management IPs only from ranges reserved for system VMs.',
    source: `${NET_14}; networking.md §4.2`,
  }),
  int('public.ip.address.quarantine.duration', 0, {
    category: NETWORK,
    description: 'Quarantine of a released public IP (only the previous owner may re-take it); 0 = off.',
    unit: 'minutes',
    min: 0,
    source: `${NET_14}; networking.md §4.8`,
  }),
  bool('network.rule.delete.ignoreerror', true, {
    category: NETWORK,
    description: 'Continue public IP release past device errors while revoking rules.',
    source: `${NET_14}; networking.md §4.8`,
  }),
  int('vpc.max.networks', 3, {
    category: NETWORK,
    description: 'Tiers (guest networks) per VPC.',
    unit: 'count',
    min: 0,
    source: `${NET_14}; networking.md §11`,
  }),
  int('vpc.cleanup.interval', 3600, {
    category: NETWORK,
    description: 'Period of the inactive-VPC cleanup.',
    unit: 'seconds',
    min: 1,
    source: NET_14,
  }),
  int('network.gc.interval', 600, {
    category: NETWORK,
    description: 'Period of the idle isolated network garbage collector.',
    unit: 'seconds',
    min: 1,
    source: `${NET_14}; networking.md §6.4; resource-model.md §10`,
  }),
  int('network.gc.wait', 600, {
    category: NETWORK,
    description: 'Idle time after which an isolated network is shut down by the collector.',
    unit: 'seconds',
    min: 0,
    source: `${NET_14}; networking.md §6.4; resource-model.md §10`,
  }),
  int('network.lock.timeout', 600, {
    category: NETWORK,
    description: 'Lock wait while implementing a network.',
    unit: 'seconds',
    min: 1,
    source: `${NET_14}; networking.md §6.3`,
  }),
  int('network.throttling.rate', 200, {
    category: NETWORK,
    description: 'Default network rate of network offerings.',
    unit: 'Mbps',
    min: 0,
    source: `${NET_14}; networking.md §5`,
  }),
  int('vm.network.throttling.rate', 200, {
    category: NETWORK,
    description: 'Default network rate of service offerings.',
    unit: 'Mbps',
    min: 0,
    source: `${NET_14}; resource-model.md §6.1`,
  }),
  int('guest.vlan.bits', 12, {
    category: NETWORK,
    description: 'VLAN id bits (VPN range masking on SRX).',
    unit: 'bits',
    min: 1,
    max: 32,
    source: NET_14,
  }),
  bool('eip.use.multiple.netscalers', false, {
    category: NETWORK,
    description: 'Allow several EIP NetScalers per zone.',
    source: `${NET_14}; networking.md §12`,
  }),
  bool('network.loadbalancer.basiczone.elb.enabled', false, {
    category: NETWORK,
    description: 'Enable the ElasticLoadBalancerVm provider in basic zones.',
    source: `${NET_14}; networking.md §12`,
  }),
  str('network.loadbalancer.basiczone.elb.network', 'guest', {
    category: NETWORK,
    description: 'IP source of ELB VMs in basic zones.',
    source: `${NET_14}; networking.md §12`,
  }),
  int('network.loadbalancer.basiczone.elb.gc.interval.minutes', 30, {
    category: NETWORK,
    description: 'Period of the idle ELB VM collector.',
    unit: 'minutes',
    min: 5,
    source: `${NET_14}; networking.md §12`,
  }),
  int('router.stats.interval', 300, {
    category: NETWORK,
    description: 'Period of virtual-router byte-counter collection.',
    unit: 'seconds',
    min: 1,
    source: `${NET_14}; operations.md §9.2`,
  }),
  int('healthcheck.update.interval', 600, {
    category: NETWORK,
    description: 'Period of load-balancer health-state refresh.',
    unit: 'seconds',
    min: 1,
    source: `${NET_14}; networking.md §8.5`,
  }),

  // --- VPN (networking.md §10) ----------------------------------------------------------------------------------
  str('remote.access.vpn.client.iprange', '10.1.2.1-10.1.2.8', {
    category: VPN,
    description: "Remote-access VPN client pool 'first-last'; the first address is the VPN server's.",
    pattern: IPV4_RANGE_PATTERN,
    source: `${NET_14}; networking.md §10.1`,
  }),
  str('remote.access.vpn.client.ip.range', '10.1.2.1-10.1.2.8', {
    category: VPN,
    description: 'CloudStack 4.0 guide spelling; alias of remote.access.vpn.client.iprange.',
    pattern: IPV4_RANGE_PATTERN,
    deprecatedAliasOf: 'remote.access.vpn.client.iprange',
    source: 'networking.md §10.1',
  }),
  int('remote.access.vpn.psk.length', 24, {
    category: VPN,
    description: 'Length of generated IPsec pre-shared keys.',
    unit: 'characters',
    min: 8,
    max: 256,
    source: `${NET_14}; networking.md §10.1`,
  }),
  int('remote.access.vpn.user.limit', 8, {
    category: VPN,
    description: 'VPN users per account.',
    unit: 'count',
    min: 0,
    source: `${NET_14}; networking.md §10.1; operations.md §12.2`,
  }),
  int('site2site.vpn.vpngateway.connection.limit', 4, {
    category: VPN,
    description: 'Connections per site-to-site VPN gateway.',
    unit: 'count',
    min: 0,
    source: `${NET_14}; networking.md §10.2`,
  }),
  int('site2site.vpn.customergateway.subnets.limit', 10, {
    category: VPN,
    description: 'CIDRs per customer gateway.',
    unit: 'count',
    min: 0,
    source: `${NET_14}; networking.md §10.2`,
  }),

  // --- Security groups (networking.md §9, §14) ------------------------------------------------------------------
  bool('network.securitygroups.defaultadding', true, {
    category: SECURITY_GROUPS,
    description: "New VMs join the account's 'default' security group.",
    source: `${NET_14}; networking.md §9`,
  }),
  int('network.securitygroups.workers.pool.size', 50, {
    category: SECURITY_GROUPS,
    description: 'Security-group rule workers.',
    unit: 'count',
    min: 1,
    source: NET_14,
  }),
  int('network.securitygroups.work.per.agent.queue.size', 100, {
    category: SECURITY_GROUPS,
    description: 'Security-group work queue size per host.',
    unit: 'count',
    min: 1,
    source: NET_14,
  }),
  int('network.securitygroups.work.cleanup.interval', 120, {
    category: SECURITY_GROUPS,
    description: 'Period of the security-group work cleanup.',
    unit: 'seconds',
    min: 1,
    source: NET_14,
  }),
  int('network.securitygroups.work.lock.timeout', 300, {
    category: SECURITY_GROUPS,
    description: 'Lock timeout of security-group work.',
    unit: 'seconds',
    min: 1,
    source: NET_14,
  }),

  // --- External network devices (networking.md §13; drivers.md §6) ----------------------------------------------
  int('external.firewall.default.capacity', 50, {
    category: EXTERNAL_DEVICES,
    description: 'Default capacity (guest networks) of an external firewall.',
    unit: 'networks',
    min: 1,
    source: `${NET_14}; networking.md §13.2; drivers.md §6.1`,
  }),
  int('external.lb.default.capacity', 50, {
    category: EXTERNAL_DEVICES,
    description: 'Default capacity (guest networks) of an external load balancer.',
    unit: 'networks',
    min: 1,
    source: `${NET_14}; networking.md §13.2; drivers.md §6.1`,
  }),
  int('external.network.stats.interval', 300, {
    category: EXTERNAL_DEVICES,
    description: 'Period of external-device byte-counter collection.',
    unit: 'seconds',
    min: 1,
    source: `${NET_14}; networking.md §13.4`,
  }),

  // --- VMware (networking.md §14; drivers.md §5.7) --------------------------------------------------------------
  int('vmware.ports.per.dvportgroup', 256, {
    category: VMWARE,
    description: 'Ports per distributed port group (bounds guest networks per dvSwitch).',
    unit: 'count',
    min: 1,
    source: `${NET_14}; drivers.md §5.7`,
  }),
  str('vmware.management.portgroup', 'Management Network', {
    category: VMWARE,
    description: 'Name of the vSphere management port group.',
    source: 'drivers.md §5.7',
  }),

  // --- Storage (storage.md §9) ----------------------------------------------------------------------------------
  bool('use.local.storage', false, {
    category: STORAGE,
    description: "CloudStack 2.2 key for allowing host-local pools (4.x: the zone's localStorageEnabled).",
    source: `${STOR_9}; storage.md §2.3; resource-model.md §2.1`,
  }),
  int('storage.max.volume.size', 2000, {
    category: STORAGE,
    description: 'Largest volume size.',
    unit: 'GB',
    min: 1,
    source: `${STOR_9}; storage.md §4.1`,
  }),
  int('max.volume.size.gb', 2000, {
    category: STORAGE,
    description: 'CloudStack 2.2 name, alias of storage.max.volume.size.',
    unit: 'GB',
    min: 1,
    deprecatedAliasOf: 'storage.max.volume.size',
    source: `${STOR_9}; storage.md §4.1`,
  }),
  int('max.template.iso.size', 50, {
    category: STORAGE,
    description: 'Largest registered template or ISO.',
    unit: 'GB',
    min: 1,
    source: `${STOR_9}; storage.md §6.3`,
  }),
  bool('storage.cleanup.enabled', true, {
    category: STORAGE,
    description: 'Storage garbage collection on/off.',
    source: STOR_9,
  }),
  int('storage.cleanup.interval', 86400, {
    category: STORAGE,
    description: 'Period of the storage garbage collector.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §4.4`,
  }),
  int('storage.cleanup.delay', 86400, {
    category: STORAGE,
    description: 'How long a destroyed volume waits before expunge (falls back to expunge.delay when unset).',
    unit: 'seconds',
    min: 0,
    source: `${STOR_9}; storage.md §4.4, §10`,
  }),
  bool('storage.template.cleanup.enabled', true, {
    category: STORAGE,
    description: 'Remove unused template copies from primary storage.',
    source: `${STOR_9}; storage.md §6.4`,
  }),
  int('primary.storage.download.wait', 10800, {
    category: STORAGE,
    description: 'Timeout of a secondary-to-primary template copy.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §6.4`,
  }),
  int('create.volume.from.snapshot.wait', 10800, {
    category: STORAGE,
    description: 'Timeout of creating a volume from a snapshot.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §5.4`,
  }),
  int('create.private.template.from.volume.wait', 10800, {
    category: STORAGE,
    description: 'Timeout of creating a template from a volume.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §6.5`,
  }),
  int('create.private.template.from.snapshot.wait', 10800, {
    category: STORAGE,
    description: 'Timeout of creating a template from a snapshot.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §5.4`,
  }),
  int('copy.volume.wait', 10800, {
    category: STORAGE,
    description: 'Timeout of a cross-cluster volume copy.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §4.5`,
  }),
  list('secstorage.allowed.internal.sites', [], {
    category: STORAGE,
    description: "CIDRs whose URLs the secondary storage VM downloads over its private NIC (e.g. '192.168.1.66/32').",
    pattern: CIDR_PATTERN,
    source: `${STOR_9}; storage.md §3`,
  }),
  bool('swift.enable', false, {
    category: STORAGE,
    description: 'Object-store (Swift) backed secondary storage.',
    source: STOR_9,
  }),

  // --- Snapshots (storage.md §5, §9) ----------------------------------------------------------------------------
  int('snapshot.max.hourly', 8, {
    category: SNAPSHOTS,
    description: 'Largest maxSnaps (retention) of an hourly snapshot policy.',
    unit: 'count',
    min: 0,
    source: `${STOR_9}; storage.md §10`,
  }),
  int('snapshot.max.daily', 8, {
    category: SNAPSHOTS,
    description: 'Largest maxSnaps (retention) of a daily snapshot policy.',
    unit: 'count',
    min: 0,
    source: `${STOR_9}; storage.md §10`,
  }),
  int('snapshot.max.weekly', 8, {
    category: SNAPSHOTS,
    description: 'Largest maxSnaps (retention) of a weekly snapshot policy.',
    unit: 'count',
    min: 0,
    source: `${STOR_9}; storage.md §10`,
  }),
  int('snapshot.max.monthly', 8, {
    category: SNAPSHOTS,
    description: 'Largest maxSnaps (retention) of a monthly snapshot policy.',
    unit: 'count',
    min: 0,
    source: `${STOR_9}; storage.md §10`,
  }),
  int('snapshot.delta.max', 16, {
    category: SNAPSHOTS,
    description: 'Every N-th XenServer snapshot backup is full, the others are deltas.',
    unit: 'count',
    min: 1,
    source: `${STOR_9}; storage.md §5.2; drivers.md §4.7`,
  }),
  int('snapshot.poll.interval', 300, {
    category: SNAPSHOTS,
    description: 'Poll period of the recurring snapshot scheduler.',
    unit: 'seconds',
    min: 1,
    source: STOR_9,
  }),
  int('backup.snapshot.wait', 21600, {
    category: SNAPSHOTS,
    description: 'Timeout of a snapshot backup to secondary storage.',
    unit: 'seconds',
    min: 1,
    source: `${STOR_9}; storage.md §5.2`,
  }),
] as const;

type AnyDefinition = (typeof DEFINITIONS)[number];

/** The union of every key in the catalog. */
export type SettingKey = AnyDefinition['key'];

/** The value type of setting `K`, e.g. `SettingValue<'cpu.overprovisioning.factor'>` is `number`. */
export type SettingValue<K extends SettingKey> = Extract<AnyDefinition, { readonly key: K }>['default'];

/** The catalog's shape: one typed definition per key. */
export type SettingsCatalog = { readonly [K in SettingKey]: SettingDefinition<SettingValue<K>> & { readonly key: K } };

function buildCatalog(definitions: readonly SettingDefinition[]): SettingsCatalog {
  const out: Record<string, SettingDefinition> = {};
  for (const def of definitions) {
    if (Object.hasOwn(out, def.key)) throw new Error(`settings catalog: duplicate key ${def.key}`);
    out[def.key] = def;
  }
  for (const def of definitions) {
    const target = def.deprecatedAliasOf;
    if (target !== undefined && !Object.hasOwn(out, target)) {
      throw new Error(`settings catalog: ${def.key} is an alias of unknown key ${target}`);
    }
  }
  return Object.freeze(out) as unknown as SettingsCatalog;
}

/** Every setting, keyed by its CloudStack configuration key. Frozen. */
export const SETTINGS: SettingsCatalog = buildCatalog(DEFINITIONS);

/** Every key of the catalog, in catalog order. */
export const SETTING_KEYS: readonly SettingKey[] = Object.freeze(DEFINITIONS.map((d) => d.key));

/** Whether `key` names a setting of the catalog. */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

/**
 * The definition of a setting.
 * @throws InvalidParameterError (field `key`) when the key is not in the catalog.
 */
export function settingDefinition<K extends SettingKey>(key: K): SettingsCatalog[K];
export function settingDefinition(key: string): SettingDefinition;
export function settingDefinition(key: string): SettingDefinition {
  if (!isSettingKey(key)) throw new InvalidParameterError('key', key, 'unknown setting');
  return SETTINGS[key];
}

/**
 * The key that holds the value of `key`: the alias target for a deprecated alias, else `key` itself.
 * @throws InvalidParameterError (field `key`) when the key is not in the catalog.
 */
export function canonicalSettingKey(key: string): SettingKey {
  const def = settingDefinition(key);
  return (def.deprecatedAliasOf ?? def.key) as SettingKey;
}

/**
 * Whether a value of `key` may be set at `scope`. Every setting allows `global`.
 * @throws InvalidParameterError (field `key`) when the key is not in the catalog.
 */
export function isScopeAllowed(key: string, scope: string): boolean {
  return (settingDefinition(key).scopes as readonly string[]).includes(scope);
}

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

function isIpv4Cidr(value: string): boolean {
  return CIDR_PATTERN.test(value);
}

function noun(def: SettingDefinition): string {
  return def.type === 'list' ? 'item' : 'value';
}

function checkString(def: SettingDefinition, raw: unknown, value: string): void {
  if (def.allowed !== undefined && !def.allowed.includes(value)) {
    throw new InvalidParameterError(def.key, raw, `${noun(def)} must be one of: ${def.allowed.join(', ')}`);
  }
  if (def.pattern !== undefined && !def.pattern.test(value)) {
    throw new InvalidParameterError(def.key, raw, `${noun(def)} ${JSON.stringify(value)} has the wrong format`);
  }
}

function parseNumber(def: SettingDefinition, raw: unknown): number {
  let value: number;
  if (typeof raw === 'number') {
    value = raw;
  } else if (typeof raw === 'string' && DECIMAL.test(raw.trim())) {
    value = Number(raw.trim());
  } else {
    throw new InvalidParameterError(def.key, raw, def.type === 'integer' ? 'expected an integer' : 'expected a number');
  }
  if (!Number.isFinite(value)) throw new InvalidParameterError(def.key, raw, 'expected a finite number');
  if (def.type === 'integer' && !Number.isSafeInteger(value)) {
    throw new InvalidParameterError(def.key, raw, 'expected an integer');
  }
  if (def.min !== undefined && value < def.min) throw new InvalidParameterError(def.key, raw, `must be ≥ ${def.min}`);
  if (def.max !== undefined && value > def.max) throw new InvalidParameterError(def.key, raw, `must be ≤ ${def.max}`);
  if (def.exclusiveMin !== undefined && value <= def.exclusiveMin) {
    throw new InvalidParameterError(def.key, raw, `must be > ${def.exclusiveMin}`);
  }
  return value;
}

function parseBoolean(def: SettingDefinition, raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  throw new InvalidParameterError(def.key, raw, "expected true or false (or the strings 'true'/'false')");
}

function parseList(def: SettingDefinition, raw: unknown): readonly string[] {
  let items: string[];
  if (typeof raw === 'string') {
    items = raw.split(',');
  } else if (Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
    items = raw as string[];
  } else {
    throw new InvalidParameterError(def.key, raw, 'expected a comma-separated string or an array of strings');
  }
  const out = items.map((item) => item.trim()).filter((item) => item.length > 0);
  for (const item of out) checkString(def, raw, item);
  return Object.freeze(out);
}

/**
 * Validate and coerce a raw value (as stored or as sent by a caller) for setting `key`.
 *
 * Numbers accept numbers and decimal strings (`'0.85'`, `' 10 '`); integers must be safe integers; booleans accept
 * booleans and the strings `'true'`/`'false'` (case-insensitive); strings are trimmed; lists accept a
 * comma-separated string (items trimmed, empty items dropped; `''` is the empty list) or an array of strings.
 * Then `min`/`max`/`exclusiveMin`, `allowed` and `pattern` are checked. Pure: no store access.
 *
 * @throws InvalidParameterError with `field` = the setting key when the value is not acceptable, and with
 *   `field` = `key` when the key is not in the catalog.
 */
export function parseSettingValue<K extends SettingKey>(key: K, raw: unknown): SettingValue<K>;
export function parseSettingValue(key: string, raw: unknown): SettingValueType;
export function parseSettingValue(key: string, raw: unknown): SettingValueType {
  const def = settingDefinition(key);
  switch (def.type) {
    case 'number':
    case 'integer':
      return parseNumber(def, raw);
    case 'boolean':
      return parseBoolean(def, raw);
    case 'list':
      return parseList(def, raw);
    case 'string':
    case 'cidr': {
      if (typeof raw !== 'string') throw new InvalidParameterError(def.key, raw, 'expected a string');
      const value = raw.trim();
      if (def.type === 'cidr' && !isIpv4Cidr(value)) {
        throw new InvalidParameterError(def.key, raw, 'expected an IPv4 CIDR such as 10.0.0.0/8');
      }
      checkString(def, raw, value);
      return value;
    }
  }
}
