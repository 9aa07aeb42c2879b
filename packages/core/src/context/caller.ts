import { InvalidParameterError } from '../errors.js';

/** On whose behalf an operation runs. Defaults to the root admin (account 2, user 2). */
export interface Caller {
  accountId: number;
  userId: number;
  domainId: number;
  /** Account type ordinal (1 = root admin, 2 = domain admin, 0 = user). */
  accountType: number;
}

declare const resolved: unique symbol;

/**
 * A caller the cloud resolved from the store (`cloud.resolveCaller`: an existing, enabled user of
 * an enabled account, with the account's real type), or {@link ROOT_ADMIN}: the only callers
 * `cloud.as` accepts, so a caller cannot be made up from request data.
 */
export type ResolvedCaller = Readonly<Caller> & { readonly [resolved]: true };

/** The callers core issued (by identity: a copy or a made-up object is not one). */
const issued = new WeakSet<object>();

/** Issues `caller` as resolved. Core only, once the store vouched for it. */
export function issueCaller(caller: Caller): ResolvedCaller {
  const frozen = Object.freeze({
    accountId: caller.accountId,
    userId: caller.userId,
    domainId: caller.domainId,
    accountType: caller.accountType,
  });
  issued.add(frozen);
  return frozen as ResolvedCaller;
}

/** Whether `caller` was issued by {@link issueCaller} (resolved from the store, or the root admin). */
export function isResolvedCaller(caller: unknown): caller is ResolvedCaller {
  return typeof caller === 'object' && caller !== null && issued.has(caller);
}

/** Throws unless `caller` was resolved by a cloud (or is the root admin), naming the field `caller`. */
export function requireResolved(caller: unknown): asserts caller is ResolvedCaller {
  if (!isResolvedCaller(caller)) {
    throw new InvalidParameterError(
      'caller',
      caller,
      'a caller must come from cloud.resolveCaller({ userId | apiKey | username, password, domain }) or be ROOT_ADMIN',
    );
  }
}

/** The root admin (account 2, user 2, domain 1): the default caller, the embedding program itself. */
export const ROOT_ADMIN: ResolvedCaller = issueCaller({ accountId: 2, userId: 2, domainId: 1, accountType: 1 });
