import { InvalidParameterError } from '@stratus/core';
import type { SimulatorHostDefaults } from './simulator-options.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** One host a `sim://` URL asks for. */
export interface SimHostRequest {
  name: string;
  cpus: number;
  cpuSockets: number;
  cpuMhz: number;
  memoryBytes: number;
  reservedMemoryBytes: number;
  localStorageBytes: number;
  hostTags: string[];
  trafficLabels: string[] | null;
  /** Explicit management IP (`ip=`), single hosts only. */
  ip?: string;
  /** The pool name for `sim://cluster/<name>`, the `cluster=` parameter otherwise. */
  cluster?: string;
  /** Whether the hosts form a pool (`sim://cluster/...`). */
  pooled: boolean;
}

function positiveInt(params: URLSearchParams, key: string, fallback: number, url: string): number {
  const raw = params.get(key);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidParameterError(`url.${key}`, url, `${key} must be a non-negative integer`);
  return n;
}

function list(raw: string | null): string[] | null {
  if (raw === null) return null;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Parses `sim://<hostname>[?cpus=&cpuSockets=&cpuMhz=&memoryMiB=&reservedMemoryMiB=&localStorageGiB=&tags=a,b&labels=cloudbr0,cloudbr1&cluster=&ip=]`
 * (one host) or `sim://cluster/<name>?hosts=3&...` (a pool of hosts `<name>-host1…`).
 */
export function parseSimUrl(url: string, defaults: SimulatorHostDefaults): SimHostRequest[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidParameterError('url', url, 'not a URL; expected sim://<hostname> or sim://cluster/<name>');
  }
  if (parsed.protocol !== 'sim:') {
    throw new InvalidParameterError('url', url, 'the simulator connects sim://<hostname> or sim://cluster/<name> URLs');
  }
  const p = parsed.searchParams;
  const host = decodeURIComponent(parsed.hostname);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  if (host === '') throw new InvalidParameterError('url', url, 'missing host name');
  const base = {
    cpus: positiveInt(p, 'cpus', defaults.cpus, url),
    cpuSockets: positiveInt(p, 'cpuSockets', defaults.cpuSockets, url),
    cpuMhz: positiveInt(p, 'cpuMhz', defaults.cpuMhz, url),
    memoryBytes: p.has('memoryMiB') ? positiveInt(p, 'memoryMiB', 0, url) * MiB : defaults.memoryBytes,
    reservedMemoryBytes: p.has('reservedMemoryMiB')
      ? positiveInt(p, 'reservedMemoryMiB', 0, url) * MiB
      : defaults.reservedMemoryBytes,
    localStorageBytes: p.has('localStorageGiB')
      ? positiveInt(p, 'localStorageGiB', 0, url) * GiB
      : defaults.localStorageBytes,
    hostTags: list(p.get('tags')) ?? [...defaults.hostTags],
    trafficLabels: list(p.get('labels')) ?? (defaults.trafficLabels ? [...defaults.trafficLabels] : null),
  };
  if (base.cpus < 1) throw new InvalidParameterError('url.cpus', url, 'a host needs at least one CPU');
  if (host === 'cluster' && path !== '') {
    const count = positiveInt(p, 'hosts', 1, url);
    if (count < 1) throw new InvalidParameterError('url.hosts', url, 'a cluster needs at least one host');
    return Array.from({ length: count }, (_, i) => ({
      ...base,
      name: `${path}-host${i + 1}`,
      cluster: path,
      pooled: true,
    }));
  }
  if (path !== '') throw new InvalidParameterError('url', url, 'unexpected path; expected sim://<hostname>');
  const cluster = p.get('cluster') ?? undefined;
  const ip = p.get('ip') ?? undefined;
  return [
    {
      ...base,
      name: host,
      pooled: false,
      ...(cluster !== undefined ? { cluster } : {}),
      ...(ip !== undefined ? { ip } : {}),
    },
  ];
}
