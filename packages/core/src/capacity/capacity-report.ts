import { overprovisionedLimit } from './host-fit.js';
import type { PlacementState } from './placement-state.js';
import { poolCapacityLimit } from './pool-fit.js';

/** CloudStack capacity types (spec/allocation.md §2.1) the report covers. */
export type CapacityType = 'MEMORY' | 'CPU' | 'CPU_CORE' | 'STORAGE' | 'STORAGE_ALLOCATED' | 'LOCAL_STORAGE';

/** CloudStack's numeric ids of those types. */
export const CAPACITY_TYPE_IDS: Readonly<Record<CapacityType, number>> = {
  MEMORY: 0,
  CPU: 1,
  STORAGE: 2,
  STORAGE_ALLOCATED: 3,
  LOCAL_STORAGE: 9,
  CPU_CORE: 90,
};

/** One line of the report, like a listCapacity response entry. */
export interface CapacityReportRow {
  level: 'zone' | 'pod' | 'cluster' | 'host';
  id: number;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
  type: CapacityType;
  /** Over-provisioned total for CPU, memory and allocated storage (factor applied at report time). */
  total: number;
  used: number;
  reserved: number;
  /** `(used + reserved) / total × 100`, two decimals; 0 when total is 0. */
  percent: number;
}

/** Filter of {@link capacityReport}. */
export interface CapacityReportQuery {
  level: 'zone' | 'pod' | 'cluster' | 'host';
  zoneId?: number;
  podId?: number;
  clusterId?: number;
  hostId?: number;
  type?: CapacityType;
}

const pct = (used: number, total: number) => (total > 0 ? Math.round((used / total) * 10000) / 100 : 0);

/**
 * Capacity per zone, pod, cluster or host (total, used, reserved, percent), like CloudStack's
 * listCapacity. CPU/MEMORY/CPU_CORE count Enabled routing hosts (maintenance and disabled hosts drop
 * out, §2.1); STORAGE is physical fill and STORAGE_ALLOCATED allocation against the
 * over-provisioned pool size; local pools report as LOCAL_STORAGE.
 */
export function capacityReport(state: PlacementState, query: CapacityReportQuery): CapacityReportRow[] {
  const groups = new Map<number, Map<CapacityType, { total: number; used: number; reserved: number }>>();
  const where = new Map<number, { zoneId: number; podId: number | null; clusterId: number | null }>();
  const keyOf = (loc: {
    id: number;
    zoneId: number;
    podId: number | null;
    clusterId: number | null;
  }): number | null => {
    if (query.zoneId !== undefined && loc.zoneId !== query.zoneId) return null;
    if (query.podId !== undefined && loc.podId !== query.podId) return null;
    if (query.clusterId !== undefined && loc.clusterId !== query.clusterId) return null;
    switch (query.level) {
      case 'zone':
        where.set(loc.zoneId, { zoneId: loc.zoneId, podId: null, clusterId: null });
        return loc.zoneId;
      case 'pod':
        if (loc.podId === null) return null;
        where.set(loc.podId, { zoneId: loc.zoneId, podId: loc.podId, clusterId: null });
        return loc.podId;
      case 'cluster':
        if (loc.clusterId === null) return null;
        where.set(loc.clusterId, { zoneId: loc.zoneId, podId: loc.podId, clusterId: loc.clusterId });
        return loc.clusterId;
      default:
        return null;
    }
  };
  const add = (key: number, type: CapacityType, total: number, used: number, reserved: number) => {
    if (query.type !== undefined && query.type !== type) return;
    let g = groups.get(key);
    if (!g) {
      g = new Map();
      groups.set(key, g);
    }
    const cur = g.get(type) ?? { total: 0, used: 0, reserved: 0 };
    cur.total += total;
    cur.used += used;
    cur.reserved += reserved;
    g.set(type, cur);
  };
  for (const h of state.hosts.values()) {
    if (h.resourceState !== 'Enabled') continue;
    if (query.hostId !== undefined && h.id !== query.hostId) continue;
    const c = state.clusters.get(h.clusterId);
    if (!c) continue;
    let key: number | null;
    if (query.level === 'host') {
      if (query.zoneId !== undefined && h.zoneId !== query.zoneId) continue;
      if (query.podId !== undefined && h.podId !== query.podId) continue;
      if (query.clusterId !== undefined && h.clusterId !== query.clusterId) continue;
      where.set(h.id, { zoneId: h.zoneId, podId: h.podId, clusterId: h.clusterId });
      key = h.id;
    } else {
      key = keyOf({ id: h.id, zoneId: h.zoneId, podId: h.podId, clusterId: h.clusterId });
    }
    if (key === null) continue;
    add(key, 'CPU', overprovisionedLimit(h.cpuTotal, c.cpuRatio), h.cpuUsed, h.cpuReserved);
    add(key, 'MEMORY', overprovisionedLimit(h.memoryTotal, c.memoryRatio), h.memoryUsed, h.memoryReserved);
    const perCore = h.speed > 0 ? 1 / h.speed : 0;
    add(key, 'CPU_CORE', h.cpus, Math.round(h.cpuUsed * perCore), Math.round(h.cpuReserved * perCore));
  }
  if (query.level !== 'host' && query.hostId === undefined) {
    for (const p of state.pools.values()) {
      const host = p.hostId !== null ? state.hosts.get(p.hostId) : undefined;
      const podId = p.podId ?? host?.podId ?? null;
      const clusterId = p.clusterId ?? host?.clusterId ?? null;
      const key = keyOf({ id: p.id, zoneId: p.zoneId, podId, clusterId });
      if (key === null) continue;
      if (p.scope === 'HOST') {
        add(key, 'LOCAL_STORAGE', p.capacityBytes, p.allocatedBytes, 0);
      } else {
        add(key, 'STORAGE', p.capacityBytes, p.usedBytes, 0);
        add(key, 'STORAGE_ALLOCATED', poolCapacityLimit(p), p.allocatedBytes, 0);
      }
    }
  }
  const rows: CapacityReportRow[] = [];
  for (const [id, g] of groups) {
    const loc = where.get(id);
    if (!loc) continue;
    for (const [type, v] of g) {
      rows.push({
        level: query.level,
        id,
        ...loc,
        type,
        total: v.total,
        used: v.used,
        reserved: v.reserved,
        percent: pct(v.used + v.reserved, v.total),
      });
    }
  }
  rows.sort((a, b) => a.id - b.id || CAPACITY_TYPE_IDS[a.type] - CAPACITY_TYPE_IDS[b.type]);
  return rows;
}
