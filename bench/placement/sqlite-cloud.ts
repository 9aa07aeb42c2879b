import { randomUUID } from 'node:crypto';
import type { CapacityDelta, DeployDestination, VmProfile } from '@stratus/core';
import { CapacityService } from '../../packages/core/src/capacity/capacity-service.js';
import { CloudContext } from '../../packages/core/src/context.js';
import { DriverRegistry } from '../../packages/core/src/driver/driver-registry.js';
import { EventBus } from '../../packages/core/src/events/event-bus.js';
import { SettingsService } from '../../packages/core/src/settings/settings-service.js';
import { sqliteStore } from '../../packages/core/src/store/sqlite-store.js';
import type { Store } from '../../packages/core/src/store/store.js';
import { cloudRows, SHAPE } from './synthetic-cloud.js';

export interface SqliteWorld {
  store: Store;
  ctx: CloudContext;
  capacity: CapacityService;
  zoneId: number;
}

/** Writes the synthetic cloud into a SQLite file (plain inserts, one transaction). */
export async function seedSqlite(file: string): Promise<SqliteWorld> {
  const store = sqliteStore({ file });
  await store.migrate();
  const ctx = new CloudContext(store, new EventBus(), new DriverRegistry());
  const rows = cloudRows();
  const now = Date.now();
  const base = () => ({ uuid: randomUUID(), created: now, removed: null });
  let zoneId = 0;
  await store.transaction(async (tx) => {
    const z = await tx
      .insertInto('zones')
      .values({
        ...base(),
        name: 'bench',
        networkType: 'Advanced',
        dns1: '8.8.8.8',
        dns2: null,
        internalDns1: '10.0.0.2',
        internalDns2: null,
        guestCidr: null,
        networkDomain: null,
        dedicatedDomainId: null,
        localStorageEnabled: 0,
        securityGroupEnabled: 0,
        allocationState: 'Enabled',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    zoneId = Number(z.id);
    for (let p = 1; p <= SHAPE.pods; p++) {
      await tx
        .insertInto('pods')
        .values({
          ...base(),
          id: p,
          name: `pod${p}`,
          zoneId,
          gateway: `10.${p}.0.1`,
          cidr: `10.${p}.0.0/24`,
          startIp: `10.${p}.0.10`,
          endIp: `10.${p}.0.20`,
          allocationState: 'Enabled',
        } as never)
        .execute();
    }
    for (let c = 1; c <= SHAPE.pods * SHAPE.clustersPerPod; c++) {
      await tx
        .insertInto('clusters')
        .values({
          ...base(),
          id: c,
          name: `c${c}`,
          podId: Math.ceil(c / SHAPE.clustersPerPod),
          zoneId,
          hypervisorType: 'KVM',
          clusterType: 'CloudManaged',
          allocationState: 'Enabled',
          managedState: 'Managed',
          cpuOvercommitRatio: 2,
          memoryOvercommitRatio: 1,
          details: '{}',
        } as never)
        .execute();
    }
    for (const h of rows.hosts) {
      const guid = randomUUID();
      await tx
        .insertInto('hosts')
        .values({
          ...base(),
          id: h.id,
          name: `h${h.id}`,
          guid,
          url: `kvm://${guid}`,
          type: 'Routing',
          zoneId,
          podId: h.podId,
          clusterId: h.clusterId,
          hypervisorType: 'KVM',
          hypervisorVersion: null,
          privateIp: null,
          publicIp: null,
          storageIp: null,
          cpus: h.cpus,
          cpuSockets: 1,
          speed: h.speed,
          totalMemory: h.memoryMiB * 2 ** 20,
          reservedMemory: 0,
          hostTags: JSON.stringify(h.tags),
          osCategoryPreference: null,
          status: 'Up',
          resourceState: 'Enabled',
          lastPinged: null,
          capabilities: '{}',
          details: '{}',
        } as never)
        .execute();
    }
    for (const p of rows.pools) {
      await tx
        .insertInto('storagePools')
        .values({
          ...base(),
          id: p.id,
          name: `p${p.id}`,
          scope: 'CLUSTER',
          zoneId,
          podId: p.podId,
          clusterId: p.clusterId,
          hostId: null,
          hypervisorType: null,
          poolType: 'NetworkFilesystem',
          hostAddress: '10.9.0.1',
          path: `/p${p.id}`,
          url: `nfs://10.9.0.1/p${p.id}`,
          tags: '[]',
          capacityBytes: p.bytes,
          usedBytes: 0,
          capacityIops: null,
          status: 'Up',
        } as never)
        .execute();
    }
  });
  return { store, ctx, capacity: new CapacityService(ctx, new SettingsService(ctx)), zoneId };
}

/** Commits one placement's reservations (host + root disk) in one transaction. */
export function bookToSqlite(world: SqliteWorld, vm: VmProfile, dest: DeployDestination): Promise<CapacityDelta[]> {
  return world.ctx.write(async (w) => {
    const deltas = await world.capacity.bookStart(w, {
      vmId: vm.id!,
      accountId: vm.accountId,
      hostId: dest.hostId,
      demand: vm.demand,
    });
    for (const d of vm.disks) {
      deltas.push(
        ...(await world.capacity.allocateStorage(w, {
          volumeId: d.id,
          poolId: dest.pools.get(d.id)!,
          accountId: vm.accountId,
          bytes: d.size,
        })),
      );
    }
    return deltas;
  });
}
