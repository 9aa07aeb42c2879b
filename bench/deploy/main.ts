/**
 * Full-deploy benchmark (issue 5): a cloud on a SQLite file with the simulator at zero latency —
 * one advanced zone, 100 hosts (10 clusters × 10), an NFS pool per cluster, a downloaded template,
 * a few accounts each with its isolated network — receiving 1,000 complete deployments
 * (deploy job → VM Running). Prints deployments/s, p50/p99 per deployment, peak heap and where the
 * time goes (the steps the orchestrator reports through `CloudContext.tracer`), with bounded
 * concurrency (as a control plane serving requests) and sequentially, each run on a fresh cloud;
 * each mode runs three times and reports the median, as one run on a shared machine varies. The
 * target is judged on the concurrent mode's median: throughput under load; the sequential mode
 * shows what one request alone takes.
 * The measured runs follow a warm-up run (on a cloud of its own, not reported) so they measure a
 * running control plane, not V8 compiling the code paths for the first time.
 * Target: at least 500 deployments/s.
 * Run: npm run bench:deploy
 * Env: BENCH_VMS (default 1000), BENCH_HOSTS (default 100, in clusters of 10), BENCH_ACCOUNTS (default 8),
 *      BENCH_CONCURRENCY (default 16), BENCH_MODES=concurrent,sequential, BENCH_WARMUP (deployments, default 1000; 0: none),
 *      BENCH_RUNS (runs per mode, default 3; the verdict is on their median),
 *      BENCH_SQL_STATS=1 (count statements and commits per deployment and list the costliest SQL),
 *      BENCH_CPU_PROFILE=<dir> (write a .cpuprofile of each measured phase, setup excluded).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import { verticalAllocator } from '../../packages/allocator/src/index.js';
import { type Cloud, createCloud } from '../../packages/core/src/cloud.js';
import { sqliteStore } from '../../packages/core/src/store/sqlite-store.js';
import { simulatedImageStore, simulatorDriver } from '../../packages/driver-simulator/src/index.js';

const VMS = Number(process.env.BENCH_VMS ?? 1000);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 100);
const ACCOUNTS = Number(process.env.BENCH_ACCOUNTS ?? 8);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const MODES = (process.env.BENCH_MODES ?? 'concurrent,sequential').split(',');
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SQL_STATS = process.env.BENCH_SQL_STATS === '1';
const CPU_PROFILE = process.env.BENCH_CPU_PROFILE;
const HOSTS_PER_CLUSTER = 10;
const TARGET = 500;
const WARMUP_LABEL = 'warm-up';

/** Per-SQL-text statement counts and times (BENCH_SQL_STATS=1), from better-sqlite3's Statement itself. */
const sqlStats = new Map<string, { count: number; ms: number; rows: number }>();
let sqlCounting = false;

function instrumentSqlite(): void {
  const probe = new BetterSqlite3(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('select 1')) as Record<string, unknown>;
  probe.close();
  for (const method of ['run', 'all', 'get'] as const) {
    const original = proto[method] as (this: { source: string }, ...args: unknown[]) => unknown;
    proto[method] = function (this: { source: string }, ...args: unknown[]) {
      if (!sqlCounting) return original.apply(this, args);
      const t0 = performance.now();
      let rows = 0;
      try {
        const result = original.apply(this, args);
        if (Array.isArray(result)) rows = result.length;
        return result;
      } finally {
        const ms = performance.now() - t0;
        const s = sqlStats.get(this.source);
        if (s) {
          s.count++;
          s.ms += ms;
          s.rows += rows;
        } else sqlStats.set(this.source, { count: 1, ms, rows });
      }
    };
  }
}

function reportSql(deployed: number): void {
  const rows = [...sqlStats.entries()];
  const statements = rows.reduce((n, [, s]) => n + s.count, 0);
  const ms = rows.reduce((n, [, s]) => n + s.ms, 0);
  const commits = sqlStats.get('commit')?.count ?? 0;
  console.log(
    `  SQL: ${(statements / deployed).toFixed(1)} statements, ${(commits / deployed).toFixed(1)} commits, ${(ms / deployed).toFixed(3)} ms in SQLite per deployment`,
  );
  for (const [text, s] of rows.sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
    console.log(
      `  ${(s.count / deployed).toFixed(2).padStart(6)}× ${(s.ms / deployed).toFixed(3).padStart(7)} ms ${(s.rows / s.count).toFixed(1).padStart(6)} rows  ${text.slice(0, 140)}`,
    );
  }
  sqlStats.clear();
}

interface Tenant {
  cloud: Cloud;
  networkId: number;
}

interface World {
  cloud: Cloud;
  zoneId: number;
  offeringId: number;
  templateId: number;
  tenants: Tenant[];
  dir: string;
}

/** Builds the cloud on a fresh SQLite file. */
async function buildWorld(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-deploy-'));
  const cloud = await createCloud({
    store: sqliteStore({ file: join(dir, 'cloud.db') }),
    hypervisors: [simulatorDriver()],
    allocator: verticalAllocator(),
    imageStore: simulatedImageStore(),
  });
  const zone = await cloud.zones.create({
    name: 'bench',
    networkType: 'Advanced',
    dns1: '8.8.8.8',
    internalDns1: '10.0.0.2',
    guestCidr: '10.1.0.0/22',
  });
  const pn = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1', vlan: '500-599' });
  for (const trafficType of ['Guest', 'Public', 'Management'] as const) {
    await cloud.physicalNetworks.addTrafficType(pn.id, {
      trafficType,
      labels: { Simulator: trafficType === 'Public' ? 'cloudbr0' : 'cloudbr1' },
    });
  }
  await cloud.physicalNetworks.enable(pn.id);
  await cloud.publicIpRanges.create({
    zoneId: zone.id,
    gateway: '203.0.113.1',
    netmask: '255.255.255.0',
    startIp: '203.0.113.10',
    endIp: '203.0.113.250',
  });
  const pod = await cloud.pods.create({
    zoneId: zone.id,
    name: 'p1',
    gateway: '192.168.0.1',
    netmask: '255.255.0.0',
    startIp: '192.168.200.1',
    endIp: '192.168.200.250',
  });
  const clusters = Math.ceil(HOSTS / HOSTS_PER_CLUSTER);
  for (let c = 1; c <= clusters; c++) {
    const cluster = await cloud.clusters.create({ podId: pod.id, name: `c${c}`, hypervisorType: 'Simulator' });
    for (let h = 1; h <= HOSTS_PER_CLUSTER && (c - 1) * HOSTS_PER_CLUSTER + h <= HOSTS; h++) {
      // 16 cores × 2000 MHz, 64 GiB: 32 of the bench's VMs by CPU, 128 by memory.
      await cloud.hosts.add({
        clusterId: cluster.id,
        url: `sim://h${c}-${h}?ip=192.168.${c}.${h}&cpus=16&cpuMhz=2000&memoryMiB=65536`,
      });
    }
    await cloud.storagePools.create({ clusterId: cluster.id, name: `ps${c}`, url: `nfs://10.0.0.5/export/ps${c}` });
  }
  await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.6/secondary' });
  const system = await cloud.templates.register({
    name: 'systemvm',
    url: 'http://example.org/systemvm.qcow2',
    format: 'QCOW2',
    hypervisorType: 'Simulator',
    crossZones: true,
    templateType: 'SYSTEM',
  });
  const template = await cloud.templates.register({
    name: 'ubuntu',
    url: 'http://example.org/ubuntu.qcow2?size=1073741824',
    format: 'QCOW2',
    hypervisorType: 'Simulator',
    osType: 'Ubuntu 22.04',
    crossZones: true,
    isPublic: true,
    passwordEnabled: true,
  });
  for (const t of [system, template]) await (await cloud.templateStorage.download(t.id)).result;
  await cloud.zones.update(zone.id, { allocationState: 'Enabled' });
  const offering = await cloud.offerings.createServiceOffering({
    name: 'bench-small',
    cpuNumber: 1,
    cpuSpeed: 500,
    memory: 512,
  });
  const isolated = await cloud.network.offerings.getByName('DefaultIsolatedNetworkOfferingWithSourceNatService');
  // Account limits (20 VMs by default) would stop the run; the check itself still runs per deploy.
  for (const key of [
    'max.account.user.vms',
    'max.account.volumes',
    'max.account.cpus',
    'max.account.memory',
    'max.account.primary.storage',
  ] as const) {
    await cloud.settings.set(key, -1);
  }
  const tenants: Tenant[] = [];
  for (let a = 1; a <= ACCOUNTS; a++) {
    const { user } = await cloud.tenancy.createAccount({
      accountName: `tenant${a}`,
      user: { username: `user${a}`, password: 'pw' },
    });
    const tenant = cloud.as(await cloud.resolveCaller({ userId: user.id }));
    const network = await tenant.network.networks.create({
      zoneId: zone.id,
      name: `tenant${a}-net`,
      networkOfferingId: isolated.id,
    });
    tenants.push({ cloud: tenant, networkId: network.id });
  }
  return { cloud, zoneId: zone.id, offeringId: offering.id, templateId: template.id, tenants, dir };
}

interface Figures {
  label: string;
  deployed: number;
  failed: number;
  seconds: number;
  cpuSeconds: number;
  /** CPU time of the main thread alone (JavaScript and SQLite run there), where Linux reports it. */
  mainThreadSeconds: number | null;
  latencies: Float64Array;
  peakHeapMiB: number;
  steps: Map<string, { count: number; ms: number }>;
}

async function run(label: string, concurrency: number, vms = VMS): Promise<Figures> {
  const world = await buildWorld();
  const steps = new Map<string, { count: number; ms: number }>();
  world.cloud.context.tracer.onStep = (name, ms) => {
    const s = steps.get(name);
    if (s) {
      s.count++;
      s.ms += ms;
    } else steps.set(name, { count: 1, ms });
  };
  const latencies = new Float64Array(vms);
  let next = 0;
  let deployed = 0;
  let failed = 0;
  let peak = process.memoryUsage().heapUsed;
  const deployOne = async (i: number) => {
    const tenant = world.tenants[i % world.tenants.length]!;
    const t0 = performance.now();
    try {
      const job = await tenant.cloud.vms.deploy({
        zoneId: world.zoneId,
        serviceOfferingId: world.offeringId,
        templateId: world.templateId,
        networkIds: [tenant.networkId],
      });
      const vm = await job.result;
      if (vm.state !== 'Running') throw new Error(`VM ${vm.instanceName} is ${vm.state}`);
      deployed++;
    } catch (error) {
      failed++;
      if (failed <= 3) console.error(`deployment ${i} failed:`, error);
    }
    latencies[i] = performance.now() - t0;
    if ((i & 63) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  };
  const worker = async () => {
    for (let i = next++; i < vms; i = next++) await deployOne(i);
  };
  const measured = label !== WARMUP_LABEL;
  let session: Session | undefined;
  if (CPU_PROFILE && measured) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  sqlCounting = SQL_STATS && measured;
  const c0 = process.cpuUsage();
  const m0 = mainThreadCpuSeconds();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const m1 = mainThreadCpuSeconds();
  sqlCounting = false;
  if (session) {
    const { profile } = await session.post('Profiler.stop');
    const file = join(CPU_PROFILE!, `deploy-${concurrency}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`CPU profile of the measured phase: ${file}`);
  }
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  world.cloud.context.tracer.onStep = undefined;
  await verify(world, deployed);
  await world.cloud.close();
  rmSync(world.dir, { recursive: true, force: true });
  if (SQL_STATS && measured) reportSql(deployed);
  return {
    label,
    deployed,
    failed,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainThreadSeconds: m0 === null || m1 === null ? null : m1 - m0,
    latencies: latencies.sort(),
    peakHeapMiB: peak / 2 ** 20,
    steps,
  };
}

/** The run must have done the real thing: every VM Running on a host with a Ready root volume. */
async function verify(world: World, deployed: number): Promise<void> {
  const running = await world.cloud.vms.list({ state: 'Running' });
  const onHosts = running.filter((vm) => vm.hostId !== null).length;
  const volumes = await world.cloud.store.db
    .selectFrom('volumes')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'Ready')
    .where('volumeType', '=', 'ROOT')
    .executeTakeFirstOrThrow();
  if (running.length !== deployed || onHosts !== deployed || Number(volumes.n) !== deployed) {
    throw new Error(
      `verification failed: ${deployed} deployed, ${running.length} Running, ${onHosts} on hosts, ${volumes.n} ROOT volumes Ready`,
    );
  }
}

/** The main thread's user + system CPU seconds from /proc (clock ticks of 10 ms); null elsewhere. */
function mainThreadCpuSeconds(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function line(f: Figures): string {
  const perSecond = f.deployed / f.seconds;
  const main =
    f.mainThreadSeconds === null
      ? ''
      : `, main thread ${((1000 * f.mainThreadSeconds) / Math.max(1, f.deployed)).toFixed(2)} ms each`;
  return `${f.label.padEnd(16)} ${f.deployed} Running, ${f.failed} failed in ${f.seconds.toFixed(2)} s: ${perSecond.toFixed(0)} deployments/s (${(f.deployed / f.cpuSeconds).toFixed(0)}/cpu-s${main})  p50 ${pct(f.latencies, 0.5).toFixed(2)} ms  p99 ${pct(f.latencies, 0.99).toFixed(2)} ms  peak heap ${f.peakHeapMiB.toFixed(0)} MiB  load ${loadavg()[0]!.toFixed(2)}`;
}

/** A mode's runs, each on a fresh cloud, then their median (the verdict) with its step breakdown. */
function report(runs: Figures[], judged: boolean): void {
  for (const f of runs) console.log(line(f));
  const sorted = [...runs].sort((a, b) => a.deployed / a.seconds - b.deployed / b.seconds);
  const f = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const perSecond = f.deployed / f.seconds;
  const verdict = judged
    ? `${perSecond >= TARGET ? 'meets' : 'BELOW'} the ${TARGET}/s target`
    : 'one at a time: the latency of a lone request (the target is for throughput under load)';
  console.log(`${f.label}: median of ${runs.length} runs ${perSecond.toFixed(0)} deployments/s, ${verdict}`);
  const total = [...f.steps.values()].reduce((sum, s) => sum + s.ms, 0);
  const rows = [...f.steps.entries()].sort((a, b) => b[1].ms - a[1].ms);
  console.log(`  ${'step'.padEnd(18)} ${'calls'.padStart(6)} ${'ms/deploy'.padStart(10)} ${'share'.padStart(6)}`);
  for (const [name, s] of rows) {
    console.log(
      `  ${name.padEnd(18)} ${String(s.count).padStart(6)} ${(s.ms / Math.max(1, f.deployed)).toFixed(3).padStart(10)} ${((100 * s.ms) / total).toFixed(1).padStart(5)}%`,
    );
  }
}

async function main(): Promise<void> {
  if (SQL_STATS) instrumentSqlite();
  console.log(
    `bench/deploy: ${VMS} deployments on ${HOSTS} hosts, ${ACCOUNTS} accounts, SQLite file, simulator at zero latency`,
  );
  console.log('step times overlap when deployments run concurrently (they include waiting for the store)');
  if (WARMUP > 0) {
    const f = await run(WARMUP_LABEL, CONCURRENCY, WARMUP);
    console.log(
      `warm-up          ${f.deployed} Running, ${f.failed} failed in ${f.seconds.toFixed(2)} s (not measured: V8 compiles the code paths)`,
    );
  }
  for (const mode of MODES) {
    if (mode !== 'concurrent' && mode !== 'sequential') throw new Error(`unknown mode ${mode}`);
    const runs: Figures[] = [];
    for (let r = 0; r < RUNS; r++) {
      runs.push(
        mode === 'concurrent' ? await run(`${CONCURRENCY} in flight`, CONCURRENCY) : await run('sequential', 1),
      );
    }
    report(runs, mode === 'concurrent');
  }
}

await main();
