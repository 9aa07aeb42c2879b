import type { Cloud, VirtualMachine } from '@stratus/core';
import type { Tenant } from './tenants.js';

/** A live migration the hypervisor refused (libvirt's test driver cannot migrate). */
export interface RefusedMigration {
  vm: VirtualMachine;
  fromHostId: number;
  toHostId: number;
  /** The error the migration job failed with. */
  message: string;
}

/** The migrations made, and the one refused (the remaining ones are not tried: they would fail the same way). */
export interface Relief {
  migrations: Migration[];
  refused?: RefusedMigration;
}

/** One live migration the demo made. */
export interface Migration {
  vm: VirtualMachine;
  fromHostId: number;
  toHostId: number;
}

/** Stops every `every`-th VM of `vms` (graceful stop, by the owning tenant); returns them stopped. */
export async function stopEvery(
  tenants: readonly Tenant[],
  vms: readonly VirtualMachine[],
  every: number,
): Promise<VirtualMachine[]> {
  const stopped: VirtualMachine[] = [];
  for (let i = every - 1; i < vms.length; i += every) {
    const vm = vms[i]!;
    const owner = tenants.find((t) => t.account.id === vm.accountId);
    if (!owner) throw new Error(`VM ${vm.instanceName} belongs to no demo tenant`);
    stopped.push(await (await owner.cloud.vms.stop(vm.id)).result);
  }
  return stopped;
}

/**
 * Relieves the busiest host: live-migrates up to `count` of its running VMs with the given
 * offering to the least busy other host of its cluster (live migration stays in the cluster; only
 * a root admin migrates, so this runs on the admin's cloud). A migration the hypervisor refuses
 * ends the relief: it is reported, and the VM keeps running where it was.
 */
export async function relieveBusiestHost(
  cloud: Cloud,
  options: { zoneId: number; serviceOfferingId: number; count: number },
): Promise<Relief> {
  const running = await cloud.vms.list({ zoneId: options.zoneId, state: 'Running' });
  const hosts = await cloud.hosts.list({ zoneId: options.zoneId });
  const load = new Map<number, number>(hosts.map((h) => [h.id, 0]));
  for (const vm of running) if (vm.hostId !== null) load.set(vm.hostId, (load.get(vm.hostId) ?? 0) + 1);
  const byLoad = [...hosts].sort((a, b) => (load.get(b.id) ?? 0) - (load.get(a.id) ?? 0) || a.id - b.id);
  const busiest = byLoad[0];
  if (!busiest) return { migrations: [] };
  const target = byLoad
    .filter((h) => h.id !== busiest.id && h.clusterId === busiest.clusterId && h.status === 'Up')
    .at(-1);
  if (!target) return { migrations: [] };
  const movable = running
    .filter((vm) => vm.hostId === busiest.id && vm.serviceOfferingId === options.serviceOfferingId)
    .slice(0, options.count);
  const migrations: Migration[] = [];
  for (const vm of movable) {
    const job = await cloud.vms.migrate(vm.id, target.id);
    try {
      migrations.push({ vm: await job.result, fromHostId: busiest.id, toHostId: target.id });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      return { migrations, refused: { vm, fromHostId: busiest.id, toHostId: target.id, message } };
    }
  }
  return { migrations };
}
