import type { DriverErrorScope } from '@stratus/core';
import type {
  DomainState,
  DomainSummary,
  HostFiles,
  LibvirtTransport,
  NodeInfo,
  VirshOptions,
} from './libvirt-transport.js';

/** Parses `virsh nodeinfo` (a key/value table; there is no XML form). */
export function parseNodeInfo(out: string): NodeInfo {
  const fields = new Map<string, string>();
  for (const line of out.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  const num = (key: string): number => Number.parseInt(fields.get(key) ?? '0', 10) || 0;
  return {
    model: fields.get('cpu model') ?? '',
    cpus: num('cpu(s)'),
    mhz: num('cpu frequency'),
    sockets: num('cpu socket(s)'),
    coresPerSocket: num('core(s) per socket'),
    threadsPerCore: num('thread(s) per core'),
    memoryKiB: num('memory size'),
  };
}

/** Maps `virsh domstate` text to a {@link DomainState}. */
export function parseDomState(out: string): DomainState {
  const s = out.trim().toLowerCase();
  if (s === 'running' || s === 'in shutdown' || s === 'blocked' || s === 'idle') return 'running';
  if (s === 'paused' || s === 'pmsuspended') return 'paused';
  if (s === 'shut off' || s === 'crashed' || s === 'shutoff') return 'stopped';
  return 'unknown';
}

const names = (out: string): string[] =>
  out
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');

/**
 * The domain operations done with virsh commands; subclasses say how a virsh command runs (over SSH, or as a
 * local process) and where files live.
 */
export abstract class VirshTransport implements LibvirtTransport {
  abstract readonly kind: 'ssh' | 'native' | 'local';
  abstract readonly files: HostFiles;
  constructor(readonly scope: DriverErrorScope) {}

  abstract virsh(args: readonly string[], options?: VirshOptions): Promise<string>;
  abstract close(): Promise<void>;

  async listDomains(): Promise<DomainSummary[]> {
    const all = names(await this.virsh(['list', '--all', '--name']));
    const active = new Set(names(await this.virsh(['list', '--name'])));
    return all.map((name) => ({ name, active: active.has(name) }));
  }

  async domainState(name: string): Promise<DomainState> {
    try {
      return parseDomState(await this.virsh(['domstate', '--', name]));
    } catch (err) {
      if ((err as { driverCode?: string }).driverCode === 'NotFound') return 'missing';
      throw err;
    }
  }

  async defineDomain(xml: string): Promise<void> {
    await this.virsh(['define', '/dev/stdin'], { stdin: xml });
  }
  async startDomain(name: string): Promise<void> {
    await this.virsh(['start', '--', name]);
  }
  async shutdownDomain(name: string): Promise<void> {
    await this.virsh(['shutdown', '--', name]);
  }
  async destroyDomain(name: string): Promise<void> {
    await this.virsh(['destroy', '--', name]);
  }
  async rebootDomain(name: string): Promise<void> {
    await this.virsh(['reboot', '--', name]);
  }
  async undefineDomain(name: string): Promise<void> {
    await this.virsh(['undefine', '--', name]);
  }
  async domainXml(name: string, inactive = false): Promise<string> {
    return this.virsh(inactive ? ['dumpxml', '--inactive', '--', name] : ['dumpxml', '--', name]);
  }
  async nodeInfo(): Promise<NodeInfo> {
    return parseNodeInfo(await this.virsh(['nodeinfo']));
  }
}
