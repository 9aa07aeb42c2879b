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
import { ipamWorld } from './fixtures/ipam-world.js';

const child = fileURLToPath(new URL('./fixtures/ipam-allocate-child.ts', import.meta.url));

function run(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`child exited ${code}: ${err}`)),
    );
  });
}

describe.skipIf(!pgAvailable())(`IPAM across two processes on PostgreSQL${pgSkipSuffix()}`, () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('ipam');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('two processes exhaust one public range: no duplicates, exactly range-size successes', async () => {
    const store = postgresStore({ connectionString: db.url });
    const w = await ipamWorld(store);
    const range = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.2',
      endIp: '203.0.113.161',
    });
    const size = 160;
    const [a, b] = await Promise.all([
      run([db.url, String(w.zoneA), String(w.alice)]),
      run([db.url, String(w.zoneA), String(w.bob)]),
    ]);
    const all = [...(a as string[]), ...(b as string[])];
    expect(all.length).toBe(size);
    expect(new Set(all).size).toBe(size);
    // both really competed
    expect((a as string[]).length).toBeGreaterThan(0);
    expect((b as string[]).length).toBeGreaterThan(0);
    const rows = await w.allocator.listAllocations(store.db, { space: 'public', poolId: range.id });
    expect(rows.length).toBe(size);
    expect(new Set(rows.map((r) => r.ip))).toEqual(new Set(all));
    expect(await w.publicRanges.usage(range.id)).toEqual({ size, allocated: size, free: 0 });
    await store.close();
  }, 120_000);
});
