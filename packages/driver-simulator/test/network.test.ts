import { describe, expect, it } from 'vitest';
import { SimulatorDriver } from '../src/index.js';
import { addHost, nic, vmSpec } from './fixtures.js';

describe('network plumbing', () => {
  it('creates a VLAN bridge on the first VM of the network and removes it after the last one stops', async () => {
    const sim = new SimulatorDriver({ type: 'KVM' });
    const host = await addHost(sim, 'sim://h1');
    expect(sim.inspect().hosts[host.guid]?.networks).toEqual({});

    await sim.startVm(host, vmSpec('a', { nics: [nic(0, 100), nic(1, 'untagged', { trafficLabel: 'cloudbr0' })] }));
    await sim.startVm(host, vmSpec('b', { nics: [nic(0, 100)] }));
    expect(sim.inspect().hosts[host.guid]?.networks).toEqual({
      'brcloudbr1-100': { label: 'cloudbr1', vlan: 100, vifs: ['a#0', 'b#0'] },
      cloudbr0: { label: 'cloudbr0', vlan: null, vifs: ['a#1'] },
    });

    await sim.stopVm(host, 'a');
    expect(Object.keys(sim.inspect().hosts[host.guid]?.networks ?? {}).sort()).toEqual(['brcloudbr1-100', 'cloudbr0']);
    await sim.destroyVm(host, 'b');
    // The VLAN bridge went with its last VIF; the label bridge is permanent.
    expect(sim.inspect().hosts[host.guid]?.networks).toEqual({
      cloudbr0: { label: 'cloudbr0', vlan: null, vifs: [] },
    });
  });

  it('a VM that shut down by itself leaves an empty bridge until core stops it', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1');
    await sim.startVm(host, vmSpec('a', { nics: [nic(0, 7)] }));
    sim.powerOffVm('a');
    expect(sim.inspect().hosts[host.guid]?.networks).toEqual({
      'brcloudbr1-7': { label: 'cloudbr1', vlan: 7, vifs: [] },
    });
    await sim.stopVm(host, 'a');
    expect(sim.inspect().hosts[host.guid]?.networks).toEqual({});
  });

  it('names networks per impersonated hypervisor; vSphere port groups are never removed', async () => {
    const xen = new SimulatorDriver({ type: 'XenServer' });
    const xh = await addHost(xen, 'sim://x1');
    await xen.startVm(xh, vmSpec('a', { nics: [nic(0, 42)] }));
    expect(Object.keys(xen.inspect().hosts[xh.guid]?.networks ?? {})).toEqual(['VLAN-cloudbr1-42']);

    const vmware = new SimulatorDriver({ type: 'VMware' });
    const vh = await addHost(vmware, 'sim://esx1');
    await vmware.startVm(vh, vmSpec('a', { nics: [nic(0, 42, { networkRateMbps: 200, trafficLabel: 'vSwitch0' })] }));
    await vmware.stopVm(vh, 'a');
    expect(Object.keys(vmware.inspect().hosts[vh.guid]?.networks ?? {})).toEqual(['cloud.guest.42.200.1-vSwitch0']);
  });

  it('checks traffic labels, and refuses NICs whose label does not resolve on the host', async () => {
    const sim = new SimulatorDriver();
    const host = await addHost(sim, 'sim://h1?labels=cloudbr0,cloudbr1');
    await expect(
      sim.checkNetwork(host, [
        { trafficType: 'Public', label: 'cloudbr0' },
        { trafficType: 'Guest', label: 'cloudbr9' },
      ]),
    ).resolves.toEqual({ ok: false, unresolved: [{ trafficType: 'Guest', label: 'cloudbr9' }] });
    await expect(
      sim.startVm(host, vmSpec('a', { nics: [nic(0, 5, { trafficLabel: 'cloudbr9' })] })),
    ).rejects.toMatchObject({
      driverCode: 'NotFound',
      scope: { kind: 'host', ref: host.guid },
    });
    expect(sim.inspect().vms).toEqual({});
  });
});
