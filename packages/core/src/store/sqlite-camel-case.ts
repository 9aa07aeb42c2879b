import {
  CamelCasePlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  SqliteQueryCompiler,
  type UnknownRow,
} from 'kysely';

/**
 * Marks a query whose names the SQLite store maps itself (set on the root operation node by
 * {@link SqliteCamelCasePlugin}) and a result whose rows already carry camelCase keys.
 */
export const NAMES_MAPPED: unique symbol = Symbol('stratus.sqlite.namesMapped');

/**
 * Kysely's CamelCasePlugin, with the same mapping, done where it costs least on SQLite. The stock
 * plugin rebuilds every query's whole operation tree to rename identifiers, then copies every
 * result row to rename its keys: about a tenth of a deployment's CPU. This one only marks the
 * query; {@link SqliteNamingCompiler} writes each identifier in snake_case as it emits it, and the
 * store builds each result row with camelCase keys directly from the statement's columns. A query
 * not marked (built by `db.withoutPlugins()`, or a raw `CompiledQuery`) keeps raw names in SQL, and
 * its rows are mapped here exactly as the stock plugin maps them.
 */
export class SqliteCamelCasePlugin extends CamelCasePlugin {
  override transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const node = args.node as RootOperationNode & { [NAMES_MAPPED]?: true };
    if (node[NAMES_MAPPED]) return node;
    return Object.freeze({ ...node, [NAMES_MAPPED]: true as const }) as RootOperationNode;
  }

  override async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if ((args.result as { [NAMES_MAPPED]?: true })[NAMES_MAPPED]) return args.result;
    return super.transformResult(args);
  }

  /** camelCase of a column name (memoised, as the stock plugin's). */
  toCamel(name: string): string {
    return this.camelCase(name);
  }

  /** snake_case of an identifier (memoised, as the stock plugin's). */
  toSnake(name: string): string {
    return this.snakeCase(name);
  }
}

/** SQLite's compiler, writing the identifiers of a marked query in snake_case. */
export class SqliteNamingCompiler extends SqliteQueryCompiler {
  private mapNames = false;
  private readonly names = new Map<string, string>();

  constructor(private readonly plugin: SqliteCamelCasePlugin) {
    super();
  }

  override compileQuery(node: RootOperationNode, queryId: Parameters<SqliteQueryCompiler['compileQuery']>[1]) {
    this.mapNames = (node as { [NAMES_MAPPED]?: true })[NAMES_MAPPED] === true;
    return super.compileQuery(node, queryId);
  }

  protected override sanitizeIdentifier(identifier: string): string {
    if (!this.mapNames) return super.sanitizeIdentifier(identifier);
    let name = this.names.get(identifier);
    if (name === undefined) {
      name = super.sanitizeIdentifier(this.plugin.toSnake(identifier));
      if (this.names.size < 10_000) this.names.set(identifier, name);
    }
    return name;
  }
}
