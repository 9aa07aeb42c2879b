import type { CompiledQuery, QueryResult, RootOperationNode } from 'kysely';
import { type Statement, StatementParameter } from './statement.js';
import type { Db } from './store.js';
import { connectionOf } from './store-connections.js';

/** A statement compiled for one store and shape: its SQL, and where each of its values comes from. */
interface Prepared {
  readonly name: string;
  readonly sql: string;
  readonly query: RootOperationNode;
  readonly queryId: CompiledQuery['queryId'];
  /** Per bound value: the parameter name it takes, or undefined for a constant of the statement. */
  readonly slots: ReadonlyArray<string | undefined>;
  /** The constants (undefined where a parameter goes). */
  readonly constants: readonly unknown[];
}

/** How many shapes one statement family keeps compiled (a bound against a shape key that never repeats). */
const MAX_SHAPES = 2_000;

/** Builds `p` for a statement being compiled: every property read is a placeholder of that name. */
const placeholders: object = new Proxy(
  {},
  { get: (_target, name) => (typeof name === 'string' ? new StatementParameter(name) : undefined) },
);

/**
 * The statements one store has compiled: each {@link Statement} (and each shape of a statement
 * family) is built with placeholders and compiled once, on first use; each run binds, by name, the
 * values of that run to the places the placeholders took. Compiled SQL depends only on the
 * store's dialect and name mapping, so one cache serves the store's root connection and every
 * transaction. Owned by the `Store` (`store.statements`).
 */
export class StatementCache {
  private readonly single = new Map<Statement<never, unknown, never>, Prepared>();
  private readonly families = new Map<Statement<never, unknown, never>, Map<string, Prepared>>();

  /** How many compiled statements the cache holds. */
  get size(): number {
    let n = this.single.size;
    for (const shapes of this.families.values()) n += shapes.size;
    return n;
  }

  /** The compiled query of `statement` (in `shape`) with the values of `params` bound. */
  compile<P extends object, R, S>(db: Db, statement: Statement<P, R, S>, params: P, shape: S): CompiledQuery<R> {
    const prepared = this.prepared(db, statement, shape);
    const { slots, constants } = prepared;
    const parameters = new Array<unknown>(slots.length);
    for (let k = 0; k < slots.length; k++) {
      const name = slots[k];
      if (name === undefined) parameters[k] = constants[k];
      else {
        const value = (params as Record<string, unknown>)[name];
        if (value === undefined)
          throw new Error(`statement ${prepared.name}: no value for parameter "${name}" (null binds SQL NULL)`);
        parameters[k] = value;
      }
    }
    return { query: prepared.query, queryId: prepared.queryId, sql: prepared.sql, parameters } as CompiledQuery<R>;
  }

  private prepared<P extends object, R, S>(db: Db, statement: Statement<P, R, S>, shape: S): Prepared {
    const key = statement as unknown as Statement<never, unknown, never>;
    if (statement.shapeKey === undefined) {
      let prepared = this.single.get(key);
      if (prepared === undefined) {
        prepared = prepare(db, statement, shape);
        this.single.set(key, prepared);
      }
      return prepared;
    }
    let shapes = this.families.get(key);
    if (shapes === undefined) {
      shapes = new Map();
      this.families.set(key, shapes);
    }
    const shapeKey = statement.shapeKey(shape);
    let prepared = shapes.get(shapeKey);
    if (prepared === undefined) {
      prepared = prepare(db, statement, shape);
      if (shapes.size < MAX_SHAPES) shapes.set(shapeKey, prepared);
    }
    return prepared;
  }
}

function prepare<P extends object, R, S>(db: Db, statement: Statement<P, R, S>, shape: S): Prepared {
  const compiled = statement.build(db, placeholders as P, shape).compile();
  const slots = compiled.parameters.map((v) => (v instanceof StatementParameter ? v.name : undefined));
  return {
    name: statement.name,
    sql: compiled.sql,
    query: compiled.query,
    queryId: compiled.queryId,
    slots,
    constants: compiled.parameters.map((v) => (v instanceof StatementParameter ? undefined : v)),
  };
}

/** The trailing `shape` argument of {@link runStatement}: required exactly when the statement has shapes. */
export type ShapeArg<S> = [S] extends [undefined] ? [] : [shape: S];

/**
 * Runs `statement` with the values `params` on `db` (a store's root connection or a transaction in
 * progress), compiled once per store and shape and run straight on the connection where the
 * engine can (embedded SQLite). On a connection no store made, the query is built with the values
 * and run as Kysely runs any query.
 */
export async function runStatement<P extends object, R, S = undefined>(
  db: Db,
  statement: Statement<P, R, S>,
  params: NoInfer<P>,
  ...shape: ShapeArg<S>
): Promise<QueryResult<R>> {
  const binding = connectionOf(db);
  const s = shape[0] as S;
  if (binding === undefined) return db.executeQuery<R>(statement.build(db, params, s).compile());
  const query = binding.statements.compile(db, statement, params, s);
  const direct = binding.direct?.(query) as QueryResult<R> | undefined;
  return direct ?? db.executeQuery<R>(query);
}
