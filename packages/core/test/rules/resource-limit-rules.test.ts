import { afterEach, describe, expect, it } from 'vitest';
import type { Cloud } from '../../src/cloud.js';
import { ResourceLimitError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { openCloud } from './rule-fixtures.js';

/** Resource limits (spec/operations.md §12.2), exercised through template registration. */
describe('resource limits', () => {
  let cloud: Cloud;
  afterEach(async () => cloud?.close());

  const register = (c: Cloud, name: string) =>
    c.templates.register({
      name,
      url: `http://example.org/${name}.qcow2`,
      format: 'QCOW2',
      hypervisorType: 'KVM',
      crossZones: true,
    });

  async function tenant(parentId: number, name: string) {
    const domain = await cloud.tenancy.createDomain({ name, parentId });
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: name,
      domainId: domain.id,
      user: { username: `${name}-u` },
    });
    return {
      domain,
      account,
      as: cloud.as(await cloud.resolveCaller({ userId: user.id })),
    };
  }

  it('applies the account limit, explicit before the global default, -1 unlimited; root admins exempt', async () => {
    cloud = await openCloud();
    const a = await tenant(1, 'a');
    await cloud.settings.set('max.account.templates', 1);
    await register(a.as, 't1');
    await expectRejected(cloud, () => register(a.as, 't2'), {
      error: ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'accountId',
      value: a.account.id,
    });
    await cloud.limits.set({ type: 'template', accountId: a.account.id, max: -1 });
    await register(a.as, 't2');
    await cloud.settings.set('max.account.templates', 0);
    await register(cloud, 'admin-owned'); // root admin: exempt
    expect((await cloud.limits.accountLimits(a.account.id)).template).toBe(-1);
  });

  it('checks the domain and every ancestor below ROOT against their whole subtree; lowering blocks only new ones', async () => {
    cloud = await openCloud();
    const parent = await cloud.tenancy.createDomain({ name: 'corp' });
    const sales = await tenant(parent.id, 'sales');
    const eng = await tenant(parent.id, 'eng');
    await cloud.limits.set({ type: 'template', domainId: parent.id, max: 2 });
    await register(sales.as, 's1');
    await register(eng.as, 'e1');
    // corp's subtree holds 2 of 2: a third from either child domain is refused at corp.
    const error = await expectRejected(cloud, () => register(eng.as, 'e2'), {
      error: ResourceLimitError,
      code: 'ACCOUNT_RESOURCE_LIMIT',
      httpCode: 532,
      field: 'domainId',
      value: parent.id,
    });
    expect(error.message).toMatch(/domain \/corp\//);
    // A child domain inherits the nearest ancestor's explicit limit.
    expect(await cloud.limits.count({ domainId: parent.id }, 'template')).toBe(2);
    await cloud.limits.set({ type: 'template', domainId: parent.id, max: 1 });
    expect((await cloud.templates.list({ filter: 'all' })).length).toBeGreaterThanOrEqual(2); // nothing deleted
    await cloud.limits.set({ type: 'template', domainId: parent.id, max: null });
    await register(eng.as, 'e2');
  });
});
