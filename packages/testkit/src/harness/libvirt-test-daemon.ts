/**
 * A hand-started libvirtd that serves only libvirt's test driver on a unix socket in a directory of the caller's
 * (TEST-ENVIRONMENT.md §4.2): no system libvirtd, no `/run/libvirt`, nothing left behind once stopped. Used by the
 * integration-test harness (`kvm-peers.ts`) and by the demo's KVM mode (`npm run demo -- --hypervisor kvm`), which
 * imports it as `@stratus/testkit/libvirt-test-daemon` (this module imports nothing from vitest).
 *
 * @packageDocumentation
 * @module @stratus/testkit/libvirt-test-daemon
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const DEFAULT_DEADLINE_MS = 10_000;
const STOP_GRACE_MS = 5_000;

/** Where the daemon's files go and who it says it is. */
export interface LibvirtTestDaemonOptions {
  /** An existing directory; the daemon's config, socket, PID file and log go to `<dir>/lvd`. */
  dir: string;
  /**
   * The host name the daemon reports (`virsh hostname`, which the KVM driver names the host and its guid after):
   * the daemon runs in its own UTS namespace (`unshare --uts`, root only) with this name, so several daemons on one
   * machine are several distinct hosts. Without it the daemon reports this machine's name.
   */
  hostname?: string;
  /**
   * Also listen on TCP at this address (a loopback one, e.g. `127.0.0.11`: every address of 127.0.0.0/8 reaches this
   * machine) without authentication, on `port` (default: a free one). The daemon is then reachable as
   * {@link LibvirtTestDaemon.tcpUri}, whose host part is the address the KVM driver reports as the host's management
   * address: daemons on distinct loopback addresses are hosts with distinct addresses.
   */
  tcp?: { address: string; port?: number };
  /** The libvirtd binary (default: found by {@link findLibvirtTools}). */
  libvirtd?: string;
  /** How long to wait for the socket (default 10 s). */
  deadlineMs?: number;
}

/** A running daemon. */
export interface LibvirtTestDaemon {
  /** `test+unix:///default?socket=<dir>/lvd/run/libvirt-sock`: the libvirt URI of the daemon's test driver. */
  uri: string;
  /** `test+tcp://<address>:<port>/default` when {@link LibvirtTestDaemonOptions.tcp} was given. */
  tcpUri?: string;
  /** The libvirtd process id. */
  pid: number;
  /** The daemon's log file. */
  logFile: string;
  /** Stops the holder connection and the daemon, waiting for libvirtd to exit (SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void>;
  /** Signals the holder and the daemon without waiting (for exit handlers). Idempotent. */
  stopSync(): void;
}

/** The libvirt programs a test daemon needs, where they were found (`undefined`: not installed). */
export interface LibvirtTools {
  virsh: string | undefined;
  libvirtd: string | undefined;
  /** `unshare` (util-linux), needed only for {@link LibvirtTestDaemonOptions.hostname}. */
  unshare: string | undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on `PATH`, then in `extraDirs`. */
function which(name: string, extraDirs: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== ''), ...extraDirs];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    if (executable(file)) return file;
  }
  return undefined;
}

/**
 * Looks up `virsh` (Debian package `libvirt-clients`), `libvirtd` (`libvirt-daemon`) and `unshare` on `PATH`, and
 * `libvirtd`/`unshare` also in `/usr/sbin` and `/usr/bin`, which a non-root `PATH` often lacks.
 */
export function findLibvirtTools(): LibvirtTools {
  return {
    virsh: which('virsh', []),
    libvirtd: which('libvirtd', ['/usr/sbin', '/usr/local/sbin']),
    unshare: which('unshare', ['/usr/bin', '/bin']),
  };
}

function freePort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, address, () => {
      const a = server.address();
      server.close(() => (a !== null && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether something accepts TCP connections at `address:port`. */
function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, address);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
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

function signal(child: ChildProcess | undefined, sig: NodeJS.Signals): void {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill(sig);
  } catch {
    // gone
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts libvirtd with the test driver only: `LIBVIRT_DRIVER_DIR` points at an empty directory, so libvirtd loads
 * no hypervisor driver module (the QEMU one would exit at once without `libvirt-daemon-system`) and serves the
 * built-in test driver; sockets (0777, no auth) in `<dir>/lvd/run`. A holder connection (an interactive `virsh`,
 * waited for until it answers, then given nothing more to read) stays open until {@link LibvirtTestDaemon.stop}, because the daemon's `test:///default`
 * state resets when its last connection closes. Needs root (libvirtd, and `unshare` for a host name).
 */
export async function startLibvirtTestDaemon(options: LibvirtTestDaemonOptions): Promise<LibvirtTestDaemon> {
  const tools = findLibvirtTools();
  const libvirtd = options.libvirtd ?? tools.libvirtd;
  if (libvirtd === undefined) throw new Error('libvirtd not found (apt-get install libvirt-daemon)');
  if (tools.virsh === undefined) throw new Error('virsh not found (apt-get install libvirt-clients)');
  if (options.hostname !== undefined && tools.unshare === undefined)
    throw new Error('unshare not found (apt-get install util-linux)');
  const tcp =
    options.tcp === undefined
      ? undefined
      : { address: options.tcp.address, port: options.tcp.port ?? (await freePort(options.tcp.address)) };
  const d = path.join(options.dir, 'lvd');
  mkdirSync(`${d}/empty`, { recursive: true });
  mkdirSync(`${d}/run`, { recursive: true });
  const logFile = `${d}/libvirtd.log`;
  writeFileSync(
    `${d}/libvirtd.conf`,
    [
      `unix_sock_dir = "${d}/run"`,
      'unix_sock_group = "root"',
      'unix_sock_ro_perms = "0777"',
      'unix_sock_rw_perms = "0777"',
      'auth_unix_ro = "none"',
      'auth_unix_rw = "none"',
      `log_outputs = "2:file:${logFile}"`,
      ...(tcp === undefined
        ? []
        : [
            'listen_tls = 0',
            'listen_tcp = 1',
            `listen_addr = "${tcp.address}"`,
            `tcp_port = "${tcp.port}"`,
            'auth_tcp = "none"',
          ]),
      '',
    ].join('\n'),
  );
  const daemonArgs = [
    libvirtd,
    ...(tcp === undefined ? [] : ['--listen']),
    '-f',
    `${d}/libvirtd.conf`,
    '-p',
    `${d}/libvirtd.pid`,
  ];
  // `unshare --uts` runs a shell in a new UTS namespace; it names the namespace and execs libvirtd, which keeps the pid.
  const [command, ...args] =
    options.hostname === undefined
      ? daemonArgs
      : [tools.unshare!, '--uts', '/bin/sh', '-c', 'hostname "$0" && exec "$@"', options.hostname, ...daemonArgs];
  const daemon = spawn(command!, args, {
    env: { ...process.env, LIBVIRT_DRIVER_DIR: `${d}/empty` },
    stdio: 'ignore',
  });
  const failed = new Promise<Error>((resolve) => daemon.once('error', resolve));
  let spawnError: Error | undefined;
  void failed.then((err) => {
    spawnError = err;
  });
  const sock = `${d}/run/libvirt-sock`;
  const until = Date.now() + (options.deadlineMs ?? DEFAULT_DEADLINE_MS);
  const listening = async (): Promise<boolean> =>
    existsSync(sock) && (tcp === undefined || (await accepts(tcp.address, tcp.port)));
  while (!(await listening())) {
    if (spawnError !== undefined || daemon.exitCode !== null || Date.now() > until) {
      signal(daemon, 'SIGKILL');
      const why = spawnError?.message ?? (daemon.exitCode !== null ? `exit ${daemon.exitCode}` : 'timed out');
      throw new Error(`libvirtd (test driver) did not start in ${d}: ${why}\n${tail(logFile)}`);
    }
    await sleep(25);
  }
  const uri = `test+unix:///default?socket=${sock}`;
  const holder = spawn(tools.virsh, ['-q', '-c', uri], { stdio: ['pipe', 'pipe', 'ignore'] });
  holder.on('error', () => undefined);
  // Returned only once the holder is connected: it answers a command (a connection opened and closed before would
  // otherwise be the last one, and reset the state it made).
  const connected = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(until - Date.now(), 1_000));
    holder.stdout?.once('data', () => {
      clearTimeout(timer);
      resolve(true);
    });
    holder.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
    holder.stdin?.write('uri\n');
  });
  holder.stdout?.resume();
  if (!connected) {
    signal(holder, 'SIGKILL');
    signal(daemon, 'SIGKILL');
    throw new Error(`the holder connection to the libvirtd (test driver) in ${d} did not answer\n${tail(logFile)}`);
  }
  let stopped = false;
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    holder.stdin?.end();
    signal(holder, 'SIGTERM');
    signal(daemon, 'SIGTERM');
  };
  return {
    uri,
    ...(tcp === undefined ? {} : { tcpUri: `test+tcp://${tcp.address}:${tcp.port}/default` }),
    pid: daemon.pid ?? 0,
    logFile,
    stopSync,
    async stop() {
      stopSync();
      const timer = setTimeout(() => signal(daemon, 'SIGKILL'), STOP_GRACE_MS);
      try {
        await Promise.all([exited(daemon), exited(holder)]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
