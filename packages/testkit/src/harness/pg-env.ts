/**
 * Facts about the PostgreSQL server started by the vitest globalSetup (`global-setup.ts`), shared between the
 * main process (which provides them) and the test workers (which read them through `inject` or the environment).
 */

/** Connection facts for the test run's PostgreSQL server. */
export interface PgFacts {
  /** Always `127.0.0.1`. */
  host: string;
  port: number;
  /** Directory holding the server's unix socket (`-k`). */
  socketDir: string;
  /** `postgres://stratus:stratus@127.0.0.1:<port>/stratus`: role `stratus` (LOGIN, CREATEDB) and database `stratus`. */
  url: string;
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: the superuser (trust authentication). */
  adminUrl: string;
  /** Server version string, e.g. `15.13`. */
  version: string;
}

/** Environment variables set by the globalSetup; worker processes inherit them. */
export const PG_ENV = {
  url: 'STRATUS_PG_URL',
  adminUrl: 'STRATUS_PG_ADMIN_URL',
  host: 'STRATUS_PG_HOST',
  port: 'STRATUS_PG_PORT',
  socketDir: 'STRATUS_PG_SOCKET_DIR',
  version: 'STRATUS_PG_VERSION',
  /** Set (to the reason) only when PostgreSQL was skipped. */
  skip: 'STRATUS_PG_SKIP',
} as const;

declare module 'vitest' {
  export interface ProvidedContext {
    /** PostgreSQL connection facts, or `null` when the peer was skipped (see `pgSkipReason`). */
    pg: PgFacts | null;
    /** Why PostgreSQL was skipped, or `null` when it is running. */
    pgSkipReason: string | null;
  }
}
