import type {
  ConnectTarget,
  DiskSpec,
  HostRef,
  HostReport,
  HypervisorDriver,
  NicSpec,
  PoolSpec,
  TemplateSpec,
  VmSpec,
} from '@stratus/core';
import { DriverError } from '@stratus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Things a test environment cannot do although the driver claims them (the suite skips them, by name). */
export type EnvironmentLimit = 'diskHotPlug' | 'templateStaging';

/** What a driver package gives the conformance suite. */
export interface DriverConformanceSetup {
  /** A driver ready to connect `target`. */
  driver: HypervisorDriver;
  target: ConnectTarget;
  /** Prefix of every VM/volume name the suite creates (hosts may be shared with other suites). */
  prefix: string;
  /** A pool the driver can make usable on the host. */
  pool: PoolSpec;
  /** A traffic label that resolves on the host. */
  trafficLabel: string;
  /** A template the driver can stage (a URL it understands); staging tests need it. */
  template?: TemplateSpec;
  /** What this environment cannot do (never a capability the environment supports). */
  cannot?: readonly EnvironmentLimit[];
  /** Called after the suite. */
  teardown?: () => Promise<void>;
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function typed(p: Promise<unknown>, code: DriverError['driverCode']): Promise<DriverError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected DriverError ${code}`).toBeInstanceOf(DriverError);
  expect((err as DriverError).driverCode).toBe(code);
  return err as DriverError;
}

/**
 * The hypervisor driver conformance suite (drivers.md §1, §2): every hypervisor driver runs it against its real
 * stand-in or fake, and `driver-simulator` runs it too. Capabilities gate what is asserted; `cannot` names what
 * only the environment lacks, and those tests are skipped visibly, never weakened.
 */
export function hypervisorDriverConformanceSuite(name: string, factory: () => Promise<DriverConformanceSetup>): void {
  describe(`hypervisor driver conformance: ${name}`, () => {
    let env: DriverConformanceSetup;
    let driver: HypervisorDriver;
    let report: HostReport;
    let host: HostRef;
    const created: string[] = [];
    const cannot = (limit: EnvironmentLimit): boolean => env.cannot?.includes(limit) ?? false;

    const vm = (suffix: string, overrides: Partial<VmSpec> = {}): VmSpec => {
      const vmName = `${env.prefix}-${suffix}`;
      created.push(vmName);
      return {
        name: vmName,
        uuid: crypto.randomUUID(),
        type: 'User',
        cpus: 1,
        cpuMhz: 500,
        minRamBytes: 64 * MiB,
        maxRamBytes: 64 * MiB,
        bootOrder: ['hd'],
        osType: 'Other Linux (64-bit)',
        bootArgs: '',
        vncPassword: 'pw',
        disks: [],
        nics: [],
        details: {},
        ...overrides,
      };
    };
    const nic = (deviceId: number): NicSpec => ({
      deviceId,
      mac: `06:00:00:00:00:${(deviceId + 16).toString(16)}`,
      isDefault: deviceId === 0,
      trafficType: 'Guest',
      trafficLabel: env.trafficLabel,
      broadcastUri: 'vlan://untagged',
    });

    beforeAll(async () => {
      env = await factory();
      driver = env.driver;
      const reports = await driver.connect(env.target);
      expect(reports.length).toBeGreaterThanOrEqual(1);
      report = reports[0]!;
      host = { guid: report.guid, name: report.name, ip: report.ip, ...(report.url ? { url: report.url } : {}) };
    });

    afterAll(async () => {
      if (driver !== undefined && host !== undefined) {
        for (const n of created) await driver.destroyVm(host, n).catch(() => undefined);
        await driver.disconnect(host).catch(() => undefined);
      }
      await env?.teardown?.();
    });

    it('connect reports sane host facts and the same identity again', async () => {
      expect(report.guid).not.toBe('');
      expect(report.name).not.toBe('');
      expect(report.cpus).toBeGreaterThanOrEqual(1);
      expect(report.cpuSockets).toBeGreaterThanOrEqual(1);
      expect(report.cpuMhz).toBeGreaterThan(0);
      expect(report.memoryBytes).toBeGreaterThan(0);
      expect(report.reservedMemoryBytes).toBeGreaterThanOrEqual(0);
      expect(report.reservedMemoryBytes).toBeLessThan(report.memoryBytes);
      expect(report.hypervisorType.toLowerCase()).toBe(driver.type.toLowerCase());
      expect(Array.isArray(report.capabilities.cpuFlags)).toBe(true);
      const again = await driver.connect(env.target);
      expect(again[0]?.guid).toBe(report.guid);
      const caps = driver.capabilities();
      expect(caps.poolTypes.length).toBeGreaterThan(0);
      expect(caps.diskFormats.length).toBeGreaterThan(0);
    });

    it('start → stop (graceful) → start → stop (forced) → reboot → destroy, with power states', async () => {
      const spec = vm('life', { nics: [nic(0)] });
      const started = await driver.startVm(host, spec);
      expect(started.console.protocol).toBe(driver.capabilities().console);
      expect(started.console.host).not.toBe('');
      expect(await driver.getVmState(host, spec.name)).toBe('running');
      await driver.stopVm(host, spec.name, { timeoutMs: 2_000 });
      expect(await driver.getVmState(host, spec.name)).toBe('stopped');
      await typed(driver.rebootVm(host, spec.name), 'InvalidState');
      await driver.startVm(host, spec);
      expect(await driver.getVmState(host, spec.name)).toBe('running');
      await driver.stopVm(host, spec.name, { force: true });
      expect(await driver.getVmState(host, spec.name)).toBe('stopped');
      await driver.startVm(host, spec);
      await driver.rebootVm(host, spec.name);
      expect(await driver.getVmState(host, spec.name)).toBe('running');
      await driver.destroyVm(host, spec.name);
      expect(await driver.getVmState(host, spec.name)).toBe('missing');
    });

    it('creates are idempotent and deletes of missing things succeed', async () => {
      const spec = vm('idem');
      await driver.startVm(host, spec);
      await driver.startVm(host, spec); // same spec, already running: success
      expect(await driver.getVmState(host, spec.name)).toBe('running');
      await typed(driver.startVm(host, { ...spec, cpus: spec.cpus + 1, uuid: crypto.randomUUID() }), 'AlreadyExists');
      await driver.stopVm(host, spec.name, { force: true });
      await driver.stopVm(host, spec.name, { force: true }); // already stopped: success
      await driver.destroyVm(host, spec.name);
      await driver.destroyVm(host, spec.name); // missing: success
      await driver.stopVm(host, `${env.prefix}-never-existed`);
    });

    it('typed errors: NotFound and InvalidState', async () => {
      const missing = `${env.prefix}-missing`;
      expect(await driver.getVmState(host, missing)).toBe('missing');
      await typed(driver.rebootVm(host, missing), 'NotFound');
      const spec = vm('stopped');
      await driver.startVm(host, spec);
      await driver.stopVm(host, spec.name, { force: true });
      await typed(driver.rebootVm(host, spec.name), 'InvalidState');
      await driver.destroyVm(host, spec.name);
    });

    it('ping reports every VM with its power state, and expected-but-missing ones as PowerReportMissing', async () => {
      const running = vm('ping-on');
      const stopped = vm('ping-off');
      await driver.startVm(host, running);
      await driver.startVm(host, stopped);
      await driver.stopVm(host, stopped.name, { force: true });
      const missing = `${env.prefix}-ping-missing`;
      const r = await driver.ping(host, { expectedVms: [running.name, stopped.name, missing] });
      expect(r.reachable).toBe(true);
      expect(r.healthy).toBe(true);
      expect(r.vmStates[running.name]?.powerState).toBe('PowerOn');
      expect(r.vmStates[stopped.name]?.powerState).toBe('PowerOff');
      expect(r.vmStates[missing]?.powerState).toBe('PowerReportMissing');
      const plain = await driver.ping(host);
      expect(Object.keys(plain.vmStates)).toEqual(expect.arrayContaining([running.name, stopped.name]));
      expect(plain.vmStates[missing]).toBeUndefined();
      await driver.destroyVm(host, running.name);
      await driver.destroyVm(host, stopped.name);
    });

    it('volumes: create (idempotent), attach, detach, delete (missing = success)', async () => {
      const pool = await driver.createStoragePool(host, env.pool);
      expect(pool.capacityBytes).toBeGreaterThan(0);
      await driver.createStoragePool(host, env.pool); // again: success
      const poolRef = { uuid: env.pool.uuid, type: env.pool.type };
      const volSpec = {
        uuid: `${env.prefix}-vol-${crypto.randomUUID().slice(0, 8)}`,
        name: 'data',
        type: 'DATADISK' as const,
        sizeBytes: GiB,
        format: 'qcow2' as const,
        pool: poolRef,
      };
      const vol = await driver.createVolume(host, volSpec);
      expect(vol.uuid).toBe(volSpec.uuid);
      expect(vol.sizeBytes).toBeGreaterThanOrEqual(GiB);
      expect(vol.path).not.toBe('');
      const again = await driver.createVolume(host, volSpec);
      expect(again.path).toBe(vol.path);
      await typed(driver.createVolume(host, { ...volSpec, sizeBytes: 2 * GiB }), 'AlreadyExists');

      const disk: DiskSpec = {
        volumeUuid: vol.uuid,
        type: 'DATADISK',
        deviceId: 1,
        poolRef,
        path: vol.path,
        format: vol.format,
        sizeBytes: vol.sizeBytes,
        readOnly: false,
      };
      const spec = vm('vol');
      await driver.startVm(host, spec);
      await driver.stopVm(host, spec.name, { force: true });
      await driver.attachVolume(host, spec.name, disk); // stopped: edits the definition
      await driver.attachVolume(host, spec.name, disk); // already attached: success
      await typed(driver.deleteVolume(host, { uuid: vol.uuid, pool: poolRef, path: vol.path }), 'InvalidState');
      await driver.detachVolume(host, spec.name, disk);
      await driver.detachVolume(host, spec.name, disk); // not attached: success
      if (driver.capabilities().hotPlugDisk && !cannot('diskHotPlug')) {
        await driver.startVm(host, spec);
        await driver.attachVolume(host, spec.name, disk);
        await driver.detachVolume(host, spec.name, disk);
      }
      await driver.destroyVm(host, spec.name);
      await driver.deleteVolume(host, { uuid: vol.uuid, pool: poolRef, path: vol.path });
      await driver.deleteVolume(host, { uuid: vol.uuid, pool: poolRef, path: vol.path }); // missing: success
    });

    it('template staging: once per pool, concurrent requests share one copy, clones from it', async (ctx) => {
      if (env.template === undefined || cannot('templateStaging')) ctx.skip();
      const template = env.template!;
      await driver.createStoragePool(host, env.pool);
      const poolRef = { uuid: env.pool.uuid, type: env.pool.type };
      const progress: number[] = [];
      const [a, b] = await Promise.all([
        driver.copyTemplateToPrimary(host, template, poolRef, { onProgress: (p) => progress.push(p) }),
        driver.copyTemplateToPrimary(host, template, poolRef),
      ]);
      expect(a.path).toBe(b.path);
      expect(a.templateUuid).toBe(template.uuid);
      expect(progress.at(-1)).toBe(100);
      const report2 = await driver.createStoragePool(host, env.pool);
      expect(report2.templates).toContain(template.uuid);
      const root = await driver.createVolume(
        host,
        {
          uuid: `${env.prefix}-root-${crypto.randomUUID().slice(0, 8)}`,
          name: 'root',
          type: 'ROOT',
          sizeBytes: template.sizeBytes,
          format: 'qcow2',
          pool: poolRef,
        },
        { fromTemplate: { templateUuid: a.templateUuid, path: a.path } },
      );
      expect(root.sizeBytes).toBeGreaterThanOrEqual(template.sizeBytes);
      await driver.deleteVolume(host, { uuid: root.uuid, pool: poolRef, path: root.path });
    });

    it('names with quotes, semicolons and $() are handled as plain names', async () => {
      const hostile = `${env.prefix}-q'"; touch stratus-pwned; $(touch stratus-pwned2) \`id\``;
      const spec = vm('x', { name: hostile });
      created.push(hostile);
      await driver.startVm(host, spec);
      expect(await driver.getVmState(host, hostile)).toBe('running');
      const r = await driver.ping(host);
      expect(r.vmStates[hostile]?.powerState).toBe('PowerOn');
      await driver.destroyVm(host, hostile);
      expect(await driver.getVmState(host, hostile)).toBe('missing');
    });
  });
}
