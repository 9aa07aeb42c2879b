import type { ServiceOffering, VirtualMachine } from '@stratus/core';
import type { DemoZone } from './build-cloud.js';
import type { Progress } from './progress.js';
import type { Tenant } from './tenants.js';

/** VMs deployed with one allocation strategy. */
export interface Wave {
  /** The allocator's name: `vertical`, `horizontal`. */
  strategy: string;
  /** As deployed (state and host right after the deployment). */
  vms: VirtualMachine[];
  ms: number;
}

/** How many VMs in ten get each offering: 6 small, 3 medium (SSD storage), 1 large (GPU host). */
const MIX: ReadonlyArray<keyof DemoZone['offerings']> = [
  'small',
  'medium',
  'small',
  'small',
  'medium',
  'small',
  'largeGpu',
  'small',
  'medium',
  'small',
];

/**
 * Deploys `count` VMs with the cloud's current allocator, alternating between the tenants and,
 * within a tenant, between its isolated networks; the offering follows {@link MIX}. Each VM is
 * deployed by its tenant (through the tenant's view of the cloud) and awaited, so the progress bar
 * advances with every started VM.
 */
export async function deployWave(
  zone: DemoZone,
  tenants: readonly Tenant[],
  options: { strategy: string; count: number; progress: Progress },
): Promise<Wave> {
  const started = performance.now();
  const vms: VirtualMachine[] = [];
  options.progress.start(options.strategy, options.count);
  try {
    for (let i = 0; i < options.count; i++) {
      vms.push(await deployOne(zone, tenants, options.strategy, i));
      options.progress.increment();
    }
  } finally {
    options.progress.stop();
  }
  return { strategy: options.strategy, vms, ms: performance.now() - started };
}

/** The distinct hosts a wave's VMs were placed on. */
export function hostsUsed(wave: Wave): Set<number> {
  return new Set(wave.vms.map((vm) => vm.hostId).filter((id): id is number => id !== null));
}

/** The `i`-th VM of a wave: tenant, network and offering by position, deployed by its tenant. */
function deployOne(zone: DemoZone, tenants: readonly Tenant[], strategy: string, i: number): Promise<VirtualMachine> {
  const tenant = tenants[i % tenants.length]!;
  const network = tenant.networks[Math.floor(i / tenants.length) % tenant.networks.length]!;
  const offering: ServiceOffering = zone.offerings[MIX[i % MIX.length]!];
  const name = `${strategy}-${String(i + 1).padStart(2, '0')}`;
  return tenant.cloud.vms.deployAndWait({
    zoneId: zone.zone.id,
    serviceOfferingId: offering.id,
    templateId: zone.template.id,
    networkIds: [network.id],
    hostName: name,
    displayName: `${tenant.account.accountName}-${name}`,
  });
}
