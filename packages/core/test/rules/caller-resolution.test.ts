import { describe, expect, it } from 'vitest';
import { ROOT_ADMIN } from '../../src/context.js';
import {
  AccountDisabledError,
  AuthenticationError,
  InvalidParameterError,
  NotFoundError,
  PermissionDeniedError,
} from '../../src/errors.js';
import { expectRejected } from './expect-rejected.js';
import { openCloud } from './rule-fixtures.js';

/** spec/operations.md §11: a caller is who the store says it is, never who the request claims to be. */
describe('callers resolved from the store', () => {
  it('resolves a user by id, by API key and by login (username, password, domain path without ROOT)', async () => {
    const cloud = await openCloud();
    const sales = await cloud.tenancy.createDomain({ name: 'sales' });
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: 'acme',
      domainId: sales.id,
      type: 'DOMAIN_ADMIN',
      user: { username: 'alice', password: 'correct horse' },
    });
    const expected = { accountId: account.id, userId: user.id, domainId: sales.id, accountType: 2 };
    expect({ ...(await cloud.resolveCaller({ userId: user.id })) }).toEqual(expected);
    expect({
      ...(await cloud.resolveCaller({ username: 'alice', password: 'correct horse', domain: 'sales' })),
    }).toEqual(expected);
    const { apiKey } = await cloud.tenancy.registerUserKeys(user.id);
    const caller = await cloud.resolveCaller({ apiKey });
    expect({ ...caller }).toEqual(expected);
    // The resolved caller acts with its account's rights: a domain admin of /sales/ may not create a domain at ROOT.
    await expect(cloud.as(caller).tenancy.createDomain({ name: 'other' })).rejects.toBeInstanceOf(
      PermissionDeniedError,
    );
    expect((await cloud.as(caller).tenancy.createDomain({ name: 'east', parentId: sales.id })).path).toBe(
      '/sales/east/',
    );
  });

  it('refuses unknown credentials without saying which part was wrong, and never echoes a secret', async () => {
    const cloud = await openCloud();
    await cloud.tenancy.createAccount({ accountName: 'acme', user: { username: 'alice', password: 'correct horse' } });
    const wrong = await expectRejected(
      cloud,
      () => cloud.resolveCaller({ username: 'alice', password: 'battery staple' }),
      { error: AuthenticationError, code: 'AUTHENTICATION_FAILED', httpCode: 401, field: 'username', value: 'alice' },
    );
    expect(wrong.message).not.toContain('battery staple');
    await expectRejected(
      cloud,
      () => cloud.resolveCaller({ username: 'alice', password: 'correct horse', domain: 'x' }),
      {
        error: AuthenticationError,
        code: 'AUTHENTICATION_FAILED',
        httpCode: 401,
        field: 'username',
        value: 'alice',
      },
    );
    const badKey = await expectRejected(cloud, () => cloud.resolveCaller({ apiKey: 'not-a-key-of-anyone' }), {
      error: AuthenticationError,
      code: 'AUTHENTICATION_FAILED',
      httpCode: 401,
      field: 'apiKey',
      value: undefined,
    });
    expect(badKey.message).not.toContain('not-a-key-of-anyone');
    const long = 'p'.repeat(2000);
    const tooLong = await expectRejected(cloud, () => cloud.resolveCaller({ username: 'alice', password: long }), {
      error: InvalidParameterError,
      code: 'INVALID_PARAMETER',
      httpCode: 431,
      field: 'password',
      value: '(hidden)',
    });
    expect(tooLong.message).not.toContain(long);
    await expectRejected(cloud, () => cloud.resolveCaller({ userId: 999 }), {
      error: NotFoundError,
      code: 'NOT_FOUND',
      httpCode: 431,
      field: 'userId',
      value: 999,
    });
  });

  it('refuses a disabled or locked user, a disabled account, and a login that used to work', async () => {
    const cloud = await openCloud();
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: 'acme',
      user: { username: 'alice', password: 'correct horse' },
    });
    const login = { username: 'alice', password: 'correct horse' };
    await cloud.resolveCaller(login);
    await cloud.tenancy.setAccountState(account.id, 'Disable');
    await expectRejected(cloud, () => cloud.resolveCaller(login), {
      error: AccountDisabledError,
      code: 'ACCOUNT_DISABLED',
      httpCode: 531,
      field: 'accountId',
      value: account.id,
    });
    await cloud.tenancy.setAccountState(account.id, 'Enable');
    await cloud.tenancy.setUserState(user.id, 'Lock');
    await expectRejected(cloud, () => cloud.resolveCaller({ userId: user.id }), {
      error: AccountDisabledError,
      code: 'ACCOUNT_DISABLED',
      httpCode: 531,
      field: 'userId',
      value: user.id,
    });
  });

  it('cloud.as takes only a resolved caller: a caller made up by hand (here: root admin rights for a disabled account) is refused', async () => {
    const cloud = await openCloud();
    const { account, user } = await cloud.tenancy.createAccount({
      accountName: 'acme',
      user: { username: 'alice', password: 'correct horse' },
    });
    await cloud.tenancy.setAccountState(account.id, 'Disable');
    const forged = { accountId: account.id, userId: user.id, domainId: account.domainId, accountType: 1 };
    for (const attempt of [
      () => cloud.as(forged as never),
      // A copy of a resolved caller is not one either (callers are issued by identity, and frozen).
      () => cloud.as({ ...ROOT_ADMIN } as never),
    ]) {
      expect(attempt).toThrow(InvalidParameterError);
    }
    expect(() => {
      (ROOT_ADMIN as { accountType: number }).accountType = 0;
    }).toThrow(TypeError);
    expect(cloud.as(ROOT_ADMIN)).toBeDefined();
  });
});
