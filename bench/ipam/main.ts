/**
 * IPAM benchmark (issue 4): allocation + release throughput in memory and committed on SQLite,
 * and the time and store growth of adding a /8 public range.
 * Run: npx tsx bench/ipam/main.ts   (or npm run bench:ipam)
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressIndex } from '../../packages/core/src/ipam/address-index.js';
import { seededRandom } from '../../packages/core/src/ipam/random.js';
import { sqliteStore } from '../../packages/core/src/store/sqlite-store.js';
import { ipamSnapshot, ipamWorld } from '../../packages/core/test/fixtures/ipam-world.js';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function inMemory(strategy: 'sequential' | 'random', count: number): { alloc: number; release: number; cycle: number } {
  const start = 0x0b000002; // 11.0.0.2, a /8 public range
  const index = new AddressIndex(start, start + 2 ** 24 - 4);
  const random = seededRandom(1);
  const got = new Uint32Array(count);
  let t = performance.now();
  for (let i = 0; i < count; i++) {
    const a = index.pick(strategy, random);
    index.take(a);
    got[i] = a;
  }
  const alloc = count / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < count; i++) index.release(got[i] as number);
  const release = count / ((performance.now() - t) / 1000);
  // steady state: a half-full range, allocate one + release one
  for (let i = 0; i < count; i++) index.take(got[i] as number);
  t = performance.now();
  for (let i = 0; i < count; i++) {
    const a = index.pick(strategy, random);
    index.take(a);
    index.release(got[i] as number);
    got[i] = a;
  }
  const cycle = count / ((performance.now() - t) / 1000);
  return { alloc, release, cycle };
}

async function main() {
  console.log('IPAM benchmark');
  console.log('');
  console.log('In memory (AddressIndex over a /8, 16,777,213 addresses):');
  for (const strategy of ['sequential', 'random'] as const) {
    inMemory(strategy, 200_000); // warm-up
    const r = inMemory(strategy, 2_000_000);
    console.log(
      `  ${strategy.padEnd(10)} allocate ${fmt(r.alloc)}/s   release ${fmt(r.release)}/s   allocate+release (steady) ${fmt(r.cycle)}/s`,
    );
  }

  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-ipam-'));
  try {
    const file = join(dir, 'ipam.db');
    const store = sqliteStore({ file });
    const w = await ipamWorld(store);
    const size = () => statSync(file).size + (statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0);

    console.log('');
    console.log('Adding a /8 public range (SQLite file):');
    const before = await ipamSnapshot(store);
    const bytesBefore = size();
    let t = performance.now();
    const big = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '11.0.0.1',
      netmask: '255.0.0.0',
      startIp: '11.0.0.2',
      endIp: '11.255.255.254',
    });
    const addMs = performance.now() - t;
    const after = await ipamSnapshot(store);
    const usage = await w.publicRanges.usage(big.id);
    console.log(
      `  time ${addMs.toFixed(2)} ms; rows: ip_ranges +${after.ipRanges - before.ipRanges}, ip_allocations +${after.ipAllocations - before.ipAllocations}; file +${fmt(size() - bytesBefore)} bytes; allocatable ${fmt(usage.size)}`,
    );

    console.log('');
    console.log('Committed on SQLite (one transaction per operation, file, WAL, synchronous=NORMAL):');
    const n = 3000;
    const ids: number[] = [];
    t = performance.now();
    for (let i = 0; i < n; i++)
      ids.push(
        (
          await w.ctx.write((tx) =>
            w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1, state: 'Allocated' }),
          )
        ).id,
      );
    const allocS = n / ((performance.now() - t) / 1000);
    t = performance.now();
    for (const id of ids) {
      await w.ctx.write(async (tx) => {
        await w.allocator.beginPublicIpRelease(tx, id);
        await w.allocator.completePublicIpRelease(tx, id);
      });
    }
    const releaseS = n / ((performance.now() - t) / 1000);
    await w.ctx.write((tx) => w.guestRanges.create(tx, { networkId: 1, zoneId: w.zoneA, cidr: '10.1.0.0/22' }));
    const guest: number[] = [];
    t = performance.now();
    for (let i = 0; i < 1000; i++)
      guest.push((await w.ctx.write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 1, ownerId: i }))).id);
    const guestS = 1000 / ((performance.now() - t) / 1000);
    t = performance.now();
    for (const id of guest) await w.ctx.write((tx) => w.allocator.release(tx, id));
    const guestRelS = 1000 / ((performance.now() - t) / 1000);
    console.log(`  public IP (/8 range)   allocate ${fmt(allocS)}/s   release (Releasing → Free) ${fmt(releaseS)}/s`);
    console.log(`  guest IP (/22, random) allocate ${fmt(guestS)}/s   release ${fmt(guestRelS)}/s`);
    const batch = 10_000;
    t = performance.now();
    await w.ctx.write(async (tx) => {
      for (let i = 0; i < batch; i++)
        await w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.bob, domainId: 1, state: 'Allocated' });
    });
    console.log(
      `  public IP, ${fmt(batch)} allocations in one transaction: ${fmt(batch / ((performance.now() - t) / 1000))}/s`,
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
