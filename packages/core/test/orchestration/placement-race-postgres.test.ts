import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulatorDriver } from '@stratus/driver-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../../testkit/src/harness/postgres.js';
import type { ServiceOffering } from '../../src/model/records.js';
import { RESOURCE_TYPES } from '../../src/resources/resource-limits.js';
import { postgresStore } from '../../src/store/postgres-store.js';
import { ControlPlane } from '../fixtures/control-plane.js';
import { type VmWorld, vmWorld } from './vm-world.js';

const RACES = Number(process.env.RACES ?? 100);
const K = 3;

describe.skipIf(!pgAvailable())(`placement races on PostgreSQL, 4 control planes${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  let dir: string;
  let world: VmWorld;
  let offering: ServiceOffering;
  const planes: ControlPlane[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('placement_race');
    dir = mkdtempSync(join(tmpdir(), 'stratus-race-'));
    const stateFile = join(dir, 'world.json');
    world = await vmWorld({
      store: postgresStore({ connectionString: db.url }),
      sim: simulatorDriver({ stateFile, sharedState: true }),
      clusters: 1,
      hostsPerCluster: 1,
    });
    // One host of 16 GiB: exactly K = 3 VMs of 4 GiB (the fourth passes the memory threshold and the host).
    offering = await world.cloud.offerings.createServiceOffering({
      name: 'quarter',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 4096,
    });
    // The refused VMs stay (Error) until the cleanup of their race: no account limit in the way.
    for (const type of RESOURCE_TYPES) await world.cloud.limits.set({ type, accountId: world.account.id, max: -1 });
    for (let i = 0; i < 4; i++) {
      planes.push(await ControlPlane.start(db.url, stateFile));
    }
  }, 120_000);

  afterAll(async () => {
    for (const plane of planes) plane.stop();
    await world?.cloud.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`${RACES} races for room for exactly ${K} VMs, template staged and not yet staged: exactly ${K} succeed each time`, async () => {
    const { cloud, zone, account } = world;
    let templateId = world.template.id;
    for (let race = 0; race < RACES; race++) {
      if (race % 2 === 1) {
        // A template not yet on primary storage: the first start stages it while the others wait.
        const t = await cloud.templates.register({
          name: `race-${race}`,
          url: `http://example.org/race-${race}.qcow2`,
          format: 'QCOW2',
          hypervisorType: 'Simulator',
          osType: 'Ubuntu 22.04',
          crossZones: true,
          isPublic: true,
        });
        await (await cloud.templateStorage.download(t.id)).result;
        templateId = t.id;
      } else {
        templateId = world.template.id;
      }
      const request = { zoneId: zone.id, templateId, serviceOfferingId: offering.id, accountId: account.id };
      const results = (await Promise.all(planes.map((p) => p.call('deployMany', request, 2)))).map(
        (answer) => ('value' in answer ? answer.value : answer) as { ok: number; failed: number; other: string[] },
      );
      const ok = results.reduce((a, r) => a + r.ok, 0);
      const failed = results.reduce((a, r) => a + r.failed, 0);
      expect({ race, other: results.flatMap((r) => r.other) }).toEqual({ race, other: [] });
      expect({ race, ok, failed }).toEqual({ race, ok: K, failed: 8 - K });
      expect(await cloud.vms.list({ state: 'Running' })).toHaveLength(K);
      for (const vm of await cloud.vms.list())
        if (vm.state === 'Running' || vm.state === 'Error')
          await (await cloud.vms.destroy(vm.id, { expunge: true })).result;
    }
  }, 900_000);
});
