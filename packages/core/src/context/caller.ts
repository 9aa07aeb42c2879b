/** On whose behalf an operation runs. Defaults to the root admin (account 2, user 2). */
export interface Caller {
  accountId: number;
  userId: number;
  domainId: number;
  /** Account type ordinal (1 = root admin, 2 = domain admin, 0 = user). */
  accountType: number;
}

/** The root admin (account 2, user 2, domain 1): the default caller. */
export const ROOT_ADMIN: Caller = { accountId: 2, userId: 2, domainId: 1, accountType: 1 };
