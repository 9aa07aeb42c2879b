import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DuplicateError,
  InsufficientCapacityError,
  InvalidParameterError,
  InvalidStateError,
  NoTransitionError,
  ResourceInUseError,
} from '../src/errors.js';
import { linkLocalMac, MacAddressAllocator } from '../src/ipam/mac-addresses.js';
import { ipv4ToInt } from '../src/model/validate.js';
import { sqliteStore } from '../src/store/sqlite-store.js';
import { ipamSnapshot, ipamWorld } from './fixtures/ipam-world.js';

/** Runs `fn`, expects it to throw `type` naming `field`, and the IPAM tables to be unchanged. */
async function rejects(
  store: ReturnType<typeof sqliteStore>,
  fn: () => Promise<unknown>,
  type: new (...a: never[]) => Error,
  field?: string,
) {
  const before = await ipamSnapshot(store);
  const error = await fn().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(type);
  if (field !== undefined) expect((error as { field?: string }).field).toBe(field);
  expect(await ipamSnapshot(store)).toEqual(before);
  return error;
}

const op = fc.oneof(
  fc.constant({ kind: 'alloc' as const }),
  fc.nat(1000).map((k) => ({ kind: 'release' as const, k })),
);

describe('IPAM on the store: allocate/release interleavings', () => {
  it('public range: never twice, never network/broadcast/gateway, free + allocated = size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const store = sqliteStore();
        const w = await ipamWorld(store);
        const range = await w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '203.0.113.1',
          netmask: '255.255.255.248',
          startIp: '203.0.113.2',
          endIp: '203.0.113.6',
          vlan: 100,
        });
        const held: number[] = [];
        for (const o of ops) {
          if (o.kind === 'alloc') {
            const got = await w.ctx
              .write((tx) => w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1 }))
              .catch((e: unknown) => e);
            if (got instanceof InsufficientCapacityError) {
              expect(held.length).toBe(5);
              continue;
            }
            const ip = got as { id: number; ip: string };
            expect(['203.0.113.0', '203.0.113.1', '203.0.113.7']).not.toContain(ip.ip);
            expect(held).not.toContain(ip.id);
            held.push(ip.id);
          } else if (held.length > 0) {
            const [id] = held.splice(o.k % held.length, 1) as [number];
            await w.ctx.write(async (tx) => {
              await w.allocator.beginPublicIpRelease(tx, id);
              expect(await w.allocator.completePublicIpRelease(tx, id)).toBe(true);
            });
          }
          const rows = await w.allocator.listAllocations(store.db, { space: 'public', poolId: range.id });
          expect(new Set(rows.map((r) => r.ip)).size).toBe(rows.length);
          const usage = await w.publicRanges.usage(range.id);
          expect(usage).toEqual({ size: 5, allocated: held.length, free: 5 - held.length });
        }
        await store.close();
      }),
      { numRuns: 15 },
    );
  });

  it('guest CIDR with an external LB: never the gateway or the reserved self-IP, free + allocated = size', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.constantFrom('random' as const, 'sequential' as const),
        async (ops, strategy) => {
          const store = sqliteStore();
          const w = await ipamWorld(store);
          const { range, externalLb } = await w.ctx.write((tx) =>
            w.guestRanges.create(tx, {
              networkId: 77,
              zoneId: w.zoneA,
              cidr: '10.1.1.0/29',
              reserveExternalLbAddress: true,
            }),
          );
          expect(range.gateway).toBe('10.1.1.1');
          expect(externalLb?.ip).toBe('10.1.1.2');
          expect(externalLb?.state).toBe('Reserved');
          // /29: 6 usable, minus the gateway = 5, one reserved for the LB
          const held: number[] = [];
          for (const o of ops) {
            if (o.kind === 'alloc') {
              const got = await w.ctx
                .write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 77, ownerId: 1, strategy }))
                .catch((e: unknown) => e);
              if (got instanceof InsufficientCapacityError) {
                expect(held.length).toBe(4);
                continue;
              }
              const ip = got as { id: number; ip: string };
              expect(['10.1.1.0', '10.1.1.1', '10.1.1.2', '10.1.1.7']).not.toContain(ip.ip);
              held.push(ip.id);
            } else if (held.length > 0) {
              const [id] = held.splice(o.k % held.length, 1) as [number];
              expect(await w.ctx.write((tx) => w.allocator.release(tx, id))).toBe(true);
            }
            const usage = await w.guestRanges.usage(store.db, 77);
            expect(usage).toEqual({ size: 5, allocated: held.length + 1, free: 4 - held.length });
            const rows = await w.allocator.listAllocations(store.db, { space: 'guest', networkId: 77 });
            expect(new Set(rows.map((r) => r.ip)).size).toBe(rows.length);
          }
          await store.close();
        },
      ),
      { numRuns: 15 },
    );
  });

  it('VLANs: never twice, never shared between accounts, taken + free = pool size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), op), { minLength: 1, maxLength: 40 }), async (ops) => {
        const store = sqliteStore();
        const w = await ipamWorld(store, {
          vlanRanges: [
            { start: 600, end: 603 },
            { start: 700, end: 701 },
          ],
        });
        let nextNetwork = 1;
        const held = new Map<number, number>(); // network → vnet
        for (const [isAlice, o] of ops) {
          const accountId = isAlice ? w.alice : w.bob;
          if (o.kind === 'alloc') {
            const networkId = nextNetwork++;
            const got = await w.ctx
              .write((tx) => w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId, accountId }))
              .catch((e: unknown) => e);
            if (got instanceof InsufficientCapacityError) {
              expect(held.size).toBe(6);
              continue;
            }
            const vlan = got as { vnet: number };
            expect([600, 601, 602, 603, 700, 701]).toContain(vlan.vnet);
            expect([...held.values()]).not.toContain(vlan.vnet);
            held.set(networkId, vlan.vnet);
          } else if (held.size > 0) {
            const networks = [...held.keys()];
            const networkId = networks[o.k % networks.length] as number;
            expect((await w.ctx.write((tx) => w.vlans.release(tx, networkId)))?.vnet).toBe(held.get(networkId));
            held.delete(networkId);
          }
          expect(await w.vlans.usage(store.db, w.physicalNetworkId)).toEqual({
            size: 6,
            allocated: held.size,
            free: 6 - held.size,
          });
        }
        await store.close();
      }),
      { numRuns: 15 },
    );
  });
});

describe('IPAM rules (spec/networking.md §15): bad input → typed error, store unchanged', () => {
  it('pitfall 1: a requested address already held is refused (DuplicateError); release is idempotent', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    await w.ctx.write((tx) => w.guestRanges.create(tx, { networkId: 5, zoneId: w.zoneA, cidr: '10.1.1.0/24' }));
    const first = await w.ctx.write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 5, ip: '10.1.1.50' }));
    await rejects(
      store,
      () => w.ctx.write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 5, ip: '10.1.1.50' })),
      DuplicateError,
      'ip',
    );
    expect(await w.ctx.write((tx) => w.allocator.release(tx, first.id))).toBe(true);
    expect(await w.ctx.write((tx) => w.allocator.release(tx, first.id))).toBe(false);
    await store.close();
  });

  it('pitfall 1: the unique index stops a second process whose index is stale', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const range = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '198.51.100.1',
      netmask: '255.255.255.0',
      startIp: '198.51.100.10',
      endIp: '198.51.100.12',
    });
    // a second allocator over the same store stands in for another process
    const { IpAllocator } = await import('../src/ipam/ip-allocator.js');
    const other = new IpAllocator(w.ctx);
    const a = await w.ctx.write((tx) =>
      w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1 }),
    );
    await w.ctx.write((tx) => other.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.bob, domainId: 1 })); // builds its index now
    const b = await w.ctx.write((tx) =>
      w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1 }),
    ); // stale: collides, moves on
    expect(new Set([a.ip, b.ip]).size).toBe(2);
    await rejects(
      store,
      () => w.ctx.write((tx) => other.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.bob, domainId: 1 })),
      InsufficientCapacityError,
    );
    expect((await w.publicRanges.usage(range.id)).free).toBe(0);
    await store.close();
  });

  it('pitfall 2: a held VLAN is never handed to another account, dedicated VLANs stay with their account', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store, { vlanRanges: [{ start: 600, end: 605 }] });
    const v = await w.ctx.write((tx) =>
      w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 1, accountId: w.alice, vnet: 601 }),
    );
    expect(v.vnet).toBe(601);
    await rejects(
      store,
      () =>
        w.ctx.write((tx) =>
          w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 2, accountId: w.bob, vnet: 601 }),
        ),
      DuplicateError,
      'vnet',
    );
    // the same network asking again gets its VLAN back (idempotent implement)
    expect(
      (
        await w.ctx.write((tx) =>
          w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 1, accountId: w.alice }),
        )
      ).vnet,
    ).toBe(601);
    await rejects(
      store,
      () => w.vlans.dedicate({ physicalNetworkId: w.physicalNetworkId, start: 600, end: 602, accountId: w.bob }),
      ResourceInUseError,
    );
    await rejects(
      store,
      () => w.vlans.dedicate({ physicalNetworkId: w.physicalNetworkId, start: 604, end: 610, accountId: w.bob }),
      InvalidParameterError,
      'start',
    );
    await w.vlans.dedicate({ physicalNetworkId: w.physicalNetworkId, start: 604, end: 605, accountId: w.bob });
    await rejects(
      store,
      () =>
        w.ctx.write((tx) =>
          w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 3, accountId: w.alice, vnet: 604 }),
        ),
      InvalidParameterError,
      'vnet',
    );
    // bob's networks go to his dedicated range first
    const bobs = await w.ctx.write((tx) =>
      w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 4, accountId: w.bob }),
    );
    expect([604, 605]).toContain(bobs.vnet);
    // alice never gets 604/605 even when the shared pool is exhausted
    for (let n = 10; n < 13; n++)
      await w.ctx.write((tx) =>
        w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: n, accountId: w.alice }),
      );
    await rejects(
      store,
      () =>
        w.ctx.write((tx) =>
          w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 20, accountId: w.alice }),
        ),
      InsufficientCapacityError,
    );
    // shrinking the ranges under a held VLAN is refused
    await expect(
      w.vlans.assertRangesChangeAllowed(store.db, w.physicalNetworkId, [{ start: 600, end: 600 }]),
    ).rejects.toBeInstanceOf(ResourceInUseError);
    // … and the physical-network service asks through the context hook the VLAN service registered
    const { physicalNetworkRepo } = await import('../src/resources/physical-networks.js');
    const pn = await physicalNetworkRepo.get(store.db, w.physicalNetworkId);
    await expect(
      w.ctx.write((tx) => w.ctx.hooks.beforeVlanRangesChange(tx, pn, [{ start: 600, end: 603 }])),
    ).rejects.toBeInstanceOf(ResourceInUseError);
    // released at shutdown: back in the pool
    expect((await w.ctx.write((tx) => w.vlans.release(tx, 1)))?.vnet).toBe(601);
    expect(
      (
        await w.ctx.write((tx) =>
          w.vlans.take(tx, { physicalNetworkId: w.physicalNetworkId, networkId: 21, accountId: w.alice }),
        )
      ).vnet,
    ).toBe(601);
    await store.close();
  });

  it('pitfall 5: public ranges never overlap, in any zone, nor pod management ranges', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.10',
      endIp: '203.0.113.20',
      vlan: 'vlan://100',
    });
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneB,
          gateway: '203.0.113.1',
          netmask: '255.255.255.0',
          startIp: '203.0.113.20',
          endIp: '203.0.113.30',
        }),
      InvalidParameterError,
      'startIp',
    );
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '192.168.10.1',
          netmask: '255.255.255.0',
          startIp: '192.168.10.15',
          endIp: '192.168.10.30',
        }),
      InvalidParameterError,
      'startIp',
    );
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '198.51.100.1',
          netmask: '255.255.255.0',
          startIp: '198.51.100.10',
          vlan: 100,
        }),
      InvalidParameterError,
      'gateway',
    );
    await w.publicRanges.create({
      zoneId: w.zoneB,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.21',
      endIp: '203.0.113.30',
    });
    await store.close();
  });

  it('pitfall 5: management IPs are unique cloud-wide and come from the pod reserved range', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const got = new Set<string>();
    for (let i = 0; i < 10; i++)
      got.add((await w.ctx.write((tx) => w.allocator.allocateManagementIp(tx, { podId: w.podId, ownerId: i }))).ip);
    expect(
      [...got].every(
        (ip) => ipv4ToInt(ip) >= ipv4ToInt('192.168.10.10') && ipv4ToInt(ip) <= ipv4ToInt('192.168.10.19'),
      ),
    ).toBe(true);
    expect(got.size).toBe(10);
    await rejects(
      store,
      () => w.ctx.write((tx) => w.allocator.allocateManagementIp(tx, { podId: w.podId })),
      InsufficientCapacityError,
    );
    await store.close();
  });

  it('pitfall 6: never network, broadcast or gateway; bad range input is refused', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    for (const [input, field] of [
      [{ startIp: '203.0.113.0', endIp: '203.0.113.5' }, 'startIp'],
      [{ startIp: '203.0.113.5', endIp: '203.0.113.255' }, 'endIp'],
      [{ startIp: '203.0.113.1', endIp: '203.0.113.5' }, 'gateway'],
      [{ startIp: '203.0.113.9', endIp: '203.0.113.5' }, 'endIp'],
      [{ startIp: '10.9.9.9', endIp: '10.9.9.10' }, 'startIp'],
      [{ startIp: 'nope', endIp: '203.0.113.5' }, 'startIp'],
    ] as const) {
      await rejects(
        store,
        () => w.publicRanges.create({ zoneId: w.zoneA, gateway: '203.0.113.1', netmask: '255.255.255.0', ...input }),
        InvalidParameterError,
        field,
      );
    }
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '203.0.113.1',
          netmask: '255.0.255.0',
          startIp: '203.0.113.2',
        }),
      InvalidParameterError,
      'netmask',
    );
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '203.0.113.1',
          netmask: '255.255.255.0',
          startIp: '203.0.113.2',
          vlan: 5000,
        }),
      InvalidParameterError,
      'vlan',
    );
    await w.ctx.write((tx) =>
      w.guestRanges.create(tx, { networkId: 9, zoneId: w.zoneA, cidr: '10.1.1.0/24', reserveExternalLbAddress: true }),
    );
    for (const ip of ['10.1.1.0', '10.1.1.1', '10.1.1.255', '10.1.2.1']) {
      await rejects(
        store,
        () => w.ctx.write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 9, ip })),
        InvalidParameterError,
        'ip',
      );
    }
    await rejects(
      store,
      () => w.ctx.write((tx) => w.allocator.allocateGuestIp(tx, { networkId: 9, ip: '10.1.1.2' })),
      DuplicateError,
      'ip',
    );
    await rejects(
      store,
      () => w.ctx.write((tx) => w.guestRanges.create(tx, { networkId: 10, zoneId: w.zoneA, cidr: '10.0.0.0/16' })),
      InvalidParameterError,
      'cidr',
    );
    await rejects(
      store,
      () => w.ctx.write((tx) => w.guestRanges.create(tx, { networkId: 9, zoneId: w.zoneA, cidr: '10.1.1.0/25' })),
      InvalidParameterError,
      'startIp',
    );
    await store.close();
  });

  it('pitfall 7: link-local control addresses come from 169.254.0.0/16, never .0.0, .0.1 or the broadcast', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const pool = await w.allocator.linkLocalPool(store.db, w.podId, w.zoneA);
    expect(pool.start).toBe(ipv4ToInt('169.254.0.1'));
    expect(pool.end).toBe(ipv4ToInt('169.254.255.254'));
    expect(pool.excluded).toEqual([ipv4ToInt('169.254.0.1')]);
    const ip = await w.ctx.write((tx) => w.allocator.allocateLinkLocalIp(tx, { podId: w.podId, ownerId: 1 }));
    expect(ip.ip.startsWith('169.254.')).toBe(true);
    expect(['169.254.0.0', '169.254.0.1', '169.254.255.255']).not.toContain(ip.ip);
    expect(linkLocalMac('169.254.3.4')).toBe('0e:00:a9:fe:03:04');
    await rejects(
      store,
      () => w.ctx.write((tx) => w.allocator.allocateLinkLocalIp(tx, { podId: w.podId, ip: '169.254.0.1' })),
      InvalidParameterError,
      'ip',
    );
    await store.close();
  });

  it('pitfall 13: a public IP is freed only through Releasing; ranges with allocations cannot be deleted', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const range = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.2',
      endIp: '203.0.113.254',
    });
    const ip = await w.ctx.write((tx) =>
      w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1 }),
    );
    expect(ip).toMatchObject({ ip: '203.0.113.2', state: 'Allocating' });
    await rejects(store, () => w.ctx.write((tx) => w.allocator.release(tx, ip.id)), InvalidStateError);
    await rejects(store, () => w.ctx.write((tx) => w.allocator.completePublicIpRelease(tx, ip.id)), NoTransitionError);
    await rejects(store, () => w.publicRanges.delete(range.id), ResourceInUseError);
    expect((await w.ctx.write((tx) => w.allocator.markPublicIpAllocated(tx, ip.id))).state).toBe('Allocated');
    expect((await w.ctx.write((tx) => w.allocator.beginPublicIpRelease(tx, ip.id))).state).toBe('Releasing');
    expect(await w.ctx.write((tx) => w.allocator.release(tx, ip.id))).toBe(true);
    await w.publicRanges.delete(range.id);
    expect(await w.publicRanges.list({ zoneId: w.zoneA })).toEqual([]);
    await store.close();
  });

  it('dedicated public ranges: the owner first, others never; dedication refused while others hold IPs', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const shared = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '203.0.113.1',
      netmask: '255.255.255.0',
      startIp: '203.0.113.2',
      endIp: '203.0.113.3',
    });
    const mine = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '198.51.100.1',
      netmask: '255.255.255.0',
      startIp: '198.51.100.2',
      endIp: '198.51.100.3',
      accountId: w.alice,
    });
    expect(
      (
        await w.ctx.write((tx) =>
          w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.alice, domainId: 1 }),
        )
      ).poolId,
    ).toBe(mine.id);
    const bobs = await w.ctx.write((tx) =>
      w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.bob, domainId: 1 }),
    );
    expect(bobs.poolId).toBe(shared.id);
    await rejects(
      store,
      () =>
        w.ctx.write((tx) =>
          w.allocator.allocatePublicIp(tx, { zoneId: w.zoneA, accountId: w.bob, domainId: 1, ip: '198.51.100.3' }),
        ),
      InvalidParameterError,
      'ip',
    );
    await rejects(store, () => w.publicRanges.dedicate(shared.id, { accountId: w.alice }), ResourceInUseError);
    await rejects(
      store,
      () =>
        w.publicRanges.create({
          zoneId: w.zoneA,
          gateway: '192.0.2.1',
          netmask: '255.255.255.0',
          startIp: '192.0.2.2',
          accountId: w.alice,
          domainId: 1,
        }),
      InvalidParameterError,
      'domainId',
    );
    await store.close();
  });

  it('adding a /8 stores one row; MACs carry the prefix and are unique', async () => {
    const store = sqliteStore();
    const w = await ipamWorld(store);
    const before = await ipamSnapshot(store);
    const big = await w.publicRanges.create({
      zoneId: w.zoneA,
      gateway: '11.0.0.1',
      netmask: '255.0.0.0',
      startIp: '11.0.0.2',
      endIp: '11.255.255.254',
    });
    const after = await ipamSnapshot(store);
    expect(after.ipRanges - before.ipRanges).toBe(1);
    expect(after.ipAllocations).toBe(before.ipAllocations);
    expect((await w.publicRanges.usage(big.id)).size).toBe(2 ** 24 - 3);
    const macs = new MacAddressAllocator(w.ctx);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++)
      seen.add(await w.ctx.write((tx) => macs.allocate(tx, { zoneId: w.zoneA, ownerType: 'Nic', ownerId: i })));
    expect(seen.size).toBe(20);
    expect([...seen].every((m) => /^06(:[0-9a-f]{2}){5}$/.test(m))).toBe(true);
    await store.close();
  });
});
