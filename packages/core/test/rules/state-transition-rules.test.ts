import { describe, expect, it } from 'vitest';
import { NoTransitionError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, openCloud, zoneWithHost, zoneWithPool } from './rule-fixtures.js';

const noTransition = (from: string) => ({
  error: NoTransitionError,
  code: 'NO_TRANSITION',
  httpCode: 431,
  field: 'state',
  value: from,
});

/** spec/resource-model.md §12 — rows not in a table are illegal, raise NoTransition and change nothing. */
describe('illegal state transitions through the services', () => {
  it('host ResourceState: cancel maintenance on an Enabled host; ask maintenance of a Disabled one', async () => {
    const cloud = await openCloud();
    const { host } = await zoneWithHost(cloud);
    expect(host.resourceState).toBe('Enabled');
    const error = await expectRejected(cloud, () => cloud.hosts.cancelMaintenance(host.id), noTransition('Enabled'));
    expect({ machine: error.machine, event: error.event }).toEqual({
      machine: 'HostResourceState',
      event: 'AdminCancelMaintenance',
    });
    await cloud.hosts.disable(host.id);
    await expectRejected(cloud, () => cloud.hosts.prepareForMaintenance(host.id), noTransition('Disabled'));
  });

  it('host Status: Ready on a host that is already Up', async () => {
    const cloud = await openCloud();
    const { host } = await zoneWithHost(cloud);
    expect(host.status).toBe('Up');
    const error = await expectRejected(cloud, () => cloud.hosts.updateStatus(host.id, 'Ready'), noTransition('Up'));
    expect(error.machine).toBe('HostStatus');
  });

  it('physical network: enable an Enabled one, disable a Disabled one', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const net = await cloud.physicalNetworks.create({ zoneId: zone.id, name: 'pn1' });
    expect(net.state).toBe('Disabled');
    await expectRejected(cloud, () => cloud.physicalNetworks.disable(net.id), noTransition('Disabled'));
    await cloud.physicalNetworks.enable(net.id);
    await expectRejected(cloud, () => cloud.physicalNetworks.enable(net.id), noTransition('Enabled'));
  });

  it('storage pool: enable an Up pool, cancel maintenance that never began', async () => {
    const cloud = await openCloud();
    const { pool } = await zoneWithPool(cloud);
    await expectRejected(cloud, () => cloud.storagePools.enable(pool.id), noTransition('Up'));
    await expectRejected(cloud, () => cloud.storagePools.cancelMaintenance(pool.id), noTransition('Up'));
    await cloud.storagePools.enableMaintenance(pool.id);
    await expectRejected(cloud, () => cloud.storagePools.enableMaintenance(pool.id), noTransition('Maintenance'));
  });

  it('account and user: enable an enabled one', async () => {
    const cloud = await openCloud();
    const { account, user } = await cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'alice' } });
    await expectRejected(cloud, () => cloud.tenancy.setAccountState(account.id, 'Enable'), noTransition('enabled'));
    await expectRejected(cloud, () => cloud.tenancy.setUserState(user.id, 'Enable'), noTransition('enabled'));
    await cloud.tenancy.setAccountState(account.id, 'Lock');
    await expectRejected(cloud, () => cloud.tenancy.setAccountState(account.id, 'Disable'), noTransition('locked'));
  });

  it('cluster managed state: manage a Managed cluster', async () => {
    const cloud = await openCloud();
    const { cluster } = await zoneWithHost(cloud);
    await expectRejected(cloud, () => cloud.clusters.setManaged(cluster.id, 'Manage'), noTransition('Managed'));
  });
});
