/**
 * bench/vsphere: vSphere operations per second over one kept session (the driver's way: `Login` once per vCenter)
 * versus a `Login` + operation + `Logout` per operation, and clone-to-running latency (`CloneVM_Task` of a template VM,
 * then `PowerOnVM_Task`, each waited for through the `WaitForUpdatesEx` filter), against the govmomi simulator the test
 * harness builds (Debian's golang-github-vmware-govmomi-dev; `bash packages/testkit/vcsim/build.sh`). Prints its figures.
 * STRATUS_BENCH_OPS sets the operations per measurement (default 200).
 */

import { PropertyCollector } from '../../packages/driver-vsphere/src/property-collector.js';
import { el, leaf, type MoRef, mor } from '../../packages/driver-vsphere/src/soap-xml.js';
import { TaskWaiter } from '../../packages/driver-vsphere/src/task-waiter.js';
import { Vcenter } from '../../packages/driver-vsphere/src/vcenter.js';
import { VimHttp } from '../../packages/driver-vsphere/src/vim-http.js';
import { VimSession } from '../../packages/driver-vsphere/src/vim-session.js';
import { prepareVcsim, startVcsim } from '../../packages/testkit/src/harness/vcsim.js';

const OPS = Number(process.env.STRATUS_BENCH_OPS ?? 200);
prepareVcsim();
const sim = await startVcsim({ hosts: 2, vms: 2 });
const quiet = { debug() {}, warn() {} };
try {
  const http = new VimHttp({ origin: sim.origin, timeoutMs: 10_000 });
  const vc = new Vcenter(http, sim.username, sim.password, 60_000, quiet);
  await vc.session.open();
  const vms = await vc.collector.list(vc.session.content.rootFolder, 'VirtualMachine', ['name', 'runtime.powerState']);
  const vm = vms[0]!.obj;
  const read = (c: PropertyCollector) => c.one(vm, ['runtime.powerState']);

  let t0 = performance.now();
  for (let i = 0; i < OPS; i++) await read(vc.collector);
  const kept = OPS / ((performance.now() - t0) / 1000);

  t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const s = new VimSession(http, sim.username, sim.password, quiet);
    await read(new PropertyCollector(s));
    await s.close();
  }
  const perOp = OPS / ((performance.now() - t0) / 1000);

  // Power cycles (two tasks each), waited for through the one filter of the kept session.
  const cycles = Math.max(1, Math.floor(OPS / 10));
  const waiter = new TaskWaiter(vc.session, vc.collector);
  const power = (method: string, ref: MoRef) =>
    vc
      .invoke(method, ref)
      .then((t) => waiter.wait({ type: 'Task', value: t!.text }, { operation: method, timeoutMs: 60_000 }));
  if (vms[0]!.props.get('runtime.powerState')?.text === 'poweredOn') await power('PowerOffVM_Task', vm);
  t0 = performance.now();
  for (let i = 0; i < cycles; i++) {
    await power('PowerOnVM_Task', vm);
    await power('PowerOffVM_Task', vm);
  }
  const powerOps = (cycles * 2) / ((performance.now() - t0) / 1000);

  // Clone to running.
  const dc = (await vc.findByInventoryPath('DC0'))!;
  const folder = (await vc.props(dc, ['vmFolder'])).get('vmFolder')!;
  const folderRef = { type: folder.attrs.type!, value: folder.text };
  const clones = Math.max(1, Math.floor(OPS / 20));
  const latencies: number[] = [];
  for (let i = 0; i < clones; i++) {
    const start = performance.now();
    const result = await vc.task('CloneVM_Task', vm, [
      mor('folder', folderRef),
      leaf('name', `bench-clone-${i}`),
      el('spec', el('location'), leaf('template', false), leaf('powerOn', false)),
    ]);
    const clone = { type: 'VirtualMachine', value: result!.text };
    await vc.task('PowerOnVM_Task', clone, []);
    latencies.push(performance.now() - start);
    await vc.task('PowerOffVM_Task', clone, []);
    await vc.task('Destroy_Task', clone, []);
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)]!;
  const p95 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.95))]!;

  console.log(`vCenter simulator at ${sim.origin}, ${OPS} operations per measurement`);
  console.log(`property reads, one kept session:        ${kept.toFixed(0)} ops/s`);
  console.log(
    `property reads, Login+read+Logout each:  ${perOp.toFixed(0)} ops/s (${(kept / perOp).toFixed(1)}× slower)`,
  );
  console.log(`power on/off tasks via WaitForUpdatesEx: ${powerOps.toFixed(0)} tasks/s`);
  console.log(`clone to running (${clones} clones):       p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
  await waiter.close();
  await vc.close();
} finally {
  await sim.stop();
}
