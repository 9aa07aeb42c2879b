import type { AffinityRule } from '../allocation/deployment-plan.js';
import { CapacityConflictError } from '../allocation/placement-error.js';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, PermissionDeniedError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { Account, AffinityGroup, AffinityGroupType } from '../model/records.js';
import type { Ref, Resolved } from '../model/ref.js';
import { optionalString, requireOneOf, requireString } from '../model/validate.js';
import { applyPaging, listPaging, pageArray } from '../resources/list-paging.js';
import { isInSubtree, isRootAdmin, requireAccess } from '../resources/permissions.js';
import { resolveOptionalRef, resolveRefs } from '../resources/ref-resolution.js';
import { Repo } from '../resources/repo.js';
import { accountRepo } from '../resources/tenancy.js';
import { decoder } from '../store/codec.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';

export const affinityGroupRepo = new Repo<AffinityGroup>('affinityGroups', 'AffinityGroup', decoder<AffinityGroup>({}));

/** The group types an account creates itself; `ExplicitDedication` groups come from dedicating a resource. */
export const USER_AFFINITY_GROUP_TYPES = ['host anti-affinity', 'host affinity'] as const;

/** An affinity group to create: name, type (host affinity or anti-affinity) and owner. */
export interface CreateAffinityGroupInput {
  /** Unique among the account's live groups. */
  name: string;
  type: (typeof USER_AFFINITY_GROUP_TYPES)[number];
  description?: string;
  /** Create for this account (admins); default the caller's. */
  accountId?: Ref;
}

/**
 * Affinity groups (CloudStack 4.x `createAffinityGroup` / `listAffinityGroups` /
 * `deleteAffinityGroup`): an account's `host anti-affinity` groups keep their VMs on different
 * hosts, `host affinity` groups keep them on the same host. A VM joins groups at deploy
 * (`affinityGroupIds`, the owner's own groups only); placement and every restart honour them, and
 * the booking re-checks them in the store so two concurrent starts cannot both break a rule.
 */
export class AffinityGroupService {
  constructor(private readonly ctx: CloudContext) {}

  async create(input: CreateAffinityGroupInput): Promise<AffinityGroup> {
    return this.createResolved(await resolveRefs(this.ctx.db, input, { accountId: accountRepo }));
  }

  /** {@link create} with the input's references resolved to numeric ids. */
  private createResolved(input: Resolved<CreateAffinityGroupInput>): Promise<AffinityGroup> {
    return this.ctx.write(async (w) => {
      const owner = await accountRepo.get(w.db, input.accountId ?? w.caller.accountId, 'accountId');
      await requireAccess(
        w.db,
        w.caller,
        { accountId: owner.id, domainId: owner.domainId },
        'create an affinity group',
      );
      const name = requireString('name', input.name, { max: 255 });
      const type = requireOneOf('type', input.type, USER_AFFINITY_GROUP_TYPES);
      const description = optionalString('description', input.description) ?? null;
      if ((await affinityGroupRepo.count(w.db, { accountId: owner.id, name })) > 0)
        throw new InvalidParameterError(
          'name',
          name,
          `account ${owner.accountName} already has an affinity group of that name`,
        );
      return insertAffinityGroup(w, { name, type, description, accountId: owner.id, domainId: owner.domainId });
    });
  }

  /** A group the caller may see (its own, its domain's dedication group, or any an admin oversees). */
  async get(id: Ref): Promise<AffinityGroup> {
    id = await affinityGroupRepo.resolve(this.ctx.db, id);
    const group = await affinityGroupRepo.get(this.ctx.db, id);
    if (!(await canSee(this.ctx.db, this.ctx.caller, group)))
      throw new PermissionDeniedError(`affinity group ${id} belongs to another account`, { field: 'id', value: id });
    return group;
  }

  /**
   * The caller's groups and the explicit-dedication groups of the domains above it; a root admin
   * sees every group (optionally one account's).
   */
  async list(filter: { accountId?: Ref; type?: AffinityGroupType } & ListOptions = {}): Promise<AffinityGroup[]> {
    const caller = this.ctx.caller;
    const paging = await listPaging(this.ctx, filter);
    const accountId = await resolveOptionalRef(this.ctx.db, accountRepo, filter.accountId, 'accountId');
    let q = this.ctx.db.selectFrom('affinityGroups').selectAll().where('removed', 'is', null);
    if (filter.type !== undefined) q = q.where('type', '=', filter.type);
    if (isRootAdmin(caller)) {
      if (accountId !== undefined) q = q.where('accountId', '=', accountId);
      return (await applyPaging(q.orderBy('id'), paging, ['name']).execute()).map((r) => affinityGroupRepo.decode(r));
    }
    const rows = (await q.orderBy('id').execute()).map((r) => affinityGroupRepo.decode(r));
    const out: AffinityGroup[] = [];
    for (const g of rows) {
      if (accountId !== undefined && g.accountId !== accountId) continue;
      if (await canSee(this.ctx.db, caller, g)) out.push(g);
    }
    // Visibility (own groups, dedication groups of the domains above) is decided per row: the page is cut after it.
    return pageArray(out, paging, (g) => [g.name]);
  }

  /** The VMs in a group (ids, ascending). */
  async members(id: Ref): Promise<number[]> {
    id = await affinityGroupRepo.resolve(this.ctx.db, id);
    await this.get(id);
    const rows = await this.ctx.db
      .selectFrom('affinityGroupVms')
      .select('vmId')
      .where('groupId', '=', id)
      .orderBy('vmId')
      .execute();
    return rows.map((r) => Number(r.vmId));
  }

  /**
   * Deletes a group; its VMs leave it (as CloudStack does). An `ExplicitDedication` group goes
   * only with its last dedication (release the dedications instead).
   */
  async delete(id: Ref): Promise<void> {
    id = await affinityGroupRepo.resolve(this.ctx.db, id);
    return this.ctx.write(async (w) => {
      const group = await affinityGroupRepo.get(w.db, id);
      if (group.accountId === null || group.type === 'ExplicitDedication') {
        if (!isRootAdmin(w.caller))
          throw new PermissionDeniedError('only a root admin may delete an explicit-dedication group', {
            field: 'id',
            value: id,
          });
        const used = await w.db
          .selectFrom('dedicatedResources')
          .select('id')
          .where('affinityGroupId', '=', id)
          .where('removed', 'is', null)
          .execute();
        if (used.length > 0)
          throw new ResourceInUseError(`affinity group ${group.name} still holds ${used.length} dedication(s)`, {
            field: 'id',
            value: id,
          });
      } else if (!(await canSee(w.db, w.caller, group))) {
        throw new PermissionDeniedError(`affinity group ${id} belongs to another account`, { field: 'id', value: id });
      }
      await removeAffinityGroup(w, group);
    });
  }
}

/** Inserts a group and records `AG.CREATE`. */
export async function insertAffinityGroup(
  w: Writer,
  values: {
    name: string;
    type: AffinityGroupType;
    description: string | null;
    accountId: number | null;
    domainId: number;
  },
): Promise<AffinityGroup> {
  const row = { uuid: newUuid(), ...values, created: w.now, removed: null };
  const { id } = await w.db.insertInto('affinityGroups').values(row).returning('id').executeTakeFirstOrThrow();
  const group = affinityGroupRepo.decode({ ...row, id: Number(id) });
  await w.event({
    type: 'AG.CREATE',
    description: `affinity group ${group.name} (${group.type}) created`,
    resourceType: 'AffinityGroup',
    resourceId: group.id,
    resourceUuid: group.uuid,
    ...(group.accountId !== null ? { accountId: group.accountId } : {}),
    domainId: group.domainId,
  });
  return group;
}

/** Removes a group and its memberships and records `AG.DELETE`. */
export async function removeAffinityGroup(w: Writer, group: AffinityGroup): Promise<void> {
  await w.db.deleteFrom('affinityGroupVms').where('groupId', '=', group.id).execute();
  await affinityGroupRepo.markRemoved(w.db, group.id, w.now);
  await w.event({
    type: 'AG.DELETE',
    description: `affinity group ${group.name} deleted`,
    resourceType: 'AffinityGroup',
    resourceId: group.id,
    resourceUuid: group.uuid,
    ...(group.accountId !== null ? { accountId: group.accountId } : {}),
    domainId: group.domainId,
  });
}

async function canSee(db: Db, caller: CloudContext['caller'], group: AffinityGroup): Promise<boolean> {
  if (isRootAdmin(caller)) return true;
  if (group.accountId !== null) {
    if (group.accountId === caller.accountId) return true;
    return requireAccess(db, caller, { accountId: group.accountId, domainId: group.domainId }, 'see').then(
      () => true,
      () => false,
    );
  }
  return isInSubtree(db, group.domainId, caller.domainId);
}

/**
 * The groups a new VM of `owner` may join (validated before anything is written): each live, and
 * the owner's own — or, for an explicit-dedication group of a domain, a domain above the owner.
 */
export async function resolveAffinityGroups(
  db: Db,
  owner: Account,
  ids: readonly number[] | undefined,
): Promise<AffinityGroup[]> {
  if (ids === undefined || ids.length === 0) return [];
  if (!Array.isArray(ids))
    throw new InvalidParameterError('affinityGroupIds', ids, 'a list of affinity group ids is required');
  if (new Set(ids).size !== ids.length)
    throw new InvalidParameterError('affinityGroupIds', ids, 'an affinity group is listed twice');
  const out: AffinityGroup[] = [];
  for (const id of ids) {
    const group = await affinityGroupRepo.find(db, id);
    if (!group) throw new InvalidParameterError('affinityGroupIds', id, 'no such affinity group');
    const own =
      group.accountId !== null ? group.accountId === owner.id : await isInSubtree(db, group.domainId, owner.domainId);
    if (!own)
      throw new InvalidParameterError(
        'affinityGroupIds',
        id,
        `affinity group ${group.name} belongs to another account`,
      );
    out.push(group);
  }
  return out;
}

/** Puts a VM in groups resolved by {@link resolveAffinityGroups}. */
export async function joinAffinityGroups(w: Writer, vmId: number, groups: readonly AffinityGroup[]): Promise<void> {
  if (groups.length === 0) return;
  await w.db
    .insertInto('affinityGroupVms')
    .values(groups.map((g) => ({ groupId: g.id, vmId })))
    .execute();
}

/** Takes a VM out of every group (it is expunged). */
export async function leaveAffinityGroups(w: Writer, vmId: number): Promise<void> {
  await w.db.deleteFrom('affinityGroupVms').where('vmId', '=', vmId).execute();
}

/** What placement needs of a VM's groups: its host rules and whether its dedication is strict. */
export interface VmAffinity {
  rules: AffinityRule[];
  /** In an `ExplicitDedication` group: only hosts dedicated to the owner. */
  strictDedication: boolean;
}

/** Reads a VM's groups and, for host (anti-)affinity groups, their other members. */
export async function vmAffinity(db: Db, vmId: number): Promise<VmAffinity> {
  const groups = await db
    .selectFrom('affinityGroupVms as m')
    .innerJoin('affinityGroups as g', 'g.id', 'm.groupId')
    .select(['g.id', 'g.type'])
    .where('m.vmId', '=', vmId)
    .where('g.removed', 'is', null)
    .orderBy('g.id')
    .execute();
  const out: VmAffinity = { rules: [], strictDedication: false };
  if (groups.length === 0) return out;
  const hostGroups = groups.filter((g) => g.type === 'host affinity' || g.type === 'host anti-affinity');
  out.strictDedication = groups.some((g) => g.type === 'ExplicitDedication');
  if (hostGroups.length === 0) return out;
  const members = await db
    .selectFrom('affinityGroupVms')
    .select(['groupId', 'vmId'])
    .where(
      'groupId',
      'in',
      hostGroups.map((g) => Number(g.id)),
    )
    .where('vmId', '!=', vmId)
    .execute();
  for (const g of hostGroups) {
    const id = Number(g.id);
    out.rules.push({
      groupId: id,
      type: g.type as AffinityRule['type'],
      vmIds: members.filter((m) => Number(m.groupId) === id).map((m) => Number(m.vmId)),
    });
  }
  return out;
}

/**
 * Re-checks a VM's host rules in the booking transaction, against the store (CloudStack's
 * finalize-time affinity check): the groups are locked in id order, so concurrent starts of their
 * members — in this process or another — are judged one after the other. A broken rule throws a
 * {@link CapacityConflictError} for the host (reason `ANTI_AFFINITY` or `AFFINITY`): the start
 * avoids the host and plans again.
 *
 * @param windowMs `capacity.skipcounting.hours` in ms: a stopped member's last host counts that long.
 */
export async function permitAffinity(
  w: Writer,
  vmId: number,
  rules: readonly AffinityRule[],
  hostId: number,
  windowMs: number,
): Promise<void> {
  if (rules.length === 0) return;
  for (const r of [...rules].sort((a, b) => a.groupId - b.groupId)) await w.lock(`affinity-group:${r.groupId}`);
  for (const rule of rules) {
    const members = await w.db
      .selectFrom('affinityGroupVms as m')
      .innerJoin('capacityBookings as b', 'b.vmId', 'm.vmId')
      .select(['b.hostId', 'b.kind', 'b.since', 'b.vmId'])
      .where('m.groupId', '=', rule.groupId)
      .execute();
    const hosts = new Set<number>();
    for (const b of members) {
      if (Number(b.vmId) === vmId) continue;
      if (b.kind === 'used' || w.now - Number(b.since) < windowMs) hosts.add(Number(b.hostId));
    }
    if (rule.type === 'host anti-affinity' && hosts.has(hostId))
      throw new CapacityConflictError(
        'host',
        hostId,
        'ANTI_AFFINITY',
        `host ${hostId} already runs a VM of anti-affinity group ${rule.groupId}`,
      );
    if (rule.type === 'host affinity' && hosts.size > 0 && !hosts.has(hostId))
      throw new CapacityConflictError(
        'host',
        hostId,
        'AFFINITY',
        `the VMs of affinity group ${rule.groupId} run on host(s) ${[...hosts].join(', ')}, not ${hostId}`,
      );
  }
}
