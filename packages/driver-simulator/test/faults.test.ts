import { DriverError } from '@stratus/core';
import { describe, expect, it } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, vmSpec } from './fixtures.js';

describe('fault injection', () => {
  it('failNext fails exactly `times` matching calls, then the operation works again', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    sim.faults.failNext('startVm', { times: 2 });
    await expect(sim.startVm(host, vmSpec('v'))).rejects.toMatchObject({
      driverCode: 'DeviceError',
      vendorCode: 'SIM_INJECTED_FAULT',
      scope: { kind: 'host', ref: host.guid },
    });
    await expect(sim.startVm(host, vmSpec('v'))).rejects.toBeInstanceOf(DriverError);
    await expect(sim.startVm(host, vmSpec('v'))).resolves.toBeDefined();
    expect(sim.log.count('startVm', 'error')).toBe(2);
    expect(sim.log.count('startVm', 'ok')).toBe(1);
    expect(sim.faults.armed).toBe(0);
    // The failed attempts changed nothing.
    expect(Object.keys(sim.inspect().vms)).toEqual(['v']);
  });

  it('failNext matches host (by guid or name) and vm, and throws the requested error', async () => {
    const sim = new SimulatorDriver();
    const h1 = await addHost(sim, 'sim://h1');
    const h2 = await addHost(sim, 'sim://h2');
    sim.faults.failNext('startVm', { host: 'h2', error: 'InsufficientCapacity' });
    sim.faults.failNext('stopVm', { vm: 'b', error: new Error('boom') });
    await sim.startVm(h1, vmSpec('a'));
    await expect(sim.startVm(h2, vmSpec('b'))).rejects.toMatchObject({
      driverCode: 'InsufficientCapacity',
      scope: { kind: 'host', ref: h2.guid },
    });
    await sim.startVm(h2, vmSpec('b'));
    await sim.stopVm(h1, 'a');
    await expect(sim.stopVm(h2, 'b')).rejects.toThrow('boom');
  });

  it('failAlways fails while its predicate holds, until removed or cleared', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    const remove = sim.faults.failAlways('startVm', (call) => call.vm?.startsWith('r-') === true, 'Timeout');
    await expect(sim.startVm(host, vmSpec('r-1'))).rejects.toMatchObject({ driverCode: 'Timeout' });
    await expect(sim.startVm(host, vmSpec('r-1'))).rejects.toMatchObject({ driverCode: 'Timeout' });
    await sim.startVm(host, vmSpec('u-1'));
    remove();
    await sim.startVm(host, vmSpec('r-1'));

    sim.faults.failAlways('*');
    await expect(sim.ping(host)).rejects.toBeInstanceOf(DriverError);
    sim.faults.clear();
    await expect(sim.ping(host)).resolves.toMatchObject({ reachable: true });
  });

  it('a down host: ping says unreachable, mutations throw Unreachable scoped to the host', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    sim.setHostDown(host.guid);
    expect(await sim.ping(host)).toEqual({ reachable: false, healthy: false, vmStates: {} });
    await expect(sim.startVm(host, vmSpec('w'))).rejects.toMatchObject({
      driverCode: 'Unreachable',
      httpCode: 534,
      scope: { kind: 'host', ref: host.guid },
    });
    await expect(sim.stopVm(host, 'v')).rejects.toMatchObject({ driverCode: 'Unreachable' });
    // Behind a partition the VM keeps running: once the host is back, ping reports it on.
    sim.setHostDown('h1', false);
    expect((await sim.ping(host)).vmStates.v?.powerState).toBe('PowerOn');
  });

  it('a crashed host powers its VMs off', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    sim.setHostDown(host.guid, true, { crash: true });
    sim.setHostDown(host.guid, false);
    expect((await sim.ping(host)).vmStates.v?.powerState).toBe('PowerOff');
  });

  it('a VM that powers off by itself is reported PowerOff by the next ping', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    expect((await sim.ping(host)).vmStates.v?.powerState).toBe('PowerOn');
    sim.powerOffVm('v');
    expect((await sim.ping(host)).vmStates.v?.powerState).toBe('PowerOff');
    expect(await sim.getVmState(host, 'v')).toBe('stopped');
    // Core can start it again.
    await sim.startVm(host, vmSpec('v'));
    expect(await sim.getVmState(host, 'v')).toBe('running');
  });

  it('logs every call with its outcome, and inspect() is a deep copy', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('v'));
    await sim.stopVm(host, 'v');
    expect(sim.log.entries().map((e) => [e.seq, e.operation, e.outcome])).toEqual([
      [1, 'connect', 'ok'],
      [2, 'startVm', 'ok'],
      [3, 'stopVm', 'ok'],
    ]);
    expect(sim.inspect().operations).toEqual({
      connect: { ok: 1, error: 0 },
      startVm: { ok: 1, error: 0 },
      stopVm: { ok: 1, error: 0 },
    });
    const view = sim.inspect();
    const vm = view.vms.v;
    if (vm === undefined) throw new Error('missing vm');
    vm.power = 'running';
    vm.spec.cpus = 99;
    expect(sim.inspect().vms.v).toMatchObject({ power: 'stopped', spec: { cpus: 2 } });
  });

  it('is deterministic: two simulators given the same calls end in the same state', async () => {
    const run = async () => {
      const sim = new SimulatorDriver();
      const host = await addHost(sim, 'sim://h1');
      await sim.startVm(host, vmSpec('v'));
      return sim.inspect();
    };
    expect(await run()).toEqual(await run());
  });
});
