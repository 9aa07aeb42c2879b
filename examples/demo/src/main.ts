/**
 * The Stratus demo: builds an advanced zone, deploys VMs with the vertical allocator and as many
 * with the horizontal one across two tenants' isolated networks, publishes services on public IPs
 * (port forwarding, a load balancer), stops and live-migrates some VMs, then prints the inventory
 * and capacity. By default on the embedded defaults (SQLite and the simulator driver impersonating
 * KVM); with `--hypervisor kvm` through `@stratus/driver-kvm` against libvirt's test driver, in
 * libvirtd daemons the demo starts and stops itself (needs libvirt installed and root).
 *
 *   npm run demo                         # in-memory database, simulator
 *   npm run demo -- --db cloud.db        # a SQLite file you can reopen
 *   npm run demo -- --vms 20             # VMs per allocation strategy (default 50; 10 with kvm)
 *   npm run demo -- --hypervisor kvm     # KVM on libvirt's test driver (4 hosts)
 */
import { parseArgs } from 'node:util';
import { openDemoCloud } from './build-cloud.js';
import type { DemoHypervisor } from './demo-hypervisor.js';
import { consoleProgress } from './progress.js';
import { printReport } from './report.js';
import { runScenario } from './scenario.js';
import { simulatorHypervisor } from './simulator-hypervisor.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: ':memory:' },
    vms: { type: 'string' },
    hypervisor: { type: 'string', default: 'simulator' },
  },
});

/** Prints `message` and ends the process with exit code 1, without a stack trace. */
function refuse(message: string): never {
  console.error(message);
  process.exit(1);
}

async function openHypervisor(kind: string): Promise<DemoHypervisor> {
  if (kind === 'simulator') return simulatorHypervisor();
  if (kind !== 'kvm') refuse(`--hypervisor ${kind}: give simulator (the default) or kvm`);
  // Loaded only for kvm: the simulator demo needs none of libvirt.
  const { describeMissing, missingKvmPrerequisites } = await import('./kvm-prerequisites.js');
  const missing = await missingKvmPrerequisites();
  if (missing.length > 0) refuse(describeMissing(missing));
  const { kvmHypervisor } = await import('./kvm-hypervisor.js');
  return kvmHypervisor();
}

const vmsPerWave = Number(values.vms ?? (values.hypervisor === 'kvm' ? '10' : '50'));
if (!Number.isInteger(vmsPerWave) || vmsPerWave < 10) refuse(`--vms ${values.vms}: give an integer ≥ 10`);

const hypervisor = await openHypervisor(values.hypervisor);
const demo = await openDemoCloud(hypervisor, { file: values.db });
try {
  const print = (line: string) => console.log(line);
  print(`Hypervisor: ${hypervisor.summary}.`);
  const outcome = await runScenario(demo, { vmsPerWave, progress: consoleProgress(), log: print });
  await printReport(demo.cloud, outcome, print);
  // performance.now() counts from the process start: the figure includes loading the code.
  console.log(
    `\nDone in ${(performance.now() / 1000).toFixed(1)} s (store: ${values.db}, hypervisor: ${hypervisor.kind}).`,
  );
} finally {
  await demo.close();
}
