import { describe, expect, it } from 'vitest';
import { InvalidParameterError } from '../../src/errors.js';
import type { SettingKey } from '../../src/settings/catalog.js';
import { expectRejected } from './expect-rejected.js';
import { advancedZone, openCloud } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §2.3; issue 2 "Global settings" — typed keys, bounds, scopes. */
describe('settings rules', () => {
  it('only catalogue keys can be set', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.settings.set('no.such.key' as SettingKey, '1'),
      invalid('key', 'no.such.key'),
    );
  });

  it('a value has the key’s type and lies within its bounds (the error names the key)', async () => {
    const cloud = await openCloud();
    // start.retry: an integer count, at least 1.
    await expectRejected(cloud, () => cloud.settings.set('start.retry', 0), invalid('start.retry', 0));
    await expectRejected(cloud, () => cloud.settings.set('start.retry', 'ten'), invalid('start.retry', 'ten'));
    await expectRejected(cloud, () => cloud.settings.set('start.retry', 2.5), invalid('start.retry', 2.5));
    // vm.user.dispersion.weight: a fraction 0..1.
    await expectRejected(
      cloud,
      () => cloud.settings.set('vm.user.dispersion.weight', 1.5),
      invalid('vm.user.dispersion.weight', 1.5),
    );
    expect(await cloud.settings.set('start.retry', 3)).toBe(3);
  });

  it('a value is set only at a scope the key allows', async () => {
    const cloud = await openCloud();
    const zone = await advancedZone(cloud);
    // start.retry is global only.
    await expectRejected(
      cloud,
      () => cloud.settings.set('start.retry', 3, { zoneId: zone.id }),
      invalid('zoneId', zone.id),
    );
    // The over-provisioning factors are global or per cluster, not per account.
    await expectRejected(
      cloud,
      () => cloud.settings.set('cpu.overprovisioning.factor', 2, { accountId: 2 }),
      invalid('accountId', 2),
    );
    // One scope at a time.
    const both = { zoneId: zone.id, accountId: 2 };
    await expectRejected(cloud, () => cloud.settings.set('preferred.storage.pool', '1', both), invalid('target', both));
  });
});
