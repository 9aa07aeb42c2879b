import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { verticalAllocator } from '@stratus/allocator';
import { type SimulatorDriver, simulatorDriver } from '@stratus/driver-simulator';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Cloud, createCloud } from '../../src/cloud.js';
import type { RecoveryReport } from '../../src/orchestration/recovery.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import type { CrashWorldIds } from '../fixtures/crash-child.js';

/**
 * The crash test (issue 5 acceptance): a child process deploying, stopping, starting, migrating,
 * destroying and expunging VMs on a SQLite file is killed with SIGKILL at a random point, 50 times.
 * After each kill the parent opens the cloud, runs the recovery step and checks that every VM is in
 * a stable state and that capacity, IP, MAC, VLAN and volume accounting equals what the VMs hold.
 *
 * The hypervisors must survive the management server, as real hosts do: the child's simulator
 * persists its world to a JSON file after every call (`simulatorDriver({ stateFile })`, written by
 * atomic rename), and the parent's simulator loads it — so recovery asks the same "hosts" the child
 * was talking to, and a VM the child started just before dying really is running there.
 *
 * The child is bundled once with esbuild (a tsx start-up per kill would take most of the budget).
 */
const KILLS = 50;
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const src = (pkg: string) => join(root, 'packages', pkg, 'src', 'index.ts');

describe('crash recovery: SIGKILL at random points, 50 times', () => {
  let dir: string;
  let bundle: string;
  let ids: CrashWorldIds;
  const db = () => join(dir, 'cloud.sqlite');
  const simFile = () => join(dir, 'hypervisors.json');

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'stratus-crash-'));
    // Inside the repository, so that the bundle's bare imports (kysely, better-sqlite3…) resolve.
    bundle = join(root, 'node_modules', '.cache', 'stratus-crash', `child-${process.pid}.mjs`);
    await build({
      entryPoints: [fileURLToPath(new URL('../fixtures/crash-child.ts', import.meta.url))],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: bundle,
      packages: 'external',
      alias: {
        // esbuild prefers the longest matching alias: the subpath before the package it is under.
        '@stratus/core/driver-kit': join(root, 'packages', 'core', 'src', 'driver-kit.ts'),
        '@stratus/core': src('core'),
        '@stratus/allocator': src('allocator'),
        '@stratus/driver-simulator': src('driver-simulator'),
      },
      logLevel: 'error',
    });
    const out = await runChild(['setup', db(), simFile()]);
    ids = JSON.parse(out) as CrashWorldIds;
  }, 60_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (bundle) rmSync(bundle, { force: true });
  });

  function runChild(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
    });
  }

  /** Starts a `run` child and resolves once it has opened the cloud. */
  function startLoad(seed: number): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, [bundle, 'run', db(), simFile(), String(seed)], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CRASH_WORLD: JSON.stringify(ids) },
      });
      let err = '';
      p.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      p.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve(p);
      });
      p.on('exit', (code, signal) => reject(new Error(`load child ended early (${code ?? signal}): ${err}`)));
    });
  }

  function kill(p: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      p.removeAllListeners('exit');
      p.on('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  it('recovers a consistent cloud after every kill', { timeout: 240_000 }, async () => {
    const random = mulberry32(0x5eed);
    const totals = {
      inconsistentBeforeRecovery: 0,
      recoveredVms: 0,
      jobsFailed: 0,
      volumes: 0,
      networks: 0,
      deployed: 0,
      byState: {} as Record<string, number>,
    };
    for (let i = 0; i < KILLS; i++) {
      const child = await startLoad(1000 + i);
      await sleep(50 + Math.floor(random() * 900));
      await kill(child);

      const sim = simulatorDriver({ stateFile: simFile() });
      const cloud = await createCloud({
        store: sqliteStore({ file: db() }),
        hypervisors: [sim],
        allocator: verticalAllocator(),
      });
      try {
        // The checker is not vacuous: before recovery a kill often leaves the store inconsistent.
        const before = await checkConsistent(cloud, sim, `kill ${i} (before recovery)`, { ignoreJobs: true }).then(
          () => true,
          () => false,
        );
        if (!before) totals.inconsistentBeforeRecovery++;
        const report = await cloud.recover({ assumeOthersDead: true });
        expect(report.unresolved, `kill ${i}`).toEqual([]);
        totals.recoveredVms += report.vms.length;
        totals.jobsFailed += report.jobsFailed;
        totals.volumes += report.volumes.length;
        totals.networks += report.networks.length;
        for (const v of report.vms)
          totals.byState[`${v.from}→${v.to}`] = (totals.byState[`${v.from}→${v.to}`] ?? 0) + 1;
        await checkConsistent(cloud, sim, `kill ${i}`);
        // Recovery is idempotent: a second pass finds nothing to do.
        expect(quiet(await cloud.recover({ assumeOthersDead: true })), `kill ${i}: second pass`).toEqual(
          quiet(undefined),
        );
      } finally {
        await cloud.close();
      }
    }
    const store = sqliteStore({ file: db() });
    const row = await store.db
      .selectFrom('asyncJobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('cmd', '=', 'deployVirtualMachine')
      .where('status', '=', 'SUCCEEDED')
      .executeTakeFirst();
    totals.deployed = Number(row?.n ?? 0);
    await store.close();
    // The load really ran and the kills really hit operations in flight.
    expect(totals.deployed).toBeGreaterThan(KILLS);
    expect(totals.jobsFailed).toBeGreaterThan(KILLS / 2);
    expect(totals.recoveredVms).toBeGreaterThan(0);
    expect(totals.inconsistentBeforeRecovery).toBeGreaterThan(0);
    console.info('crash test:', JSON.stringify(totals));
  });
});

/** What a recovery pass changed (jobs aside: the previous pass' own process is not a dead one). */
function quiet(report: RecoveryReport | undefined) {
  return {
    vms: report?.vms ?? [],
    volumes: report?.volumes ?? [],
    nics: report?.nics ?? [],
    networks: report?.networks ?? [],
    templateCopies: report?.templateCopies ?? 0,
    bookingsDropped: report?.bookingsDropped ?? 0,
  };
}

const STABLE = ['Running', 'Stopped', 'Destroyed', 'Error'];
const n = (v: unknown) => Number(v);

/** Every accounting invariant the issue names, checked against the store and the simulated hypervisors. */
async function checkConsistent(
  cloud: Cloud,
  sim: SimulatorDriver,
  label: string,
  options: { ignoreJobs?: boolean } = {},
): Promise<void> {
  const db = cloud.store.db;
  const view = sim.inspect();
  const vms = await db.selectFrom('vmInstances').selectAll().where('removed', 'is', null).execute();
  const vmById = new Map(vms.map((v) => [n(v.id), v]));
  const hosts = await db
    .selectFrom('hosts')
    .innerJoin('clusters', 'clusters.id', 'hosts.clusterId')
    .select([
      'hosts.id as id',
      'hosts.guid as guid',
      'hosts.cpus as cpus',
      'hosts.speed as speed',
      'hosts.totalMemory as totalMemory',
      'hosts.reservedMemory as reservedMemory',
      'clusters.cpuOvercommitRatio as cpuRatio',
      'clusters.memoryOvercommitRatio as memoryRatio',
    ])
    .where('hosts.removed', 'is', null)
    .execute();
  const guidOf = new Map(hosts.map((h) => [n(h.id), h.guid]));

  // 1. Every VM is in a stable state; no job is left running.
  for (const vm of vms) expect(STABLE, `${label}: VM ${vm.instanceName}`).toContain(vm.state);
  const inProgress = await db.selectFrom('asyncJobs').select('id').where('status', '=', 'IN_PROGRESS').execute();
  if (!options.ignoreJobs) expect(inProgress, `${label}: jobs in progress`).toEqual([]);

  // 2. The hypervisors agree: a Running VM runs on its host; no other VM runs anywhere.
  for (const vm of vms) {
    const onHost = view.vms[vm.instanceName];
    if (vm.state === 'Running') {
      expect(onHost?.power, `${label}: ${vm.instanceName} Running`).toBe('running');
      expect(onHost?.host, `${label}: ${vm.instanceName} host`).toBe(guidOf.get(n(vm.hostId)));
    } else {
      expect(onHost?.power, `${label}: ${vm.instanceName} is ${vm.state}`).not.toBe('running');
    }
  }
  for (const [name, onHost] of Object.entries(view.vms)) {
    if (onHost.power !== 'running') continue;
    const vm = vms.find((v) => v.instanceName === name);
    expect(vm?.state, `${label}: ${name} runs on a host`).toBe('Running');
  }

  // 3. Capacity: every booking is justified by its VM, each Running VM holds exactly one used
  //    booking on its host, and each host's counters are the sum of its bookings, within the limit.
  const bookings = await db.selectFrom('capacityBookings').selectAll().execute();
  for (const b of bookings) {
    const vm = vmById.get(n(b.vmId));
    const ok =
      vm !== undefined &&
      ((b.kind === 'used' && vm.state === 'Running' && n(vm.hostId) === n(b.hostId)) ||
        (b.kind === 'reserved' && vm.state === 'Stopped'));
    expect(ok, `${label}: booking ${b.kind} of VM ${b.vmId} (${vm?.state ?? 'gone'}) on host ${b.hostId}`).toBe(true);
  }
  for (const vm of vms.filter((v) => v.state === 'Running')) {
    const mine = bookings.filter((b) => n(b.vmId) === n(vm.id));
    expect(
      mine.map((b) => [b.kind, n(b.hostId)]),
      `${label}: bookings of ${vm.instanceName}`,
    ).toEqual([['used', n(vm.hostId)]]);
  }
  const counters = await db.selectFrom('hostCapacity').selectAll().execute();
  for (const h of hosts) {
    const c = counters.find((r) => n(r.hostId) === n(h.id));
    const on = bookings.filter((b) => n(b.hostId) === n(h.id));
    const sum = (kind: string, k: 'cpu' | 'memory') =>
      on.filter((b) => b.kind === kind).reduce((s, b) => s + n(b[k]), 0);
    expect(
      {
        cpuUsed: n(c?.cpuUsed ?? 0),
        cpuReserved: n(c?.cpuReserved ?? 0),
        memoryUsed: n(c?.memoryUsed ?? 0),
        memoryReserved: n(c?.memoryReserved ?? 0),
      },
      `${label}: host ${h.id} counters`,
    ).toEqual({
      cpuUsed: sum('used', 'cpu'),
      cpuReserved: sum('reserved', 'cpu'),
      memoryUsed: sum('used', 'memory'),
      memoryReserved: sum('reserved', 'memory'),
    });
    const cpuLimit = n(h.cpus) * n(h.speed) * n(h.cpuRatio);
    const memoryLimit = (n(h.totalMemory) - n(h.reservedMemory)) * n(h.memoryRatio);
    expect(sum('used', 'cpu') + sum('reserved', 'cpu'), `${label}: host ${h.id} CPU`).toBeLessThanOrEqual(cpuLimit);
    expect(sum('used', 'memory') + sum('reserved', 'memory'), `${label}: host ${h.id} memory`).toBeLessThanOrEqual(
      memoryLimit,
    );
  }

  // 4. NICs: settled (Reserved exactly on Running VMs), each of a live VM; every guest IP and MAC
  //    belongs to exactly one live NIC and every live NIC's address and MAC are allocated.
  const nics = await db.selectFrom('nics').selectAll().where('removed', 'is', null).execute();
  for (const nic of nics) {
    const vm = vmById.get(n(nic.instanceId));
    expect(vm, `${label}: NIC ${nic.id} has a live VM`).toBeDefined();
    expect(nic.state, `${label}: NIC ${nic.id} of a ${vm?.state} VM`).toBe(
      vm?.state === 'Running' ? 'Reserved' : 'Allocated',
    );
  }
  const nicById = new Map(nics.map((x) => [n(x.id), x]));
  const ips = await db.selectFrom('ipAllocations').selectAll().execute();
  const guestIps = ips.filter((ip) => ip.ownerType === 'Nic');
  for (const ip of guestIps) {
    const nic = nicById.get(n(ip.ownerId));
    expect(nic?.ip4Address, `${label}: IP ${ip.ip} owned by NIC ${ip.ownerId}`).toBe(ip.ip);
  }
  for (const nic of nics.filter((x) => x.ip4Address !== null)) {
    const owned = guestIps.filter((ip) => n(ip.ownerId) === n(nic.id));
    expect(
      owned.map((ip) => ip.ip),
      `${label}: NIC ${nic.id} address allocated once`,
    ).toEqual([nic.ip4Address]);
  }
  const macs = await db.selectFrom('macAddresses').selectAll().execute();
  const nicMacs = nics.map((x) => x.macAddress.toLowerCase()).sort();
  expect(
    macs
      .filter((m) => m.ownerType === 'Nic')
      .map((m) => m.mac)
      .sort(),
    `${label}: MACs`,
  ).toEqual(nicMacs);

  // 5. Networks: none half-implemented; each taken VLAN belongs to an Implemented network, and each
  //    Implemented network (without a specified VLAN) holds exactly one; public IPs belong to live networks.
  const networks = await db.selectFrom('networks').selectAll().where('removed', 'is', null).execute();
  for (const net of networks)
    expect(['Allocated', 'Implemented', 'Setup'], `${label}: network ${net.id}`).toContain(net.state);
  const vlans = await db.selectFrom('guestVlans').selectAll().execute();
  for (const v of vlans) {
    const net = networks.find((x) => n(x.id) === n(v.networkId));
    expect(net?.state, `${label}: VLAN ${v.vnet} of network ${v.networkId}`).toBe('Implemented');
  }
  for (const net of networks.filter((x) => x.state === 'Implemented' && x.specifiedVlan === null)) {
    const held = vlans.filter((v) => n(v.networkId) === n(net.id));
    expect(held, `${label}: VLANs of network ${net.id}`).toHaveLength(1);
    expect(net.broadcastUri, `${label}: network ${net.id} URI`).toBe(`vlan://${held[0]!.vnet}`);
  }
  for (const ip of ips.filter((x) => x.space === 'public' && x.networkId !== null)) {
    expect(
      networks.some((x) => n(x.id) === n(ip.networkId)),
      `${label}: public IP ${ip.ip}`,
    ).toBe(true);
  }

  // 6. Volumes: settled; a Ready volume has its disk on the hypervisor; no disk exists there that
  //    the store does not know (no leak); pool allocations exactly for Ready volumes, counters summed.
  const volumes = await db.selectFrom('volumes').selectAll().where('removed', 'is', null).execute();
  for (const v of volumes) {
    expect(['Allocated', 'Ready', 'Destroy'], `${label}: volume ${v.name}`).toContain(v.state);
    if (v.state === 'Ready') expect(view.volumes[v.uuid], `${label}: disk of ${v.name}`).toBeDefined();
    if (v.state === 'Allocated') expect(view.volumes[v.uuid], `${label}: ${v.name} has no disk yet`).toBeUndefined();
  }
  const known = new Set(volumes.filter((v) => v.state !== 'Allocated').map((v) => v.uuid));
  for (const uuid of Object.keys(view.volumes)) expect(known.has(uuid), `${label}: disk ${uuid} on a pool`).toBe(true);
  const allocations = await db.selectFrom('storageAllocations').selectAll().execute();
  const ready = new Set(volumes.filter((v) => v.state === 'Ready').map((v) => n(v.id)));
  expect(allocations.map((a) => n(a.volumeId)).sort(), `${label}: pool allocations`).toEqual([...ready].sort());
  const poolCounters = await db.selectFrom('poolCapacity').selectAll().execute();
  for (const p of poolCounters) {
    const sum = allocations.filter((a) => n(a.poolId) === n(p.poolId)).reduce((s, a) => s + n(a.bytes), 0);
    expect(n(p.allocatedBytes), `${label}: pool ${p.poolId} allocated`).toBe(sum);
  }
  // A Running or Stopped VM has its root volume Ready; a VM never leaves a volume mid-creation.
  for (const vm of vms.filter((v) => v.state === 'Running')) {
    const root = volumes.find((v) => n(v.instanceId) === n(vm.id) && v.volumeType === 'ROOT');
    expect(root?.state, `${label}: root of ${vm.instanceName}`).toBe('Ready');
  }
  const copies = await db.selectFrom('templatePoolRefs').select('state').where('state', '=', 'Creating').execute();
  expect(copies, `${label}: template copies`).toEqual([]);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
