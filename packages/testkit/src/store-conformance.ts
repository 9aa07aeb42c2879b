import {
  ConcurrentModificationError,
  createCloud,
  hostStatusStateMachine,
  NoTransitionError,
  type Store,
  vmStateMachine,
} from '@stratus/core';
import { casTransition } from '@stratus/core/driver-kit';
import { simulatorDriver } from '@stratus/driver-simulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** How the suite gets stores for one engine. */
export interface StoreFactory {
  /** A fresh, empty store (not yet migrated). */
  open(): Promise<Store>;
  /** A second, independent connection to the database `open` made last (for races and reopening). */
  connectAgain(): Promise<Store>;
  /** Drops what `open` created. */
  cleanup?(): Promise<void>;
}

const GiB = 1024 ** 3;

/**
 * The store conformance suite: the same behaviour on every engine — migrations, seeds, value
 * round-trips, transactions, unique scopes over live rows, compare-and-set transitions, events,
 * durability across connections, and a race of two connections on one transition.
 */
export function storeConformanceSuite(
  engine: string,
  factory: StoreFactory,
  options: {
    /**
     * How many times two connections race one transition (default 100); 0 leaves the race out.
     * better-sqlite3 is synchronous, so two connections to one SQLite file in ONE process block each
     * other's event loop; SQLite's cross-process races are covered by multi-process tests instead.
     */
    races?: number;
  } = {},
): void {
  describe(`store conformance: ${engine}`, () => {
    let store: Store;

    beforeAll(async () => {
      store = await factory.open();
      await store.migrate();
    });

    afterAll(async () => {
      await store?.close();
      await factory.cleanup?.();
    });

    it('migrates idempotently, also from a second connection', async () => {
      const again = await factory.connectAgain();
      await again.migrate();
      await store.migrate();
      const migrations = await again.db.selectFrom('domains').select('id').execute();
      expect(migrations.length).toBeGreaterThan(0);
      await again.close();
    });

    it('seeds ROOT, the system and admin accounts and the hypervisor capabilities', async () => {
      const root = await store.db.selectFrom('domains').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
      expect(root).toMatchObject({ name: 'ROOT', path: '/', level: 0 });
      const accounts = await store.db
        .selectFrom('accounts')
        .select(['id', 'accountName', 'type'])
        .orderBy('id')
        .execute();
      expect(accounts.slice(0, 2).map((a) => [Number(a.id), a.accountName, Number(a.type)])).toEqual([
        [1, 'system', 1],
        [2, 'admin', 1],
      ]);
      const kvm = await store.db
        .selectFrom('hypervisorCapabilities')
        .selectAll()
        .where('hypervisorType', '=', 'KVM')
        .executeTakeFirstOrThrow();
      expect(kvm.maxHostsPerCluster).toBe(16);
    });

    it('round-trips booleans, JSON, 64-bit sizes and times through the services', async () => {
      const cloud = await createCloud({ store, hypervisors: [simulatorDriver()] });
      const zone = await cloud.zones.create({
        name: `rt-${engine}`,
        networkType: 'Advanced',
        dns1: '8.8.8.8',
        internalDns1: '10.0.0.2',
        guestCidr: '10.1.0.0/16',
        localStorageEnabled: true,
      });
      expect(zone.localStorageEnabled).toBe(true);
      expect(zone.securityGroupEnabled).toBe(false);
      expect(zone.created).toBeInstanceOf(Date);
      const pod = await cloud.pods.create({
        zoneId: zone.id,
        name: 'p',
        gateway: '172.16.0.1',
        netmask: '255.255.255.0',
        startIp: '172.16.0.200',
        endIp: '172.16.0.220',
      });
      const cluster = await cloud.clusters.create({ podId: pod.id, name: 'c', hypervisorType: 'Simulator' });
      const [host] = await cloud.hosts.add({
        clusterId: cluster.id,
        url: `sim://rt-${engine}?memoryMiB=${1024 * 1024}&cpus=128`,
        hostTags: 'ssd,gpu',
      });
      expect(host?.totalMemory).toBe(1024 * GiB);
      expect(host?.hostTags).toEqual(['ssd', 'gpu']);
      expect(typeof host?.id).toBe('number');
      const pool = await cloud.storagePools.create({
        clusterId: cluster.id,
        name: 'big',
        url: `nfs://10.9.9.9/rt-${engine}`,
        tags: ['fast'],
      });
      expect(pool.capacityBytes).toBeGreaterThan(2 ** 32);
      expect(pool.tags).toEqual(['fast']);
    });

    it('rolls a failed transaction back completely, events included', async () => {
      const cloud = await createCloud({ store });
      const before = await store.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      await expect(
        cloud.context.write(async (w) => {
          await w.db
            .insertInto('imageStores')
            .values({
              uuid: 'rollback-probe',
              name: 'x',
              url: 'nfs://x/y',
              protocol: 'nfs',
              zoneId: 1,
              role: 'Image',
              created: w.now,
              removed: null,
            })
            .execute();
          await w.event({ type: 'PROBE', description: 'must not survive' });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(
        await store.db.selectFrom('imageStores').select('id').where('uuid', '=', 'rollback-probe').executeTakeFirst(),
      ).toBeUndefined();
      const after = await store.db
        .selectFrom('events')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(after.n)).toBe(Number(before.n));
    });

    it('enforces uniqueness over live rows only, in the database itself', async () => {
      const row = {
        networkType: 'Basic',
        dns1: '1.1.1.1',
        dns2: null,
        internalDns1: '1.1.1.1',
        internalDns2: null,
        guestCidr: null,
        networkDomain: null,
        dedicatedDomainId: null,
        localStorageEnabled: 0,
        securityGroupEnabled: 0,
        allocationState: 'Enabled',
        created: 1,
        removed: null,
      };
      await store.db
        .insertInto('zones')
        .values({ ...row, uuid: 'u1', name: 'dup' })
        .execute();
      await expect(
        store.db
          .insertInto('zones')
          .values({ ...row, uuid: 'u2', name: 'dup' })
          .execute(),
      ).rejects.toThrow();
      await store.db.updateTable('zones').set({ removed: 2 }).where('uuid', '=', 'u1').execute();
      await store.db
        .insertInto('zones')
        .values({ ...row, uuid: 'u3', name: 'dup' })
        .execute();
    });

    it('moves state only through legal transitions, with compare-and-set on the version', async () => {
      const vm = await insertVm(store, 'cas');
      const started = await store.transaction((tx) =>
        casTransition(tx, { table: 'vmInstances', id: vm, machine: vmStateMachine, event: 'StartRequested' }),
      );
      expect(started).toEqual({ from: 'Stopped', to: 'Starting', version: 1 });
      await expect(
        store.transaction((tx) =>
          casTransition(tx, { table: 'vmInstances', id: vm, machine: vmStateMachine, event: 'RecoveryRequested' }),
        ),
      ).rejects.toBeInstanceOf(NoTransitionError);
      await expect(
        store.transaction((tx) =>
          casTransition(tx, {
            table: 'vmInstances',
            id: vm,
            machine: vmStateMachine,
            event: 'OperationSucceeded',
            expect: { state: 'Starting', version: 0 },
          }),
        ),
      ).rejects.toBeInstanceOf(ConcurrentModificationError);
      const row = await store.db
        .selectFrom('vmInstances')
        .select(['state', 'updatedCount'])
        .where('id', '=', vm)
        .executeTakeFirstOrThrow();
      expect(row).toEqual({ state: 'Starting', updatedCount: 1 });
    });

    it('keeps what was written for the next connection', async () => {
      const cloud = await createCloud({ store });
      const domain = await cloud.tenancy.createDomain({ name: `durable-${engine}` });
      const again = await factory.connectAgain();
      const seen = await again.db.selectFrom('domains').selectAll().where('id', '=', domain.id).executeTakeFirst();
      expect(seen?.path).toBe(`/durable-${engine}/`);
      const events = await again.db
        .selectFrom('events')
        .select('type')
        .where('resourceId', '=', domain.id)
        .where('resourceType', '=', 'Domain')
        .execute();
      expect(events.map((e) => e.type)).toContain('DOMAIN.CREATE');
      await again.close();
    });

    const races = options.races ?? 100;
    it.skipIf(races === 0)(`lets exactly one of two connections win the same transition, ${races} times`, async () => {
      const other = await factory.connectAgain();
      try {
        for (let i = 0; i < races; i++) {
          const id = await insertHost(store, `race-${engine}-${i}`);
          const read = await store.db
            .selectFrom('hosts')
            .select(['status', 'updatedCount'])
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          const expectState = { state: read.status as 'Up', version: Number(read.updatedCount) };
          const attempt = (s: Store) =>
            s.transaction((tx) =>
              casTransition(tx, {
                table: 'hosts',
                id,
                column: 'status',
                machine: hostStatusStateMachine,
                event: 'PingTimeout',
                expect: expectState,
              }),
            );
          const results = await Promise.allSettled([attempt(store), attempt(other)]);
          const won = results.filter((r) => r.status === 'fulfilled');
          const lost = results.filter((r) => r.status === 'rejected');
          expect(won).toHaveLength(1);
          expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrentModificationError);
          const final = await store.db
            .selectFrom('hosts')
            .select(['status', 'updatedCount'])
            .where('id', '=', id)
            .executeTakeFirstOrThrow();
          expect(final).toEqual({ status: 'Alert', updatedCount: expectState.version + 1 });
        }
      } finally {
        await other.close();
      }
    });
  });
}

async function insertVm(store: Store, name: string): Promise<number> {
  const row = await store.db
    .insertInto('vmInstances')
    .values({
      uuid: `vm-${name}-${Date.now()}`,
      instanceName: `i-2-${name}-VM`,
      hostName: name,
      displayName: name,
      type: 'User',
      accountId: 2,
      domainId: 1,
      zoneId: 1,
      serviceOfferingId: 1,
      templateId: null,
      hypervisorType: null,
      hostId: null,
      lastHostId: null,
      podIdToDeployIn: null,
      haEnabled: 0,
      state: 'Stopped',
      powerState: 'PowerOff',
      details: '{}',
      created: Date.now(),
      removed: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

async function insertHost(store: Store, name: string): Promise<number> {
  const row = await store.db
    .insertInto('hosts')
    .values({
      uuid: `host-${name}`,
      name,
      guid: `guid-${name}`,
      url: `sim://${name}`,
      type: 'Routing',
      zoneId: 1,
      podId: 1,
      clusterId: 1,
      hypervisorType: 'Simulator',
      hypervisorVersion: null,
      privateIp: null,
      publicIp: null,
      storageIp: null,
      cpus: 1,
      cpuSockets: 1,
      speed: 1000,
      totalMemory: GiB,
      reservedMemory: 0,
      hostTags: '[]',
      osCategoryPreference: null,
      status: 'Up',
      resourceState: 'Enabled',
      lastPinged: null,
      capabilities: '{}',
      details: '{}',
      created: Date.now(),
      removed: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
