import type { ReasonCode } from './reason-codes.js';

/** Where a host sits in the hierarchy (enough for hierarchical avoidance). */
export interface HostLocation {
  id: number;
  zoneId: number;
  podId: number;
  clusterId: number;
}

/** Where a pool sits in the hierarchy. */
export interface PoolLocation {
  id: number;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
}

/** The five avoid levels. */
export type AvoidLevel = 'zones' | 'pods' | 'clusters' | 'hosts' | 'pools';

/**
 * CloudStack's ExcludeList (avoid set): five id sets, each entry carrying the reason it was added.
 * Avoidance is hierarchical: a host is avoided when its zone, pod, cluster or own id is
 * (spec/allocation.md §1). The set persists across `start.retry` attempts.
 */
export class ExcludeList {
  readonly zones = new Map<number, ReasonCode>();
  readonly pods = new Map<number, ReasonCode>();
  readonly clusters = new Map<number, ReasonCode>();
  readonly hosts = new Map<number, ReasonCode>();
  readonly pools = new Map<number, ReasonCode>();

  /** Adds an entry; the first reason recorded for an id is kept. */
  add(level: AvoidLevel, id: number, reason: ReasonCode): void {
    const set = this[level];
    if (!set.has(id)) set.set(id, reason);
  }

  addZone(id: number, reason: ReasonCode): void {
    this.add('zones', id, reason);
  }
  addPod(id: number, reason: ReasonCode): void {
    this.add('pods', id, reason);
  }
  addCluster(id: number, reason: ReasonCode): void {
    this.add('clusters', id, reason);
  }
  addHost(id: number, reason: ReasonCode): void {
    this.add('hosts', id, reason);
  }
  addPool(id: number, reason: ReasonCode): void {
    this.add('pools', id, reason);
  }

  /** The reason the host is avoided (own entry first, then cluster, pod, zone), or undefined. */
  hostReason(h: HostLocation): ReasonCode | undefined {
    return this.hosts.get(h.id) ?? this.clusters.get(h.clusterId) ?? this.pods.get(h.podId) ?? this.zones.get(h.zoneId);
  }

  isHostAvoided(h: HostLocation): boolean {
    return this.hostReason(h) !== undefined;
  }

  /** The reason the pool is avoided (own entry, then its cluster, pod, zone), or undefined. */
  poolReason(p: PoolLocation): ReasonCode | undefined {
    return (
      this.pools.get(p.id) ??
      (p.clusterId !== null ? this.clusters.get(p.clusterId) : undefined) ??
      (p.podId !== null ? this.pods.get(p.podId) : undefined) ??
      this.zones.get(p.zoneId)
    );
  }

  isPoolAvoided(p: PoolLocation): boolean {
    return this.poolReason(p) !== undefined;
  }

  isClusterAvoided(c: { id: number; podId: number; zoneId: number }): boolean {
    return this.clusters.has(c.id) || this.pods.has(c.podId) || this.zones.has(c.zoneId);
  }

  isPodAvoided(p: { id: number; zoneId: number }): boolean {
    return this.pods.has(p.id) || this.zones.has(p.zoneId);
  }

  /** A deep copy. */
  clone(): ExcludeList {
    const out = new ExcludeList();
    out.addAll(this);
    return out;
  }

  /** Adds every entry of `other` (keeping reasons already present). */
  addAll(other: ExcludeList): void {
    for (const level of ['zones', 'pods', 'clusters', 'hosts', 'pools'] as const) {
      for (const [id, reason] of other[level]) this.add(level, id, reason);
    }
  }

  /** Total entries over the five levels. */
  get size(): number {
    return this.zones.size + this.pods.size + this.clusters.size + this.hosts.size + this.pools.size;
  }
}
