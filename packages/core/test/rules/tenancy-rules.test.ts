import { describe, expect, it } from 'vitest';
import { InvalidParameterError, ResourceInUseError } from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { openCloud } from './rule-fixtures.js';

const invalid = (field: string, value: unknown) => ({
  error: InvalidParameterError,
  code: 'INVALID_PARAMETER',
  httpCode: 431,
  field,
  value,
});

/** spec/resource-model.md §11, §13; spec/operations.md §11 — domains, accounts, users. */
describe('tenancy rules', () => {
  it('account names are unique within a domain (not across domains)', async () => {
    const cloud = await openCloud();
    await cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'alice' } });
    await expectRejected(
      cloud,
      () => cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'bob' } }),
      invalid('accountName', 'acme'),
    );
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const other = await cloud.tenancy.createAccount({
      accountName: 'acme',
      domainId: sales.id,
      user: { username: 'bob' },
    });
    expect(other.account.domainId).toBe(sales.id);
  });

  it('usernames are unique within a domain, across its accounts; a refused first user takes its account with it', async () => {
    const cloud = await openCloud();
    const { account } = await cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'alice' } });
    await expectRejected(
      cloud,
      () => cloud.tenancy.createUser(account.id, { username: 'alice' }),
      invalid('username', 'alice'),
    );
    // The account row is written before its first user: the whole creation must roll back.
    await expectRejected(
      cloud,
      () => cloud.tenancy.createAccount({ accountName: 'globex', user: { username: 'alice' } }),
      invalid('username', 'alice'),
    );
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const elsewhere = await cloud.tenancy.createAccount({
      accountName: 'globex',
      domainId: sales.id,
      user: { username: 'alice' },
    });
    expect(elsewhere.user.domainId).toBe(sales.id);
  });

  it('a domain name contains no "/" and is unique among its siblings', async () => {
    const cloud = await openCloud();
    await expectRejected(
      cloud,
      () => cloud.tenancy.createDomain({ name: 'Comp1/sales' }),
      invalid('name', 'Comp1/sales'),
    );
    const comp1 = await cloud.tenancy.createDomain({ name: 'Comp1' });
    await cloud.tenancy.createDomain({ name: 'sales', parentId: comp1.id });
    await expectRejected(
      cloud,
      () => cloud.tenancy.createDomain({ name: 'sales', parentId: comp1.id }),
      invalid('name', 'sales'),
    );
    // A cousin of the same name is fine.
    expect((await cloud.tenancy.createDomain({ name: 'sales' })).path).toBe('/sales/');
  });

  it('the last user of an account cannot be deleted (the account goes instead)', async () => {
    const cloud = await openCloud();
    const { user } = await cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'alice' } });
    await expectRejected(cloud, () => cloud.tenancy.deleteUser(user.id), {
      error: ResourceInUseError,
      code: 'RESOURCE_IN_USE',
      httpCode: 536,
      field: 'id',
      value: user.id,
    });
  });

  it('the ROOT domain cannot be deleted', async () => {
    const cloud = await openCloud();
    await expectRejected(cloud, () => cloud.tenancy.deleteDomain(1), invalid('id', 1));
    await expectRejected(cloud, () => cloud.tenancy.deleteDomain(1, { cleanup: true }), invalid('id', 1));
  });

  it('a domain with accounts or sub-domains is deleted only with cleanup', async () => {
    const cloud = await openCloud();
    const comp1 = await cloud.tenancy.createDomain({ name: 'Comp1' });
    await cloud.tenancy.createAccount({ accountName: 'acme', domainId: comp1.id, user: { username: 'alice' } });
    const inUse = { error: ResourceInUseError, code: 'RESOURCE_IN_USE', httpCode: 536, field: 'id', value: comp1.id };
    await expectRejected(cloud, () => cloud.tenancy.deleteDomain(comp1.id), inUse);
    const comp2 = await cloud.tenancy.createDomain({ name: 'Comp2' });
    await cloud.tenancy.createDomain({ name: 'sales', parentId: comp2.id });
    await expectRejected(cloud, () => cloud.tenancy.deleteDomain(comp2.id), { ...inUse, value: comp2.id });
  });
  it('a domain subtree is matched exactly: deleting /a_/ with cleanup leaves its sibling /ab/ and its account', async () => {
    const cloud = await openCloud();
    const aUnderscore = await cloud.tenancy.createDomain({ name: 'a_' });
    const ab = await cloud.tenancy.createDomain({ name: 'ab' });
    const aPercent = await cloud.tenancy.createDomain({ name: 'a%' });
    const sub = await cloud.tenancy.createDomain({ name: 'x', parentId: aUnderscore.id });
    const { account: abAccount } = await cloud.tenancy.createAccount({
      accountName: 'victim',
      domainId: ab.id,
      user: { username: 'victim' },
    });
    const { user } = await cloud.tenancy.createAccount({
      accountName: 'admin',
      domainId: aUnderscore.id,
      type: 'DOMAIN_ADMIN',
      user: { username: 'admin' },
    });
    const asAdmin = cloud.as(await cloud.resolveCaller({ userId: user.id }));
    // Refused on the sibling directly, and unable to reach it through its own domain's cleanup either.
    await expect(asAdmin.tenancy.deleteDomain(ab.id, { cleanup: true })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    await expect(asAdmin.tenancy.deleteDomain(aUnderscore.id)).rejects.toMatchObject({ code: 'RESOURCE_IN_USE' });
    await cloud.tenancy.deleteDomain(aUnderscore.id, { cleanup: true });
    const left = (await cloud.tenancy.listDomains()).map((d) => d.id);
    expect(left).toContain(ab.id);
    expect(left).toContain(aPercent.id);
    expect(left).not.toContain(aUnderscore.id);
    expect(left).not.toContain(sub.id);
    expect((await cloud.tenancy.getAccount(abAccount.id)).state).toBe('enabled');
  });
});
