/**
 * The govmomi vCenter simulator (vcsim) for the vSphere driver's tests (TEST-ENVIRONMENT.md §5): the Go main in
 * `packages/testkit/vcsim/main.go`, built against Debian's govmomi source by `vcsim/build.sh` (binary cached, keyed by
 * the package version and the main's hash), started on `127.0.0.1:0` per test file so each file has its own inventory.
 * `global-setup.ts` builds the binary once before the workers start ({@link prepareVcsim}).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('../../vcsim/build.sh', import.meta.url));
const LOG_TAG = '[stratus-it]';
const BIN_ENV = 'STRATUS_VCSIM_BIN';
const SKIP_ENV = 'STRATUS_VCSIM_SKIP';
const READY_DEADLINE_MS = 10_000;

/** Why vcsim cannot be built here (`null` when it can). */
function skipReason(): string | null {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    return 'go not found (apt-get install golang-go golang-github-vmware-govmomi-dev)';
  }
  if (!existsSync('/usr/share/gocode/src/github.com/vmware/govmomi/simulator'))
    return "Debian's govmomi source not found (apt-get install golang-github-vmware-govmomi-dev)";
  return null;
}

/**
 * Builds (or finds in the cache) the vcsim binary and hands its path to the workers through `STRATUS_VCSIM_BIN`; when
 * Go or govmomi is missing, records why in `STRATUS_VCSIM_SKIP` (a failure when `CI=true`). A failing build is a
 * failure, never a skip.
 */
export function prepareVcsim(): void {
  const reason = skipReason();
  if (reason !== null) {
    if (process.env.CI === 'true') throw new Error(`${LOG_TAG} vcsim is required when CI=true, but ${reason}`);
    console.warn(`${LOG_TAG} skipping peer vcsim: ${reason}`);
    process.env[SKIP_ENV] = reason;
    delete process.env[BIN_ENV];
    return;
  }
  const t0 = Date.now();
  let bin: string;
  try {
    bin = execFileSync('bash', [BUILD_SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`${LOG_TAG} building vcsim failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  process.env[BIN_ENV] = bin;
  delete process.env[SKIP_ENV];
  console.log(`${LOG_TAG} vcsim binary ready in ${Date.now() - t0} ms (${bin})`);
}

/** The vcsim binary in a test worker, or null when vcsim was skipped (see {@link vcsimSkipReason}). */
export function vcsimBinary(): string | null {
  const bin = process.env[BIN_ENV];
  return bin === undefined || bin === '' ? null : bin;
}

/** Why vcsim was skipped ('' when it runs). */
export function vcsimSkipReason(): string {
  return process.env[SKIP_ENV] ?? '';
}

/** Options of {@link startVcsim} (flags of the Go main). */
export interface VcsimOptions {
  /** Serve https with a self-signed certificate (its PEM is in {@link Vcsim.certificatePem}). */
  tls?: boolean;
  /** Hosts per cluster (default 3). */
  hosts?: number;
  /** VMs per resource pool (default 2). */
  vms?: number;
  /** Datastores, each mounted on every host (default 1). */
  datastores?: number;
  /** A standalone ESXi instead of a vCenter. */
  esx?: boolean;
  /** Accepted credentials (default user/pass). */
  username?: string;
  password?: string;
  /** First management address of the hosts, one each in turn (e.g. `127.0.1.1`); default all `127.0.0.1`. */
  hostIp?: string;
  /** Per-method delays in ms (fault injection: slow calls for timeout tests). */
  methodDelay?: Readonly<Record<string, number>>;
}

/** A running vcsim. */
export interface Vcsim {
  /** `http(s)://127.0.0.1:<port>` */
  origin: string;
  /** `127.0.0.1:<port>` */
  address: string;
  port: number;
  username: string;
  password: string;
  /** PEM of the server certificate (with `tls`). */
  certificatePem?: string;
  /** Path of that PEM file (with `tls`). */
  certificateFile?: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts one vcsim on `127.0.0.1:0`; resolves once it printed its URL (10 s deadline, its stderr in the error). */
export async function startVcsim(options: VcsimOptions = {}): Promise<Vcsim> {
  const bin = vcsimBinary();
  if (bin === null)
    throw new Error(`${LOG_TAG} vcsim is not available: ${vcsimSkipReason() || 'prepareVcsim() did not run'}`);
  const username = options.username ?? 'user';
  const password = options.password ?? 'pass';
  const args = ['-l', '127.0.0.1:0', '-user', username, '-pass', password];
  if (options.tls) args.push('-tls');
  if (options.esx) args.push('-esx');
  if (options.hosts !== undefined) args.push('-host', String(options.hosts));
  if (options.vms !== undefined) args.push('-vm', String(options.vms));
  if (options.datastores !== undefined) args.push('-ds', String(options.datastores));
  if (options.hostIp !== undefined) args.push('-host-ip', options.hostIp);
  if (options.methodDelay)
    args.push(
      '-method-delay',
      Object.entries(options.methodDelay)
        .map(([m, ms]) => `${m}=${ms}`)
        .join(','),
    );
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4_000);
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  try {
    await new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(
        () => reject(new Error(`${LOG_TAG} vcsim printed no URL within ${READY_DEADLINE_MS} ms\n${stderr}`)),
        READY_DEADLINE_MS,
      );
      child.stdout!.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('VCSIM_READY')) {
          clearTimeout(deadline);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        reject(new Error(`${LOG_TAG} vcsim exited (${code ?? signal}) before it was ready\n${stderr}`));
      });
    });
  } catch (error) {
    await stop();
    throw error;
  }
  const url = new URL(/VCSIM_URL=(\S+)/.exec(stdout)![1]!);
  const certificateFile = /VCSIM_CERT=(\S+)/.exec(stdout)?.[1];
  return {
    origin: `${url.protocol}//${url.host}`,
    address: url.host,
    port: Number(url.port),
    username,
    password,
    ...(certificateFile ? { certificateFile, certificatePem: readFileSync(certificateFile, 'utf8') } : {}),
    pid: child.pid ?? 0,
    stop,
  };
}
