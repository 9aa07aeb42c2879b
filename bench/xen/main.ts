/**
 * bench/xen: XAPI operations per second against fake-xapi, two ways: one kept session (the XenServer driver's way:
 * one login per pool, tasks watched through `event.from`) and a login per call (log in, call, log out).
 * The same mix each way: a read (`VM.get_all_records`) and a task (`Async.VM.snapshot` watched to its end, then the
 * snapshot's record destroyed). `STRATUS_BENCH_XEN_SECONDS` sets the time per way (default 3).
 */

import { XapiPoolSession } from '../../packages/driver-xen/src/index.js';
import { startFakeXapi } from '../../packages/testkit/src/fake-xapi/index.js';

const seconds = Number(process.env.STRATUS_BENCH_XEN_SECONDS ?? 3);
const fake = await startFakeXapi({ hosts: 2, taskDelayMs: 0 });
const auth = { url: fake.url, username: 'root', password: 'xenroot' };

async function vmOf(x: XapiPoolSession): Promise<string> {
  const [tmpl] = (await x.call('VM.get_by_name_label', ['CentOS 7'])) as string[];
  const rec = (await x.call('VM.get_record', [tmpl])) as Record<string, unknown>;
  return String(await x.call('VM.create', [{ ...rec, is_a_template: false, name_label: 'bench' }]));
}

async function operation(x: XapiPoolSession, vm: string): Promise<void> {
  await x.call('VM.get_all_records');
  const snap = String(await x.callAsync('VM.snapshot', [vm, 'bench-snap']));
  await x.call('VM.destroy', [snap]);
}

async function measure(name: string, run: () => Promise<void>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (Date.now() < end) {
    await run();
    n++;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(28)} ${rate.toFixed(1).padStart(8)} ops/s  (${n} ops)`);
  return rate;
}

const kept = new XapiPoolSession(auth);
const vm = await vmOf(kept);
const keptRate = await measure('one kept session', () => operation(kept, vm));
const perCallRate = await measure('a login per call', async () => {
  const x = new XapiPoolSession(auth);
  try {
    await operation(x, vm);
  } finally {
    await x.close();
  }
});
console.log(`kept session / login per call: ${(keptRate / perCallRate).toFixed(2)}x`);
await kept.close();
await fake.stop();
