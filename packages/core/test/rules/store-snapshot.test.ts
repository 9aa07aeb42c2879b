import { describe, expect, it } from 'vitest';
import { advancedZone, openCloud } from './rule-fixtures.js';
import { snapshot } from './store-snapshot.js';

/** The snapshot must see every kind of change, or "store unchanged" would prove nothing. */
describe('store snapshot', () => {
  it('covers the tables of the schema, the seed rows and the migration bookkeeping', async () => {
    const cloud = await openCloud();
    const snap = await snapshot(cloud.store);
    for (const table of [
      'domains',
      'accounts',
      'users',
      'zones',
      'pods',
      'clusters',
      'hosts',
      'storage_pools',
      'image_stores',
      'physical_networks',
      'physical_network_traffic_types',
      'service_offerings',
      'disk_offerings',
      'templates',
      'template_permissions',
      'hypervisor_capabilities',
      'configuration',
      'vm_instances',
      'volumes',
      'events',
      'stratus_migrations',
    ]) {
      expect(snap, table).toHaveProperty(table);
    }
    expect(snap.domains).toHaveLength(1);
    expect(snap.accounts?.map((a) => a.account_name)).toEqual(['system', 'admin']);
  });

  it('is equal when nothing changed and differs after an insert, an update, a delete or an event', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    const before = await snapshot(cloud.store);
    expect(await snapshot(cloud.store)).toEqual(before);

    // An update of one column of one row.
    await cloud.store.db.updateTable('zones').set({ dns2: '8.8.4.4' }).where('id', '=', zone.id).execute();
    const afterUpdate = await snapshot(cloud.store);
    expect(afterUpdate).not.toEqual(before);

    // A row in a table without an id column.
    await cloud.store.db.insertInto('templatePermissions').values({ templateId: 1, accountId: 2 }).execute();
    const afterInsert = await snapshot(cloud.store);
    expect(afterInsert).not.toEqual(afterUpdate);
    expect(afterInsert.template_permissions).toEqual([{ template_id: 1, account_id: 2 }]);

    // A delete.
    await cloud.store.db.deleteFrom('templatePermissions').execute();
    expect(await snapshot(cloud.store)).toEqual(afterUpdate);

    // An event row alone.
    await cloud.zones.update(zone.id, { dns2: '1.1.1.1' });
    const events = (await snapshot(cloud.store)).events ?? [];
    expect(events.length).toBe((afterUpdate.events ?? []).length + 1);
  });
});
