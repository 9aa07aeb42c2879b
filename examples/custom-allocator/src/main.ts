/**
 * A custom allocator in a few lines: horizontal spreading, plus a filter that keeps each account
 * within two pods. Run from the repository root: npx tsx examples/custom-allocator/src/main.ts
 */

import { horizontalAllocator, hostFilter } from '@stratus/allocator';
import { CapacityIndex, MIB, PlacementError } from '@stratus/core';

// The custom stage: a host is fine if its pod already holds the account's VMs, or the account is
// in fewer than two pods so far. Anything else is dropped with a custom reason code.
const withinTwoPods = hostFilter('account-within-two-pods', (ctx, host) => {
  const { state, vm } = ctx;
  if (state.accountVmsInPod(vm.accountId, host.podId) > 0) return null;
  const zone = state.zones.get(host.zoneId);
  const pods = (zone?.podIds ?? []).filter((p) => state.accountVmsInPod(vm.accountId, p) > 0).length;
  return pods < 2 ? null : 'ACCOUNT_POD_LIMIT';
});

const allocator = horizontalAllocator().withFilter(withinTwoPods);

// A small cloud: 4 pods × 1 cluster × 2 hosts (normally CapacityIndex.load(store.db)).
const index = new CapacityIndex();
index.addZone({ id: 1, allocationState: 'Enabled', dedicatedDomainId: null, dedication: null });
for (let pod = 1; pod <= 4; pod++) {
  index.addPod({ id: pod, zoneId: 1, allocationState: 'Enabled', dedication: null });
  index.addCluster({
    id: pod,
    name: `c${pod}`,
    podId: pod,
    zoneId: 1,
    hypervisorType: 'KVM',
    allocationState: 'Enabled',
    cpuRatio: 1,
    memoryRatio: 1,
    cpuThreshold: 1,
    memoryThreshold: 1,
    dedication: null,
  });
  for (const n of [1, 2]) {
    const id = pod * 10 + n;
    index.addHost({
      id,
      name: `h${id}`,
      zoneId: 1,
      podId: pod,
      clusterId: pod,
      hypervisorType: 'KVM',
      hypervisorVersion: null,
      status: 'Up',
      resourceState: 'Enabled',
      cpus: 8,
      speed: 2000,
      cpuTotal: 16000,
      memoryTotal: 32768 * MIB,
      cpuUsed: 0,
      cpuReserved: 0,
      memoryUsed: 0,
      memoryReserved: 0,
      tags: new Set(),
      osCategoryPreference: null,
      hvm: true,
      maxGuests: null,
      vmCount: 0,
      accountVms: new Map(),
      implicitAccounts: new Map(),
      held: new Map(),
      dedication: null,
    });
  }
}

const demand = { cpu: 2000, memory: 4096 * MIB, cores: 1, speed: 2000 };
const podsUsed = new Set<number>();
for (let i = 1; i <= 40; i++) {
  try {
    const { destination } = allocator.place(
      index,
      { id: i, accountId: 7, domainId: 1, demand, hostTags: [], disks: [] },
      { zoneId: 1 },
    );
    index.bookStart(i, 7, destination.hostId, demand);
    podsUsed.add(destination.podId);
  } catch (e) {
    if (!(e instanceof PlacementError)) throw e;
    console.log(`VM ${i}: ${e.message}`);
    break;
  }
}
console.log(`account 7 uses pods ${[...podsUsed].sort().join(', ')} (at most two)`);
