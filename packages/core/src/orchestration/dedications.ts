import type { Dedication } from '../capacity/placement-state.js';
import type { CloudContext, Writer } from '../context.js';
import { InvalidParameterError, ResourceInUseError } from '../errors.js';
import type { ListOptions } from '../model/list-options.js';
import type { AffinityGroup, DedicatedResource, DedicationLevel, Domain } from '../model/records.js';
import type { Ref } from '../model/ref.js';
import { clusterRepo } from '../resources/clusters.js';
import { hostRepo } from '../resources/hosts.js';
import { listPaging, pageArray } from '../resources/list-paging.js';
import { requireRootAdmin } from '../resources/permissions.js';
import { podRepo } from '../resources/pods.js';
import { resolveRefs } from '../resources/ref-resolution.js';
import { accountRepo, domainRepo } from '../resources/tenancy.js';
import { zoneRepo } from '../resources/zones.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { Db } from '../store/store.js';
import { newUuid } from '../store/uuid.js';
import { affinityGroupRepo, insertAffinityGroup, removeAffinityGroup } from './affinity-groups.js';
import type { PlacementIndex } from './vm-placement.js';

/** Whom to dedicate to: a domain (and its subdomains), or an account (its domain is implied). */
export interface DedicateTo {
  domainId?: Ref;
  accountId?: Ref;
}

/** Filter of {@link DedicationService.list}. */
export interface DedicationFilter {
  level?: DedicationLevel;
  zoneId?: Ref;
  domainId?: Ref;
  accountId?: Ref;
  affinityGroupId?: Ref;
}

interface Row {
  id: number | string;
  uuid: string;
  zoneId: number | string | null;
  podId: number | string | null;
  clusterId: number | string | null;
  hostId: number | string | null;
  domainId: number | string;
  accountId: number | string | null;
  affinityGroupId: number | string | null;
  created: number | string;
  removed: number | string | null;
}

const n = (v: number | string | null): number | null => (v === null ? null : Number(v));

function decode(r: Row): DedicatedResource {
  const level: DedicationLevel =
    r.hostId !== null ? 'host' : r.clusterId !== null ? 'cluster' : r.podId !== null ? 'pod' : 'zone';
  return {
    id: Number(r.id),
    uuid: r.uuid,
    level,
    zoneId: Number(r.zoneId),
    podId: n(r.podId),
    clusterId: n(r.clusterId),
    hostId: n(r.hostId),
    domainId: Number(r.domainId),
    accountId: n(r.accountId),
    affinityGroupId: n(r.affinityGroupId),
    created: new Date(Number(r.created)),
    removed: r.removed === null ? null : new Date(Number(r.removed)),
  };
}

/** The target of a dedication with the ids of its ancestors. */
interface Target {
  level: DedicationLevel;
  field: 'zoneId' | 'podId' | 'clusterId' | 'hostId';
  id: number;
  name: string;
  zoneId: number;
  podId: number | null;
  clusterId: number | null;
  hostId: number | null;
}

const LABEL: Record<DedicationLevel, string> = { zone: 'Zone', pod: 'Pod', cluster: 'Cluster', host: 'Host' };

/**
 * Explicit dedication (CloudStack's `dedicateZone/Pod/Cluster/Host`, `releaseDedicated*`,
 * `listDedicated*`; spec/allocation.md §9.1), root admin only, with CloudStack's rules:
 * - a dedicated resource takes only its owner's VMs (the account's, or those of the domain and its
 *   subdomains); the owner may use shared resources too unless its VM is in the owner's
 *   `ExplicitDedication` affinity group (created with the first dedication, as CloudStack does),
 *   which keeps the VM on dedicated resources only;
 * - a resource is dedicated once; under a dedicated parent only to that parent's domain subtree
 *   (never under a parent dedicated to an account); dedicating a parent takes over its children's
 *   dedications to the same owner and is refused over children dedicated outside the new owner;
 * - a host running (or holding the reservation of a recently stopped) VM of another account — or,
 *   for a domain, of an account outside the domain's subtree — cannot be dedicated.
 * Placement in this process sees a change as soon as it commits.
 */
export class DedicationService {
  constructor(
    private readonly ctx: CloudContext,
    private readonly placement: PlacementIndex,
    private readonly settings: SettingsService,
  ) {}

  async dedicateZone(zoneId: Ref, to: DedicateTo): Promise<DedicatedResource> {
    zoneId = await zoneRepo.resolve(this.ctx.db, zoneId, 'zoneId');
    return this.dedicate('zone', zoneId, to);
  }

  async dedicatePod(podId: Ref, to: DedicateTo): Promise<DedicatedResource> {
    podId = await podRepo.resolve(this.ctx.db, podId, 'podId');
    return this.dedicate('pod', podId, to);
  }

  async dedicateCluster(clusterId: Ref, to: DedicateTo): Promise<DedicatedResource> {
    clusterId = await clusterRepo.resolve(this.ctx.db, clusterId, 'clusterId');
    return this.dedicate('cluster', clusterId, to);
  }

  async dedicateHost(hostId: Ref, to: DedicateTo): Promise<DedicatedResource> {
    hostId = await hostRepo.resolve(this.ctx.db, hostId, 'hostId');
    return this.dedicate('host', hostId, to);
  }

  async releaseZone(zoneId: Ref): Promise<void> {
    zoneId = await zoneRepo.resolve(this.ctx.db, zoneId, 'zoneId');
    return this.release('zone', zoneId);
  }

  async releasePod(podId: Ref): Promise<void> {
    podId = await podRepo.resolve(this.ctx.db, podId, 'podId');
    return this.release('pod', podId);
  }

  async releaseCluster(clusterId: Ref): Promise<void> {
    clusterId = await clusterRepo.resolve(this.ctx.db, clusterId, 'clusterId');
    return this.release('cluster', clusterId);
  }

  async releaseHost(hostId: Ref): Promise<void> {
    hostId = await hostRepo.resolve(this.ctx.db, hostId, 'hostId');
    return this.release('host', hostId);
  }

  /** Live dedications (root admin), in id order. */
  async list(filter: DedicationFilter & ListOptions = {}): Promise<DedicatedResource[]> {
    requireRootAdmin(this.ctx.caller, 'list dedicated resources');
    const paging = await listPaging(this.ctx, filter);
    const f = await resolveRefs(this.ctx.db, filter, {
      zoneId: zoneRepo,
      domainId: domainRepo,
      accountId: accountRepo,
      affinityGroupId: affinityGroupRepo,
    });
    let q = this.ctx.db.selectFrom('dedicatedResources').selectAll().where('removed', 'is', null);
    if (f.zoneId !== undefined) q = q.where('zoneId', '=', f.zoneId);
    if (f.domainId !== undefined) q = q.where('domainId', '=', f.domainId);
    if (f.accountId !== undefined) q = q.where('accountId', '=', f.accountId);
    if (f.affinityGroupId !== undefined) q = q.where('affinityGroupId', '=', f.affinityGroupId);
    const all = (await q.orderBy('id').execute()).map((r) => decode(r as Row));
    // The level is derived from which of the row's scope columns is set, so it filters (and the page is cut) here.
    const atLevel = filter.level === undefined ? all : all.filter((d) => d.level === filter.level);
    return pageArray(atLevel, paging, (d) => [d.level]);
  }

  private dedicate(level: DedicationLevel, id: number, to: DedicateTo): Promise<DedicatedResource> {
    const changes: Array<{ level: DedicationLevel; id: number; dedication: Dedication | null }> = [];
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, `dedicate a ${level}`);
      const target = await this.target(w.db, level, id);
      const owner = await this.owner(w.db, to);
      await w.lock('dedicated-resources');
      const live = await this.live(w.db);
      const existing = live.find((d) => d.level === level && targetId(d) === id);
      if (existing)
        throw new InvalidParameterError(
          target.field,
          id,
          `${level} ${target.name} is already dedicated (${describe(existing)}); release it first`,
        );
      // A parent dedicated to an account admits nothing; one dedicated to a domain, only its subtree.
      for (const parent of live.filter((d) => isAncestor(d, target))) {
        const inside = parent.accountId === null && (await underDomain(w.db, owner.domain, parent.domainId));
        if (!inside)
          throw new InvalidParameterError(
            target.field,
            id,
            `its ${parent.level} ${parent.level === 'zone' ? parent.zoneId : targetId(parent)} is dedicated to ${describe(parent)}; a ${level} under it can only be dedicated within that domain`,
          );
      }
      // Children: those of the same owner are taken over, any outside the new owner refuse it.
      const absorbed: DedicatedResource[] = [];
      for (const child of live.filter((d) => isAncestor(target, d))) {
        const same = child.domainId === owner.domain.id && child.accountId === owner.accountId;
        if (same) {
          absorbed.push(child);
          continue;
        }
        const within =
          owner.accountId === null
            ? await underDomainId(w.db, child.domainId, owner.domain)
            : child.accountId === owner.accountId;
        if (!within)
          throw new InvalidParameterError(
            target.field,
            id,
            `${child.level} ${targetId(child)} under it is dedicated to ${describe(child)}`,
          );
      }
      await this.checkHostsFree(w, target, owner);

      const group = await this.dedicationGroup(w, owner, level);
      for (const child of absorbed) {
        await w.db.updateTable('dedicatedResources').set({ removed: w.now }).where('id', '=', child.id).execute();
        changes.push({ level: child.level, id: targetId(child), dedication: null });
      }
      const row = {
        uuid: newUuid(),
        zoneId: target.zoneId,
        podId: target.podId,
        clusterId: target.clusterId,
        hostId: target.hostId,
        domainId: owner.domain.id,
        accountId: owner.accountId,
        affinityGroupId: group.id,
        created: w.now,
        removed: null,
      };
      const inserted = await w.db
        .insertInto('dedicatedResources')
        .values(row)
        .returning('id')
        .executeTakeFirstOrThrow();
      if (level === 'zone')
        await w.db.updateTable('zones').set({ dedicatedDomainId: owner.domain.id }).where('id', '=', id).execute();
      const dedicated = decode({ ...row, id: Number(inserted.id) });
      changes.push({
        level,
        id,
        dedication: { domainId: owner.domain.id, accountId: owner.accountId, domainPath: owner.domain.path },
      });
      await w.event({
        type: 'DEDICATE.RESOURCE',
        description: `${level} ${target.name} dedicated to ${describe(dedicated)}`,
        resourceType: 'DedicatedResource',
        resourceId: dedicated.id,
        resourceUuid: dedicated.uuid,
        ...(owner.accountId !== null ? { accountId: owner.accountId } : {}),
        domainId: owner.domain.id,
        parameters: { level, [target.field]: id },
      });
      w.afterCommit(() => this.publish(changes));
      return dedicated;
    });
  }

  private release(level: DedicationLevel, id: number): Promise<void> {
    return this.ctx.write(async (w) => {
      requireRootAdmin(w.caller, `release a dedicated ${level}`);
      const target = await this.target(w.db, level, id);
      const dedication = (await this.live(w.db)).find((d) => d.level === level && targetId(d) === id);
      if (!dedication) throw new InvalidParameterError(target.field, id, `${level} ${target.name} is not dedicated`);
      await w.db.updateTable('dedicatedResources').set({ removed: w.now }).where('id', '=', dedication.id).execute();
      if (level === 'zone')
        await w.db.updateTable('zones').set({ dedicatedDomainId: null }).where('id', '=', id).execute();
      // The owner's dedication group goes with its last dedication (its VMs leave it).
      if (dedication.affinityGroupId !== null) {
        const others = await w.db
          .selectFrom('dedicatedResources')
          .select('id')
          .where('affinityGroupId', '=', dedication.affinityGroupId)
          .where('removed', 'is', null)
          .execute();
        const group = await affinityGroupRepo.find(w.db, dedication.affinityGroupId);
        if (others.length === 0 && group && group.removed === null) await removeAffinityGroup(w, group);
      }
      await w.event({
        type: 'DEDICATE.RESOURCE.RELEASE',
        description: `dedication of ${level} ${target.name} to ${describe(dedication)} released`,
        resourceType: 'DedicatedResource',
        resourceId: dedication.id,
        resourceUuid: dedication.uuid,
        domainId: dedication.domainId,
        ...(dedication.accountId !== null ? { accountId: dedication.accountId } : {}),
        parameters: { level, [target.field]: id },
      });
      w.afterCommit(() => this.publish([{ level, id, dedication: null }]));
    });
  }

  /** Shows committed changes to the placement index of this process (when it is loaded). */
  private publish(changes: ReadonlyArray<{ level: DedicationLevel; id: number; dedication: Dedication | null }>) {
    const index = this.placement.peek();
    if (index) for (const c of changes) index.setDedication(c.level, c.id, c.dedication);
  }

  private async target(db: Db, level: DedicationLevel, id: number): Promise<Target> {
    if (level === 'zone') {
      const z = await zoneRepo.get(db, id, 'zoneId');
      return { level, field: 'zoneId', id, name: z.name, zoneId: z.id, podId: null, clusterId: null, hostId: null };
    }
    if (level === 'pod') {
      const p = await podRepo.get(db, id, 'podId');
      return { level, field: 'podId', id, name: p.name, zoneId: p.zoneId, podId: p.id, clusterId: null, hostId: null };
    }
    if (level === 'cluster') {
      const c = await clusterRepo.get(db, id, 'clusterId');
      return {
        level,
        field: 'clusterId',
        id,
        name: c.name,
        zoneId: c.zoneId,
        podId: c.podId,
        clusterId: c.id,
        hostId: null,
      };
    }
    const h = await hostRepo.get(db, id, 'hostId');
    if (h.type !== 'Routing') throw new InvalidParameterError('hostId', id, `host ${h.name} is not a routing host`);
    return {
      level,
      field: 'hostId',
      id,
      name: h.name,
      zoneId: h.zoneId,
      podId: h.podId,
      clusterId: h.clusterId,
      hostId: h.id,
    };
  }

  /** The owner: an account (whose domain must be the one given, if one is) or a domain. */
  private async owner(db: Db, to: DedicateTo): Promise<{ domain: Domain; accountId: number | null; label: string }> {
    if (to.accountId === undefined && to.domainId === undefined)
      throw new InvalidParameterError('domainId', undefined, 'give a domainId, an accountId, or both');
    if (to.accountId !== undefined) {
      const account = await accountRepo.get(db, to.accountId, 'accountId');
      if (to.domainId !== undefined && to.domainId !== account.domainId)
        throw new InvalidParameterError(
          'accountId',
          to.accountId,
          `account ${account.accountName} is not in domain ${to.domainId}`,
        );
      const domain = await domainRepo.get(db, account.domainId, 'domainId');
      return { domain, accountId: account.id, label: account.accountName };
    }
    const domain = await domainRepo.get(db, to.domainId as number, 'domainId');
    return { domain, accountId: null, label: `domain-${domain.name}` };
  }

  private async live(db: Db): Promise<DedicatedResource[]> {
    const rows = await db.selectFrom('dedicatedResources').selectAll().where('removed', 'is', null).execute();
    return rows.map((r) => decode(r as Row));
  }

  /**
   * CloudStack's host suitability check: no host under the target runs a VM — or holds the
   * reservation of one stopped within `capacity.skipcounting.hours` — of another account (or, for
   * a domain, of an account outside its subtree).
   */
  private async checkHostsFree(
    w: Writer,
    target: Target,
    owner: { domain: Domain; accountId: number | null },
  ): Promise<void> {
    const windowMs = (await this.settings.get('capacity.skipcounting.hours')) * 1000;
    let q = w.db
      .selectFrom('capacityBookings as b')
      .innerJoin('hosts as h', 'h.id', 'b.hostId')
      .innerJoin('vmInstances as v', 'v.id', 'b.vmId')
      .innerJoin('domains as d', 'd.id', 'v.domainId')
      .select(['b.hostId', 'b.kind', 'b.since', 'v.accountId', 'v.instanceName', 'd.path', 'h.name as hostName']);
    if (target.level === 'host') q = q.where('h.id', '=', target.id);
    else if (target.level === 'cluster') q = q.where('h.clusterId', '=', target.id);
    else if (target.level === 'pod') q = q.where('h.podId', '=', target.id);
    else q = q.where('h.zoneId', '=', target.id);
    for (const b of await q.execute()) {
      if (b.kind !== 'used' && w.now - Number(b.since) >= windowMs) continue;
      const foreign =
        owner.accountId !== null ? Number(b.accountId) !== owner.accountId : !b.path.startsWith(owner.domain.path);
      if (foreign)
        throw new ResourceInUseError(
          `host ${b.hostName} has VM ${b.instanceName} of another ${owner.accountId !== null ? 'account' : 'domain'}; ${target.level} ${target.name} cannot be dedicated`,
          { field: target.field, value: target.id },
        );
    }
  }

  /** The owner's `ExplicitDedication` group, created with its first dedication (CloudStack's names). */
  private async dedicationGroup(
    w: Writer,
    owner: { domain: Domain; accountId: number | null; label: string },
    level: DedicationLevel,
  ): Promise<AffinityGroup> {
    let q = w.db
      .selectFrom('affinityGroups')
      .selectAll()
      .where('removed', 'is', null)
      .where('type', '=', 'ExplicitDedication');
    q = owner.accountId !== null ? q.where('accountId', '=', owner.accountId) : q.where('accountId', 'is', null);
    const found = await q.where('domainId', '=', owner.domain.id).executeTakeFirst();
    if (found) return affinityGroupRepo.decode(found);
    return insertAffinityGroup(w, {
      name: `Dedicated${LABEL[level]}Grp-${owner.label}`,
      type: 'ExplicitDedication',
      description: `Dedicated ${level} group`,
      accountId: owner.accountId,
      domainId: owner.domain.id,
    });
  }
}

/**
 * Why a host may not take a VM of this owner because of explicit dedication (its host, cluster,
 * pod or zone dedicated to someone else), or null. For targets an admin names (live migration).
 */
export async function dedicationConflict(
  db: Db,
  host: { id: number; clusterId: number; podId: number; zoneId: number; name: string },
  owner: { accountId: number; domainId: number },
): Promise<string | null> {
  const rows = await db
    .selectFrom('dedicatedResources as r')
    .innerJoin('domains as d', 'd.id', 'r.domainId')
    .selectAll('r')
    .select('d.path')
    .where('r.removed', 'is', null)
    .where('r.zoneId', '=', host.zoneId)
    .execute();
  const ownerDomain = await domainRepo.find(db, owner.domainId);
  for (const r of rows) {
    const d = decode(r as Row);
    const covers =
      (d.level === 'host' && d.hostId === host.id) ||
      (d.level === 'cluster' && d.clusterId === host.clusterId) ||
      (d.level === 'pod' && d.podId === host.podId) ||
      d.level === 'zone';
    if (!covers) continue;
    const mine =
      d.accountId !== null
        ? d.accountId === owner.accountId
        : d.domainId === owner.domainId || (ownerDomain?.path.startsWith(r.path) ?? false);
    if (!mine) return `host ${host.name}'s ${d.level} is dedicated to ${describe(d)}`;
  }
  return null;
}

function targetId(d: DedicatedResource): number {
  return (d.hostId ?? d.clusterId ?? d.podId ?? d.zoneId) as number;
}

/** Whether dedication `a`'s target contains target `b` (strictly). */
function isAncestor(
  a: { level: DedicationLevel; zoneId: number; podId: number | null; clusterId: number | null },
  b: { level: DedicationLevel; zoneId: number; podId: number | null; clusterId: number | null; hostId: number | null },
): boolean {
  if (a.level === b.level) return false;
  if (a.level === 'zone') return b.zoneId === a.zoneId;
  if (a.level === 'pod') return b.level !== 'zone' && b.podId === a.podId;
  if (a.level === 'cluster') return b.level === 'host' && b.clusterId === a.clusterId;
  return false;
}

/** Whether the owner's domain is `ancestorId` or below it. */
async function underDomain(db: Db, domain: Domain, ancestorId: number): Promise<boolean> {
  if (domain.id === ancestorId) return true;
  const ancestor = await domainRepo.find(db, ancestorId);
  return !!ancestor && domain.path.startsWith(ancestor.path);
}

/** Whether domain `domainId` is `root` or below it. */
async function underDomainId(db: Db, domainId: number, root: Domain): Promise<boolean> {
  if (domainId === root.id) return true;
  const d = await domainRepo.find(db, domainId);
  return !!d && d.path.startsWith(root.path);
}

function describe(d: { domainId: number; accountId: number | null }): string {
  return d.accountId !== null ? `account ${d.accountId}` : `domain ${d.domainId}`;
}
