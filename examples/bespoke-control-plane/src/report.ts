import type { Fleet } from './build-cloud.js';
import type { Outcome } from './control-plane.js';
import type { VmEventLog } from './event-log.js';

const GiB = 1024 ** 3;

/** Prints what happened to the requests, where every tenant's VMs run, and the events seen. */
export async function printSummary(
  fleet: Fleet,
  outcomes: readonly Outcome[],
  events: VmEventLog,
  print: (line: string) => void,
): Promise<void> {
  const served = outcomes.filter((o) => o.status === 'served');
  const retried = outcomes.filter((o) => o.attempts > 1);
  print(`\nRequests: ${outcomes.length}; served ${served.length}, rejected ${outcomes.length - served.length}`);
  print(`  requeued once: ${retried.length} (${retried.filter((o) => o.status === 'served').length} served on retry)`);
  for (const o of outcomes) {
    if (o.status === 'rejected')
      print(`  rejected #${o.request.id} ${o.request.tenant} ${o.request.name}: ${o.code}: ${o.reason}`);
  }

  const { cloud, zone, hosts, tenants } = fleet;
  const clusters = new Map((await cloud.clusters.list({ zoneId: zone.id })).map((c) => [c.id, c.name]));
  const memory = new Map(
    (await cloud.capacityReport({ level: 'host', zoneId: zone.id, type: 'MEMORY' })).map((r) => [r.id, r]),
  );
  const accounts = new Map([...tenants.values()].map((t) => [t.account.id, t]));
  const running = await cloud.vms.list({ zoneId: zone.id, state: 'Running' });
  print('\nPlacement: premium hosts serve premium tenants, one VM per tenant per host; standard tenants are packed');
  print(`  ${'host'.padEnd(5)} ${'cluster'.padEnd(10)} ${'tier'.padEnd(9)} ${'memory'.padEnd(11)} VMs`);
  for (const h of hosts) {
    const m = memory.get(h.id);
    const used = m ? `${(m.used + m.reserved) / GiB}/${m.total / GiB} GiB` : '-';
    const perTenant = countBy(
      running.filter((vm) => vm.hostId === h.id).map((vm) => accounts.get(vm.accountId)?.name ?? '?'),
    );
    print(
      `  ${h.name.padEnd(5)} ${(clusters.get(h.clusterId) ?? '').padEnd(10)} ${h.hostTags.join(',').padEnd(9)} ${used.padEnd(11)} ${perTenant || '-'}`,
    );
  }
  print('\nTenants');
  for (const t of tenants.values()) {
    const mine = running.filter((vm) => vm.accountId === t.account.id);
    const where = countBy(
      mine.map((vm) => clusters.get(hosts.find((h) => h.id === vm.hostId)?.clusterId ?? -1) ?? '?'),
    );
    print(`  ${t.name.padEnd(9)} ${t.tier.padEnd(9)} ${String(mine.length).padStart(2)} running  ${where}`);
  }
  const seen = [...events.transitions].map(([k, n]) => `${k} ×${n}`).join(', ');
  print(`\nVM state changes seen on the event bus: ${seen}`);
}

/** `a ×2, b ×1`, by name. */
function countBy(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([n, c]) => `${n} ×${c}`)
    .join(', ');
}
