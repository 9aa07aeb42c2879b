import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AddressIndex } from '../src/ipam/address-index.js';
import { FreeBitmap } from '../src/ipam/free-bitmap.js';
import { VlanIndex } from '../src/ipam/guest-vlans.js';
import { seededRandom } from '../src/ipam/random.js';

/** An operation of a random interleaving: allocate, or release the k-th currently held entry. */
const op = fc.oneof(
  fc.constant({ kind: 'alloc' as const }),
  fc.nat(1000).map((k) => ({ kind: 'release' as const, k })),
);

describe('FreeBitmap', () => {
  it('finds the lowest free slot from any position, across level boundaries', () => {
    for (const size of [1, 31, 32, 33, 1024, 1025, 40_000]) {
      const b = new FreeBitmap(size);
      for (let i = 0; i < size; i++) expect(b.take(b.nextFree(0))).toBe(true);
      expect(b.nextFree(0)).toBe(-1);
      b.release(size - 1);
      expect(b.nextFree(0)).toBe(size - 1);
      expect(b.nextFreeWrapping(size - 1)).toBe(size - 1);
      b.release(0);
      expect(b.nextFreeWrapping(size - 1)).toBe(size - 1);
      expect(b.nextFreeWrapping(1)).toBe(size === 1 ? 0 : size - 1);
      expect(b.free).toBe(size === 1 ? 1 : 2);
    }
  });

  it('agrees with a naive model under random take/release', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3000 }),
        fc.array(fc.tuple(fc.boolean(), fc.nat(), fc.nat()), { maxLength: 300 }),
        (size, ops) => {
          const b = new FreeBitmap(size);
          const model = new Set<number>();
          for (const [take, x, from] of ops) {
            const slot = x % size;
            if (take) expect(b.take(slot)).toBe(!model.has(slot));
            else expect(b.release(slot)).toBe(model.has(slot));
            if (take) model.add(slot);
            else model.delete(slot);
            const start = from % size;
            let expected = -1;
            for (let s = start; s < size; s++)
              if (!model.has(s)) {
                expected = s;
                break;
              }
            expect(b.nextFree(start)).toBe(expected);
            expect(b.taken).toBe(model.size);
          }
        },
      ),
    );
  });
});

describe('AddressIndex (in-memory IP pool)', () => {
  it('never hands out an address twice, never an excluded one, and keeps free + allocated = size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom('sequential' as const, 'random' as const),
        fc.integer(),
        fc.array(op, { maxLength: 400 }),
        (size, strategy, seed, ops) => {
          const start = 0x0a010102; // 10.1.1.2
          const end = start + size - 1;
          const excluded = [start, start + Math.floor(size / 2)]; // e.g. the gateway and a reserved self-IP
          const index = new AddressIndex(start, end, excluded);
          const random = seededRandom(seed);
          const held: number[] = [];
          const allocatable = size - new Set(excluded).size;
          for (const o of ops) {
            if (o.kind === 'alloc') {
              const a = index.pick(strategy, random);
              if (a < 0) {
                expect(held.length).toBe(allocatable);
                continue;
              }
              expect(a).toBeGreaterThanOrEqual(start);
              expect(a).toBeLessThanOrEqual(end);
              expect(excluded).not.toContain(a);
              expect(held).not.toContain(a);
              expect(index.take(a)).toBe(true);
              held.push(a);
            } else if (held.length > 0) {
              const [a] = held.splice(o.k % held.length, 1);
              expect(index.release(a as number)).toBe(true);
            }
            expect(index.allocated).toBe(held.length);
            expect(index.free + index.allocated).toBe(allocatable);
          }
        },
      ),
    );
  });

  it('picks the lowest free address in sequential mode and reuses released ones', () => {
    const index = new AddressIndex(100, 109, [100]);
    const random = seededRandom(1);
    expect(index.pick('sequential', random)).toBe(101);
    for (let a = 101; a <= 109; a++) index.take(a);
    expect(index.pick('sequential', random)).toBe(-1);
    index.release(105);
    expect(index.pick('sequential', random)).toBe(105);
    expect(index.release(100)).toBe(false); // excluded stays excluded
  });
});

describe('VlanIndex (in-memory VLAN pool)', () => {
  it('never hands out a VLAN twice, never outside the ranges, never another account’s dedicated VLAN', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('sequential' as const, 'random' as const),
        fc.integer(),
        fc.array(fc.tuple(fc.constantFrom(10, 11), op), { maxLength: 300 }),
        (strategy, seed, ops) => {
          const ranges = [
            { start: 600, end: 609 },
            { start: 700, end: 704 },
          ];
          const dedication = {
            id: 1,
            uuid: 'd',
            physicalNetworkId: 1,
            zoneId: 1,
            startVnet: 700,
            endVnet: 702,
            accountId: 10,
            domainId: 1,
            created: new Date(),
            removed: null,
          };
          const index = new VlanIndex(ranges, [dedication]);
          expect(index.size).toBe(15);
          const random = seededRandom(seed);
          const held = new Map<number, number>(); // vnet → account
          for (const [account, o] of ops) {
            if (o.kind === 'alloc') {
              const v = index.pick(account, true, strategy, random);
              if (v < 0) {
                const reachable = account === 10 ? 15 : 12;
                const heldReachable = [...held.keys()].filter((x) => account === 10 || x < 700 || x > 702).length;
                expect(heldReachable).toBe(reachable);
                continue;
              }
              expect(ranges.some((r) => v >= r.start && v <= r.end)).toBe(true);
              expect(held.has(v)).toBe(false);
              if (v >= 700 && v <= 702) expect(account).toBe(10);
              // dedicated first: account 10 gets a dedicated VLAN while one is free
              if (account === 10 && [700, 701, 702].some((x) => !held.has(x))) expect(v >= 700 && v <= 702).toBe(true);
              index.take(v);
              held.set(v, account);
            } else if (held.size > 0) {
              const keys = [...held.keys()];
              const v = keys[o.k % keys.length] as number;
              held.delete(v);
              index.release(v);
            }
          }
        },
      ),
    );
  });

  it('keeps a dedicated account inside its ranges when it may not use the shared pool', () => {
    const dedication = {
      id: 1,
      uuid: 'd',
      physicalNetworkId: 1,
      zoneId: 1,
      startVnet: 5,
      endVnet: 6,
      accountId: 3,
      domainId: 1,
      created: new Date(),
      removed: null,
    };
    const index = new VlanIndex([{ start: 1, end: 10 }], [dedication]);
    const random = seededRandom(7);
    index.take(index.pick(3, false, 'sequential', random));
    index.take(index.pick(3, false, 'sequential', random));
    expect(index.pick(3, false, 'sequential', random)).toBe(-1);
    expect(index.pick(3, true, 'sequential', random)).toBe(1);
  });
});
