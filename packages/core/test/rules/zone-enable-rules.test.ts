import { afterEach, describe, expect, it } from 'vitest';
import type { Cloud } from '../../src/cloud.js';
import { InvalidParameterError, InvalidStateError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, cluster, openCloud, pod } from './rule-fixtures.js';

/** A zone is enabled only once it can run system VMs (spec/resource-model.md §5, Pitfall 7). */
describe('zone enablement', () => {
  let cloud: Cloud;
  afterEach(async () => cloud?.close());

  const rejected = () =>
    ({
      error: InvalidStateError,
      code: 'INVALID_STATE',
      httpCode: 431,
      field: 'allocationState',
      value: 'Enabled',
    }) as const;

  it('refuses a zone created Enabled: it has nothing yet', async () => {
    cloud = await openCloud();
    await expectRejected(cloud, () => advancedZone(cloud, { allocationState: 'Enabled' }), rejected());
  });

  it('refuses a zone without a physical network, then without secondary storage, then without a system-VM template', async () => {
    cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const p = await pod(cloud, zone.id);
    await cluster(cloud, p.id);
    const enable = () => cloud.zones.update(zone.id, { allocationState: 'Enabled' });

    let error = await expectRejected(cloud, enable, rejected());
    expect(error.message).toMatch(/no physical network/);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn', vlan: '100-199' });

    error = await expectRejected(cloud, enable, rejected());
    expect(error.message).toMatch(/no secondary storage/);
    await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.6/secondary' });

    error = await expectRejected(cloud, enable, rejected());
    expect(error.message).toMatch(/no Simulator system-VM template/);
    await cloud.templates.register({
      name: 'systemvm',
      url: 'http://example.org/systemvm.qcow2',
      format: 'QCOW2',
      hypervisorType: 'Simulator',
      crossZones: true,
      templateType: 'SYSTEM',
    });

    // Then the network layer's readiness (traffic types, labels, VLANs, a public range) decides.
    const network = await expectRejected(cloud, enable, {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'trafficType',
      value: 'Guest',
    });
    expect(network.message).toMatch(/Guest traffic/);
  });

  it('runs the checks higher layers register, after its own', async () => {
    cloud = await openCloud();
    const zone = await advancedZone(cloud);
    await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn' });
    await cloud.imageStores.add({ zoneId: zone.id, url: 'nfs://10.0.0.6/secondary' });
    const seen: string[] = [];
    cloud.context.hooks.onZoneEnable(async (_w, z) => {
      seen.push(z.name);
    });
    await expect(cloud.zones.update(zone.id, { allocationState: 'Enabled' })).rejects.toThrow(InvalidParameterError);
    // The network layer's check (registered first) refused; later hooks did not run, nothing changed.
    expect(seen).toEqual([]);
    expect((await cloud.zones.get(zone.id)).allocationState).toBe('Disabled');
  });
});
