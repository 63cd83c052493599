import type { Knex } from 'knex';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';
import type { SessionRow, SessionTable } from './session-table.js';

/**
 * What a dialect is and may do, as flags and small values: core reads them to decide, so that each rule that depends
 * on them is written once, in core.
 */
export interface DialectCapabilities {
  /** The values of `knex.client.dialect` this adapter serves; the store refuses a knex of another. Default: any. */
  readonly dialects?: readonly string[];
  /**
   * Whether every statement is a round trip to a server, as opposed to an engine running inside the process: then the
   * store gathers the calls of one event-loop turn into one statement by default (the `coalesce` option).
   */
  readonly remote: boolean;
  /** Whether the table may live in a schema (`schemaName`, or a dotted `tableName`); when not, both are refused. */
  readonly schemas: boolean;
  /**
   * The longest identifier the dialect keeps as written, and in what unit: the store refuses a longer table, schema or
   * column name at construction, naming the option (an engine that truncates would put two long names on one column).
   */
  readonly maxIdentifierLength?: { readonly length: number; readonly unit: 'bytes' | 'characters' };
  /** Characters that knex's quoting for this dialect drops from a name: the store refuses names holding them. */
  readonly refusedIdentifierCharacters?: readonly string[];
  /**
   * Whether CREATE TABLE inside a transaction stays in it (and so can be rolled back to a savepoint): then
   * `createSessionTable` given a transaction creates the table under a savepoint.
   */
  readonly transactionalDdl: boolean;
  /**
   * Whether a column keeps a value of any type whatever its declared type (an embedded engine's): the start-up check
   * then reads the stored expiries' types instead of the declared one, and the prune looks for numbers in a date-time
   * expiry column.
   */
  readonly dynamicColumnTypes: boolean;
  /**
   * Where the prune's batch limit goes: `'subquery'`, `DELETE … WHERE sid IN (SELECT sid … LIMIT n)`, or
   * `'statement'`, `DELETE … LIMIT n` (for engines that refuse LIMIT in an IN subquery).
   */
  readonly deleteLimit: 'subquery' | 'statement';
  /** The most rows one batch of the prune deletes. */
  readonly pruneBatchSize: number;
  /**
   * How long the prune rests after each full batch, as a multiple of the time that batch took (capped at a second):
   * with 1, the prune's statements run at most half of the time, leaving the server to the application. 0: no rest.
   */
  readonly pruneRestRatio: number;
}

/**
 * The column types of the session table. Each returns the column without constraints: core makes the sid the primary
 * key, the sid, sess and expiry not null, the extra columns nullable, and indexes the expiry and the extra columns, so
 * that a table created at start-up, by `createSessionTable` or by a migration is always the same.
 */
export interface ColumnTypes {
  /** Table-wide settings (a character set), applied before any column. */
  table?(builder: Knex.CreateTableBuilder): void;
  /** The session id: text of up to 255 characters, compared exactly (a binary collation where the default is not). */
  sid(builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder;
  /** The serialised session, of any length. */
  sess(builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder;
  /** The expiry under the `'timestamp'` encoding: a date-time holding an absolute instant. */
  timestamp(builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder;
  /**
   * An extra column of the `columns` option: text of up to 255 characters that `findWhere` and `destroyWhere`
   * compare with `=`, so compared exactly (a filter must never match another user's value).
   */
  extra(builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder;
}

/** How the store reads the database's catalog and the table's values, where the dialect differs from knex's default. */
export interface TableCatalog {
  /** Whether the session table exists (in its schema, when one is set). */
  hasTable(knex: Knex, table: SessionTable): Promise<boolean>;
  /** The names of the table's columns as the database reports them (none when the table is missing). */
  columnNames(knex: Knex, table: SessionTable): Promise<readonly string[]>;
  /** The declared type of `column` as the catalog names it, or `undefined` when the column is missing. */
  columnType(knex: Knex, table: SessionTable, column: string): Promise<string | undefined>;
  /** An expression for the size in bytes of what `column` holds, for `stats()`. */
  sizeOf(knex: Knex, column: string): Knex.Raw;
  /**
   * An expression that reads a `'timestamp'` expiry column as the store can decode it: a `Date` the driver builds for
   * the right instant, epoch milliseconds, or UTC text.
   */
  readExpiry(knex: Knex, column: string): Knex.Raw;
}

/**
 * The lock that lets one store at a time prune a table. Core opens a transaction for each batch of the prune, takes
 * the lock in it (never waiting) and deletes only when it got it; a store whose first batch finds it held reports
 * the prune as skipped.
 */
export interface PruneLock {
  /** Take the lock inside `trx` without waiting: `true` when taken, `false` when another store holds it. */
  take(trx: Knex.Transaction, table: SessionTable): Promise<boolean>;
  /**
   * Give back a lock that the end of the transaction would not release (a connection-level lock), before it ends.
   * Called once after every batch whose lock was taken, whether its delete succeeded or not. Omit it for a lock the
   * transaction owns, which is the kind that holds behind a transaction pooler.
   */
  release?(trx: Knex.Transaction, table: SessionTable): Promise<void>;
}

/**
 * What one error (not its causes) means to the store: `'unreachable'`, the database was out of reach (refused,
 * broken, timed-out connections; the store emits `'disconnect'`); `'conflict'`, the statement lost to a concurrent
 * one and was rolled back whole (a deadlock, a serialization failure, a cluster's certification conflict, a lock wait
 * timeout, a lost race of two first inserts), so it may run again unchanged; `undefined`, anything else.
 */
export type ErrorKind = 'unreachable' | 'conflict' | undefined;

/**
 * What a SQL dialect must tell the store; everything else (options, expiry rules, callbacks, serialisation, table
 * bootstrap, the prune and its lock transaction, retries, errors) lives once in core. Extend `BaseDialectAdapter`,
 * which holds the portable defaults, and override only what differs.
 */
export interface DialectAdapter {
  /** The dialect's name, used in messages only. */
  readonly name: string;
  readonly capabilities: DialectCapabilities;
  readonly columns: ColumnTypes;
  readonly catalog: TableCatalog;
  /** The prune's cross-instance lock; without one, batches run unguarded (an embedded engine's single writer). */
  readonly pruneLock?: PruneLock;
  /**
   * The value bound for an expiry of `ms` milliseconds since the epoch (also "now" in comparisons). `knex` is the
   * store's instance, for drivers that need an explicitly typed bind value.
   */
  encodeExpiry(ms: number, knex: Knex): Knex.Value;
  /**
   * How an encoded date-time expiry appears in a statement: the value itself, or a raw expression around it (a cast),
   * so that the database reads it as an absolute instant whatever the column's type. Not used for integer encodings.
   */
  bindExpiry?(knex: Knex, value: Knex.Value): Knex.Value;
  /**
   * The atomic upsert of `row` (insert it, or replace the row of the same sid), as a query not yet run: core runs it,
   * retries it on a conflict, and the fast path compiles it once with stand-ins for the values.
   */
  upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw;
  /**
   * The atomic upsert of several rows of distinct sids in one statement (each inserted, or replacing the row of its
   * sid), as a query not yet run. Optional: without it, the `coalesce` option leaves each `set` a statement of its own.
   */
  upsertMany?(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder | Knex.Raw;
  /** What `error` means (see {@link ErrorKind}); core asks it of every link of a failed statement's `cause` chain. */
  classifyError(error: unknown): ErrorKind;
  /**
   * The fast path's executor for the driver behind `knex`, or `undefined` for a driver the adapter does not know (every
   * statement then stays on knex). Asked once, before the store's first statement (unless `fastPath: false`); it may
   * be async, to learn what the server is first, and a rejection fails that statement, the next one asking again.
   */
  nativeExecutor?(
    knex: Knex,
    context: NativeExecutorContext,
  ): NativeExecutor | undefined | Promise<NativeExecutor | undefined>;
  /** The knex used when the application passes none; the store destroys it on `close()`. */
  createDefaultKnex?(): Knex;
}
