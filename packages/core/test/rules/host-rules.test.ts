import { randomUUID } from 'node:crypto';
import { type SimulatorDriver, simulatorDriver } from '@stratus/driver-simulator';
import { describe, expect, it } from 'vitest';
import type { HostReport } from '../../src/driver/host-report.js';
import { InvalidParameterError, InvalidStateError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, cluster, host, openCloud, pod, zoneWithHost } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/**
 * The real simulator seen through a driver that is registered as `registeredAs` and/or rewrites
 * what `connect` reports: what core sees when the machine behind a URL runs another hypervisor
 * than the cluster's, or has another CPU than its cluster-mates.
 */
function intercepted(
  real: SimulatorDriver,
  change: { registeredAs?: string; report?: (report: HostReport) => HostReport },
): SimulatorDriver {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'type' && change.registeredAs !== undefined) return change.registeredAs;
      if (prop === 'connect' && change.report !== undefined) {
        const rewrite = change.report;
        return async (...args: Parameters<SimulatorDriver['connect']>) => (await target.connect(...args)).map(rewrite);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** spec/resource-model.md §2.3–2.4, §5, §13 — hosts. */
describe('host rules', () => {
  it('KVM allows at most 16 hosts per cluster (the default capability row)', async () => {
    const kvm = simulatorDriver({ type: 'KVM' });
    const cloud = await openCloud([kvm]);
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id, 'kvm1', 'KVM');
    expect((await cloud.capabilities.get('KVM')).maxHostsPerCluster).toBe(16);
    for (let i = 1; i <= 16; i++) await host(cloud, c.id, `kvm-h${i}`, `192.168.10.${10 + i}`);
    expect(await cloud.hosts.list({ clusterId: c.id })).toHaveLength(16);
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://kvm-h17?ip=192.168.10.27' }),
      invalid('clusterId', c.id),
    );
  });

  it('the maximum follows the editable capability row, and a multi-host add is refused whole', async () => {
    const cloud = await openCloud();
    await cloud.capabilities.set('Simulator', 'default', { maxHostsPerCluster: 2 });
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id);
    await host(cloud, c.id, 'h1', '192.168.10.11');
    // A pool of two would make three.
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://cluster/pool1?hosts=2' }),
      invalid('clusterId', c.id),
    );
    await host(cloud, c.id, 'h2', '192.168.10.12');
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://h3?ip=192.168.10.13' }),
      invalid('clusterId', c.id),
    );
  });

  it("a host runs its cluster's hypervisor (one hypervisor per cluster)", async () => {
    // The Simulator cluster's driver reaches a machine that reports KVM.
    const cloud = await openCloud([intercepted(simulatorDriver({ type: 'KVM' }), { registeredAs: 'Simulator' })]);
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id, 'c1', 'Simulator');
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://kvm1?ip=192.168.10.11' }),
      invalid('url', 'sim://kvm1?ip=192.168.10.11'),
    );
  });

  it('hosts of a cluster are homogeneous: same CPU model; and every host has hardware virtualisation', async () => {
    const sim = intercepted(simulatorDriver(), {
      report: (r) =>
        r.name === 'epyc1'
          ? { ...r, capabilities: { ...r.capabilities, cpuModel: 'AMD EPYC 7302' } }
          : r.name === 'nohvm1'
            ? { ...r, capabilities: { ...r.capabilities, hvm: false } }
            : r,
    });
    const cloud = await openCloud([sim]);
    const { cluster: c } = await zoneWithHost(cloud);
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://epyc1?ip=192.168.10.12' }),
      invalid('url', 'sim://epyc1?ip=192.168.10.12'),
    );
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://nohvm1?ip=192.168.10.13' }),
      invalid('url', 'sim://nohvm1?ip=192.168.10.13'),
    );
  });

  it('an Unmanaged cluster takes no new host', async () => {
    const cloud = await openCloud();
    const p = await pod(cloud, (await advancedZone(cloud)).id);
    const c = await cluster(cloud, p.id);
    await cloud.clusters.setManaged(c.id, 'Unmanage');
    await expectRejected(cloud, () => cloud.hosts.add({ clusterId: c.id, url: 'sim://h1?ip=192.168.10.11' }), {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'clusterId',
      value: c.id,
    });
  });

  it('the same host cannot be added twice (guid unique), and the refusal leaves it connected', async () => {
    const sim = simulatorDriver();
    const cloud = await openCloud([sim]);
    const { host: h1 } = await zoneWithHost(cloud);
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: h1.clusterId, url: 'sim://h1?ip=192.168.10.11' }),
      invalid('url', 'sim://h1?ip=192.168.10.11'),
    );
    // Not into another cluster either.
    const c2 = await cluster(cloud, h1.podId, 'c2');
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c2.id, url: 'sim://h1?ip=192.168.10.11' }),
      invalid('url', 'sim://h1?ip=192.168.10.11'),
    );
    expect(sim.inspect().hosts[h1.guid]?.connected).toBe(true);
    expect((await cloud.hosts.get(h1.id)).status).toBe('Up');
  });

  it('management IPs are unique cloud-wide', async () => {
    const cloud = await openCloud();
    const { host: h1 } = await zoneWithHost(cloud);
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: h1.clusterId, url: 'sim://h2?ip=192.168.10.11' }),
      invalid('url', 'sim://h2?ip=192.168.10.11'),
    );
  });

  it("a host's management IP lies outside every pod's reserved system range", async () => {
    const cloud = await openCloud();
    const { cluster: c } = await zoneWithHost(cloud);
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://h2?ip=192.168.10.210' }),
      invalid('url', 'sim://h2?ip=192.168.10.210'),
    );
    // A pod of another zone reserves 172.16.0.100-172.16.0.150: management IPs are cloud-wide.
    const z2 = await advancedZone(cloud, { name: 'z2', guestCidr: '10.2.1.0/24' });
    await pod(cloud, z2.id, {
      gateway: '172.16.0.1',
      netmask: '255.255.255.0',
      startIp: '172.16.0.100',
      endIp: '172.16.0.150',
    });
    await expectRejected(
      cloud,
      () => cloud.hosts.add({ clusterId: c.id, url: 'sim://h3?ip=172.16.0.120' }),
      invalid('url', 'sim://h3?ip=172.16.0.120'),
    );
  });

  it('a host is removed only from Maintenance (or after losing its connection)', async () => {
    const cloud = await openCloud();
    const { host: h1 } = await zoneWithHost(cloud);
    const notInMaintenance = {
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'id',
      value: h1.id,
    };
    await expectRejected(cloud, () => cloud.hosts.delete(h1.id), notInMaintenance);
    await cloud.hosts.disable(h1.id);
    await expectRejected(cloud, () => cloud.hosts.delete(h1.id), notInMaintenance);
  });

  it('a host that still holds VMs cannot be removed, even after losing its connection', async () => {
    const cloud = await openCloud();
    const { host: h1 } = await zoneWithHost(cloud);
    const offering = await cloud.offerings.createServiceOffering({
      name: 'Small Instance',
      cpuNumber: 1,
      cpuSpeed: 500,
      memory: 512,
    });
    // A VM placed on the host, written directly (VM deployment belongs to a later layer).
    await cloud.store.db
      .insertInto('vmInstances')
      .values({
        uuid: randomUUID(),
        instanceName: 'i-2-1-VM',
        hostName: 'vm1',
        displayName: 'vm1',
        type: 'User',
        accountId: 2,
        domainId: 1,
        zoneId: h1.zoneId,
        serviceOfferingId: offering.id,
        templateId: null,
        hypervisorType: 'Simulator',
        hostId: h1.id,
        lastHostId: h1.id,
        podIdToDeployIn: h1.podId,
        haEnabled: 0,
        state: 'Running',
        powerState: 'PowerOn',
        details: '{}',
        created: Date.now(),
        removed: null,
      })
      .execute();
    expect((await cloud.hosts.updateStatus(h1.id, 'PingTimeout')).status).toBe('Alert');
    await expectRejected(cloud, () => cloud.hosts.delete(h1.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: h1.id,
    });
  });
});
