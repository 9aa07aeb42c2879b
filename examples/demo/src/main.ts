/**
 * The Stratus demo on the embedded defaults (SQLite and the simulator driver impersonating KVM):
 * builds an advanced zone, deploys 50 VMs with the vertical allocator and 50 with the horizontal
 * one across two tenants' isolated networks, publishes services on public IPs (port forwarding, a
 * load balancer), stops and live-migrates some VMs, then prints the inventory and capacity.
 *
 *   npm run demo                  # in-memory database
 *   npm run demo -- --db cloud.db # a SQLite file you can reopen
 *   npm run demo -- --vms 20      # VMs per allocation strategy (default 50)
 */
import { parseArgs } from 'node:util';
import { openDemoCloud } from './build-cloud.js';
import { consoleProgress } from './progress.js';
import { printReport } from './report.js';
import { runScenario } from './scenario.js';

const { values } = parseArgs({
  options: { db: { type: 'string', default: ':memory:' }, vms: { type: 'string', default: '50' } },
});
const vmsPerWave = Number(values.vms);
if (!Number.isInteger(vmsPerWave) || vmsPerWave < 10) throw new Error(`--vms ${values.vms}: give an integer ≥ 10`);

const demo = await openDemoCloud({ file: values.db });
try {
  const print = (line: string) => console.log(line);
  const outcome = await runScenario(demo, { vmsPerWave, progress: consoleProgress(), log: print });
  await printReport(demo.cloud, outcome, print);
  // performance.now() counts from the process start: the figure includes loading the code.
  console.log(`\nDone in ${(performance.now() / 1000).toFixed(1)} s (store: ${values.db}).`);
} finally {
  await demo.cloud.close();
}
