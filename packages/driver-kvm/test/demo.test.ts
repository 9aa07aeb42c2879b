import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoCloud, openDemoCloud } from '../../../examples/demo/src/build-cloud.js';
import { hostsUsed } from '../../../examples/demo/src/deploy.js';
import { kvmHypervisor } from '../../../examples/demo/src/kvm-hypervisor.js';
import { describeMissing, missingKvmPrerequisites } from '../../../examples/demo/src/kvm-prerequisites.js';
import { silentProgress } from '../../../examples/demo/src/progress.js';
import { printReport } from '../../../examples/demo/src/report.js';
import { type DemoOutcome, runScenario } from '../../../examples/demo/src/scenario.js';
import type { KvmDriver } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const missing = await missingKvmPrerequisites();
const skip = missing.length > 0 ? missing.map((m) => m.what).join(', ') : '';

/** libvirtd processes whose command line names `dir` (their config file is in it). */
function processesMentioning(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('libvirtd') && cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** `npm run demo -- --hypervisor kvm` in its short form (10 VMs per allocator), in-process. */
describe.skipIf(skip !== '')(
  `the demo on KVM (libvirt's test driver) ${skip ? `(skipped: missing ${skip})` : ''}`,
  () => {
    let demo: DemoCloud;
    let outcome: DemoOutcome;
    let driver: KvmDriver;
    const log: string[] = [];

    beforeAll(async () => {
      demo = await openDemoCloud(await kvmHypervisor());
      driver = demo.hypervisor.driver as KvmDriver;
      outcome = await runScenario(demo, { vmsPerWave: 10, progress: silentProgress, log: (l) => log.push(l) });
    }, 120_000);
    afterAll(async () => demo?.close());

    it('adds 4 distinct KVM hosts (own name, guid and loopback address each) in 2 pods, with their pools', async () => {
      const zoneId = outcome.zone.zone.id;
      const hosts = await demo.cloud.hosts.list({ zoneId });
      expect(hosts.map((h) => [h.name, h.privateIp, h.status, h.hypervisorType])).toEqual([
        ['kvm-01', '127.0.0.11', 'Up', 'KVM'],
        ['kvm-02', '127.0.0.12', 'Up', 'KVM'],
        ['kvm-03', '127.0.0.13', 'Up', 'KVM'],
        ['kvm-04', '127.0.0.14', 'Up', 'KVM'],
      ]);
      expect(new Set(hosts.map((h) => h.guid)).size).toBe(4);
      expect(await demo.cloud.pods.list({ zoneId })).toHaveLength(2);
      const pools = await demo.cloud.storagePools.list({ zoneId });
      expect(pools.map((p) => [p.poolType, p.status])).toEqual([
        ['SharedMountPoint', 'Up'],
        ['SharedMountPoint', 'Up'],
      ]);
      expect((await demo.cloud.imageStores.list({ zoneId }))[0]?.url).toBe('nfs://127.0.0.1/export/secondary');
    });

    it('deploys 10 VMs per allocator; each Running VM is running on its host as libvirt lists it, each stopped one is not', async () => {
      expect(outcome.waves.map((w) => [w.strategy, w.vms.length])).toEqual([
        ['vertical', 10],
        ['horizontal', 10],
      ]);
      const vms = await demo.cloud.vms.list({ zoneId: outcome.zone.zone.id });
      expect(vms).toHaveLength(20);
      const stopped = new Set(outcome.stopped.map((vm) => vm.id));
      expect(stopped.size).toBe(2);
      for (const vm of vms) {
        expect(vm.state).toBe(stopped.has(vm.id) ? 'Stopped' : 'Running');
        const host = await demo.cloud.hosts.get(vm.hostId ?? vm.lastHostId!);
        const state = await driver.getVmState({ guid: host.guid }, vm.instanceName);
        if (vm.state === 'Running')
          expect({ vm: vm.instanceName, state }).toEqual({ vm: vm.instanceName, state: 'running' });
        else expect(state).not.toBe('running');
      }
    });

    it('packs with the vertical allocator and spreads with the horizontal one', () => {
      const [vertical, horizontal] = outcome.waves.map(hostsUsed);
      expect(vertical!.size).toBeLessThan(horizontal!.size);
    });

    it('reports the live migration libvirt refused, and the VM keeps running on its host', async () => {
      expect(outcome.migrations).toEqual([]);
      const refused = outcome.refusedMigration!;
      expect(refused.message).toContain('migrate');
      const vm = await demo.cloud.vms.get(refused.vm.id);
      expect(vm).toMatchObject({ state: 'Running', hostId: refused.fromHostId });
      const host = await demo.cloud.hosts.get(refused.fromHostId);
      expect(await driver.getVmState({ guid: host.guid }, vm.instanceName)).toBe('running');
      expect(log.some((l) => l.includes('the hypervisor refused to migrate'))).toBe(true);
    });

    it('prints the report with every host and both waves', async () => {
      const lines: string[] = [];
      await printReport(demo.cloud, outcome, (l) => lines.push(l));
      const text = lines.join('\n');
      for (let n = 1; n <= 4; n++) expect(text).toContain(`kvm-0${n}`);
      expect(text).toMatch(/vertical +wave: 10 VMs placed on \d of 4 hosts/);
      expect(text).toContain('not migrated:');
    });

    it('stops its libvirtd daemons and removes its directory when closed', async () => {
      const dir = /in (\/\S+)$/.exec(demo.hypervisor.summary)?.[1] ?? '';
      const daemons = () => processesMentioning(dir).length;
      expect(existsSync(dir)).toBe(true);
      expect(daemons()).toBe(4);
      await demo.close();
      expect(existsSync(dir)).toBe(false);
      expect(daemons()).toBe(0);
    });
  },
);

describe('the demo on KVM without libvirt', () => {
  it('names what to install and exits 1, without a stack trace', async () => {
    const emptyPath = mkdtempSync(path.join(os.tmpdir(), 'stratus-no-virsh-'));
    try {
      const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'examples/demo/src/main.ts', '--hypervisor', 'kvm'],
          { cwd: ROOT, env: { ...process.env, PATH: emptyPath }, timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('virsh: apt-get install libvirt-clients');
      expect(result.stderr).toContain('apt-get install libvirt-clients libvirt-daemon');
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.stdout).toBe('');
    } finally {
      rmSync(emptyPath, { recursive: true, force: true });
    }
  }, 60_000);

  it('describes each missing piece with its fix', () => {
    const text = describeMissing([
      { what: 'virsh', fix: 'apt-get install libvirt-clients' },
      { what: 'libvirtd', fix: 'apt-get install libvirt-daemon' },
    ]);
    expect(text).toContain('  - virsh: apt-get install libvirt-clients\n  - libvirtd: apt-get install libvirt-daemon');
  });
});
