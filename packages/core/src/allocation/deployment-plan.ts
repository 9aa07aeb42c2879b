import type { Demand, ImplicitDedicationMode } from '../capacity/placement-state.js';
import type { HypervisorType, StorageType } from '../model/enums.js';
import type { ExcludeList } from './exclude-list.js';

/** One affinity group of a VM as placement sees it. */
export interface AffinityRule {
  groupId: number;
  /** `host anti-affinity`: never on a host with another member; `host affinity`: on the host(s) members use. */
  type: 'host affinity' | 'host anti-affinity';
  /** The group's other members (VM ids). */
  vmIds: readonly number[];
  /**
   * Hosts the other members hold capacity on (running, starting, or stopped with their reservation
   * kept). Core fills it from its placement index just before placing; an allocator reads only this.
   */
  hostIds?: readonly number[];
}

/** One disk to place (spec/allocation.md §7). */
export interface DiskProfile {
  /** Volume id when the volume exists; otherwise a caller-chosen key unique within the request. */
  id: number;
  /** Bytes. */
  size: number;
  /** Storage tags: every one must be on the pool (§8). */
  tags: readonly string[];
  storageType: StorageType;
  /** A Ready volume stays on its pool when that pool is usable and reachable (§7.3). */
  poolId?: number | null;
  minIops?: number;
}

/** What placement needs to know about the VM. */
export interface VmProfile {
  /** VM id when it exists (lets a restart consume its own reservation). */
  id?: number;
  accountId: number;
  domainId: number;
  /** `User` (default) or a system VM type such as `DomainRouter`. */
  type?: string;
  /** Root admin owner (for `allow.admin.vm.on.disabled.resources`). */
  ownerIsRootAdmin?: boolean;
  demand: Demand;
  /** Offering host tags (and the template's), all required on the host. */
  hostTags: readonly string[];
  hypervisorType?: HypervisorType | null;
  /** Template OS category: hosts preferring it come first (ordering only). */
  osCategory?: string | null;
  requiresHvm?: boolean;
  implicitDedication?: ImplicitDedicationMode | null;
  /**
   * Strict explicit dedication (the VM is in its owner's `ExplicitDedication` affinity group): only
   * hosts dedicated to the owner — the host, its cluster, pod or zone dedicated to the account or
   * to a domain above it. Without it the VM may use its owner's dedicated resources and shared ones
   * (spec/allocation.md §9.1; never resources dedicated to someone else).
   */
  strictDedication?: boolean;
  /**
   * Path of the owner's domain (`/`, `/sales/`, …): a dedication to a domain covers its
   * subdomains. Without it only the owner's own domain matches.
   */
  domainPath?: string;
  /** Host affinity and anti-affinity groups the VM is in (CloudStack 4.x `host affinity` / `host anti-affinity`). */
  affinity?: readonly AffinityRule[];
  /** Last host, for last-host preference on restart. */
  lastHostId?: number | null;
  /** HA restart: ignores the last host and may use `ha.tag` hosts. */
  haRestart?: boolean;
  /** Disks, largest placed first; empty = compute only. */
  disks: readonly DiskProfile[];
}

/** The scope of one placement (CloudStack's DataCenterDeployment). */
export interface DeploymentPlan {
  zoneId: number;
  podId?: number;
  clusterId?: number;
  /** Pinned host: only this host is checked, no fallback (pitfall 15). */
  hostId?: number;
  poolId?: number;
  /** Carried across `start.retry` attempts; allocators add to it. */
  avoid?: ExcludeList;
  /** Hosts tried first (affinity). */
  preferredHosts?: readonly number[];
}

/** Where a VM goes: the host and a pool per disk. */
export interface DeployDestination {
  zoneId: number;
  podId: number;
  clusterId: number;
  hostId: number;
  /** Disk id → pool id. */
  pools: ReadonlyMap<number, number>;
}
