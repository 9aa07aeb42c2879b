import { DriverError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { nameUuid, SimulatorDriver, simulatorDriver } from '../src/index.js';
import { GiB } from './fixtures.js';

describe('discovery (connect)', () => {
  it('reports every StartupRoutingCommand field of a sim:// host', async () => {
    const sim = simulatorDriver();
    const [host, ...rest] = await sim.connect({
      url: 'sim://kvm1?cpus=32&cpuMhz=3000&memoryMiB=131072&localStorageGiB=500&tags=ssd,gpu',
      hostTags: ['edge'],
    });
    expect(rest).toHaveLength(0);
    expect(host).toMatchObject({
      guid: nameUuid('host:kvm1'),
      name: 'kvm1',
      ip: '10.1.0.1',
      url: 'sim://kvm1',
      cpus: 32,
      cpuSockets: 1,
      cpuMhz: 3000,
      memoryBytes: 128 * GiB,
      reservedMemoryBytes: 0,
      hypervisorType: 'Simulator',
      hostTags: ['ssd', 'gpu', 'edge'],
    });
    expect(host?.hypervisorVersion).toBeTruthy();
    expect(host?.capabilities).toMatchObject({ hvm: true, uefi: true });
    expect(host?.capabilities.cpuFlags.length).toBeGreaterThan(0);
    expect(host?.details.networkBackend).toBe('bridge');
    expect(host?.poolUuid).toBeUndefined();
    expect(host?.localStorage).toEqual([
      {
        uuid: nameUuid('local:kvm1'),
        name: 'kvm1-local',
        path: '/var/lib/libvirt/images',
        type: 'Filesystem',
        capacityBytes: 500 * GiB,
        availableBytes: 500 * GiB,
      },
    ]);
  });

  it('applies the configured defaults (16 CPUs × 2400 MHz, 64 GiB, no local storage)', async () => {
    const [host] = await simulatorDriver().connect({ url: 'sim://plain' });
    expect(host).toMatchObject({
      cpus: 16,
      cpuMhz: 2400,
      memoryBytes: 64 * GiB,
      reservedMemoryBytes: 0,
      localStorage: [],
    });
    const [custom] = await simulatorDriver({ defaults: { cpus: 4, reservedMemoryBytes: GiB } }).connect({
      url: 'sim://small',
    });
    expect(custom).toMatchObject({ cpus: 4, reservedMemoryBytes: GiB });
  });

  it('is idempotent: connecting again returns the same host', async () => {
    const sim = new SimulatorDriver();
    const [a] = await sim.connect({ url: 'sim://h1' });
    const [b] = await sim.connect({ url: 'sim://h1' });
    expect(b).toEqual(a);
    expect(Object.keys(sim.inspect().hosts)).toHaveLength(1);
  });

  it('returns every member of a sim://cluster pool, sharing a pool uuid', async () => {
    const sim = simulatorDriver({ type: 'XenServer' });
    const hosts = await sim.connect({ url: 'sim://cluster/pool1?hosts=3&memoryMiB=8192' });
    expect(hosts.map((h) => h.name)).toEqual(['pool1-host1', 'pool1-host2', 'pool1-host3']);
    expect(new Set(hosts.map((h) => h.poolUuid))).toEqual(new Set([nameUuid('pool:pool1')]));
    expect(new Set(hosts.map((h) => h.guid)).size).toBe(3);
    expect(hosts.every((h) => h.memoryBytes === 8 * GiB && h.hypervisorType === 'XenServer')).toBe(true);
  });

  it('impersonates another hypervisor type with its capabilities', () => {
    const kvm = simulatorDriver({ type: 'KVM' });
    expect(kvm.type).toBe('KVM');
    expect(kvm.capabilities()).toMatchObject({ connectionUnit: 'host', console: 'vnc', incrementalSnapshots: false });
    expect(kvm.capabilities().diskFormats).toContain('qcow2');
    expect(simulatorDriver({ type: 'XenServer' }).capabilities().incrementalSnapshots).toBe(true);
    expect(simulatorDriver({ type: 'VMware' }).capabilities()).toMatchObject({
      securityGroups: false,
      networkCleanup: false,
    });
    expect(simulatorDriver({ capabilities: { liveMigration: false } }).capabilities().liveMigration).toBe(false);
  });

  it('refuses bad credentials with AuthFailed and malformed URLs with a 431', async () => {
    const sim = simulatorDriver({ credentials: { username: 'root', password: 'pw' } });
    await expect(
      sim.connect({ url: 'sim://h', credentials: { username: 'root', password: 'nope' } }),
    ).rejects.toMatchObject({ driverCode: 'AuthFailed' });
    await expect(
      sim.connect({ url: 'sim://h', credentials: { username: 'root', password: 'pw' } }),
    ).resolves.toHaveLength(1);
    const open = simulatorDriver();
    await expect(open.connect({ url: 'https://h' })).rejects.toMatchObject({
      code: 'INVALID_PARAMETER',
      httpCode: 431,
    });
    await expect(open.connect({ url: 'sim://h?cpus=x' })).rejects.toMatchObject({ code: 'INVALID_PARAMETER' });
  });

  it('disconnect makes further calls Unreachable until the host is connected again', async () => {
    const sim = simulatorDriver();
    const [report] = await sim.connect({ url: 'sim://h1' });
    const host = { guid: report?.guid ?? '' };
    await sim.disconnect(host);
    await expect(sim.ping(host)).resolves.toMatchObject({ reachable: false });
    const error = await sim.getVmState(host, 'v').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect(error).toMatchObject({ driverCode: 'Unreachable', httpCode: 534, scope: { kind: 'host', ref: host.guid } });
    await sim.connect({ url: 'sim://h1' });
    await expect(sim.getVmState(host, 'v')).resolves.toBe('missing');
  });
});
