import { sql } from 'kysely';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, NotFoundError, ResourceLimitError } from '../errors.js';
import { AccountType } from '../model/enums.js';
import type { Ref } from '../model/ref.js';
import { GiB } from '../model/units.js';
import { requireInteger, requireOneOf } from '../model/validate.js';
import type { SettingKey } from '../settings/catalog.js';
import { SettingsService } from '../settings/settings-service.js';
import { statement } from '../store/statement.js';
import { runStatement } from '../store/statement-cache.js';
import type { Db } from '../store/store.js';
import { inDomainSubtree, requireAdminOverDomain } from './permissions.js';
import { accountRepo, domainRepo, ROOT_DOMAIN_ID } from './tenancy.js';

/** CloudStack's resource types (spec/operations.md §12.1), in their ordinal order. */
export const RESOURCE_TYPES = [
  'user_vm',
  'public_ip',
  'volume',
  'snapshot',
  'template',
  'project',
  'network',
  'vpc',
  'cpu',
  'memory',
  'primary_storage',
  'secondary_storage',
] as const;
/** One of {@link RESOURCE_TYPES}. */
export type LimitedResource = (typeof RESOURCE_TYPES)[number];

/** The global default of each type's per-account limit. */
const DEFAULT_KEYS: Record<LimitedResource, SettingKey | null> = {
  user_vm: 'max.account.user.vms',
  public_ip: 'max.account.public.ips',
  volume: 'max.account.volumes',
  snapshot: 'max.account.snapshots',
  template: 'max.account.templates',
  project: null,
  network: 'max.account.networks',
  vpc: 'max.account.vpcs',
  cpu: 'max.account.cpus',
  memory: 'max.account.memory',
  primary_storage: 'max.account.primary.storage',
  secondary_storage: 'max.account.secondary.storage',
};

/** Storage limits are set in GiB and counted in bytes. */
const GIB_TYPES: ReadonlySet<LimitedResource> = new Set(['primary_storage', 'secondary_storage']);

const LIVE_VM = ['Starting', 'Running', 'Stopping', 'Migrating', 'Stopped', 'Error'];
const DEAD_VOLUME = ['Destroy', 'Expunging', 'Expunged'];

/** The limit of one resource type for an account or a domain (`-1`: unlimited). */
export interface ResourceLimit {
  type: LimitedResource;
  ownerType: 'account' | 'domain';
  ownerId: number;
  /** -1 = unlimited. Storage types in GiB. */
  max: number;
}

/**
 * Resource limits (spec/operations.md §12): per account (explicit, else the global `max.account.*`
 * default) and per domain (explicit, else the nearest ancestor's, ROOT unlimited). A request must
 * pass its account and its domain and every ancestor below ROOT, where a domain's count is its
 * whole subtree's. -1 is unlimited everywhere; root admins are exempt; lowering a limit below the
 * count deletes nothing, it only blocks new allocations. Counts are taken from the live records,
 * under a lock per account and per domain so two requests never both take the last unit.
 */
export class ResourceLimitService {
  private readonly settings: SettingsService;

  constructor(private readonly ctx: CloudContext) {
    this.settings = new SettingsService(ctx);
  }

  /** Sets (or, with `max: null`, removes) an explicit limit on an account or a domain. */
  set(input: {
    type: LimitedResource;
    accountId?: Ref;
    domainId?: Ref;
    max: number | null;
  }): Promise<ResourceLimit | null> {
    return this.ctx.write(async (w) => {
      const type = requireOneOf('type', input.type, RESOURCE_TYPES);
      if ((input.accountId === undefined) === (input.domainId === undefined)) {
        throw new InvalidParameterError('accountId', input.accountId, 'name exactly one of accountId and domainId');
      }
      const ownerType = input.accountId !== undefined ? 'account' : 'domain';
      let ownerId: number;
      let domainId: number;
      if (input.accountId !== undefined) {
        const account = await accountRepo.get(w.db, input.accountId, 'accountId');
        ownerId = account.id;
        domainId = account.domainId;
      } else {
        const domain = await domainRepo.get(w.db, input.domainId!, 'domainId');
        if (domain.id === ROOT_DOMAIN_ID)
          throw new InvalidParameterError('domainId', domain.id, 'the ROOT domain is always unlimited');
        ownerId = domain.id;
        domainId = domain.parentId ?? ROOT_DOMAIN_ID;
      }
      await requireAdminOverDomain(w.db, w.caller, domainId, 'change resource limits');
      limitsByTransaction.delete(w.db);
      await w.db
        .deleteFrom('resourceLimits')
        .where('type', '=', type)
        .where('ownerType', '=', ownerType)
        .where('ownerId', '=', ownerId)
        .execute();
      let result: ResourceLimit | null = null;
      if (input.max !== null) {
        const max = requireInteger('max', input.max, { min: -1 });
        await w.db.insertInto('resourceLimits').values({ type, ownerType, ownerId, max }).execute();
        result = { type, ownerType, ownerId, max };
      }
      await w.event({
        type: 'RESOURCE.LIMIT.UPDATE',
        description: `${type} limit of ${ownerType} ${ownerId} ${input.max === null ? 'removed' : `set to ${input.max}`}`,
        resourceType: ownerType === 'account' ? 'Account' : 'Domain',
        resourceId: ownerId,
        parameters: { type, max: input.max },
      });
      return result;
    });
  }

  /** The effective limit of every type for an account (-1 = unlimited). */
  async accountLimits(accountId: Ref): Promise<Record<LimitedResource, number>> {
    accountId = await accountRepo.resolve(this.ctx.db, accountId, 'accountId');
    const out = {} as Record<LimitedResource, number>;
    for (const type of RESOURCE_TYPES) out[type] = await accountLimit(this.ctx.db, this.settings, accountId, type);
    return out;
  }

  /** How much of `type` the account (or, with `domainId`, the domain's subtree) uses; storage in bytes. */
  count(
    owner: { accountId: number } | { domainId: number },
    type: LimitedResource,
    db: Db = this.ctx.db,
  ): Promise<number> {
    return countUsage(db, owner, type);
  }

  /**
   * Checks that `accountId` may take `adds` more (bytes for storage types); throws
   * ResourceLimitError (532) naming the account or domain whose limit would be passed. Run it in
   * the transaction that creates the resource.
   */
  check(w: Writer, accountId: number, adds: Partial<Record<LimitedResource, number>>): Promise<void> {
    return checkResourceLimits(w, this.settings, accountId, adds);
  }
}

const toUnits = (type: LimitedResource, limit: number): number => (GIB_TYPES.has(type) ? limit * GiB : limit);

/** Usage of one type by an account or a domain subtree, from the live records. */
async function countUsage(
  db: Db,
  owner: { accountId: number } | { domainId: number },
  type: LimitedResource,
): Promise<number> {
  let accounts: number[];
  if ('accountId' in owner) accounts = [owner.accountId];
  else {
    const domain = await domainRepo.get(db, owner.domainId);
    const rows = await db
      .selectFrom('accounts')
      .innerJoin('domains', 'domains.id', 'accounts.domainId')
      .select('accounts.id')
      .where(inDomainSubtree('domains.path', domain.path))
      .where('accounts.removed', 'is', null)
      .execute();
    accounts = rows.map((r) => Number(r.id));
  }
  if (accounts.length === 0) return 0;
  const one = async (q: { executeTakeFirst(): Promise<unknown> }) =>
    Number(((await q.executeTakeFirst()) as { n: unknown } | undefined)?.n ?? 0);
  switch (type) {
    case 'user_vm':
    case 'cpu':
    case 'memory': {
      const row = await vmUsage(db, accounts).executeTakeFirst();
      return Number((type === 'user_vm' ? row?.n : type === 'cpu' ? row?.cpu : row?.memory) ?? 0);
    }
    case 'volume':
    case 'primary_storage': {
      const row = await volumeUsage(db, accounts).executeTakeFirst();
      return Number((type === 'volume' ? row?.n : row?.bytes) ?? 0);
    }
    case 'snapshot':
      return one(
        db
          .selectFrom('snapshots')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('accountId', 'in', accounts)
          .where('removed', 'is', null)
          .where('state', 'not in', ['Destroying', 'Destroyed', 'Error']),
      );
    case 'template':
      return one(
        db
          .selectFrom('templates')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('accountId', 'in', accounts)
          .where('removed', 'is', null),
      );
    case 'network':
      return one(
        db
          .selectFrom('networks')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('accountId', 'in', accounts)
          .where('removed', 'is', null)
          .where('guestType', '=', 'Isolated'),
      );
    case 'vpc':
      return one(
        db
          .selectFrom('vpcs')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('accountId', 'in', accounts)
          .where('removed', 'is', null),
      );
    case 'public_ip':
      return one(
        db
          .selectFrom('ipAllocations')
          .innerJoin('ipRanges', 'ipRanges.id', 'ipAllocations.poolId')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('ipAllocations.space', '=', 'public')
          .where('ipAllocations.accountId', 'in', accounts)
          .where('ipAllocations.ownerType', '!=', 'System')
          // IPs of ranges dedicated to a domain or account, and system-VM ranges, do not count (§4.8).
          .where('ipRanges.accountId', 'is', null)
          .where('ipRanges.domainId', 'is', null)
          .where('ipRanges.forSystemVms', '=', 0),
      );
    case 'secondary_storage':
      return (
        (await one(
          db
            .selectFrom('snapshots')
            .select((eb) => eb.fn.sum('size').as('n'))
            .where('accountId', 'in', accounts)
            .where('removed', 'is', null),
        )) +
        (await one(
          db
            .selectFrom('templateStoreRefs')
            .innerJoin('templates', 'templates.id', 'templateStoreRefs.templateId')
            .select((eb) => eb.fn.sum('templateStoreRefs.size').as('n'))
            .where('templates.accountId', 'in', accounts)
            .where('templates.removed', 'is', null),
        ))
      );
    case 'project':
      return 0;
  }
}

/**
 * The limit check of {@link ResourceLimitService.check}, for services that hold a settings
 * service: account first (explicit, else the `max.account.*` default), then the account's domain
 * and every ancestor below ROOT (explicit or inherited), each against its subtree's usage.
 *
 * One statement reads the account with every explicit limit of the account and of its domain's
 * ancestors; the domain chain is walked only when some ancestor has an explicit limit on a
 * requested type (otherwise every domain is unlimited for it), and the account's usage of the
 * VM types and of the volume types is counted by one aggregate each.
 */
export async function checkResourceLimits(
  w: Writer,
  settings: SettingsService,
  accountId: number,
  adds: Partial<Record<LimitedResource, number>>,
): Promise<void> {
  const wanted = Object.entries(adds).filter(([, n]) => (n ?? 0) > 0) as Array<[LimitedResource, number]>;
  if (wanted.length === 0) return;
  const found = await accountWithLimits(w.db, accountId);
  if (found === undefined) throw new NotFoundError('Account', 'accountId', accountId);
  const { account, accountLimits, domainLimitTypes } = found;
  if (account.type === AccountType.ADMIN) return;
  await w.lock(`limits:account:${accountId}`);
  const limits = new Map<LimitedResource, number>();
  for (const [type] of wanted) {
    const own = accountLimits.get(type);
    limits.set(type, own !== undefined ? own : await defaultLimit(w.db, settings, type));
  }
  const counted = await countAccountUsage(
    w.db,
    accountId,
    wanted.filter(([type]) => (limits.get(type) ?? -1) >= 0).map(([type]) => type),
  );
  for (const [type, add] of wanted) {
    const limit = limits.get(type) ?? -1;
    const count = limit >= 0 ? (counted.get(type) ?? 0) : 0;
    if (limit >= 0 && count + add > toUnits(type, limit)) {
      const source = accountLimits.has(type) ? 'account limit' : (DEFAULT_KEYS[type] ?? '');
      refuse(`account ${account.accountName}`, type, count, add, limit, source, {
        field: 'accountId',
        value: accountId,
      });
    }
  }
  // No explicit limit on a requested type anywhere up the chain: every domain is unlimited for it.
  if (!wanted.some(([type]) => domainLimitTypes.has(type))) return;
  let domain = await domainRepo.get(w.db, account.domainId);
  while (domain.id !== ROOT_DOMAIN_ID) {
    await w.lock(`limits:domain:${domain.id}`);
    for (const [type, add] of wanted) {
      const max = await domainLimit(w.db, domain.id, type);
      if (max < 0) continue;
      const used = await countUsage(w.db, { domainId: domain.id }, type);
      if (used + add > toUnits(type, max))
        refuse(`domain ${domain.path}`, type, used, add, max, 'domain limit', { field: 'domainId', value: domain.id });
    }
    domain = await domainRepo.get(w.db, domain.parentId ?? ROOT_DOMAIN_ID);
  }
}

interface LimitedAccount {
  account: { type: number; accountName: string; domainId: number };
  /** The account's explicit limits. */
  accountLimits: Map<LimitedResource, number>;
  /** The types with an explicit limit on the account's domain or one of its ancestors. */
  domainLimitTypes: Set<LimitedResource>;
}

/**
 * The live account with its own explicit limits and the types explicitly limited on its domain or
 * any ancestor (a domain path is a prefix of its descendants' paths), in one statement.
 */
/**
 * An account's limits as read in one transaction, by transaction and account id: a deploy checks
 * its VM's limits and its volumes' in the same transaction. A transaction that changes limits
 * drops its entries.
 */
const limitsByTransaction = new WeakMap<Db, Map<number, Promise<LimitedAccount | undefined>>>();

function accountWithLimits(db: Db, accountId: number): Promise<LimitedAccount | undefined> {
  if (!db.isTransaction) return readAccountWithLimits(db, accountId);
  let byAccount = limitsByTransaction.get(db);
  if (byAccount === undefined) {
    byAccount = new Map();
    limitsByTransaction.set(db, byAccount);
  }
  let found = byAccount.get(accountId);
  if (found === undefined) {
    found = readAccountWithLimits(db, accountId);
    byAccount.set(accountId, found);
  }
  return found;
}

async function readAccountWithLimits(db: Db, accountId: number): Promise<LimitedAccount | undefined> {
  if (typeof accountId !== 'number' || !Number.isSafeInteger(accountId)) return undefined;
  const { rows } = await runStatement(db, limitsAccountWithLimits, { accountId });
  const first = rows[0];
  if (first === undefined) return undefined;
  const accountLimits = new Map<LimitedResource, number>();
  const domainLimitTypes = new Set<LimitedResource>();
  for (const row of rows) {
    if (row.limitType === null || row.limitMax === null) continue;
    const type = row.limitType as LimitedResource;
    if (row.limitOwnerType === 'account') accountLimits.set(type, Number(row.limitMax));
    else domainLimitTypes.add(type);
  }
  return {
    account: { type: Number(first.type), accountName: first.accountName, domainId: Number(first.domainId) },
    accountLimits,
    domainLimitTypes,
  };
}

/** The global `max.account.*` default of a type (-1 = unlimited). */
async function defaultLimit(db: Db, settings: SettingsService, type: LimitedResource): Promise<number> {
  const key = DEFAULT_KEYS[type];
  if (!key) return -1;
  const value = Number(await settings.get(key, {}, db));
  return value < 0 ? -1 : value;
}

/** The live VMs of these accounts: how many, their CPUs and their memory (MiB). */
function vmUsage(db: Db, accounts: readonly number[]) {
  return db
    .selectFrom('vmInstances')
    .leftJoin('serviceOfferings', 'serviceOfferings.id', 'vmInstances.serviceOfferingId')
    .select((eb) => [
      eb.fn.countAll().as('n'),
      eb.fn.sum('serviceOfferings.cpuNumber').as('cpu'),
      eb.fn.sum('serviceOfferings.memory').as('memory'),
    ])
    .where('vmInstances.accountId', 'in', accounts)
    .where('vmInstances.removed', 'is', null)
    .where('vmInstances.state', 'in', LIVE_VM);
}

/** The volumes of these accounts that count against limits: how many, and their bytes. */
function volumeUsage(db: Db, accounts: readonly number[]) {
  return db
    .selectFrom('volumes')
    .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum('size').as('bytes')])
    .where('accountId', 'in', accounts)
    .where('removed', 'is', null)
    .where('state', 'not in', DEAD_VOLUME);
}

/** One account's usage of `types`: the VM types from one aggregate, the volume types from another. */
async function countAccountUsage(
  db: Db,
  accountId: number,
  types: readonly LimitedResource[],
): Promise<Map<LimitedResource, number>> {
  const out = new Map<LimitedResource, number>();
  const want = new Set(types);
  if (want.has('user_vm') || want.has('cpu') || want.has('memory')) {
    const { rows } = await runStatement(db, limitsVmUsage, { accountId });
    const row = rows[0];
    out.set('user_vm', Number(row?.n ?? 0));
    out.set('cpu', Number(row?.cpu ?? 0));
    out.set('memory', Number(row?.memory ?? 0));
  }
  if (want.has('volume') || want.has('primary_storage')) {
    const { rows } = await runStatement(db, limitsVolumeUsage, { accountId });
    const row = rows[0];
    out.set('volume', Number(row?.n ?? 0));
    out.set('primary_storage', Number(row?.bytes ?? 0));
  }
  for (const type of want) {
    if (!out.has(type)) out.set(type, await countUsage(db, { accountId }, type));
  }
  return out;
}

function refuse(
  who: string,
  type: LimitedResource,
  count: number,
  add: number,
  limit: number,
  source: string,
  at: { field: string; value: number },
): never {
  const storage = GIB_TYPES.has(type);
  const shown = (n: number) => (storage ? `${(n / GiB).toFixed(1)} GiB` : String(n));
  throw new ResourceLimitError(
    `${who} would use ${shown(count + add)} of ${type} (limit ${storage ? `${limit} GiB` : limit}, ${source})`,
    {
      ...at,
      details: { type, count, add, limit },
    },
  );
}

async function accountLimit(
  db: Db,
  settings: SettingsService,
  accountId: number,
  type: LimitedResource,
): Promise<number> {
  const own = await explicitLimit(db, 'account', accountId, type);
  if (own !== undefined) return own;
  return defaultLimit(db, settings, type);
}

async function domainLimit(db: Db, domainId: number, type: LimitedResource): Promise<number> {
  let id: number | null = domainId;
  while (id !== null && id !== ROOT_DOMAIN_ID) {
    const own = await explicitLimit(db, 'domain', id, type);
    if (own !== undefined) return own;
    id = (await domainRepo.get(db, id)).parentId;
  }
  return -1;
}

async function explicitLimit(
  db: Db,
  ownerType: 'account' | 'domain',
  ownerId: number,
  type: LimitedResource,
): Promise<number | undefined> {
  const row = await db
    .selectFrom('resourceLimits')
    .select('max')
    .where('type', '=', type)
    .where('ownerType', '=', ownerType)
    .where('ownerId', '=', ownerId)
    .executeTakeFirst();
  return row ? Number(row.max) : undefined;
}

const limitsAccountWithLimits = statement('limits.accountWithLimits', (q, p: { accountId: number }) =>
  q
    .selectFrom('accounts as a')
    .leftJoin('resourceLimits as rl', (join) =>
      join.on((eb) =>
        eb.or([
          eb.and([eb('rl.ownerType', '=', sql.lit('account')), eb('rl.ownerId', '=', eb.ref('a.id'))]),
          eb.and([
            eb('rl.ownerType', '=', sql.lit('domain')),
            eb(
              'rl.ownerId',
              'in',
              eb
                .selectFrom('domains as d')
                .innerJoin('domains as anc', (j) =>
                  j.on(
                    sql<boolean>`substr(${sql.ref('d.path')}, 1, length(${sql.ref('anc.path')})) = ${sql.ref('anc.path')}`,
                  ),
                )
                .select('anc.id')
                .whereRef('d.id', '=', 'a.domainId'),
            ),
          ]),
        ]),
      ),
    )
    .select([
      'a.type',
      'a.accountName',
      'a.domainId',
      'rl.type as limitType',
      'rl.ownerType as limitOwnerType',
      'rl.max as limitMax',
    ])
    .where('a.id', '=', p.accountId)
    .where('a.removed', 'is', null),
);

const limitsVmUsage = statement('limits.vmUsage', (q, p: { accountId: number }) => vmUsage(q, [p.accountId]));

const limitsVolumeUsage = statement('limits.volumeUsage', (q, p: { accountId: number }) =>
  volumeUsage(q, [p.accountId]),
);
