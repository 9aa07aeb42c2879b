import { type SimulatorDriver, simulatorDriver } from '@stratus/driver-simulator';
import { afterEach, describe, expect, it } from 'vitest';
import type { HypervisorTypeName } from '../../src/driver/hypervisor-type.js';
import { type VmWorld, vmWorld } from '../orchestration/vm-world.js';

/**
 * A simulator that behaves like `type` (its network naming and clean-up, drivers.md §2.5) while
 * registering as the `Simulator` hypervisor the VM world's clusters, templates and labels use.
 */
function impersonating(type: HypervisorTypeName): SimulatorDriver {
  // The world's template is QCOW2; the format is beside the point here.
  const formats = simulatorDriver({ type }).capabilities().diskFormats;
  const real = simulatorDriver({ type, capabilities: { diskFormats: [...formats, 'qcow2'] } });
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'type') return 'Simulator';
      if (prop === 'connect')
        return async (...args: Parameters<SimulatorDriver['connect']>) =>
          (await target.connect(...args)).map((r) => ({ ...r, hypervisorType: 'Simulator' as const }));
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The VLAN network objects (bridges / port groups) on each host of the world, by host name. */
function vlanObjects(world: VmWorld): Record<string, string[]> {
  const view = world.sim.inspect();
  const out: Record<string, string[]> = {};
  for (const h of world.hosts) {
    const networks = view.hosts[h.guid]?.networks ?? {};
    out[h.name] = Object.entries(networks)
      .filter(([, n]) => n.vlan !== null)
      .map(([name]) => name)
      .sort();
  }
  return out;
}

/**
 * Two VMs of one network on one host; the first stops, the second migrates to another host of
 * the cluster, then stops. Returns the VLAN objects per host after each step.
 */
async function stopAndMigrate(world: VmWorld) {
  const { user, zone, template, small, cloud } = world;
  const vm1 = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
  const vm2 = await user.vms.deployAndWait({ zoneId: zone.id, serviceOfferingId: small.id, templateId: template.id });
  expect(vm2.hostId).toBe(vm1.hostId);
  const net = await user.network.networks.get((await user.network.networks.listNics({ vmId: vm1.id }))[0]!.networkId);
  expect((await user.network.networks.listNics({ vmId: vm2.id }))[0]!.networkId).toBe(net.id);
  const vlan = Number(net.broadcastUri!.replace('vlan://', ''));
  const a = world.hosts.find((h) => h.id === vm1.hostId)!;
  const b = world.hosts.find((h) => h.id !== a.id && h.clusterId === a.clusterId)!;
  const deployed = vlanObjects(world);
  await (await user.vms.stop(vm1.id)).result;
  const firstStopped = vlanObjects(world);
  await (await cloud.vms.migrate(vm2.id, b.id)).result;
  const secondMigrated = vlanObjects(world);
  await (await user.vms.stop(vm2.id)).result;
  const secondStopped = vlanObjects(world);
  const steps = { deployed, firstStopped, secondMigrated, secondStopped };
  return { steps, vlan, a: a.name, b: b.name };
}

/** spec/networking.md §3.4, pitfall 17: host-side VLAN objects, through orchestration. */
describe('per-host VLAN bridges', () => {
  let world: VmWorld;
  afterEach(async () => world?.cloud.close());

  it('pitfall 17: KVM removes a host’s VLAN bridge when the last VM using it stops or migrates away', async () => {
    world = await vmWorld({ sim: impersonating('KVM'), clusters: 1 });
    const { steps, vlan, a, b } = await stopAndMigrate(world);
    const bridge = `brcloudbr1-${vlan}`;
    expect(steps.deployed).toEqual({ [a]: [bridge], [b]: [] });
    // vm2 still uses the bridge on host a.
    expect(steps.firstStopped).toEqual({ [a]: [bridge], [b]: [] });
    // The last VM left host a: its bridge went; host b has one now.
    expect(steps.secondMigrated).toEqual({ [a]: [], [b]: [bridge] });
    expect(steps.secondStopped).toEqual({ [a]: [], [b]: [] });
  });

  it('pitfall 17: vSphere never removes port groups, even when no VM uses them', async () => {
    world = await vmWorld({ sim: impersonating('VMware'), clusters: 1 });
    const { steps, vlan, a, b } = await stopAndMigrate(world);
    // cloud.guest.<vlan>.<rate>.1-<label> (drivers.md §5.7).
    const portGroup = steps.deployed[a]![0]!;
    expect(portGroup).toMatch(new RegExp(`^cloud\\.guest\\.${vlan}\\.\\d+\\.1-cloudbr1$`));
    expect(steps.deployed[a]).toEqual([portGroup]);
    expect(steps.firstStopped[a]).toEqual([portGroup]);
    expect(steps.secondMigrated).toEqual({ [a]: [portGroup], [b]: [portGroup] });
    expect(steps.secondStopped).toEqual({ [a]: [portGroup], [b]: [portGroup] });
  });
});
