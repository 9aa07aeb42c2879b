import { createRequire } from 'node:module';
import { MissingDependencyError } from '../errors.js';

/**
 * The database clients core can use, each an optional peer dependency of `@stratus/core`: a
 * PostgreSQL-only program installs `pg` and never compiles better-sqlite3's native addon.
 */
export type OptionalPeer = 'better-sqlite3' | 'pg';

/**
 * Resolves modules from core's own location, so a peer is found in the node_modules of the
 * program that installed core. Synchronous (`require`), so the store factories stay synchronous;
 * both clients are CommonJS packages. In the CJS build tsup shims `import.meta.url`.
 */
const requireFromCore = createRequire(import.meta.url);

/** Whether `error` says that `name` itself (not something it loads) could not be found. */
function isMissing(error: unknown, name: string): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code !== 'MODULE_NOT_FOUND' && code !== 'ERR_MODULE_NOT_FOUND') return false;
  return typeof message === 'string' && (message.includes(`'${name}'`) || message.includes(`"${name}"`));
}

/**
 * Loads the optional peer `name` for `feature` (e.g. `sqliteStore()`), when the store is created.
 * @throws MissingDependencyError naming the package to install when it is absent; any other
 *   failure to load it (a broken install) is rethrown as it is.
 */
export function loadOptionalPeer<T>(name: OptionalPeer, feature: string): T {
  try {
    return requireFromCore(name) as T;
  } catch (error) {
    if (isMissing(error, name)) throw new MissingDependencyError(name, feature, error);
    throw error;
  }
}
