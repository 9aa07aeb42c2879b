import type { HypervisorDriver } from '@stratus/core';
import { simulatedImageStore, simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it } from 'vitest';
import { type CloudConformanceFixture, CREATE_CLOUD_STEP, runCloudConformance } from '../src/cloud-conformance.js';

/** The simulator with some operations replaced: a deliberately broken driver. */
function broken(overrides: (sim: HypervisorDriver) => Partial<HypervisorDriver>): HypervisorDriver {
  const sim = simulatorDriver();
  const replaced = overrides(sim) as Record<string | symbol, unknown>;
  return new Proxy(sim, {
    get(target, prop, receiver) {
      if (prop in replaced) return replaced[prop];
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as HypervisorDriver;
}

function fixture(driver: HypervisorDriver): CloudConformanceFixture {
  return {
    driver,
    hosts: [{ url: 'sim://self-h1?ip=192.168.41.11' }, { url: 'sim://self-h2?ip=192.168.41.12' }],
    sharedStorageUrl: 'nfs://10.0.0.5/export/self-test',
    secondSharedStorageUrl: 'nfs://10.0.0.5/export/self-test-2',
    imageStore: { driver: simulatedImageStore(), url: 'nfs://10.0.0.6/secondary' },
    template: { url: 'http://images.example.org/self-test.qcow2', format: 'QCOW2' },
    iso: { url: 'http://images.example.org/self-test.iso' },
    trafficLabel: 'cloudbr1',
  };
}

describe('cloud conformance self-test: the suite fails broken drivers', () => {
  it('the simulator itself passes every step (the control)', async () => {
    const report = await runCloudConformance(fixture(simulatorDriver()));
    expect(report.failed, report.failed?.detail).toBeUndefined();
    expect(report.steps.every((s) => s.status === 'passed')).toBe(true);
    expect(report.calls.migrateVm).toBeGreaterThan(0);
  });

  it('a no-op migrateVm fails at the live migration: core moved the VM, the hypervisor did not', async () => {
    const report = await runCloudConformance(
      fixture(
        broken((sim) => ({
          migrateVm: async (source, vmName) => ({ hostGuid: source.guid, vmName }) as never,
          // sim still needs prepareMigration to work
          prepareMigration: sim.prepareMigration.bind(sim),
        })),
      ),
    );
    expect(report.failed?.step).toBe('live-migrate to the other host');
    // The host ping pass core runs sees the VM missing where core placed it (before the suite's own listing).
    expect(report.failed?.detail).toMatch(/PowerReportMissing|reports it missing/);
  });

  it('a power state that lies (a stopped VM reported running) fails at stop', async () => {
    const report = await runCloudConformance(
      fixture(
        broken((sim) => ({
          getVmState: async (host, vmName) => {
            const real = await sim.getVmState(host, vmName);
            return real === 'stopped' ? 'running' : real;
          },
          ping: async (host, options) => {
            const real = await sim.ping(host, options);
            for (const v of Object.values(real.vmStates)) if (v.powerState === 'PowerOff') v.powerState = 'PowerOn';
            return real;
          },
        })),
      ),
    );
    expect(report.failed?.step).toBe('stop');
    expect(report.failed?.detail).toMatch(/running|PowerOn/);
  });

  it('a plain Error from ping (instead of reachable: false or a DriverError) fails', async () => {
    const report = await runCloudConformance(
      fixture(
        broken((sim) => ({
          ping: async (host, options) => {
            const real = await sim.ping(host, options);
            if (!real.reachable) throw new Error(`connection to ${host.name} reset`);
            return real;
          },
        })),
      ),
    );
    expect(report.failed?.step).toBe('disconnect and reconnect a host running a VM');
    expect(report.failed?.detail).toMatch(/expected reachable:false or a DriverError, got Error: connection/);
  });

  it('a required operation left unimplemented (rebootVm) fails at reboot', async () => {
    const report = await runCloudConformance(
      fixture(
        broken(() => ({
          rebootVm: () => Promise.reject(new Error('rebootVm is not implemented')),
        })),
      ),
    );
    expect(report.failed?.step).toBe('reboot');
    expect(report.failed?.detail).toMatch(/not implemented/);
  });

  it('volume snapshots claimed but "not implemented" fail at the snapshot step', async () => {
    const report = await runCloudConformance(
      fixture(
        broken(() => ({
          createSnapshot: () => Promise.reject(new Error('volume snapshots are not implemented')),
        })),
      ),
    );
    expect(report.failed?.step).toBe('volume snapshot where capable (UnsupportedError otherwise)');
    expect(report.failed?.detail).toMatch(/not implemented/);
  });

  it('a required operation missing from the driver object (prepareMaintenance) is refused by createCloud', async () => {
    const report = await runCloudConformance(fixture(broken(() => ({ prepareMaintenance: undefined as never }))));
    expect(report.failed?.step).toBe(CREATE_CLOUD_STEP);
    expect(report.failed?.detail).toMatch(/InvalidParameterError: .*lacks prepareMaintenance/);
    expect(report.steps.filter((s) => s.status === 'not-run')).toHaveLength(report.steps.length - 1);
  });

  it('a capability claimed without its operation (volumeSnapshots without createSnapshot) is refused by createCloud', async () => {
    const report = await runCloudConformance(fixture(broken(() => ({ createSnapshot: undefined as never }))));
    expect(report.failed?.step).toBe(CREATE_CLOUD_STEP);
    expect(report.failed?.detail).toMatch(/createSnapshot \(capability volumeSnapshots\)/);
  });
});

describe('cloud conformance: capabilities a driver lacks, and steps a fixture expects to fail', () => {
  it('a driver without liveMigration: core refuses the migration with UnsupportedError, the step is not-capable', async () => {
    const report = await runCloudConformance(fixture(simulatorDriver({ capabilities: { liveMigration: false } })));
    expect(report.failed, report.failed?.detail).toBeUndefined();
    const step = report.steps.find((s) => s.step === 'live-migrate to the other host');
    expect(step).toMatchObject({ status: 'not-capable' });
    expect(step?.detail).toMatch(/core refused the migration with UnsupportedError/);
    expect(report.calls.migrateVm).toBeUndefined();
    expect(report.calls.prepareMigration).toBeUndefined();
  });

  it('a step listed in expectedFailures that fails is expected-failure, and the steps after it run', async () => {
    const step = "template from the stopped VM's root volume";
    const report = await runCloudConformance({
      ...fixture(
        broken(() => ({
          createTemplateFromVolume: () => Promise.reject(new Error('this environment has no volume bytes')),
        })),
      ),
      expectedFailures: { [step]: 'volumes have no bytes here' },
    });
    expect(report.failed, report.failed?.detail).toBeUndefined();
    const result = report.steps.find((s) => s.step === step);
    expect(result?.status).toBe('expected-failure');
    expect(result?.detail).toMatch(/volumes have no bytes here .*this environment has no volume bytes/);
    expect(report.steps.filter((s) => s.step !== step).every((s) => s.status === 'passed')).toBe(true);
  });

  it('a step listed in expectedFailures that passes fails the run (the entry cannot go stale)', async () => {
    const step = 'reboot';
    const report = await runCloudConformance({
      ...fixture(simulatorDriver()),
      expectedFailures: { [step]: 'reboots fail here' },
    });
    expect(report.failed?.step).toBe(step);
    expect(report.failed?.detail).toMatch(/expects this step to fail \(reboots fail here\), but it passed/);
  });
});
