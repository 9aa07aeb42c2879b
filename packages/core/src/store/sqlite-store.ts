import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type QueryCompiler,
  type QueryResult,
  SelectQueryNode,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteStatement,
  type TransactionSettings,
} from 'kysely';
import { loadOptionalPeer } from './optional-peer.js';
import type { Database } from './schema.js';
import { NAMES_MAPPED, SqliteCamelCasePlugin, SqliteNamingCompiler } from './sqlite-camel-case.js';
import { Store } from './store.js';

/** Options of {@link sqliteStore}: a file or an in-memory database, and the lock wait. */
export interface SqliteStoreOptions {
  /** A file path, or ':memory:' (the default) for a private in-memory database. */
  file?: string;
  /** How long a writer waits for another process's lock, in ms (default 10000). */
  busyTimeoutMs?: number;
}

/** How many distinct prepared statements a store keeps (the oldest are dropped beyond it). */
const STATEMENT_CACHE_SIZE = 1000;

/**
 * The better-sqlite3 connection as Kysely sees it, with its prepared statements reused by SQL
 * text: Kysely prepares every query afresh, and compiling SQL costs more than running a typical
 * point query. No statement is ever iterated (a streamed query's rows are read at once), so a
 * cached one is never busy and is handed out as it is.
 */
class StatementCachingDatabase implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(private readonly database: BetterSqlite3.Database) {}

  /** Whether a transaction is open on the connection (SQLite may end one itself on some errors). */
  get inTransaction(): boolean {
    return this.database.inTransaction;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.statements.get(sql);
    if (cached !== undefined) return cached;
    const statement = this.database.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.statements.keys().next().value;
      if (oldest !== undefined) this.statements.delete(oldest);
    }
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.database.close();
  }
}

/** A first-come, first-served lock: one waiter is woken per release (no thundering herd, no starvation). */
class FifoMutex {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  /** Whether someone is waiting for the lock. */
  get contended(): boolean {
    return this.waiters.length > 0;
  }

  lock(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

/** Per reader statement: a function building one result row, with camelCase keys, from its raw values. */
const rowBuilders = new WeakMap<object, (values: unknown[]) => object>();

/**
 * A row builder for these columns: an object literal with constant keys, which V8 builds with one
 * shape (assigning computed keys one by one costs several times more per row). Column names come
 * from the schema and are embedded as JSON string literals, so any name is safe.
 */
function rowBuilder(statement: BetterSqlite3.Statement): (values: unknown[]) => object {
  let build = rowBuilders.get(statement);
  if (build === undefined) {
    const fields = statement
      .columns()
      .map((column, i) => `${JSON.stringify(namer.toCamel(column.name))}: v[${i}]`)
      .join(', ');
    build = new Function('v', `return { ${fields} };`) as (values: unknown[]) => object;
    rowBuilders.set(statement, build);
  }
  return build;
}

/**
 * Statements left in raw mode (rows as arrays). A statement serves mapped reads (raw) nearly
 * always, so it stays raw instead of switching for every run; a plain read switches it back.
 */
const rawStatements = new WeakSet<object>();

function setRaw(statement: BetterSqlite3.Statement, raw: boolean): void {
  if (rawStatements.has(statement) === raw) return;
  statement.raw(raw);
  if (raw) rawStatements.add(statement);
  else rawStatements.delete(statement);
}

/** Rows with camelCase keys, built straight from the statement's raw rows (one object per row, not two). */
function mappedRows(statement: BetterSqlite3.Statement, parameters: readonly unknown[]): object[] {
  const build = rowBuilder(statement);
  setRaw(statement, true);
  const raw = statement.all(parameters) as unknown[][];
  const rows = new Array<object>(raw.length);
  for (let r = 0; r < raw.length; r++) rows[r] = build(raw[r]!);
  return rows;
}

/** The name mapping shared by every SQLite store (its caches are pure functions of the name). */
const namer = new SqliteCamelCasePlugin();

function run(database: SqliteDatabase, query: CompiledQuery): QueryResult<unknown> {
  const statement = database.prepare(query.sql);
  if (statement.reader) {
    if ((query.query as { [NAMES_MAPPED]?: true })[NAMES_MAPPED]) {
      const result = {
        rows: mappedRows(statement as unknown as BetterSqlite3.Statement, query.parameters),
        [NAMES_MAPPED]: true,
      };
      return result;
    }
    setRaw(statement as unknown as BetterSqlite3.Statement, false);
    return { rows: statement.all(query.parameters) };
  }
  const { changes, lastInsertRowid } = statement.run(query.parameters);
  return {
    numAffectedRows: BigInt(changes),
    insertId: BigInt(lastInsertRowid),
    rows: [],
  };
}

/** {@link run}, when its result needs no name mapping by the plugin (else undefined). */
function runMapped(database: SqliteDatabase, query: CompiledQuery): QueryResult<unknown> | undefined {
  if (!(query.query as { [NAMES_MAPPED]?: true })[NAMES_MAPPED]) return undefined;
  return run(database, query);
}

/**
 * One use of the store by Kysely: a transaction (it holds the writer from BEGIN until released) or
 * a single statement. A single SELECT runs on the read connection when there is one — in WAL mode
 * it sees every committed transaction and never waits for the one in progress — and anything else
 * takes the writer for the statement.
 */
class SqliteHandle implements DatabaseConnection {
  private holdsWriter = false;
  /** The commit group this handle's transaction runs in, between its BEGIN and its end. */
  member: CommitGroup | undefined = undefined;

  constructor(private readonly driver: SqliteStoreDriver) {}

  async takeWriter(): Promise<void> {
    if (this.holdsWriter) return;
    await this.driver.writerLock.lock();
    this.holdsWriter = true;
  }

  releaseWriter(): void {
    if (!this.holdsWriter) return;
    this.holdsWriter = false;
    this.driver.writerLock.unlock();
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.holdsWriter) return run(this.driver.writer, query) as QueryResult<R>;
    const reader = this.driver.reader;
    if (reader !== undefined && SelectQueryNode.is(query.query)) return run(reader, query) as QueryResult<R>;
    await this.takeWriter();
    const group = this.driver.openGroup;
    if (group === undefined) {
      try {
        const result = run(this.driver.writer, query) as QueryResult<R>;
        this.driver.writes.committed();
        return result;
      } catch (error) {
        this.driver.writes.rolledBack();
        throw error;
      } finally {
        this.releaseWriter();
      }
    }
    // Handed the writer while a commit group is open: the statement (atomic by itself) joins the
    // group and returns once the group has committed.
    group.members++;
    let result: QueryResult<R>;
    try {
      result = run(this.driver.writer, query) as QueryResult<R>;
    } catch (error) {
      await this.driver.endMember(this, group, false);
      throw error;
    }
    await this.driver.endMember(this, group, true);
    return result;
  }

  /** Streams a SELECT row by row (read at once: better-sqlite3 is synchronous anyway). */
  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('the SQLite store streams only SELECT queries');
    const result = await this.executeQuery<R>(query);
    for (const row of result.rows) yield { rows: [row] };
  }
}

/**
 * Tells listeners that this store's own connection committed a write to a table: a TEMP trigger
 * per watched table (it fires only for this connection's statements, including those run by the
 * schema's own triggers) calls a function that notes the table, and the note is delivered when the
 * transaction commits — or dropped when it rolls back. Writes by other connections (another
 * process sharing the file) are not seen here.
 */
class WriteWatch {
  private readonly listeners = new Map<string, Set<() => void>>();
  /** Watched tables written by the transaction in progress. */
  private readonly written = new Set<string>();
  private registered = false;

  constructor(private readonly database: BetterSqlite3.Database) {}

  /**
   * Calls `listener` after every commit of this connection that wrote `table` (a savepoint rolled
   * back inside a committed transaction may still count). False, and nothing registered, when the
   * table does not exist yet or the connection is inside a transaction (a trigger created there
   * would vanish with its rollback): ask again later.
   */
  watch(table: string, listener: () => void): boolean {
    let listeners = this.listeners.get(table);
    if (listeners === undefined) {
      if (this.database.inTransaction) return false;
      const exists = this.database
        .prepare("select 1 from sqlite_master where type = 'table' and name = ?")
        .pluck()
        .get(table);
      if (exists === undefined) return false;
      if (!this.registered) {
        this.database.function('stratus_written', { deterministic: false }, (name) => {
          this.written.add(String(name));
          return null;
        });
        this.registered = true;
      }
      const quoted = `"${table.replaceAll('"', '""')}"`;
      for (const op of ['insert', 'update', 'delete']) {
        this.database.exec(
          `create temp trigger if not exists "stratus_written_${table.replaceAll('"', '""')}_${op}" after ${op} on main.${quoted} begin select stratus_written('${table.replaceAll("'", "''")}'); end`,
        );
      }
      listeners = new Set();
      this.listeners.set(table, listeners);
    }
    listeners.add(listener);
    return true;
  }

  /** The transaction (or single statement) committed: tell the listeners of the tables it wrote. */
  committed(): void {
    if (this.written.size === 0) return;
    const tables = [...this.written];
    this.written.clear();
    for (const table of tables) for (const listener of this.listeners.get(table) ?? []) listener();
  }

  /** The transaction rolled back: what it wrote is gone. */
  rolledBack(): void {
    this.written.clear();
  }
}

/**
 * Transactions that share one SQLite transaction (group commit). When a transaction ends while
 * others wait for the writer, its changes are kept uncommitted and the next one runs inside the
 * same SQLite transaction under a savepoint (so a failure rolls back that transaction alone);
 * the last one commits for all. Every member's caller learns its outcome only after that COMMIT:
 * nothing is reported committed that is not, and a COMMIT failure fails every member.
 * A group ends when nobody waits or it has {@link MAX_GROUP} members.
 */
class CommitGroup {
  members = 1;
  readonly settled: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor() {
    this.settled = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    // A group whose only member saw the COMMIT fail itself has nobody else awaiting it.
    this.settled.catch(() => {});
  }
}

/** At most this many transactions share one COMMIT (it bounds how long the group holds SQLite's lock). */
const MAX_GROUP = 64;

/**
 * The Kysely driver of {@link sqliteStore}: one writer connection whose transactions take the
 * write lock at BEGIN (BEGIN IMMEDIATE, so two processes never deadlock on upgrade), handed out in
 * arrival order and committed in groups ({@link CommitGroup}); and, for a file, one read-only
 * connection for single SELECTs outside transactions.
 */
class SqliteStoreDriver implements Driver {
  readonly writerLock = new FifoMutex();
  /** The SQLite transaction left open for the writer lock's next holder, if any. */
  openGroup: CommitGroup | undefined = undefined;

  constructor(
    readonly writer: StatementCachingDatabase,
    readonly reader: SqliteDatabase | undefined,
    readonly writes: WriteWatch,
  ) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new SqliteHandle(this);
  }

  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    const handle = connection as SqliteHandle;
    await handle.takeWriter();
    const group = this.openGroup;
    if (group === undefined) {
      run(this.writer, BEGIN);
      handle.member = new CommitGroup();
    } else {
      run(this.writer, SAVEPOINT);
      group.members++;
      handle.member = group;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as SqliteHandle;
    const group = handle.member!;
    handle.member = undefined;
    if (group === this.openGroup) {
      try {
        run(this.writer, RELEASE);
      } catch (error) {
        this.abort(handle, group, error);
        throw error;
      }
    }
    await this.endMember(handle, group, true);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const handle = connection as SqliteHandle;
    const group = handle.member;
    handle.member = undefined;
    // No member: the transaction already ended (its group's COMMIT failed).
    if (group === undefined) return;
    if (group !== this.openGroup) {
      // The group's first transaction, alone in it: nothing else to keep.
      if (this.writer.inTransaction) run(this.writer, ROLLBACK);
      this.writes.rolledBack();
      group.resolve();
      return;
    }
    if (!this.writer.inTransaction) {
      // SQLite rolled the whole transaction back itself (e.g. on an I/O error): every member fails.
      this.abort(handle, group, new Error('SQLite rolled back the transaction shared by a commit group'));
      return;
    }
    run(this.writer, ROLLBACK_TO);
    run(this.writer, RELEASE);
    await this.endMember(handle, group, false);
  }

  /**
   * A member is done: hand the open transaction to the next waiter, or commit the group. A member
   * that succeeded returns once the group has committed; one that failed returns at once.
   */
  async endMember(handle: SqliteHandle, group: CommitGroup, succeeded: boolean): Promise<void> {
    if (this.writerLock.contended && group.members < MAX_GROUP && this.writer.inTransaction) {
      this.openGroup = group;
      handle.releaseWriter();
      if (succeeded) await group.settled;
      return;
    }
    try {
      run(this.writer, COMMIT);
    } catch (error) {
      this.abort(handle, group, error);
      throw error;
    }
    this.openGroup = undefined;
    this.writes.committed();
    group.resolve();
    handle.releaseWriter();
  }

  /** Ends a group that cannot commit: what is left of it rolls back and every member fails. */
  private abort(handle: SqliteHandle, group: CommitGroup, error: unknown): void {
    this.openGroup = undefined;
    if (this.writer.inTransaction) run(this.writer, ROLLBACK);
    this.writes.rolledBack();
    group.reject(error);
    handle.releaseWriter();
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as SqliteHandle).releaseWriter();
  }

  async destroy(): Promise<void> {
    this.reader?.close();
    this.writer.close();
  }
}

const BEGIN = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SAVEPOINT = CompiledQuery.raw('savepoint stratus_member');
const RELEASE = CompiledQuery.raw('release stratus_member');
const ROLLBACK_TO = CompiledQuery.raw('rollback to stratus_member');

class SqliteStoreDialect extends SqliteDialect {
  constructor(private readonly driver: SqliteStoreDriver) {
    super({ database: driver.writer });
  }
  override createDriver(): Driver {
    return this.driver;
  }
  override createQueryCompiler(): QueryCompiler {
    return new SqliteNamingCompiler(namer);
  }
}

/**
 * The embedded default store: SQLite through better-sqlite3, in a file (WAL journal, so readers
 * never block the writer; single SELECTs outside transactions use a second, read-only connection)
 * or in memory (one connection).
 *
 * better-sqlite3 is an optional peer dependency of `@stratus/core`, loaded here, when the store is
 * created.
 * @throws MissingDependencyError (`field` `package`, `value` `better-sqlite3`) when it is not installed.
 */
export function sqliteStore(options: SqliteStoreOptions = {}): Store {
  const BetterSqlite3 = loadOptionalPeer<typeof import('better-sqlite3')>('better-sqlite3', 'sqliteStore()');
  const file = options.file ?? ':memory:';
  const database = new BetterSqlite3(file);
  database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
  if (file !== ':memory:') {
    database.pragma('journal_mode = WAL');
    // Checkpoint every ~40 MiB of WAL instead of SQLite's 4 MiB: a checkpoint syncs the database
    // file, and at the default it ran every few hundred commits, doubling the average commit's cost.
    // Durability is unchanged (synchronous=NORMAL: a commit survives a process crash either way).
    database.pragma('wal_autocheckpoint = 10000');
  }
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  // Statement and savepoint journals in memory, not in temporary files: every member of a commit
  // group runs under a savepoint, and with file journals each page it changed was first written
  // to a temporary file, a journal only a rollback reads (under load, most of the store's write
  // calls). In memory they hold the pages one group changed.
  database.pragma('temp_store = MEMORY');
  let reader: StatementCachingDatabase | undefined;
  if (file !== ':memory:') {
    const readOnly = new BetterSqlite3(file, { readonly: true });
    readOnly.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    reader = new StatementCachingDatabase(readOnly);
  }
  const driver = new SqliteStoreDriver(new StatementCachingDatabase(database), reader, new WriteWatch(database));
  const kysely = new Kysely<Database>({ dialect: new SqliteStoreDialect(driver) });
  return new Store({
    engine: 'sqlite',
    kysely,
    namePlugin: namer,
    watchWrites: (table, listener) => driver.writes.watch(table, listener),
    direct: {
      // The transaction in progress holds the writer (one at a time per process).
      inTransaction: (query) => runMapped(driver.writer, query),
      // A single SELECT outside a transaction reads on the read connection, as SqliteHandle does.
      outside: (query) =>
        reader !== undefined && SelectQueryNode.is(query.query) ? runMapped(reader, query) : undefined,
    },
  });
}
