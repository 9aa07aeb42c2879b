import type { CloudContext } from '../context.js';
import { InvalidParameterError } from '../errors.js';
import type { EventListener } from '../events/event-bus.js';
import type { ResourceType, StratusEvent } from '../events/event-types.js';
import type { ListOptions } from '../model/list-options.js';
import { isUuid, type Ref } from '../model/ref.js';
import { applyPaging, listPaging } from './list-paging.js';
import { isRootAdmin } from './permissions.js';
import { resolveOptionalRef } from './ref-resolution.js';
import { accountRepo } from './tenancy.js';

/** A usage-relevant change, as recorded. */
export interface UsageEvent {
  id: number;
  type: string;
  accountId: number;
  domainId: number;
  zoneId: number | null;
  resourceId: number;
  resourceName: string | null;
  offeringId: number | null;
  templateId: number | null;
  size: number | null;
  resourceType: string | null;
  created: Date;
}

/** A filter of the event log: by type, resource, account, level, start time, and a limit. */
export interface ListEventsFilter {
  type?: string;
  resourceType?: ResourceType;
  /** The resource's id or uuid (events record both). */
  resourceId?: Ref;
  accountId?: Ref;
  level?: 'INFO' | 'WARN' | 'ERROR';
  /** Only events at or after this time. */
  since?: Date;
  /** Newest first, at most this many (default 500). */
  limit?: number;
}

/**
 * Reading the event log (CloudStack's listEvents) and subscribing to events as they commit.
 * Non-admin callers see their own account's events only.
 */
export class EventService {
  constructor(private readonly ctx: CloudContext) {}

  /** Listens to one event type, or `'*'` for all; returns the unsubscribe function. */
  on(type: string, listener: EventListener): () => void {
    return this.ctx.bus.on(type, listener);
  }

  /**
   * Usage events (what a usage job aggregates into usage records), oldest first; non-admins see
   * their own account's.
   */
  async listUsage(
    filter: { accountId?: Ref; type?: string; since?: Date; limit?: number } & ListOptions = {},
  ): Promise<UsageEvent[]> {
    const paging = await listPaging(this.ctx, filter);
    let q = this.ctx.db.selectFrom('usageEvents').selectAll();
    const accountId = isRootAdmin(this.ctx.caller)
      ? await resolveOptionalRef(this.ctx.db, accountRepo, filter.accountId, 'accountId')
      : this.ctx.caller.accountId;
    if (accountId !== undefined) q = q.where('accountId', '=', accountId);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.since) q = q.where('created', '>=', filter.since.getTime());
    const rows = await applyPaging(
      paging?.limit === undefined ? q.orderBy('id').limit(filter.limit ?? 10_000) : q.orderBy('id'),
      paging,
      ['type', 'resourceName'],
    ).execute();
    return rows.map((r) => ({ ...r, id: Number(r.id), created: new Date(Number(r.created)) }));
  }

  /**
   * Events, newest first; with `page`/`pageSize` a page of them, with `keyword` those whose type
   * or description contains it.
   */
  async list(filter: ListEventsFilter & ListOptions = {}): Promise<StratusEvent[]> {
    const paging = await listPaging(this.ctx, filter);
    let q = this.ctx.db.selectFrom('events').selectAll();
    const accountId = isRootAdmin(this.ctx.caller)
      ? await resolveOptionalRef(this.ctx.db, accountRepo, filter.accountId, 'accountId')
      : this.ctx.caller.accountId;
    if (accountId !== undefined) q = q.where('accountId', '=', accountId);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.resourceType) q = q.where('resourceType', '=', filter.resourceType);
    if (typeof filter.resourceId === 'number') q = q.where('resourceId', '=', filter.resourceId);
    else if (filter.resourceId !== undefined) {
      if (!isUuid(filter.resourceId))
        throw new InvalidParameterError('resourceId', filter.resourceId, 'must be a numeric id or a uuid');
      q = q.where('resourceUuid', '=', filter.resourceId.toLowerCase());
    }
    if (filter.level) q = q.where('level', '=', filter.level);
    if (filter.since) q = q.where('created', '>=', filter.since.getTime());
    const rows = await applyPaging(
      paging?.limit === undefined ? q.orderBy('id', 'desc').limit(filter.limit ?? 500) : q.orderBy('id', 'desc'),
      paging,
      ['type', 'description'],
    ).execute();
    return rows.map((r) => ({
      ...r,
      id: Number(r.id),
      state: r.state as StratusEvent['state'],
      level: r.level as StratusEvent['level'],
      resourceType: r.resourceType as ResourceType | null,
      parameters: JSON.parse(r.parameters) as Record<string, unknown>,
      created: new Date(Number(r.created)),
      archived: r.archived === 1,
    }));
  }
}
