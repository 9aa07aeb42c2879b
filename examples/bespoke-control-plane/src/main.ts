/**
 * A bespoke control plane on Stratus: tenants' deployment requests arrive in a burst and are
 * served from a priority queue with bounded concurrency, placed by a custom allocator that fences
 * premium and standard tenants onto their own hosts. Run from the repository root:
 *
 *   npx tsx examples/bespoke-control-plane/src/main.ts                  # in-memory SQLite
 *   npx tsx examples/bespoke-control-plane/src/main.ts --db cp.db       # a new SQLite file
 *   npx tsx examples/bespoke-control-plane/src/main.ts --concurrency 2
 */
import { parseArgs } from 'node:util';
import { buildFleet } from './build-cloud.js';
import { watchVmStates } from './event-log.js';
import { printSummary } from './report.js';
import { runDay } from './scenario.js';

const { values } = parseArgs({
  options: { db: { type: 'string', default: ':memory:' }, concurrency: { type: 'string', default: '4' } },
});
const concurrency = Number(values.concurrency);
if (!Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error(`--concurrency ${values.concurrency}: give an integer ≥ 1`);
}

const print = (line: string) => console.log(line);
const fleet = await buildFleet({ file: values.db });
try {
  print(`Fleet: ${fleet.hosts.map((h) => `${h.name} (${h.hostTags.join(',')})`).join(', ')}\n`);
  const names = new Map([...fleet.tenants.values()].map((t) => [t.account.id, t.name]));
  const events = watchVmStates(fleet.cloud, (id) => names.get(id ?? -1) ?? 'system', print);
  const day = await runDay(fleet, { concurrency, log: print });
  events.stop();
  await printSummary(fleet, day.burst, events, print);
  print(`\nDone in ${(performance.now() / 1000).toFixed(1)} s (store: ${values.db}).`);
} finally {
  await fleet.cloud.close();
}
