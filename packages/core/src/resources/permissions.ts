import { type Expression, type SqlBool, sql } from 'kysely';
import type { Caller } from '../context.js';
import { PermissionDeniedError } from '../errors.js';
import { AccountType } from '../model/enums.js';
import type { Db } from '../store/store.js';

export const isRootAdmin = (caller: Caller): boolean => caller.accountType === AccountType.ADMIN;

/** Root admins only: physical infrastructure, offerings, global settings. */
export function requireRootAdmin(caller: Caller, action: string): void {
  if (!isRootAdmin(caller)) {
    throw new PermissionDeniedError(`only a root admin may ${action}`, { details: { accountId: caller.accountId } });
  }
}

/**
 * A condition true for the domains at or below the domain whose path is `path` (paths end in `/`,
 * so `/a/` does not take `/ab/`): an exact prefix comparison, never a SQL `LIKE`, whose `_` and `%`
 * in a domain name would match other domains.
 */
export function inDomainSubtree(pathColumn: string, path: string): Expression<SqlBool> {
  return sql<SqlBool>`substr(${sql.ref(pathColumn)}, 1, length(${path})) = ${path}`;
}

/** Whether `domainId` is the caller's domain or below it. */
export async function isInSubtree(db: Db, ancestorId: number, domainId: number): Promise<boolean> {
  if (ancestorId === domainId) return true;
  const rows = await db
    .selectFrom('domains')
    .select(['id', 'path'])
    .where('id', 'in', [ancestorId, domainId])
    .execute();
  const ancestor = rows.find((r) => Number(r.id) === ancestorId);
  const domain = rows.find((r) => Number(r.id) === domainId);
  return !!ancestor && !!domain && domain.path.startsWith(ancestor.path);
}

/**
 * Root admin; or a domain admin whose domain is the target domain or an ancestor of it
 * (spec/operations.md §1, §11).
 */
export async function requireAdminOverDomain(db: Db, caller: Caller, domainId: number, action: string): Promise<void> {
  if (isRootAdmin(caller)) return;
  if (caller.accountType === AccountType.DOMAIN_ADMIN && (await isInSubtree(db, caller.domainId, domainId))) return;
  throw new PermissionDeniedError(`account ${caller.accountId} may not ${action} in domain ${domainId}`, {
    details: { accountId: caller.accountId, domainId },
  });
}

/** The owner itself, or an admin over the owner's domain. */
export async function requireAccess(
  db: Db,
  caller: Caller,
  owner: { accountId: number; domainId: number },
  action: string,
) {
  if (caller.accountId === owner.accountId) return;
  await requireAdminOverDomain(db, caller, owner.domainId, action);
}
