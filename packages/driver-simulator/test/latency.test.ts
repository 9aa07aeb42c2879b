import { afterEach, describe, expect, it, vi } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, vmSpec } from './fixtures.js';

describe('latency', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('honours a latency for every operation', async () => {
    const sim = new SimulatorDriver({ latencyMs: 20 });
    const t0 = performance.now();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
  });

  it('honours a per-operation latency map with a default', async () => {
    const sim = new SimulatorDriver({ latencyMs: { default: 0, startVm: 40 } });
    const host = await addHost(sim, 'sim://h1');
    const t0 = performance.now();
    await sim.ping(host);
    expect(performance.now() - t0).toBeLessThan(30);
    const t1 = performance.now();
    await sim.startVm(host, vmSpec('v'));
    expect(performance.now() - t1).toBeGreaterThanOrEqual(35);
  });

  it('at zero latency uses no timer at all (completes with fake timers that never advance)', async () => {
    const sim = new SimulatorDriver();
    vi.useFakeTimers();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    await sim.stopVm(host, 'v');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('at zero latency does thousands of operations per second', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1?cpus=64&memoryMiB=10485760');
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) {
      await sim.startVm(host, vmSpec(`vm-${i}`, { minRamBytes: 1024 ** 2, maxRamBytes: 1024 ** 2 }));
      await sim.ping(host);
    }
    const elapsedS = (performance.now() - t0) / 1000;
    expect(4000 / elapsedS).toBeGreaterThan(1000);
  });

  it('an aborted call rejects with Timeout', async () => {
    const sim = new SimulatorDriver({ latencyMs: 10_000 });
    const controller = new AbortController();
    const pending = sim.connect({ url: 'sim://h1' }, { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(pending).rejects.toMatchObject({ driverCode: 'Timeout' });
    await expect(sim.connect({ url: 'sim://h1' }, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      driverCode: 'Timeout',
    });
  });

  it('reports progress of long operations', async () => {
    const sim = new SimulatorDriver({ latencyMs: 5 });
    const host = await addHost(sim, 'sim://h1');
    const progress: number[] = [];
    await sim.startVm(host, vmSpec('v'), { onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([0, 100]);
  });

  it('serializes mutations of one VM, while ping is never queued behind them', async () => {
    const sim = new SimulatorDriver({ latencyMs: { default: 0, startVm: 50, stopVm: 50 } });
    const host = await addHost(sim, 'sim://h1');
    const start = sim.startVm(host, vmSpec('v'));
    const stop = sim.stopVm(host, 'v');
    const t0 = performance.now();
    await sim.ping(host);
    expect(performance.now() - t0).toBeLessThan(30);
    await Promise.all([start, stop]);
    // The stop waited for the start, so the VM ends stopped (not "not on host").
    expect(await sim.getVmState(host, 'v')).toBe('stopped');
    expect(sim.log.entries('stopVm')[0]?.note).toBeUndefined();
  });
});
