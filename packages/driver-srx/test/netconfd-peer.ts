/**
 * Debian's netconfd (yuma123), a NETCONF server the project did not write, behind its own loopback sshd with the
 * `netconf` subsystem (TEST-ENVIRONMENT.md §8), for the driver's transport tests. Uses the KVM peers' key-only test
 * user. Returns null (with the reason) when netconfd or the KVM peers are not there.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { kvmFacts } from '../../testkit/src/harness/kvm-peers.js';

const NETCONFD = '/usr/sbin/netconfd';
const SUBSYSTEM = '/usr/sbin/netconf-subsystem';

/** A running netconfd behind sshd. */
export interface NetconfdPeer {
  port: number;
  username: string;
  privateKey: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why the peer cannot run here, or null. */
export function netconfdSkipReason(): string | null {
  if (!existsSync(NETCONFD) || !existsSync(SUBSYSTEM)) return 'netconfd is not installed (.ci/run installs it)';
  if (kvmFacts() === null) return 'the KVM peers (sshd test user) did not start';
  return null;
}

/** Start netconfd and an sshd serving its subsystem. */
export async function startNetconfd(): Promise<NetconfdPeer> {
  const facts = kvmFacts();
  if (facts === null) throw new Error('KVM peers not running');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stratus-netconfd-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const sock = `${dir}/ncx.sock`;
  const children: ChildProcess[] = [];
  const netconfd = spawn(
    NETCONFD,
    ['--no-startup', '--access-control=off', `--port=${port}`, `--ncxserver-sockname=${sock}`],
    {
      env: { ...process.env, HOME: dir },
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  children.push(netconfd);
  for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(50);
  if (!existsSync(sock)) throw new Error('netconfd did not create its socket');
  chmodSync(sock, 0o777);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/host_ed25519`]);
  writeFileSync(
    `${dir}/sshd_config`,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host_ed25519`,
      `PidFile ${dir}/sshd.pid`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      `AllowUsers ${facts.sshUser}`,
      `Subsystem netconf ${SUBSYSTEM} --ncxserver-sockname=${port}@${sock}`,
      '',
    ].join('\n'),
  );
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', `${dir}/sshd_config`, '-E', `${dir}/sshd.log`], {
    stdio: 'ignore',
  });
  children.push(sshd);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('data', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (up) break;
    await sleep(50);
  }
  return {
    port,
    username: facts.sshUser,
    privateKey: readFileSync(facts.keyFile, 'utf8'),
    async stop() {
      for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
      await sleep(100);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
