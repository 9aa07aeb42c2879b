import { horizontalAllocator, verticalAllocator } from '@stratus/allocator';
import type { VirtualMachine } from '@stratus/core';
import { buildZone, type DemoCloud, type DemoZone } from './build-cloud.js';
import { deployWave, hostsUsed, type Wave } from './deploy.js';
import type { Print } from './format.js';
import { type PublishedServices, publishServices } from './network-services.js';
import type { Progress } from './progress.js';
import { createTenants, type Tenant } from './tenants.js';
import { type Migration, type RefusedMigration, relieveBusiestHost, stopEvery } from './vm-operations.js';

/** Everything the demo did, for the report (and the test). */
export interface DemoOutcome {
  zone: DemoZone;
  tenants: Tenant[];
  /** The vertical wave, then the horizontal one. */
  waves: Wave[];
  published: PublishedServices[];
  stopped: VirtualMachine[];
  migrations: Migration[];
  /** The live migration the hypervisor refused, if one did (libvirt's test driver cannot migrate). */
  refusedMigration?: RefusedMigration;
}

export interface ScenarioOptions {
  /** VMs per allocation strategy (default 50). */
  vmsPerWave?: number;
  progress: Progress;
  /** One line per step. */
  log: Print;
}

/**
 * The demo's story, in order: build the zone and the tenants; deploy a wave of VMs with the
 * vertical allocator (packing) and one with the horizontal allocator (spreading); publish SSH
 * (port forwarding) and a web tier (load balancer) on public IPs; stop every seventh VM; relieve the
 * busiest host by live migration.
 */
export async function runScenario(demo: DemoCloud, options: ScenarioOptions): Promise<DemoOutcome> {
  const { cloud, allocator } = demo;
  const step = async <T>(what: string, fn: () => Promise<T>, done: (r: T) => string = () => ''): Promise<T> => {
    const t0 = performance.now();
    const result = await fn();
    const note = done(result);
    options.log(`- ${what}${note ? `: ${note}` : ''} (${Math.round(performance.now() - t0)} ms)`);
    return result;
  };

  const zone = await step(
    'advanced zone built and enabled',
    () => buildZone(cloud, demo.hypervisor),
    (z) => `${z.hosts.length} KVM hosts, templates on secondary storage`,
  );
  const tenants = await step(
    'tenants created',
    () => createTenants(cloud, zone.zone.id),
    (ts) => ts.map((t) => `${t.account.accountName} (${t.networks.map((n) => n.name).join(', ')})`).join(', '),
  );

  const waves: Wave[] = [];
  for (const strategy of [verticalAllocator(), horizontalAllocator()]) {
    allocator.use(strategy);
    const wave = await deployWave(zone, tenants, {
      strategy: strategy.name,
      count: options.vmsPerWave ?? 50,
      progress: options.progress,
    });
    options.log(
      `- ${wave.vms.length} VMs deployed with the ${wave.strategy} allocator on ${hostsUsed(wave).size} hosts ` +
        `(${Math.round(wave.ms)} ms, ${Math.round((wave.vms.length / wave.ms) * 1000)} VMs/s)`,
    );
    waves.push(wave);
  }

  const published = await step(
    'public IPs acquired',
    () => publishServices(tenants),
    (ps) => ps.map((p) => `${p.ssh.ip.ip} (SSH), ${p.web.ip.ip} (web LB)`).join(', '),
  );
  const stopped = await step(
    'every seventh VM stopped',
    async () => {
      const stopped: VirtualMachine[] = [];
      for (const wave of waves) stopped.push(...(await stopEvery(tenants, wave.vms, 7)));
      return stopped;
    },
    (s) => `${s.length} VMs`,
  );
  const relief = await step(
    'busiest host relieved',
    () => relieveBusiestHost(cloud, { zoneId: zone.zone.id, serviceOfferingId: zone.offerings.small.id, count: 3 }),
    (r) =>
      `${r.migrations.length} VMs live-migrated` +
      (r.refused ? `; the hypervisor refused to migrate ${r.refused.vm.displayName}: ${r.refused.message}` : ''),
  );
  return {
    zone,
    tenants,
    waves,
    published,
    stopped,
    migrations: relief.migrations,
    ...(relief.refused ? { refusedMigration: relief.refused } : {}),
  };
}
