import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulatorDriver } from '@stratus/driver-simulator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../../testkit/src/harness/postgres.js';
import type { Cloud } from '../../src/cloud.js';
import type { Host, VirtualMachine } from '../../src/model/records.js';
import { RESOURCE_TYPES } from '../../src/resources/resource-limits.js';
import { postgresStore } from '../../src/store/postgres-store.js';
import { sqliteStore } from '../../src/store/sqlite-store.js';
import { callCloud, type ErrorShape } from '../fixtures/cloud-calls.js';
import { ControlPlane } from '../fixtures/control-plane.js';
import { type VmWorld, vmWorld } from './vm-world.js';

/**
 * Placement against admin changes, as a property (fast-check model-based runs): admin changes of
 * every kind that affects placement (host states and maintenance, cluster and pod states, host
 * tags, hosts dedicated to another tenant and released, hosts and clusters with their pools added) interleaved with deploys, stops, starts and migrations, made
 * through one control plane or alternately through two processes sharing PostgreSQL. At most a
 * few VMs live at once, so capacity never decides: a deploy or start succeeds exactly when an
 * eligible host exists, lands on an eligible host, and a host added at any point takes a VM.
 */

type Answer = { value: unknown } | { error: ErrorShape };
/** Where a command runs: `cloud.<path>(...args)` in this process or another. */
type Plane = (path: string, ...args: unknown[]) => Promise<Answer>;

interface ModelHost {
  id: number;
  clusterId: number;
  state: 'Enabled' | 'Disabled' | 'Maintenance';
  tags: string[];
  /** Dedicated to another account. */
  dedicated: boolean;
}

interface Model {
  hosts: ModelHost[];
  podEnabled: boolean;
  clusters: Map<number, { enabled: boolean }>;
  vms: Map<number, { hostId: number | null; tags: string[] }>;
  added: number;
}

interface Real {
  planes: Plane[];
  admin: Cloud;
  zoneId: number;
  podId: number;
  templateId: number;
  accountId: number;
  /** Another tenant, that hosts get dedicated to. */
  otherAccountId: number;
  offerings: { plain: number; gpu: number };
}

const MAX_LIVE_VMS = 5;

function eligible(m: Model, host: ModelHost, tags: readonly string[]): boolean {
  return (
    m.podEnabled &&
    host.state === 'Enabled' &&
    !host.dedicated &&
    m.clusters.get(host.clusterId)?.enabled === true &&
    tags.every((t) => host.tags.includes(t))
  );
}

function value<T>(answer: Answer, what: string): T {
  if ('error' in answer) throw new Error(`${what}: ${answer.error.name} ${answer.error.message}`);
  return answer.value as T;
}

/** A placement outcome: success lands on an eligible host, and a refusal (533) means none was. */
function checkPlacement(m: Model, answer: Answer, tags: readonly string[], what: string): VirtualMachine | null {
  const anyEligible = m.hosts.some((h) => eligible(m, h, tags));
  if ('error' in answer) {
    expect({ what, httpCode: answer.error.httpCode, anyEligible, message: answer.error.message }).toMatchObject({
      httpCode: 533,
      anyEligible: false,
    });
    return null;
  }
  const vm = answer.value as VirtualMachine;
  const host = m.hosts.find((h) => h.id === vm.hostId);
  expect({ what, state: vm.state, eligible: host !== undefined && eligible(m, host, tags) }).toEqual({
    what,
    state: 'Running',
    eligible: true,
  });
  return vm;
}

type Cmd = fc.AsyncCommand<Model, Real>;

const cmd = (
  label: string,
  check: (m: Readonly<Model>) => boolean,
  run: (m: Model, r: Real) => Promise<void>,
): Cmd => ({ check, run, toString: () => label });

function commands(planeCount: number) {
  const plane = fc.integer({ min: 0, max: planeCount - 1 });
  const pick = fc.nat();
  return [
    fc.tuple(plane, pick, fc.constantFrom('disable', 'enable', 'maintain', 'cancel')).map(([p, i, action]) =>
      cmd(
        `${action} host #${i} via ${p}`,
        () => true,
        async (m, r) => {
          const host = m.hosts[i % m.hosts.length]!;
          const busy = [...m.vms.values()].some((v) => v.hostId === host.id);
          if (action === 'maintain' && (busy || host.state !== 'Enabled')) return;
          if (action === 'cancel' && host.state !== 'Maintenance') return;
          if ((action === 'disable' || action === 'enable') && host.state === 'Maintenance') return;
          const call = {
            disable: 'disable',
            enable: 'enable',
            maintain: 'prepareForMaintenance',
            cancel: 'cancelMaintenance',
          }[action]!;
          value(await r.planes[p]!(`hosts.${call}`, host.id), `${action} host ${host.id}`);
          host.state = action === 'disable' ? 'Disabled' : action === 'maintain' ? 'Maintenance' : 'Enabled';
        },
      ),
    ),
    fc.tuple(plane, pick, fc.boolean()).map(([p, i, enabled]) =>
      cmd(
        `${enabled ? 'enable' : 'disable'} cluster #${i} via ${p}`,
        () => true,
        async (m, r) => {
          const ids = [...m.clusters.keys()];
          const id = ids[i % ids.length]!;
          value(
            await r.planes[p]!('clusters.update', id, { allocationState: enabled ? 'Enabled' : 'Disabled' }),
            'cluster',
          );
          m.clusters.get(id)!.enabled = enabled;
        },
      ),
    ),
    fc.tuple(plane, fc.boolean()).map(([p, enabled]) =>
      cmd(
        `${enabled ? 'enable' : 'disable'} the pod via ${p}`,
        () => true,
        async (m, r) => {
          value(
            await r.planes[p]!('pods.update', r.podId, { allocationState: enabled ? 'Enabled' : 'Disabled' }),
            'pod',
          );
          m.podEnabled = enabled;
        },
      ),
    ),
    fc.tuple(plane, pick, fc.boolean()).map(([p, i, dedicate]) =>
      cmd(
        `${dedicate ? 'dedicate' : 'release'} host #${i} via ${p}`,
        () => true,
        async (m, r) => {
          const host = m.hosts[i % m.hosts.length]!;
          if (dedicate === host.dedicated) return;
          const answer = dedicate
            ? await r.planes[p]!('dedications.dedicateHost', host.id, { accountId: r.otherAccountId })
            : await r.planes[p]!('dedications.releaseHost', host.id);
          // Refused (typed: in use, or invalid) while the host holds the tenant's VMs or their reservations.
          if ('error' in answer && dedicate) {
            expect(['RESOURCE_IN_USE', 'INVALID_PARAMETER', 'INVALID_STATE']).toContain(answer.error.code);
            return;
          }
          value(answer, `${dedicate ? 'dedicate' : 'release'} host ${host.id}`);
          host.dedicated = dedicate;
        },
      ),
    ),
    fc.tuple(plane, pick, fc.constantFrom<string[]>([], ['gpu'], ['gpu', 'fast'])).map(([p, i, tags]) =>
      cmd(
        `tag host #${i} [${tags}] via ${p}`,
        () => true,
        async (m, r) => {
          const host = m.hosts[i % m.hosts.length]!;
          value(await r.planes[p]!('hosts.update', host.id, { hostTags: tags }), 'tags');
          host.tags = [...tags];
        },
      ),
    ),
    fc.tuple(plane, pick, fc.boolean()).map(([p, i, newCluster]) =>
      cmd(
        `add a host${newCluster ? ' in a new cluster with its pool' : ` to cluster #${i}`} via ${p}`,
        (m) => m.added < 4,
        async (m, r) => {
          const n = ++m.added;
          let clusterId: number;
          if (newCluster) {
            const cluster = value<{ id: number }>(
              await r.planes[p]!('clusters.create', {
                podId: r.podId,
                name: `added-${n}`,
                hypervisorType: 'Simulator',
              }),
              'cluster',
            );
            clusterId = cluster.id;
          } else {
            const ids = [...m.clusters.keys()];
            clusterId = ids[i % ids.length]!;
          }
          const [host] = value<Host[]>(
            await r.planes[p]!('hosts.add', {
              clusterId,
              url: `sim://added-${n}?ip=192.168.10.${100 + n}&cpus=8&cpuMhz=2000&memoryMiB=16384`,
            }),
            'host',
          );
          if (newCluster) {
            value(
              await r.planes[p]!('storagePools.create', {
                clusterId,
                name: `added-ps-${n}`,
                url: `nfs://10.0.0.5/export/added-${n}`,
              }),
              'pool',
            );
            m.clusters.set(clusterId, { enabled: true });
          }
          const modelHost: ModelHost = { id: host!.id, clusterId, state: 'Enabled', tags: [], dedicated: false };
          m.hosts.push(modelHost);
          // The new host takes a VM at once, through the other control plane when there is one.
          if ([...m.vms.values()].filter((v) => v.hostId !== null).length >= MAX_LIVE_VMS) return;
          const other = r.planes[(p + 1) % r.planes.length]!;
          const answer = await other('vms.deployAndWait', {
            zoneId: r.zoneId,
            serviceOfferingId: r.offerings.plain,
            templateId: r.templateId,
            accountId: r.accountId,
            hostId: host!.id,
          });
          if (m.podEnabled && m.clusters.get(clusterId)!.enabled) {
            const vm = value<VirtualMachine>(answer, `deploy on added host ${host!.id}`);
            expect(vm.hostId).toBe(host!.id);
            m.vms.set(vm.id, { hostId: vm.hostId, tags: [] });
          }
        },
      ),
    ),
    fc.tuple(plane, fc.boolean()).map(([p, gpu]) =>
      cmd(
        `deploy${gpu ? ' gpu' : ''} via ${p}`,
        (m) => [...m.vms.values()].filter((v) => v.hostId !== null).length < MAX_LIVE_VMS,
        async (m, r) => {
          const tags = gpu ? ['gpu'] : [];
          const answer = await r.planes[p]!('vms.deployAndWait', {
            zoneId: r.zoneId,
            serviceOfferingId: gpu ? r.offerings.gpu : r.offerings.plain,
            templateId: r.templateId,
            accountId: r.accountId,
          });
          const vm = checkPlacement(m, answer, tags, 'deploy');
          if (vm) m.vms.set(vm.id, { hostId: vm.hostId, tags });
        },
      ),
    ),
    fc.tuple(plane, pick).map(([p, i]) =>
      cmd(
        `stop VM #${i} via ${p}`,
        (m) => [...m.vms.values()].some((v) => v.hostId !== null),
        async (m, r) => {
          const running = [...m.vms.entries()].filter(([, v]) => v.hostId !== null);
          const [id, vm] = running[i % running.length]!;
          value(await r.planes[p]!('vms.stop', id), 'stop');
          vm.hostId = null;
        },
      ),
    ),
    fc.tuple(plane, pick).map(([p, i]) =>
      cmd(
        `start VM #${i} via ${p}`,
        (m) =>
          [...m.vms.values()].some((v) => v.hostId === null) &&
          [...m.vms.values()].filter((v) => v.hostId !== null).length < MAX_LIVE_VMS,
        async (m, r) => {
          const stopped = [...m.vms.entries()].filter(([, v]) => v.hostId === null);
          const [id, vm] = stopped[i % stopped.length]!;
          const answer = await r.planes[p]!('vms.start', id);
          const started = checkPlacement(
            m,
            'error' in answer ? answer : { value: await r.admin.vms.get(id) },
            vm.tags,
            'start',
          );
          if (started) vm.hostId = started.hostId;
        },
      ),
    ),
    fc.tuple(plane, pick, pick).map(([p, i, j]) =>
      cmd(
        `migrate VM #${i} to host #${j} via ${p}`,
        (m) => [...m.vms.values()].some((v) => v.hostId !== null),
        async (m, r) => {
          const running = [...m.vms.entries()].filter(([, v]) => v.hostId !== null);
          const [id, vm] = running[i % running.length]!;
          const from = m.hosts.find((h) => h.id === vm.hostId)!;
          const to = m.hosts[j % m.hosts.length]!;
          if (to.id === from.id) return;
          const answer = await r.planes[p]!('vms.migrate', id, to.id);
          const allowed = eligible(m, to, vm.tags) && to.clusterId === from.clusterId;
          if ('error' in answer) {
            expect({ migrate: `${id} → ${to.id}`, allowed, error: answer.error.message }).toMatchObject({
              allowed: false,
            });
            return;
          }
          expect({ migrate: `${id} → ${to.id}`, eligible: eligible(m, to, vm.tags) }).toEqual({
            migrate: `${id} → ${to.id}`,
            eligible: true,
          });
          vm.hostId = to.id;
        },
      ),
    ),
  ];
}

/** The VMs' hosts as the store records them agree with the model after every run. */
async function checkStore(m: Model, admin: Cloud): Promise<void> {
  for (const [id, vm] of m.vms) {
    const stored = await admin.vms.get(id);
    expect({ id, hostId: stored.hostId, state: stored.state }).toEqual({
      id,
      hostId: vm.hostId,
      state: vm.hostId === null ? 'Stopped' : 'Running',
    });
  }
}

/** The model of a fresh world; its account gets no limits (refused deploys stay, in Error). */
async function modelOf(world: VmWorld): Promise<Model> {
  for (const type of RESOURCE_TYPES) await world.cloud.limits.set({ type, accountId: world.account.id, max: -1 });
  const clusters = new Map<number, { enabled: boolean }>();
  for (const h of world.hosts) clusters.set(h.clusterId, { enabled: true });
  return {
    hosts: world.hosts.map((h) => ({ id: h.id, clusterId: h.clusterId, state: 'Enabled', tags: [], dedicated: false })),
    podEnabled: true,
    clusters,
    vms: new Map(),
    added: 0,
  };
}

/** Runs `cmds` on a fresh world through `planes`, then compares the store with the model. */
async function runModel(world: VmWorld, planes: Plane[], cmds: Iterable<Cmd>): Promise<void> {
  const gpu = await world.cloud.offerings.createServiceOffering({
    name: 'gpu',
    cpuNumber: 1,
    cpuSpeed: 1000,
    memory: 2048,
    hostTag: 'gpu',
  });
  const pod = (await world.cloud.pods.list({ zoneId: world.zone.id }))[0]!;
  const real: Real = {
    planes,
    admin: world.cloud,
    zoneId: world.zone.id,
    podId: pod.id,
    templateId: world.template.id,
    accountId: world.account.id,
    otherAccountId: 0,
    offerings: { plain: world.small.id, gpu: gpu.id },
  };
  const { account: other } = await world.cloud.tenancy.createAccount({
    accountName: 'other',
    user: { username: 'olga', password: 'pw' },
  });
  real.otherAccountId = other.id;
  const model = await modelOf(world);
  await fc.asyncModelRun(() => ({ model, real }), cmds);
  await checkStore(model, world.cloud);
}

describe('placement properties: admin changes interleaved with VM operations', () => {
  it('in one process (SQLite): every Running VM sits on a host eligible when it was booked; added hosts take VMs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands(1), { maxCommands: 40 }), async (cmds) => {
        const world = await vmWorld({ store: sqliteStore(), clusters: 2, hostsPerCluster: 2 });
        try {
          await runModel(world, [(path, ...args) => callCloud(world.cloud, path, args)], cmds);
        } finally {
          await world.cloud.close();
        }
      }),
      { numRuns: 15, ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}) },
    );
  }, 300_000);

  it.skipIf(!pgAvailable())(
    `in two processes on one PostgreSQL: the same, with every command through either process${pgSkipSuffix()}`,
    async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.commands(commands(2), { maxCommands: 30 }), async (cmds) => {
          const db: TestDatabase = await createTestDatabase(`placement_props_${run++}`);
          const dir = mkdtempSync(join(tmpdir(), 'stratus-props-'));
          const stateFile = join(dir, 'world.json');
          const world = await vmWorld({
            store: postgresStore({ connectionString: db.url }),
            sim: simulatorDriver({ stateFile, sharedState: true }),
            clusters: 2,
            hostsPerCluster: 2,
          });
          const other = await ControlPlane.start(db.url, stateFile);
          try {
            await runModel(
              world,
              [(path, ...args) => callCloud(world.cloud, path, args), (path, ...args) => other.call(path, ...args)],
              cmds,
            );
          } finally {
            other.stop();
            await world.cloud.close();
            await db.drop();
            rmSync(dir, { recursive: true, force: true });
          }
        }),
        { numRuns: 6 },
      );
    },
    600_000,
  );
});
