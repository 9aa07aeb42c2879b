/**
 * Real KVM-side peers for integration tests (TEST-ENVIRONMENT.md §3, §4.2, §9): sshd on 127.0.0.1 (and on the
 * {@link KVM_HOST_ADDRESSES}) with a key-only test user, and a hand-started libvirtd serving libvirt's test driver
 * on a unix socket in a temp dir, with a holder connection so the test driver's state lives for the whole run.
 * Started by `global-setup.ts`; facts reach test workers through the `STRATUS_KVM_*` environment variables ({@link kvmFacts}).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type LibvirtTestDaemon, startLibvirtTestDaemon } from './libvirt-test-daemon.js';

const SSHD = '/usr/sbin/sshd';
const LIBVIRTD = '/usr/sbin/libvirtd';
/** Per-run user, so concurrent test runs on one machine never share (or delete) each other's user. */
const TEST_USER = `stratust${process.pid}`;
const LOG_TAG = '[stratus-it]';
const DEADLINE_MS = 10_000;
/**
 * Loopback addresses sshd also listens on (besides 127.0.0.1), one per simulated KVM host: a test reaching two hosts
 * as `ssh://user@127.0.0.11:<port>` and `ssh://user@127.0.0.12:<port>` gets two distinct management addresses on
 * this one machine (every address of 127.0.0.0/8 reaches it).
 */
export const KVM_HOST_ADDRESSES = ['127.0.0.11', '127.0.0.12'] as const;

/** Connection facts of the KVM peers. */
export interface KvmFacts {
  dir: string;
  sshPort: number;
  sshUser: string;
  /** Client private key (readable by the test process). */
  keyFile: string;
  /** Loopback addresses sshd also listens on ({@link KVM_HOST_ADDRESSES}), on the same port. */
  hostAddresses: string[];
  /** known_hosts file holding the test sshd's host key as `[127.0.0.1]:<port>` and `[<host address>]:<port>`. */
  knownHostsFile: string;
  /** SHA256 fingerprint line of the host key (`ssh-keygen -lf`). */
  hostKeyFingerprint: string;
  /** `test+unix:///default?socket=…` of the hand-started libvirtd. */
  libvirtUri: string;
  /** A directory the test user may write into (pool target). */
  poolDir: string;
  sshdPid: number;
}

const ENV = 'STRATUS_KVM_FACTS';
const SKIP_ENV = 'STRATUS_KVM_SKIP';

/** The facts in a test worker, or null when the peers were skipped. */
export function kvmFacts(): KvmFacts | null {
  const raw = process.env[ENV];
  return raw === undefined || raw === '' ? null : (JSON.parse(raw) as KvmFacts);
}

/** Why the KVM peers were skipped ('' when they run). */
export function kvmSkipReason(): string {
  return process.env[SKIP_ENV] ?? '';
}

function skipReason(): string | null {
  for (const bin of [SSHD, LIBVIRTD, '/usr/bin/virsh', '/usr/bin/ssh-keygen'])
    if (!existsSync(bin)) return `${bin} not found (apt-get install openssh-server libvirt-daemon libvirt-clients)`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root (sshd, useradd)';
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function banner(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setTimeout(1_000);
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('SSH-2.0-'));
    });
    sock.once('error', () => resolve(false));
    sock.once('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-3_000);
  } catch {
    return '(no log)';
  }
}

function kill(child: ChildProcess | undefined): void {
  if (child?.pid === undefined || child.exitCode !== null) return;
  try {
    child.kill('SIGTERM');
  } catch {
    // gone
  }
}

/** The running peers; `stopSync` is idempotent and usable from exit handlers. */
export class KvmPeers {
  private sshd: ChildProcess | undefined;
  private libvirtd: LibvirtTestDaemon | undefined;
  private createdUser = false;
  private stopped = false;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'stratus-it-kvm-'));

  async start(): Promise<KvmFacts> {
    chmodSync(this.dir, 0o755);
    const d = this.dir;
    // test user, key-only
    try {
      execFileSync('id', ['-u', TEST_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/bash', TEST_USER]);
      this.createdUser = true;
    }
    execFileSync('usermod', ['-p', '*', TEST_USER]);
    mkdirSync(`${d}/ssh`);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/ssh/host_ed25519`, '-C', 'test-host']);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${d}/ssh/client_ed25519`, '-C', 'test-client']);
    const home = `/home/${TEST_USER}`;
    execFileSync('install', ['-d', '-m', '700', '-o', TEST_USER, '-g', TEST_USER, `${home}/.ssh`]);
    execFileSync('install', [
      '-m',
      '600',
      '-o',
      TEST_USER,
      '-g',
      TEST_USER,
      `${d}/ssh/client_ed25519.pub`,
      `${home}/.ssh/authorized_keys`,
    ]);
    mkdirSync('/run/sshd', { recursive: true });
    chmodSync('/run/sshd', 0o755);
    const poolDir = `${d}/pool`;
    mkdirSync(poolDir);
    execFileSync('chown', [`${TEST_USER}:${TEST_USER}`, poolDir]);

    // libvirtd with the test driver only (LIBVIRT_DRIVER_DIR trick), kept alive by a holder connection
    this.libvirtd = await startLibvirtTestDaemon({ dir: d, libvirtd: LIBVIRTD, deadlineMs: DEADLINE_MS });
    const libvirtUri = this.libvirtd.uri;

    // sshd
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      writeFileSync(
        `${d}/ssh/sshd_config`,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          ...KVM_HOST_ADDRESSES.map((a) => `ListenAddress ${a}`),
          `HostKey ${d}/ssh/host_ed25519`,
          `PidFile ${d}/ssh/sshd.pid`,
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'PermitRootLogin no',
          `AllowUsers ${TEST_USER}`,
          'Subsystem sftp internal-sftp',
          'StrictModes yes',
          'MaxSessions 50',
          'MaxStartups 50',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      execFileSync(SSHD, ['-t', '-f', `${d}/ssh/sshd_config`]);
      const log = `${d}/ssh/sshd.log`;
      this.sshd = spawn(SSHD, ['-D', '-e', '-f', `${d}/ssh/sshd_config`, '-E', log], { stdio: 'ignore' });
      const deadline = Date.now() + DEADLINE_MS;
      let ready = false;
      while (Date.now() < deadline && this.sshd.exitCode === null) {
        if (await banner(port)) {
          ready = true;
          break;
        }
        await sleep(50);
      }
      if (ready) break;
      const text = tail(log);
      kill(this.sshd);
      if (/address already in use/i.test(text) && attempt < 3) continue;
      throw new Error(`${LOG_TAG} sshd did not start on 127.0.0.1:${port}\n${text}`);
    }
    const pub = readFileSync(`${d}/ssh/host_ed25519.pub`, 'utf8').trim().split(/\s+/);
    writeFileSync(
      `${d}/ssh/known_hosts`,
      ['127.0.0.1', ...KVM_HOST_ADDRESSES].map((a) => `[${a}]:${port} ${pub[0]} ${pub[1]}\n`).join(''),
    );
    const fp =
      execFileSync('ssh-keygen', ['-lf', `${d}/ssh/host_ed25519.pub`], { encoding: 'utf8' }).split(/\s+/)[1] ?? '';
    const facts: KvmFacts = {
      dir: d,
      sshPort: port,
      hostAddresses: [...KVM_HOST_ADDRESSES],
      sshUser: TEST_USER,
      keyFile: `${d}/ssh/client_ed25519`,
      knownHostsFile: `${d}/ssh/known_hosts`,
      hostKeyFingerprint: fp,
      libvirtUri,
      poolDir,
      sshdPid: this.sshd!.pid ?? 0,
    };
    process.env[ENV] = JSON.stringify(facts);
    delete process.env[SKIP_ENV];
    console.log(
      `${LOG_TAG} sshd on 127.0.0.1 and ${KVM_HOST_ADDRESSES.join(', ')}:${port} and libvirtd (test driver) ready (${d})`,
    );
    return facts;
  }

  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    kill(this.sshd);
    this.libvirtd?.stopSync();
    if (this.createdUser) {
      try {
        execFileSync('userdel', ['-r', TEST_USER], { stdio: 'ignore' });
      } catch {
        // best effort
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
    delete process.env[ENV];
  }
}

/** Starts the peers, or records why they are skipped (a failure when `CI=true`). */
export async function startKvmPeers(): Promise<KvmPeers | null> {
  const reason = skipReason();
  if (reason !== null) {
    if (process.env.CI === 'true') throw new Error(`${LOG_TAG} sshd/libvirtd are required when CI=true, but ${reason}`);
    console.warn(`${LOG_TAG} skipping peers sshd/libvirtd: ${reason}`);
    process.env[SKIP_ENV] = reason;
    return null;
  }
  const peers = new KvmPeers();
  try {
    await peers.start();
  } catch (err) {
    peers.stopSync();
    throw err;
  }
  return peers;
}
