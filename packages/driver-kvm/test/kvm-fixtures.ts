import { readFileSync } from 'node:fs';
import type { VmSpec } from '@stratus/core';
import type { KvmFacts } from '../../testkit/src/harness/kvm-peers.js';

/** The loopback sshd and libvirt test driver as a host target. */
export function sshTarget(facts: KvmFacts) {
  return {
    url: `ssh://${facts.sshUser}@127.0.0.1:${facts.sshPort}`,
    credentials: { username: facts.sshUser, privateKey: readFileSync(facts.keyFile, 'utf8') },
    details: { libvirtUri: facts.libvirtUri },
  };
}

/** A one-CPU, 64 MiB VM without disks or NICs (the test driver runs it as is). */
export function tinyVm(name: string, overrides: Partial<VmSpec> = {}): VmSpec {
  return {
    name,
    uuid: crypto.randomUUID(),
    type: 'User',
    cpus: 1,
    cpuMhz: 500,
    minRamBytes: 64 << 20,
    maxRamBytes: 64 << 20,
    bootOrder: ['hd'],
    osType: 'Linux',
    bootArgs: '',
    vncPassword: '',
    disks: [],
    nics: [],
    details: {},
    ...overrides,
  };
}
