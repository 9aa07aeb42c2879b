import type { Compilable } from 'kysely';
import type { Db } from './store.js';

/**
 * Stands for the named parameter `name` while a {@link Statement} is built: the compiled query
 * carries it where the value goes, and every run binds the value of that name. It refuses to be
 * read as a value, so a builder that computes with a parameter (rather than placing it in the
 * query) fails when it is built instead of caching a wrong statement.
 */
export class StatementParameter {
  constructor(readonly name: string) {}

  [Symbol.toPrimitive](): never {
    throw new Error(
      `statement parameter "${this.name}" was read as a value while its statement was built: a value that changes the SQL belongs in the statement's shape`,
    );
  }
}

/**
 * A statement run many times with new values (a lookup by id, an insert, a compare-and-set),
 * compiled once per store and shape (see `StatementCache`). `build` writes the query with its
 * values taken from `p`, the statement's named parameters, exactly as an ordinary Kysely query
 * takes values; whatever it writes inline is a constant of the statement. A statement whose SQL
 * depends on more than its values (a column list, a row count, a lock clause) takes that as its
 * `shape`: `shapeKey` names each shape, and each is compiled once.
 *
 * `build` must place each parameter in the query and never branch on one: the parameters it sees
 * when a statement is compiled are placeholders ({@link StatementParameter}), not values.
 */
export interface Statement<P extends object, R, S = undefined> {
  /** Names the statement in errors. */
  readonly name: string;
  /** Writes the query with its values from `p`. */
  readonly build: (db: Db, p: P, shape: S) => Compilable<R>;
  /** Names a shape (statements with one shape have none). */
  readonly shapeKey: ((shape: S) => string) | undefined;
}

/**
 * A statement with one shape: `build` writes the query, with its values from `p`.
 *
 * @example
 * const hostRow = statement('hostRow', (db, p: { id: number }) =>
 *   db.selectFrom('hosts').selectAll().where('id', '=', p.id).where('removed', 'is', null));
 * const { rows } = await runStatement(db, hostRow, { id: 7 });
 */
export function statement<P extends object, R>(
  name: string,
  build: (db: Db, p: P) => Compilable<R>,
): Statement<P, R, undefined> {
  return { name, build: (db, p) => build(db, p), shapeKey: undefined };
}

/**
 * A statement whose SQL also depends on a `shape` (a column list, a row count): compiled once per
 * shape, each named by `shapeKey(shape)`, which must tell apart every shape `build` writes
 * differently.
 */
export function statementFamily<P extends object, R, S>(
  name: string,
  shapeKey: (shape: S) => string,
  build: (db: Db, p: P, shape: S) => Compilable<R>,
): Statement<P, R, S> {
  return { name, build, shapeKey };
}
