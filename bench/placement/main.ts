/**
 * Placement benchmark (issue 3): a synthetic cloud of 10,000 hosts (1 zone, 50 pods, 500 clusters,
 * mixed host sizes, 20 host-tag combinations, 2,000 pools) receiving deployments under vertical,
 * horizontal and random. Prints decisions/s, p50 and p99 per decision and peak heap, for
 * (a) decision + in-memory reservation and (b) decision + reservation committed to a SQLite file
 * (one transaction per deployment; the placement index as a cloud runs it, with its coherence checks:
 * the placement epoch read before each decision, capacity changed elsewhere re-read once a second),
 * 100,000 deployments each by default; plus vertical with a no-op
 * custom filter (its cost over plain vertical is the cost of the extension point).
 * Also prints the process CPU time of each run: on a shared machine wall-clock figures include
 * time the process was waiting for a core (compare `cpu/s` = decisions per CPU-second).
 * Run: npx tsx bench/placement/main.ts
 * Env: BENCH_DEPLOYMENTS (in-memory, default 100000), BENCH_SQLITE (committed, default 20000; 0 skips),
 *      BENCH_WARMUP (decisions discarded before each in-memory run, default 5000),
 *      BENCH_STRATEGIES=vertical,horizontal,random, BENCH_CUSTOM=0 skips the custom-filter run,
 *      BENCH_ISOLATE=0 makes every run in this process (default: each run in a fresh child process).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExcludeList, PlacementError } from '@stratus/core';
import { allocatorByName, hostFilter } from '../../packages/allocator/src/index.js';
import { PlacementIndex } from '../../packages/core/src/orchestration/vm-placement.js';
import { bookToSqlite, seedSqlite } from './sqlite-cloud.js';
import { buildIndex, deployments } from './synthetic-cloud.js';

const N = Number(process.env.BENCH_DEPLOYMENTS ?? 100_000);
const NSQL = Number(process.env.BENCH_SQLITE ?? 20_000);
const CUSTOM = process.env.BENCH_CUSTOM !== '0';
/** Decisions run (and discarded) on a separate index before each in-memory measurement, so JIT warm-up is not measured. */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5_000);

function warmUp(name: string, extra: boolean): void {
  if (WARMUP <= 0) return;
  const index = buildIndex();
  let allocator = allocatorByName(name, { seed: 1 });
  if (extra) allocator = allocator.withFilter(hostFilter('noop-custom', () => null));
  for (const vm of deployments(WARMUP, 5)) {
    try {
      const { destination } = allocator.place(index, vm, { zoneId: 1 });
      index.bookStart(vm.id!, vm.accountId, destination.hostId, vm.demand);
    } catch (e) {
      if (!(e instanceof PlacementError)) throw e;
    }
  }
}
const STRATEGIES = (process.env.BENCH_STRATEGIES ?? 'vertical,horizontal,random').split(',');
/** Each run in its own process (default); BENCH_ISOLATE=0 runs them all in this one. */
const ISOLATE = process.env.BENCH_ISOLATE !== '0';

interface Figures {
  label: string;
  decisions: number;
  failed: number;
  perSecond: number;
  /** Decisions per second of process CPU time (user + system). */
  perCpuSecond: number;
  p50us: number;
  p99us: number;
  peakHeapMiB: number;
}

function pct(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

function report(f: Figures) {
  console.log(
    `${f.label.padEnd(38)} ${String(f.decisions).padStart(7)} placed ${String(f.failed).padStart(5)} failed ${f.perSecond.toFixed(0).padStart(7)}/s (${f.perCpuSecond.toFixed(0).padStart(6)}/cpu-s)  p50 ${f.p50us.toFixed(1).padStart(6)} µs  p99 ${f.p99us.toFixed(1).padStart(7)} µs  peak heap ${f.peakHeapMiB.toFixed(0).padStart(4)} MiB  load ${loadavg()[0]!.toFixed(2)}`,
  );
}

function runInMemory(name: string, extra = false): Figures {
  warmUp(name, extra);
  const index = buildIndex();
  let allocator = allocatorByName(name, { seed: 7 });
  if (extra) allocator = allocator.withFilter(hostFilter('noop-custom', () => null));
  const vms = deployments(N);
  const times = new Float64Array(vms.length);
  let peak = 0;
  let failed = 0;
  let placed = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < vms.length; i++) {
    const vm = vms[i]!;
    const s = process.hrtime.bigint();
    try {
      const { destination } = allocator.place(index, vm, { zoneId: 1 });
      index.bookStart(vm.id!, vm.accountId, destination.hostId, vm.demand);
      for (const d of vm.disks) index.allocateStorage(d.id, destination.pools.get(d.id)!, d.size);
      placed++;
    } catch (e) {
      if (!(e instanceof PlacementError)) throw e;
      failed++;
    }
    times[i] = Number(process.hrtime.bigint() - s) / 1000;
    if ((i & 1023) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  times.sort();
  return {
    label: `${name}${extra ? ' + no-op custom filter' : ''} (in-memory)`,
    decisions: placed,
    failed,
    perSecond: vms.length / seconds,
    perCpuSecond: vms.length / ((cpu.user + cpu.system) / 1e6),
    p50us: pct(times, 0.5),
    p99us: pct(times, 0.99),
    peakHeapMiB: peak / 2 ** 20,
  };
}

async function runSqlite(name: string): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-'));
  try {
    const world = await seedSqlite(join(dir, 'cloud.db'));
    // The path a cloud takes: the placement index checks the store's placement epoch before every
    // decision and re-reads capacity changed by other processes once a second.
    const placement = new PlacementIndex(world.ctx, allocatorByName(name, { seed: 7 }));
    await placement.get();
    const vms = deployments(NSQL, 99);
    const times = new Float64Array(vms.length);
    let peak = 0;
    let failed = 0;
    let placed = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < vms.length; i++) {
      const vm = vms[i]!;
      const s = process.hrtime.bigint();
      try {
        const { destination } = await placement.place(vm, { zoneId: world.zoneId, avoid: new ExcludeList() });
        placement.apply(await bookToSqlite(world, vm, destination));
        placed++;
      } catch (e) {
        if (!(e instanceof PlacementError)) throw e;
        failed++;
      }
      times[i] = Number(process.hrtime.bigint() - s) / 1000;
      if ((i & 255) === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    times.sort();
    await world.store.close();
    return {
      label: `${name} (committed to SQLite file)`,
      decisions: placed,
      failed,
      perSecond: vms.length / seconds,
      perCpuSecond: vms.length / ((cpu.user + cpu.system) / 1e6),
      p50us: pct(times, 0.5),
      p99us: pct(times, 0.99),
      peakHeapMiB: peak / 2 ** 20,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One run: `memory:<strategy>`, `memory:vertical:custom` or `sqlite:<strategy>`. With BENCH_ISOLATE
 * (the default), every run is made in a fresh child process: runs in one process share the JIT's
 * type feedback (a later run finds the shared pipeline code already specialised for, or deoptimised
 * by, the strategies before it) and the heap, so a run's figures would depend on what ran before it.
 */
async function runOne(spec: string): Promise<void> {
  const [kind, name = 'vertical', extra] = spec.split(':');
  if (kind === 'memory') report(runInMemory(name, extra === 'custom'));
  else report(await runSqlite(name));
}

const runs: string[] = [];
if (N > 0) {
  for (const name of STRATEGIES) runs.push(`memory:${name}`);
  if (CUSTOM) runs.push('memory:vertical:custom');
}
if (NSQL > 0) for (const name of STRATEGIES) runs.push(`sqlite:${name}`);

const only = process.env.BENCH_RUN;
if (only) await runOne(only);
else {
  console.log(
    `placement benchmark: 10,000 hosts / 500 clusters / 50 pods / 2,000 pools; ${N} in-memory deployments, ${NSQL} committed; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${availableParallelism()} cores${ISOLATE ? '; each run in its own process' : ''}`,
  );
  for (const spec of runs) {
    if (!ISOLATE) {
      await runOne(spec);
      continue;
    }
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_RUN: spec },
      stdio: 'inherit',
    });
    if (child.status !== 0) throw new Error(`benchmark run ${spec} failed (exit ${child.status ?? child.signal})`);
  }
}
