import type { Cloud } from '@stratus/core';
import { heading, type Print, table } from './format.js';
import type { DemoOutcome } from './scenario.js';

/** Prints the VMs' states per tenant and wave, then the VMs stopped and migrated. */
export async function printVmStates(cloud: Cloud, outcome: DemoOutcome, print: Print): Promise<void> {
  const zoneId = outcome.zone.zone.id;
  const vms = await cloud.vms.list({ zoneId });
  const waveOf = new Map(outcome.waves.flatMap((w) => w.vms.map((vm) => [vm.id, w.strategy] as const)));
  const states = [...new Set(vms.map((vm) => vm.state))].sort();
  const strategies = outcome.waves.map((w) => w.strategy);

  heading(print, 'Virtual machines');
  const t = table(['account', 'wave', ...states, 'total']);
  for (const tenant of outcome.tenants) {
    for (const strategy of strategies) {
      const mine = vms.filter((vm) => vm.accountId === tenant.account.id && waveOf.get(vm.id) === strategy);
      t.push([
        tenant.account.accountName,
        strategy,
        ...states.map((s) => String(mine.filter((vm) => vm.state === s).length)),
        String(mine.length),
      ]);
    }
  }
  t.push(['all', '', ...states.map((s) => String(vms.filter((vm) => vm.state === s).length)), String(vms.length)]);
  print(t.toString());

  const hostName = new Map((await cloud.hosts.list({ zoneId })).map((h) => [h.id, h.name]));
  print(
    `stopped (capacity kept as reserved on the last host): ${outcome.stopped.map((vm) => vm.displayName).join(', ')}`,
  );
  for (const m of outcome.migrations)
    print(`live-migrated: ${m.vm.displayName} ${hostName.get(m.fromHostId)} -> ${hostName.get(m.toHostId)}`);
  const refused = outcome.refusedMigration;
  if (refused) {
    const now = await cloud.vms.get(refused.vm.id);
    print(
      `not migrated: ${refused.vm.displayName} ${hostName.get(refused.fromHostId)} -> ${hostName.get(refused.toHostId)} ` +
        `refused by the hypervisor; the VM is ${now.state} on ${hostName.get(now.hostId ?? -1) ?? '-'}`,
    );
  }
}
