import { DriverError } from '@stratus/core';
import type { LibvirtTransport } from './libvirt-transport.js';

/** One connected host. */
export interface KvmHost {
  guid: string;
  name: string;
  /** The host's management address (IPv4), as reported to core. */
  ip: string;
  url: string;
  transport: LibvirtTransport;
  sshUser?: string;
}

/** A typed driver failure, scoped to `host` when given. */
export function fail(code: DriverError['driverCode'], message: string, host?: KvmHost): DriverError {
  return new DriverError(
    code,
    `kvm: ${message}`,
    host !== undefined ? { scope: { kind: 'host', ref: host.guid } } : {},
  );
}

/** A typed driver failure scoped to a storage pool. */
export function poolFail(code: DriverError['driverCode'], message: string, pool: string): DriverError {
  return new DriverError(code, `kvm: ${message}`, { scope: { kind: 'pool', ref: pool } });
}

/** Rows of a `virsh -q` table (first column). */
export function firstColumn(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((s) => s !== '');
}

/** The libvirt volume format of a core disk format. */
export function formatOf(fmt: string): 'qcow2' | 'raw' | 'iso' {
  return fmt === 'raw' ? 'raw' : fmt === 'iso' ? 'iso' : 'qcow2';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
