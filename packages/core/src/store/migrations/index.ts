import type { Migration } from 'kysely';
import type { StoreEngine } from '../dialect.js';
import { foundation } from './0001-foundation.js';
import { seed } from './0002-seed.js';

/**
 * Every migration, in order. A migration's name never changes once released; new schema goes in a
 * new file appended here.
 */
export function migrations(engine: StoreEngine): Record<string, Migration> {
  return {
    '0001-foundation': foundation(engine),
    '0002-seed': seed(engine),
  };
}
