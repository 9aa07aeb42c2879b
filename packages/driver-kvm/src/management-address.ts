import { lookup } from 'node:dns/promises';
import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { DriverError, type DriverErrorScope } from '@stratus/core';

/**
 * The IPv4 management address of a host whose libvirt (or SSH) endpoint is `hostname`: an IPv4 literal as it is, a
 * name resolved (IPv4), and no name at all (a local URI such as `qemu:///system` or `test+unix:///…`) this machine's
 * own address: its first non-internal IPv4 interface, else `127.0.0.1` (a machine with loopback only). A name that
 * does not resolve is `Unreachable`.
 */
export async function managementAddress(hostname: string, scope: DriverErrorScope): Promise<string> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIPv4(host)) return host;
  if (host === '' || host === 'localhost') return localAddress();
  try {
    return (await lookup(host, { family: 4 })).address;
  } catch (err) {
    throw new DriverError('Unreachable', `kvm: host name ${host} does not resolve to an IPv4 address`, {
      scope,
      cause: err,
    });
  }
}

/** This machine's first non-internal IPv4 address, else `127.0.0.1`. */
export function localAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}
