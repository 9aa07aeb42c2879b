import type { CloudContext, ResolvedCaller } from '../context.js';
import { issueCaller } from '../context.js';
import { AccountDisabledError, AuthenticationError, InvalidParameterError, NotFoundError } from '../errors.js';
import { AccountType } from '../model/enums.js';
import { requireInteger, requireString } from '../model/validate.js';
import { accountRepo, verifyPassword } from './tenancy.js';

/**
 * Who a caller is, as an embedding program knows it: a user it already authenticated itself
 * (`userId`), the API key of a signed request, or a login (username, password and the domain path
 * without ROOT, e.g. `Comp1/sales`; blank is ROOT), as CloudStack's `login` takes it.
 */
export type CallerCredential =
  | { userId: number }
  | { apiKey: string }
  | { username: string; password: string; domain?: string };

interface UserRow {
  id: number;
  accountId: number;
  username: string;
  state: string;
}

/**
 * Resolves callers from the store (spec/operations.md §11): the user must exist and be enabled, its
 * account enabled and not a project's; the caller's account type and domain are the account's.
 */
export class CallerResolver {
  constructor(private readonly ctx: CloudContext) {}

  async resolve(credential: CallerCredential): Promise<ResolvedCaller> {
    const user = await this.findUser(credential);
    const account = await accountRepo.get(this.ctx.db, user.accountId, 'accountId');
    if (user.state !== 'enabled') {
      throw new AccountDisabledError(`user ${user.username} is ${user.state}`, { field: 'userId', value: user.id });
    }
    if (account.state !== 'enabled') {
      throw new AccountDisabledError(`account ${account.accountName} is ${account.state}`, {
        field: 'accountId',
        value: account.id,
      });
    }
    if (account.type === AccountType.PROJECT) {
      throw new AccountDisabledError(`account ${account.accountName} is a project's account, which never acts itself`, {
        field: 'accountId',
        value: account.id,
      });
    }
    return issueCaller({
      accountId: account.id,
      userId: user.id,
      domainId: account.domainId,
      accountType: account.type,
    });
  }

  private async findUser(credential: CallerCredential): Promise<UserRow> {
    const users = this.ctx.db
      .selectFrom('users')
      .select(['users.id', 'users.accountId', 'users.username', 'users.state', 'users.passwordHash'])
      .where('users.removed', 'is', null);
    if (typeof credential !== 'object' || credential === null) {
      throw new InvalidParameterError('credential', credential, 'give a userId, an apiKey, or a username and password');
    }
    if ('userId' in credential) {
      const id = requireInteger('userId', credential.userId, { min: 1 });
      const row = await users.where('users.id', '=', id).executeTakeFirst();
      if (!row) throw new NotFoundError('User', 'userId', id);
      return decode(row);
    }
    if ('apiKey' in credential) {
      const apiKey = requireSecret('apiKey', credential.apiKey);
      const row = await users.where('users.apiKey', '=', apiKey).executeTakeFirst();
      // The key itself is a secret: it is never echoed in the error.
      if (!row) throw new AuthenticationError('no user has this API key', { field: 'apiKey' });
      return decode(row);
    }
    if ('username' in credential) {
      const username = requireString('username', credential.username, { max: 255 });
      const password = requireSecret('password', credential.password);
      const trimmed = (credential.domain ?? '').replace(/^\/+|\/+$/g, '');
      const path = trimmed === '' ? '/' : `/${trimmed}/`;
      const row = await users
        .innerJoin('domains', 'domains.id', 'users.domainId')
        .where('domains.path', '=', path)
        .where('domains.removed', 'is', null)
        .where('users.username', '=', username)
        .executeTakeFirst();
      if (!row || !verifyPassword(password, row.passwordHash ?? null)) {
        throw new AuthenticationError('unable to log in: the username, password or domain is not right', {
          field: 'username',
          value: username,
        });
      }
      return decode(row);
    }
    throw new InvalidParameterError(
      'credential',
      Object.keys(credential),
      'give a userId, an apiKey, or a username and password',
    );
  }
}

/** A non-empty string of at most 1024 characters; the error never shows the value. */
function requireSecret(field: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.length > 1024) {
    throw new InvalidParameterError(field, '(hidden)', 'a non-empty string of at most 1024 characters is required');
  }
  return value;
}

function decode(row: { id: unknown; accountId: unknown; username: unknown; state: unknown }): UserRow {
  return {
    id: Number(row.id),
    accountId: Number(row.accountId),
    username: String(row.username),
    state: String(row.state),
  };
}
