/**
 * bench/kvm: virsh operations per second three ways: one kept virsh session on one kept SSH connection (the KVM
 * driver's default transport), a virsh process per command on one kept SSH connection (`transport: 'exec'`), and
 * a new SSH connection per command.
 *
 * With no target given it starts its own peers, as the test harness does (root, Debian's openssh-server and
 * libvirt): an sshd on loopback with a key-only user and a libvirtd with libvirt's test driver. To measure a real
 * host instead: STRATUS_BENCH_SSH=user@host:port, STRATUS_BENCH_KEY=<key file>, STRATUS_BENCH_KNOWN_HOSTS=<file>,
 * STRATUS_BENCH_LIBVIRT=<libvirt URI on the host> (default qemu:///system).
 */
import { readFileSync } from 'node:fs';
import { SessionVirshTransport } from '../../packages/driver-kvm/src/session-transport.js';
import { SshSession } from '../../packages/driver-kvm/src/ssh-session.js';
import { SshVirshTransport } from '../../packages/driver-kvm/src/ssh-transport.js';
import { type KvmPeers, startKvmPeers } from '../../packages/testkit/src/harness/kvm-peers.js';

let peers: KvmPeers | null = null;
let target = process.env.STRATUS_BENCH_SSH;
let keyFile = process.env.STRATUS_BENCH_KEY;
let knownHostsFile = process.env.STRATUS_BENCH_KNOWN_HOSTS;
let libvirtUri = process.env.STRATUS_BENCH_LIBVIRT ?? 'qemu:///system';
if (target === undefined) {
  peers = await startKvmPeers();
  if (peers === null) {
    console.error('no STRATUS_BENCH_SSH target and the local peers cannot start (see the line above)');
    process.exit(2);
  }
  const facts = JSON.parse(process.env.STRATUS_KVM_FACTS ?? '{}') as {
    sshUser: string;
    sshPort: number;
    keyFile: string;
    knownHostsFile: string;
    libvirtUri: string;
  };
  target = `${facts.sshUser}@127.0.0.1:${facts.sshPort}`;
  keyFile = facts.keyFile;
  knownHostsFile = facts.knownHostsFile;
  libvirtUri = facts.libvirtUri;
  process.on('exit', () => peers?.stopSync());
}
if (keyFile === undefined || knownHostsFile === undefined) {
  console.error('set STRATUS_BENCH_KEY and STRATUS_BENCH_KNOWN_HOSTS with STRATUS_BENCH_SSH');
  process.exit(2);
}
const m = /^([^@]+)@([^:]+):(\d+)$/.exec(target);
if (m === null) throw new Error('STRATUS_BENCH_SSH must be user@host:port');
const endpoint = {
  username: m[1]!,
  host: m[2]!,
  port: Number(m[3]),
  privateKey: readFileSync(keyFile, 'utf8'),
  hostKey: { knownHostsFile },
};
const uri = libvirtUri;
const N = Number(process.env.STRATUS_BENCH_OPS ?? 40);
const scope = { kind: 'host' as const, ref: target };

/** Ops/s of N `list --all --name` through `t` (after one warm-up call that opens what it keeps). */
async function rate(t: SessionVirshTransport | SshVirshTransport): Promise<number> {
  await t.listDomains();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await t.virsh(['list', '--all', '--name']);
  const s = (performance.now() - t0) / 1000;
  await t.close();
  return N / s;
}

async function perCommand(): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const t = new SshVirshTransport(new SshSession(endpoint, scope), uri, scope);
    await t.virsh(['list', '--all', '--name']);
    await t.close();
  }
  return N / ((performance.now() - t0) / 1000);
}

const session = await rate(new SessionVirshTransport(new SshSession(endpoint, scope), uri, scope));
const exec = await rate(new SshVirshTransport(new SshSession(endpoint, scope), uri, scope));
const fresh = await perCommand();
console.log(`kept virsh session (default):              ${session.toFixed(1)} ops/s (${N} × virsh list)`);
console.log(`kept connection, virsh process per command: ${exec.toFixed(1)} ops/s`);
console.log(`new SSH connection per command:             ${fresh.toFixed(1)} ops/s`);
console.log(
  `session vs process per command: ${(session / exec).toFixed(1)}×; vs new connection: ${(session / fresh).toFixed(1)}×`,
);
peers?.stopSync();
