import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  pgAvailable,
  pgSkipSuffix,
  type TestDatabase,
} from '../../testkit/src/harness/postgres.js';
import { postgresStore } from '../src/store/postgres-store.js';
import { seedCapacityWorld } from './fixtures/capacity-world.js';

const child = fileURLToPath(new URL('./fixtures/capacity-book-child.ts', import.meta.url));

function run(args: string[]): Promise<{ ok: number; failed: number; other: string[] }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

describe.skipIf(!pgAvailable())(`capacity bookings on PostgreSQL, 4 processes${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('capacity');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('exactly N of many concurrent deployments succeed; the rest get the typed error; no host over-committed', async () => {
    const store = postgresStore({ connectionString: db.url });
    await store.migrate();
    // 3 hosts × (4 cores × 2000 MHz, 8 GiB) with 1000 MHz / 1 GiB VMs ⇒ exactly N = 24 VMs fit.
    const world = await seedCapacityWorld(store, { hosts: 3 });
    const hosts = world.hostIds.join(',');
    const perProcess = 10; // 40 attempts for 24 slots
    const results = await Promise.all(
      [0, 1, 2, 3].map((p) => run([db.url, hosts, String(1000 * (p + 1)), String(perProcess)])),
    );
    const ok = results.reduce((a, r) => a + r.ok, 0);
    const failed = results.reduce((a, r) => a + r.failed, 0);
    expect(results.flatMap((r) => r.other)).toEqual([]);
    expect(ok).toBe(24);
    expect(failed).toBe(40 - 24);
    const rows = await store.db.selectFrom('hostCapacity').selectAll().execute();
    for (const r of rows) {
      expect(Number(r.cpuUsed)).toBeLessThanOrEqual(8000);
      expect(Number(r.memoryUsed)).toBeLessThanOrEqual(8192 * 2 ** 20);
    }
    const bookings = await store.db
      .selectFrom('capacityBookings')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(bookings.n)).toBe(24);
    const total = rows.reduce((a, r) => a + Number(r.cpuUsed), 0);
    expect(total).toBe(24 * 1000);
    await store.close();
  }, 120_000);
});
