import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import type { CloudContext } from '../context.js';
import { InvalidParameterError, InvalidStateError, PermissionDeniedError, ResourceInUseError } from '../errors.js';
import { AccountType, type AccountTypeName } from '../model/enums.js';
import type { ListOptions } from '../model/list-options.js';
import type { Account, Domain, User } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { type AccountEvent, accountStateMachine, userStateMachine } from '../model/state-machines/index.js';
import { optionalString, requireString } from '../model/validate.js';
import { decoder } from '../store/codec.js';
import { newUuid } from '../store/uuid.js';
import { inDomainSubtree, requireAccess, requireAdminOverDomain } from './permissions.js';
import { countLive, Repo } from './repo.js';

/** The id of the ROOT domain, the top of the account tree. */
export const ROOT_DOMAIN_ID = 1;
/** The internal `system` account and user. */
export const SYSTEM_ACCOUNT_ID = 1;

export const domainRepo = new Repo<Domain>('domains', 'Domain', decoder<Domain>({}));
export const accountRepo = new Repo<Account>('accounts', 'Account', decoder<Account>({}), ['accountName']);
const decodeUser = decoder<User & { passwordHash?: string | null; secretKey?: string | null }>({});
/** Users as returned: never the password hash or the secret key. */
export const userRepo = new Repo<User>(
  'users',
  'User',
  (row) => {
    const { passwordHash: _p, secretKey: _s, ...user } = decodeUser(row);
    return user;
  },
  ['username', 'firstName', 'lastName', 'email'],
);

/** A domain to create under a parent domain. */
export interface CreateDomainInput {
  name: string;
  /** Default: ROOT. */
  parentId?: Ref;
  networkDomain?: string;
}

/** A user to add to an account. */
export interface CreateUserInput {
  username: string;
  password?: string;
  firstName?: string;
  lastName?: string;
  email?: string;
  timezone?: string;
}

/** An account to create in a domain, with its first user. */
export interface CreateAccountInput {
  accountName: string;
  type?: AccountTypeName;
  domainId?: Ref;
  networkDomain?: string;
  /** Creating an account creates its first user. */
  user: CreateUserInput;
}

function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, 32);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Whether `password` matches a stored scrypt hash (constant-time comparison). */
export function verifyPassword(password: string, stored: string | null): boolean {
  if (!stored) return false;
  const [kind, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = scryptSync(password, Buffer.from(salt, 'base64'), expected.length);
  return timingSafeEqual(expected, actual);
}

/**
 * Domains, accounts and users (spec/resource-model.md §11, spec/operations.md §11): the domain
 * tree under ROOT, accounts unique per domain, users unique per domain, API keys unique
 * cloud-wide, passwords stored as scrypt hashes.
 */
export class TenancyService {
  constructor(private readonly ctx: CloudContext) {}

  // ---- domains ----

  async getDomain(id: Ref): Promise<Domain> {
    id = await domainRepo.resolve(this.ctx.db, id);
    return domainRepo.get(this.ctx.db, id);
  }

  /** Domains by id, children of `parentId`, a page of them with `page`/`pageSize`, matching `keyword` by name. */
  listDomains(filter: { parentId?: Ref } & ListOptions = {}): Promise<Domain[]> {
    return domainRepo.listFor(this.ctx, filter, { parentId: domainRepo });
  }

  createDomain(input: CreateDomainInput): Promise<Domain> {
    return this.ctx.write(async (w) => {
      const name = requireString('name', input.name, { max: 255 });
      if (name.includes('/')) throw new InvalidParameterError('name', name, 'a domain name cannot contain "/"');
      const parent = await domainRepo.get(w.db, input.parentId ?? ROOT_DOMAIN_ID, 'parentId');
      await requireAdminOverDomain(w.db, w.caller, parent.id, 'create a domain');
      const path = `${parent.path}${name}/`;
      if ((await domainRepo.count(w.db, { path })) > 0) {
        throw new InvalidParameterError('name', name, `a domain with this name already exists under ${parent.path}`);
      }
      const row = await w.db
        .insertInto('domains')
        .values({
          uuid: newUuid(),
          name,
          parentId: parent.id,
          path,
          level: parent.level + 1,
          networkDomain: optionalString('networkDomain', input.networkDomain),
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const domain = domainRepo.decode(row);
      await w.event({
        type: 'DOMAIN.CREATE',
        description: `domain ${path} created`,
        resourceType: 'Domain',
        resourceId: domain.id,
        resourceUuid: domain.uuid,
        domainId: domain.id,
      });
      return domain;
    });
  }

  /**
   * Deletes a domain. Without `cleanup` it must hold no accounts and no sub-domains; with
   * `cleanup` its sub-domains, accounts and users go too, provided none of those accounts still
   * owns VMs, volumes or templates.
   */
  async deleteDomain(id: Ref, options: { cleanup?: boolean } = {}): Promise<void> {
    id = await domainRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      if (id === ROOT_DOMAIN_ID) throw new InvalidParameterError('id', id, 'the ROOT domain cannot be deleted');
      const domain = await domainRepo.get(w.db, id);
      await requireAdminOverDomain(w.db, w.caller, domain.id, 'delete a domain');
      const subtree = await w.db
        .selectFrom('domains')
        .select(['id', 'path'])
        .where(inDomainSubtree('path', domain.path))
        .where('removed', 'is', null)
        .execute();
      const ids = subtree.map((d) => Number(d.id));
      const accounts = await w.db
        .selectFrom('accounts')
        .select(['id'])
        .where('domainId', 'in', ids)
        .where('removed', 'is', null)
        .execute();
      if (!options.cleanup && (ids.length > 1 || accounts.length > 0)) {
        throw new ResourceInUseError(
          `domain ${domain.path} still has ${ids.length - 1} sub-domain(s) and ${accounts.length} account(s); pass cleanup to remove them`,
          {
            field: 'id',
            value: id,
          },
        );
      }
      const dedicated = await w.db
        .selectFrom('dedicatedResources')
        .select('id')
        .where('domainId', 'in', ids)
        .where('removed', 'is', null)
        .execute();
      if (dedicated.length > 0)
        throw new ResourceInUseError(
          `domain ${domain.path} still holds ${dedicated.length} dedicated resource(s); release them first`,
          { field: 'id', value: id },
        );
      for (const account of accounts) await this.removeAccount(w, Number(account.id));
      await w.db
        .updateTable('affinityGroups')
        .set({ removed: w.now })
        .where('domainId', 'in', ids)
        .where('removed', 'is', null)
        .execute();
      await w.db.updateTable('domains').set({ removed: w.now }).where('id', 'in', ids).execute();
      await w.event({
        type: 'DOMAIN.DELETE',
        description: `domain ${domain.path} deleted`,
        resourceType: 'Domain',
        resourceId: domain.id,
        resourceUuid: domain.uuid,
        domainId: domain.id,
      });
    });
  }

  // ---- accounts ----

  async getAccount(id: Ref): Promise<Account> {
    id = await accountRepo.resolve(this.ctx.db, id);
    return accountRepo.get(this.ctx.db, id);
  }

  /** Accounts by id, filtered, a page of them with `page`/`pageSize`, matching `keyword` by account name. */
  listAccounts(filter: { domainId?: Ref; state?: string } & ListOptions = {}): Promise<Account[]> {
    return accountRepo.listFor(this.ctx, filter, { domainId: domainRepo });
  }

  /** Creates an account and its first user. */
  createAccount(input: CreateAccountInput): Promise<{ account: Account; user: User }> {
    return this.ctx.write(async (w) => {
      const accountName = requireString('accountName', input.accountName, { max: 255 });
      const typeName = input.type ?? 'NORMAL';
      if (!(typeName in AccountType) || typeName === 'PROJECT') {
        throw new InvalidParameterError(
          'type',
          input.type,
          'must be NORMAL, ADMIN, DOMAIN_ADMIN, RESOURCE_DOMAIN_ADMIN or READ_ONLY_ADMIN',
        );
      }
      const domain = await domainRepo.get(w.db, input.domainId ?? ROOT_DOMAIN_ID, 'domainId');
      await requireAdminOverDomain(w.db, w.caller, domain.id, 'create an account');
      if (typeName === 'ADMIN' && w.caller.accountType !== AccountType.ADMIN) {
        throw new PermissionDeniedError('only a root admin may create root admin accounts');
      }
      if ((await accountRepo.count(w.db, { domainId: domain.id, accountName })) > 0) {
        throw new InvalidParameterError(
          'accountName',
          accountName,
          `an account with this name already exists in domain ${domain.path}`,
        );
      }
      if (!input.user) throw new InvalidParameterError('user', input.user, 'an account is created with its first user');
      const row = await w.db
        .insertInto('accounts')
        .values({
          uuid: newUuid(),
          accountName,
          type: AccountType[typeName as AccountTypeName],
          domainId: domain.id,
          state: 'enabled',
          networkDomain: optionalString('networkDomain', input.networkDomain),
          created: w.now,
          removed: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const account = accountRepo.decode(row);
      await w.event({
        type: 'ACCOUNT.CREATE',
        description: `account ${accountName} created in ${domain.path}`,
        resourceType: 'Account',
        resourceId: account.id,
        resourceUuid: account.uuid,
        accountId: account.id,
        domainId: domain.id,
      });
      const user = await this.insertUser(w, account, input.user);
      return { account, user };
    });
  }

  /** enable / disable / lock an account (disabled or locked accounts fail authentication). */
  async setAccountState(id: Ref, event: AccountEvent): Promise<Account> {
    id = await accountRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const account = await accountRepo.get(w.db, id);
      if (account.id <= 2)
        throw new InvalidParameterError('id', id, 'the system and root admin accounts cannot be disabled or locked');
      await requireAdminOverDomain(w.db, w.caller, account.domainId, 'change an account');
      await w.transition({
        table: 'accounts',
        id,
        machine: accountStateMachine,
        event,
        expect: { state: account.state, version: account.updatedCount },
        resource: { type: 'Account', uuid: account.uuid, accountId: account.id, domainId: account.domainId },
        eventPrefix: 'ACCOUNT',
      });
      return accountRepo.get(w.db, id);
    });
  }

  /** Deletes an account and its users; the account must own no VMs, volumes or templates. */
  async deleteAccount(id: Ref): Promise<void> {
    id = await accountRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const account = await accountRepo.get(w.db, id);
      await requireAdminOverDomain(w.db, w.caller, account.domainId, 'delete an account');
      await this.removeAccount(w, id);
    });
  }

  private async removeAccount(w: Parameters<Parameters<CloudContext['write']>[0]>[0], id: number): Promise<void> {
    const account = await accountRepo.get(w.db, id);
    if (account.id <= 2)
      throw new InvalidParameterError('id', id, 'the system and root admin accounts cannot be deleted');
    for (const table of ['vmInstances', 'volumes', 'templates'] as const) {
      const n = await countLive(w.db, table, { accountId: id });
      if (n > 0) {
        throw new ResourceInUseError(`account ${account.accountName} still owns ${n} ${table}; remove them first`, {
          field: 'id',
          value: id,
        });
      }
    }
    const dedicated = await w.db
      .selectFrom('dedicatedResources')
      .select('id')
      .where('accountId', '=', id)
      .where('removed', 'is', null)
      .execute();
    if (dedicated.length > 0)
      throw new ResourceInUseError(
        `account ${account.accountName} still holds ${dedicated.length} dedicated resource(s); release them first`,
        { field: 'id', value: id },
      );
    await w.db
      .updateTable('users')
      .set({ removed: w.now })
      .where('accountId', '=', id)
      .where('removed', 'is', null)
      .execute();
    // Its affinity groups go with it (their VMs are gone already).
    await w.db
      .updateTable('affinityGroups')
      .set({ removed: w.now })
      .where('accountId', '=', id)
      .where('removed', 'is', null)
      .execute();
    await accountRepo.markRemoved(w.db, id, w.now);
    await w.event({
      type: 'ACCOUNT.DELETE',
      description: `account ${account.accountName} deleted`,
      resourceType: 'Account',
      resourceId: id,
      resourceUuid: account.uuid,
      accountId: id,
      domainId: account.domainId,
    });
  }

  // ---- users ----

  async getUser(id: Ref): Promise<User> {
    id = await userRepo.resolve(this.ctx.db, id);
    return userRepo.get(this.ctx.db, id);
  }

  /** Users by id, filtered, a page of them with `page`/`pageSize`, matching `keyword` by user name. */
  listUsers(filter: { accountId?: Ref; domainId?: Ref } & ListOptions = {}): Promise<User[]> {
    return userRepo.listFor(this.ctx, filter, { accountId: accountRepo, domainId: domainRepo });
  }

  async createUser(accountId: Ref, input: CreateUserInput): Promise<User> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    return this.ctx.write(async (w) => {
      const account = await accountRepo.get(w.db, accountId, 'accountId');
      await requireAccess(w.db, w.caller, { accountId: account.id, domainId: account.domainId }, 'create a user');
      return this.insertUser(w, account, input);
    });
  }

  private async insertUser(
    w: Parameters<Parameters<CloudContext['write']>[0]>[0],
    account: Account,
    input: CreateUserInput,
  ): Promise<User> {
    const username = requireString('username', input.username, { max: 255 });
    if ((await userRepo.count(w.db, { domainId: account.domainId, username })) > 0) {
      throw new InvalidParameterError(
        'username',
        username,
        `a user with this name already exists in domain ${account.domainId}`,
      );
    }
    const password = input.password === undefined ? null : requireString('password', input.password);
    const row = await w.db
      .insertInto('users')
      .values({
        uuid: newUuid(),
        username,
        passwordHash: password === null ? null : hashPassword(password),
        firstName: optionalString('firstName', input.firstName),
        lastName: optionalString('lastName', input.lastName),
        email: optionalString('email', input.email),
        timezone: optionalString('timezone', input.timezone),
        apiKey: null,
        secretKey: null,
        accountId: account.id,
        domainId: account.domainId,
        state: 'enabled',
        created: w.now,
        removed: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const user = userRepo.decode(row);
    await w.event({
      type: 'USER.CREATE',
      description: `user ${username} created in account ${account.accountName}`,
      resourceType: 'User',
      resourceId: user.id,
      resourceUuid: user.uuid,
      accountId: account.id,
      domainId: account.domainId,
    });
    return user;
  }

  /** Generates a new API key and secret key for a user (the old ones stop working). */
  async registerUserKeys(userId: Ref): Promise<{ apiKey: string; secretKey: string }> {
    userId = await userRepo.resolve(this.ctx.db, userId, 'userId');
    return this.ctx.write(async (w) => {
      const user = await userRepo.get(w.db, userId, 'userId');
      await requireAccess(w.db, w.caller, user, 'register keys');
      const apiKey = randomBytes(48).toString('base64url');
      const secretKey = randomBytes(48).toString('base64url');
      await w.db.updateTable('users').set({ apiKey, secretKey }).where('id', '=', userId).execute();
      await w.event({
        type: 'USER.UPDATE',
        description: `API keys registered for user ${user.username}`,
        resourceType: 'User',
        resourceId: user.id,
        resourceUuid: user.uuid,
        accountId: user.accountId,
        domainId: user.domainId,
      });
      return { apiKey, secretKey };
    });
  }

  /** The user and secret key behind an API key, for request signing; disabled users or accounts fail. */
  async findByApiKey(apiKey: string): Promise<{ user: User; secretKey: string } | undefined> {
    const row = await this.ctx.db
      .selectFrom('users')
      .selectAll()
      .where('apiKey', '=', apiKey)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row?.secretKey) return undefined;
    const user = userRepo.decode(row);
    if (!(await this.isActive(user))) return undefined;
    return { user, secretKey: row.secretKey };
  }

  /**
   * Local password authentication. `domainPath` is the login path without ROOT (e.g.
   * `Comp1/sales`); blank means ROOT. Disabled or locked users and accounts fail.
   */
  async authenticate(username: string, password: string, domainPath = ''): Promise<User | undefined> {
    const trimmed = domainPath.replace(/^\/+|\/+$/g, '');
    const path = trimmed === '' ? '/' : `/${trimmed}/`;
    const domain = await this.ctx.db
      .selectFrom('domains')
      .select('id')
      .where('path', '=', path)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!domain) return undefined;
    const row = await this.ctx.db
      .selectFrom('users')
      .selectAll()
      .where('domainId', '=', Number(domain.id))
      .where('username', '=', username)
      .where('removed', 'is', null)
      .executeTakeFirst();
    if (!row || !verifyPassword(password, row.passwordHash)) return undefined;
    const user = userRepo.decode(row);
    return (await this.isActive(user)) ? user : undefined;
  }

  private async isActive(user: User): Promise<boolean> {
    if (user.state !== 'enabled') return false;
    const account = await accountRepo.find(this.ctx.db, user.accountId);
    return account?.state === 'enabled';
  }

  async setUserState(id: Ref, event: AccountEvent): Promise<User> {
    id = await userRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const user = await userRepo.get(w.db, id);
      await requireAdminOverDomain(w.db, w.caller, user.domainId, 'change a user');
      if (user.id <= 2 && event !== 'Enable')
        throw new InvalidStateError('the system and admin users cannot be disabled', { field: 'id', value: id });
      await w.transition({
        table: 'users',
        id,
        machine: userStateMachine,
        event,
        expect: { state: user.state, version: user.updatedCount },
        resource: { type: 'User', uuid: user.uuid, accountId: user.accountId, domainId: user.domainId },
        eventPrefix: 'USER',
      });
      return userRepo.get(w.db, id);
    });
  }

  async deleteUser(id: Ref): Promise<void> {
    id = await userRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const user = await userRepo.get(w.db, id);
      await requireAdminOverDomain(w.db, w.caller, user.domainId, 'delete a user');
      const siblings = await userRepo.count(w.db, { accountId: user.accountId });
      if (siblings <= 1)
        throw new ResourceInUseError(
          `user ${user.username} is the last user of its account; delete the account instead`,
          { field: 'id', value: id },
        );
      await userRepo.markRemoved(w.db, id, w.now);
      await w.event({
        type: 'USER.DELETE',
        description: `user ${user.username} deleted`,
        resourceType: 'User',
        resourceId: id,
        resourceUuid: user.uuid,
        accountId: user.accountId,
        domainId: user.domainId,
      });
    });
  }
}
