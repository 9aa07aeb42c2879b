/**
 * vitest globalSetup: starts one real PostgreSQL 15 (and the KVM peers: sshd and libvirtd) for the
 * whole test run and stops them afterwards. Runs once, in vitest's main process.
 * - one temp dir (`mkdtemp` under `os.tmpdir()`, mode 755) holds the data dir, the unix socket and the server log;
 * - `initdb` + `pg_ctl -w start` as the `postgres` user on a free loopback port (retried on "address in use");
 * - role `stratus` (LOGIN, password `stratus`, CREATEDB) and database `stratus`;
 * - facts go to tests through `project.provide('pg', …)` and `STRATUS_PG_*` environment variables (workers inherit them);
 * - `<repo>/.test-env/state.json` records what was started, so the next run can stop leftovers of a crashed run;
 * - teardown (`pg_ctl -m fast stop`, remove the temp dir) also runs on SIGINT/SIGTERM, on exit and when setup fails halfway.
 *
 * Skipping happens only when `initdb` is missing or the process is not root; with `CI=true` that is a failure.
 * An installed PostgreSQL that fails to start is always a failure.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startKvmPeers } from './kvm-peers.js';
import { PG_ENV, type PgFacts } from './pg-env.js';
import { prepareVcsim } from './vcsim.js';

const PGBIN = '/usr/lib/postgresql/15/bin';
const INITDB = `${PGBIN}/initdb`;
const PG_CTL = `${PGBIN}/pg_ctl`;
const READY_DEADLINE_MS = 10_000;
const PORT_ATTEMPTS = 3;
const TMP_PREFIX = 'stratus-it-';
const LOG_TAG = '[stratus-it]';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const STATE_DIR = path.join(REPO_ROOT, '.test-env');
const STATE_FILE = path.join(STATE_DIR, 'state.json');

interface PostgresState {
  /** postmaster PID (first line of `postmaster.pid`). */
  pid: number;
  port: number;
  dataDir: string;
  /** `/proc/<pid>/cmdline` of the postmaster, NULs replaced by spaces. */
  cmdline: string;
}

interface RunState {
  /** The vitest main process that owns this run. */
  ownerPid: number;
  ownerCmdline: string;
  startedAt: string;
  /** The run's temp dir. */
  dir: string;
  /** Convenience copies of the PostgreSQL postmaster PID and port. */
  pid?: number;
  port?: number;
  peers: { postgres?: PostgresState };
}

interface StateFile {
  runs: RunState[];
}

// ---------------------------------------------------------------------------------------------------------------
// small helpers

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readCmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM, wait up to 5 s, then SIGKILL. Only for a PID this harness started (or recorded). */
function terminatePid(pid: number): void {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    if (!isAlive(pid)) return;
    sleepSync(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function tail(file: string, max = 4_000): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.length > max ? `…${text.slice(-max)}` : text;
  } catch (err) {
    return `(could not read ${file}: ${(err as Error).message})`;
  }
}

function isOurTempDir(dir: string): boolean {
  return path.dirname(dir) === os.tmpdir() && path.basename(dir).startsWith(TMP_PREFIX);
}

function suArgs(command: string): string[] {
  return ['postgres', '-s', '/bin/sh', '-c', command];
}

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error: Error | null;
}

function run(file: string, args: string[], options: { cwd: string; timeoutMs: number }): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr, error });
      },
    );
  });
}

function describeExec(r: ExecResult): string {
  const how = r.error && r.code === null ? `failed: ${r.error.message}` : `exit ${r.code}`;
  const out = [r.stdout.trim(), r.stderr.trim()].filter((s) => s.length > 0).join('\n');
  return out.length > 0 ? `${how}\n${out}` : how;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address !== null && typeof address === 'object') {
        const { port } = address;
        server.close(() => resolve(port));
      } else {
        server.close(() => reject(new Error('could not determine a free port')));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// state.json

function readState(): StateFile {
  try {
    const parsed = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as Partial<StateFile>;
    return { runs: Array.isArray(parsed.runs) ? parsed.runs : [] };
  } catch {
    return { runs: [] };
  }
}

function writeState(state: StateFile): void {
  mkdirSync(STATE_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, STATE_FILE);
}

function saveRun(entry: RunState): void {
  const state = readState();
  state.runs = state.runs.filter((r) => !(r.ownerPid === entry.ownerPid && r.dir === entry.dir));
  state.runs.push(entry);
  writeState(state);
}

function forgetRun(entry: RunState): void {
  const state = readState();
  const runs = state.runs.filter((r) => !(r.ownerPid === entry.ownerPid && r.dir === entry.dir));
  if (runs.length === 0) {
    rmSync(STATE_FILE, { force: true });
  } else {
    writeState({ runs });
  }
}

function stopPostgresSync(p: PostgresState, cwd: string): void {
  if (existsSync(p.dataDir)) {
    try {
      execFileSync('su', suArgs(`${PG_CTL} -D ${shq(p.dataDir)} -m fast -w -t 10 stop`), {
        cwd,
        stdio: 'ignore',
        timeout: 15_000,
      });
    } catch {
      // fall through to signals
    }
  }
  if (isAlive(p.pid) && readCmdline(p.pid) === p.cmdline) terminatePid(p.pid);
}

/**
 * Stop what a previous run left behind: only PIDs still alive whose /proc/<pid>/cmdline matches the record, and
 * only runs whose owning vitest process is gone (a concurrent run in the same checkout is left alone).
 */
function cleanupLeftovers(): void {
  const state = readState();
  if (state.runs.length === 0) return;
  const keep: RunState[] = [];
  for (const r of state.runs) {
    const ownerRunning =
      r.ownerPid !== process.pid && isAlive(r.ownerPid) && readCmdline(r.ownerPid) === r.ownerCmdline;
    if (ownerRunning) {
      keep.push(r);
      continue;
    }
    const p = r.peers?.postgres;
    if (p && isAlive(p.pid) && readCmdline(p.pid) === p.cmdline) {
      console.warn(`${LOG_TAG} stopping leftover PostgreSQL (pid ${p.pid}, port ${p.port}) from a previous run`);
      stopPostgresSync(p, os.tmpdir());
    }
    if (isOurTempDir(r.dir)) rmSync(r.dir, { recursive: true, force: true });
  }
  if (keep.length === state.runs.length) return;
  if (keep.length === 0) rmSync(STATE_FILE, { force: true });
  else writeState({ runs: keep });
}

// ---------------------------------------------------------------------------------------------------------------
// the PostgreSQL peer

function skipReason(): string | null {
  if (!existsSync(INITDB)) return `${INITDB} not found (install the Debian package postgresql)`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'not running as root (initdb/pg_ctl run through `su postgres`, which needs root)';
  }
  return null;
}

class PostgresPeer {
  readonly dir: string;
  readonly pgDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  private readonly entry: RunState;
  private started: PostgresState | null = null;
  private stopped = false;

  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), TMP_PREFIX));
    chmodSync(this.dir, 0o755);
    this.pgDir = path.join(this.dir, 'pg');
    this.dataDir = path.join(this.pgDir, 'data');
    this.logFile = path.join(this.pgDir, 'server.log');
    this.entry = {
      ownerPid: process.pid,
      ownerCmdline: readCmdline(process.pid) ?? '',
      startedAt: new Date().toISOString(),
      dir: this.dir,
      peers: {},
    };
    saveRun(this.entry);
  }

  async start(): Promise<PgFacts> {
    const t0 = Date.now();
    mkdirSync(this.pgDir);
    execFileSync('chown', ['postgres:postgres', this.pgDir]);

    const init = await run(
      'su',
      suArgs(`${INITDB} -D ${shq(this.dataDir)} -U postgres -A trust --no-sync -E UTF8 --locale=C.UTF-8`),
      { cwd: this.dir, timeoutMs: 60_000 },
    );
    if (init.code !== 0) throw new Error(`${LOG_TAG} initdb failed (${describeExec(init)})`);

    // readiness deadline: READY_DEADLINE_MS from each `pg_ctl start` (initdb is not counted)
    let port = 0;
    let readyFrom = Date.now();
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      readyFrom = Date.now();
      rmSync(this.logFile, { force: true });
      const opts = [
        `-p ${port}`,
        '-c listen_addresses=127.0.0.1',
        `-k ${this.pgDir}`,
        '-c fsync=off',
        '-c synchronous_commit=off',
        '-c full_page_writes=off',
        '-c max_connections=200',
      ].join(' ');
      const seconds = Math.ceil(READY_DEADLINE_MS / 1000);
      const cmd = `${PG_CTL} -D ${shq(this.dataDir)} -l ${shq(this.logFile)} -w -t ${seconds} -o ${shq(opts)} start`;
      const res = await run('su', suArgs(cmd), { cwd: this.dir, timeoutMs: (seconds + 5) * 1000 });
      if (res.code === 0) break;
      const log = tail(this.logFile);
      if (/address already in use/i.test(log) && attempt < PORT_ATTEMPTS) {
        this.stopServerSync(); // in case a half-started postmaster lingers
        continue;
      }
      throw new Error(
        `${LOG_TAG} PostgreSQL failed to start on 127.0.0.1:${port} within ${READY_DEADLINE_MS / 1000} s ` +
          `(attempt ${attempt}/${PORT_ATTEMPTS}; pg_ctl ${describeExec(res)})\n--- ${this.logFile} ---\n${log}`,
      );
    }

    const pid = Number.parseInt(
      readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '',
      10,
    );
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${LOG_TAG} could not read the postmaster PID`);
    this.started = { pid, port, dataDir: this.dataDir, cmdline: readCmdline(pid) ?? '' };
    this.entry.pid = pid;
    this.entry.port = port;
    this.entry.peers.postgres = this.started;
    saveRun(this.entry);

    const facts: PgFacts = {
      host: '127.0.0.1',
      port,
      socketDir: this.pgDir,
      url: `postgres://stratus:stratus@127.0.0.1:${port}/stratus`,
      adminUrl: `postgres://postgres@127.0.0.1:${port}/postgres`,
      version: '',
    };
    const remaining = Math.max(1_000, READY_DEADLINE_MS - (Date.now() - readyFrom));
    const client = new pg.Client({ connectionString: facts.adminUrl, connectionTimeoutMillis: remaining });
    try {
      await client.connect();
      const v = await client.query<{ server_version: string }>('show server_version');
      facts.version = v.rows[0]?.server_version ?? '';
      await client.query(`CREATE ROLE stratus LOGIN PASSWORD 'stratus' CREATEDB`);
      await client.query('CREATE DATABASE stratus OWNER stratus');
    } catch (err) {
      throw new Error(
        `${LOG_TAG} PostgreSQL started on 127.0.0.1:${port} but setting it up failed: ${(err as Error).message}` +
          `\n--- ${this.logFile} ---\n${tail(this.logFile)}`,
        { cause: err },
      );
    } finally {
      await client.end().catch(() => undefined);
    }
    console.log(
      `${LOG_TAG} PostgreSQL ${facts.version} ready on 127.0.0.1:${port} in ${Date.now() - t0} ms (${this.dir})`,
    );
    return facts;
  }

  private stopServerSync(): void {
    if (this.started) {
      stopPostgresSync(this.started, this.dir);
      return;
    }
    // not recorded yet (start failed halfway): stop by data dir if a postmaster is running there
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
    if (Number.isInteger(pid) && pid > 0) {
      stopPostgresSync({ pid, port: 0, dataDir: this.dataDir, cmdline: readCmdline(pid) ?? '' }, this.dir);
    }
  }

  /** Idempotent, synchronous (usable from signal and exit handlers). */
  stopSync(): void {
    if (this.stopped) return;
    this.stopped = true;
    try {
      this.stopServerSync();
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
      forgetRun(this.entry);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// environment and provide

const ENV_KEYS = Object.values(PG_ENV);

function clearEnv(): void {
  for (const key of ENV_KEYS) delete process.env[key];
}

function exportFacts(project: TestProject, facts: PgFacts): void {
  clearEnv();
  process.env[PG_ENV.url] = facts.url;
  process.env[PG_ENV.adminUrl] = facts.adminUrl;
  process.env[PG_ENV.host] = facts.host;
  process.env[PG_ENV.port] = String(facts.port);
  process.env[PG_ENV.socketDir] = facts.socketDir;
  process.env[PG_ENV.version] = facts.version;
  project.provide('pg', facts);
  project.provide('pgSkipReason', null);
}

function exportSkip(project: TestProject, reason: string): void {
  clearEnv();
  process.env[PG_ENV.skip] = reason;
  project.provide('pg', null);
  project.provide('pgSkipReason', reason);
}

function installHandlers(peer: PostgresPeer): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    uninstall();
    try {
      peer.stopSync();
    } finally {
      // If nobody else handles the signal, restore the default behaviour (terminate).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    }
  };
  const onExit = (): void => peer.stopSync();
  const uninstall = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', onExit);
  };
  // prepend: vitest's own SIGINT/SIGTERM handler calls process.exit()
  process.prependListener('SIGINT', onSignal);
  process.prependListener('SIGTERM', onSignal);
  process.on('exit', onExit);
  return uninstall;
}

// ---------------------------------------------------------------------------------------------------------------

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    cleanupLeftovers();
  } catch (err) {
    console.warn(`${LOG_TAG} could not clean up leftovers from ${STATE_FILE}: ${(err as Error).message}`);
  }

  const reason = skipReason();
  if (reason !== null) {
    if (process.env.CI === 'true') {
      throw new Error(`${LOG_TAG} PostgreSQL is required when CI=true, but ${reason}`);
    }
    console.warn(`${LOG_TAG} skipping peer postgres: ${reason}`);
    exportSkip(project, reason);
    return async () => {
      clearEnv();
    };
  }

  const peer = new PostgresPeer();
  const uninstall = installHandlers(peer);
  let facts: PgFacts;
  try {
    facts = await peer.start();
  } catch (err) {
    uninstall();
    try {
      peer.stopSync();
    } catch (cleanupErr) {
      console.error(`${LOG_TAG} cleanup after a failed start also failed:`, cleanupErr);
    }
    throw err;
  }
  exportFacts(project, facts);

  // sshd + libvirtd (test driver) for the KVM driver's integration tests
  let kvm: Awaited<ReturnType<typeof startKvmPeers>>;
  try {
    kvm = await startKvmPeers();
  } catch (err) {
    uninstall();
    peer.stopSync();
    throw err;
  }
  const stopKvm = (): void => kvm?.stopSync();
  process.on('exit', stopKvm);

  // the vCenter simulator's binary, built once before the workers start them (one per test file)
  try {
    prepareVcsim();
  } catch (err) {
    uninstall();
    process.off('exit', stopKvm);
    stopKvm();
    peer.stopSync();
    throw err;
  }

  return async () => {
    uninstall();
    clearEnv();
    process.off('exit', stopKvm);
    stopKvm();
    peer.stopSync();
  };
}
