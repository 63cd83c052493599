import type { Knex } from 'knex';
import { isCommonConnectionError } from './connection.js';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';

/**
 * The resolved names of the session table and its columns. Every name reaches SQL through knex's
 * identifier quoting (`knex(table)`, `.where(column, …)`, `??` bindings): never spliced into SQL text.
 */
export interface SessionTable {
  readonly schemaName: string | undefined;
  readonly tableName: string;
  readonly sidColumn: string;
  readonly sessColumn: string;
  readonly expiredColumn: string;
  /** The extra columns of the `columns` option, in the order they were declared. */
  readonly extraColumns: readonly string[];
  /** How the expiry column holds the expiry: the dialect's date-time type, or an integer of epoch seconds or ms. */
  readonly expiryEncoding: 'timestamp' | 'epoch-seconds' | 'epoch-ms';
  /** A query builder on the table, in its schema when one is set. */
  query(knex: Knex | Knex.Transaction): Knex.QueryBuilder;
  /** A schema builder in the table's schema when one is set. */
  schema(knex: Knex): Knex.SchemaBuilder;
  /** The table as people read it in messages: `schema.table`. */
  readonly displayName: string;
}

/**
 * One row as the store writes it: the sid (or its hash), the serialised session, the expiry as it is bound, and the
 * values of the extra columns in {@link SessionTable.extraColumns} order.
 */
export interface SessionRow {
  readonly sid: string;
  readonly sess: string;
  readonly expired: Knex.Value;
  readonly extra: readonly Knex.Value[];
}

/** The row's columns and values, sid first, then sess, expired and the extra columns: for an adapter's upsert. */
export function rowColumns(table: SessionTable, row: SessionRow): Array<[column: string, value: Knex.Value]> {
  const columns: Array<[string, Knex.Value]> = [
    [table.sidColumn, row.sid],
    [table.sessColumn, row.sess],
    [table.expiredColumn, row.expired],
  ];
  table.extraColumns.forEach((column, i) => columns.push([column, row.extra[i] ?? null]));
  return columns;
}

/**
 * Every identifier of the table, each with the option that names it (`columns.<name>` for an extra column): for an
 * adapter's `validateTable`, so that a dialect's rule on names reaches every one of them.
 */
export function tableIdentifiers(table: SessionTable): Array<[option: string, name: string]> {
  const names: Array<[string, string | undefined]> = [
    ['schemaName', table.schemaName],
    ['tableName', table.tableName],
    ['sidFieldName', table.sidColumn],
    ['sessFieldName', table.sessColumn],
    ['expiredFieldName', table.expiredColumn],
    ...table.extraColumns.map((column): [string, string] => [`columns.${column}`, column]),
  ];
  return names.filter((entry): entry is [string, string] => entry[1] !== undefined);
}

/**
 * What a SQL dialect must tell the store. Everything else (options, expiry rules, callbacks,
 * serialisation, bootstrap, the sweep, errors) lives once in `KnexStore`.
 *
 * Extend {@link BaseDialectAdapter} rather than implementing this directly: it gives every member a
 * portable default, so a dialect overrides only what differs and a member added later does not break it.
 *
 * @example
 * ```ts
 * class MyAdapter extends BaseDialectAdapter {
 *   override readonly name = 'mydb'
 *   override encodeExpiry(ms: number) { return new Date(ms).toISOString() }
 * }
 * ```
 */
export interface DialectAdapter {
  /** The dialect's name, used in messages only. */
  readonly name: string;
  /**
   * The values of `knex.client.dialect` this adapter serves. The store refuses a knex of another dialect at
   * construction. Default: any.
   */
  readonly dialects?: readonly string[];
  /**
   * Whether the table can live in a schema named by the `schemaName` option. When false, the store refuses that
   * option at construction. Default is `true`.
   */
  readonly supportsSchema: boolean;
  /**
   * The longest identifier the dialect keeps as written, and in what unit (an engine that truncates a longer name
   * could put two long column names on one column; others refuse it). The store refuses a
   * longer table, schema or column name at construction, naming the option. Default: none beyond core's 128 characters.
   */
  readonly maxIdentifierLength?: { readonly length: number; readonly unit: 'bytes' | 'characters' };
  /**
   * Whether a CREATE TABLE inside a transaction stays in it and can be rolled back to a savepoint, rather than commit
   * the transaction as some engines do. When true, `createSessionTable` given a transaction creates the
   * table under a savepoint, so that losing a race with another creator leaves the caller's transaction usable.
   * Default `false`.
   */
  readonly transactionalDdl?: boolean;
  /**
   * Refuse a table, schema or column name this dialect cannot keep as written, by throwing a `ConfigurationError`
   * naming the option. Called once, in the store's constructor, after core's own checks. Default: none.
   */
  validateTable?(table: SessionTable): void;
  /** Whether the session table exists (in its schema, when one is set). */
  hasTable(knex: Knex, table: SessionTable): Promise<boolean>;
  /**
   * Columns of the session table as `createTable` should build them: the sid, sess and expiry columns (the expiry
   * as `names.expiryEncoding` says), and the extra columns, each indexed. {@link BaseDialectAdapter} does this from
   * its `defineSid`, `defineSess` and `defineTimestamp`.
   */
  defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void;
  /**
   * The value bound for an expiry of `ms` milliseconds since the epoch (also "now" in comparisons). `knex` is the
   * store's instance, for dialects whose driver needs an explicitly typed bind value.
   */
  encodeExpiry(ms: number, knex: Knex): Knex.Value;
  /**
   * How an encoded date-time expiry (from `encodeExpiry`) appears in a statement: the value itself, or a raw
   * expression around it such as a cast, so that the database reads it as an absolute instant whatever the
   * column's type. Not used for the integer encodings. Default: the value itself.
   */
  bindExpiry?(knex: Knex, value: Knex.Value): Knex.Value;
  /** Insert the row or replace the existing one of the same sid, atomically: two racing first writes must not fail. */
  upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void>;
  /**
   * The upsert of `row` as a query not yet run, which the fast path compiles once (with stand-ins for the values).
   * An adapter that offers {@link DialectAdapter.nativeExecutor} must describe here the same upsert `upsert` runs.
   */
  upsertQuery?(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw;
  /** Delete at most `limit` rows whose expiry is at or before `now` (an encoded value); resolve the count deleted. */
  deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number>;
  /**
   * The `limit` the sweep passes to {@link DialectAdapter.deleteExpired}, for a server whose application queries
   * suffer from long batches. Default: `PRUNE_BATCH_SIZE`.
   */
  readonly sweepBatchSize?: number;
  /**
   * How long the sweep rests after each full batch, as a multiple of the time that batch took: with 1, the sweep's
   * statements run at most half of the time, leaving the server to the application's own queries the other half.
   * Scaled to the batch, the rest lengthens when the server is busy and shrinks when it is fast (it never exceeds a
   * second). Default 0: no rest.
   */
  readonly sweepRestRatio?: number;
  /**
   * The knex instance used when the application passes none, or `undefined` when the dialect has no such default.
   * The store destroys a knex it got from here on `close()`.
   */
  createDefaultKnex?(): Knex;
  /**
   * Whether `error` means the database was out of reach (refused, broken or timed-out connections), as opposed to
   * an answer from it (a constraint or syntax error). The store asks this of every link of a failed operation's
   * `cause` chain before it decides to emit `'disconnect'`. Default: {@link isCommonConnectionError}.
   */
  isConnectionError?(error: unknown): boolean;
  /**
   * Whether `error` (one error, not its causes) means a statement lost a conflict with a concurrent transaction and
   * was rolled back whole: a deadlock, a serialization failure, a multi-primary cluster's certification conflict, a
   * lock wait timeout. The store's request statements are single statements that commit on their own and may run
   * again unchanged: the store retries them on such an error a few times with a short random backoff, and a sweep
   * that meets one leaves the work to the store it collided with (reported as skipped). Default: none is.
   */
  isRetryable?(error: unknown): boolean;
  /**
   * Take the sweep's lock inside `trx`, the transaction the store opens for each batch of the sweep, without waiting:
   * resolve `true` when taken, `false` when another store on this table (in any process) holds it. Of several stores
   * sharing a table, one then deletes at a time; a store whose first batch finds the lock held reports the sweep as
   * skipped. The lock should end with the transaction (committed or rolled back), so that nothing outlives it on a
   * server connection that a pool or a transaction pooler hands to another client next; a lock that
   * does not must be given back by {@link DialectAdapter.unlockSweep}. Default: none, batches run without a lock.
   */
  lockSweep?(trx: Knex.Transaction, table: SessionTable): Promise<boolean>;
  /**
   * Give back, before the batch's transaction ends, a lock {@link DialectAdapter.lockSweep} took that the end of the
   * transaction would not release (a session-level lock). Called once after every batch whose lock was taken, whether
   * its delete succeeded or not. Default: none.
   */
  unlockSweep?(trx: Knex.Transaction, table: SessionTable): Promise<void>;
  /**
   * The fast path's executor for the driver behind `knex` (see `knex.client.driverName`), or `undefined` for a driver
   * the adapter does not know, which keeps every statement on knex. It may be async, to learn what the server is
   * before `upsertQuery` is compiled; a rejection fails that one call like a failed statement, and the next call asks
   * again. Default: none.
   */
  nativeExecutor?(
    knex: Knex,
    context: NativeExecutorContext,
  ): NativeExecutor | undefined | Promise<NativeExecutor | undefined>;
  /**
   * The names of the session table's columns, as the database reports them (none when the table is missing): how the
   * store checks the shape of a table it did not create. Default: knex's `columnInfo()`.
   */
  columnNames?(knex: Knex, table: SessionTable): Promise<readonly string[]>;
  /**
   * The declared type of `column` as the database's catalog names it (`timestamp with time zone`, `bigint`,
   * `datetime2`, …), or `undefined` when the column is missing: the start-up check compares the expiry column's with
   * `expiryEncoding`. Default: the `type` knex's `columnInfo()` reports.
   */
  columnType?(knex: Knex, table: SessionTable, column: string): Promise<string | undefined>;
  /**
   * Whether a column keeps a value of any type whatever its declared type (an embedded engine's): the start-up check then reads the
   * types and sizes of the stored expiries instead of the declared type, and the sweep looks for numbers in a
   * `'timestamp'` expiry column. Default `false`.
   */
  readonly dynamicColumnTypes?: boolean;
  /** An expression for the size in bytes of what `column` holds, for the store's `stats()`. Default: `length(column)`. */
  sizeOf?(knex: Knex, column: string): Knex.Raw;
  /**
   * Add extra columns (of the `columns` option) to an existing table, typed and indexed as `defineTable` creates them:
   * how a store with `createTable` brings an older table up to date. Without it, the store reports them missing.
   */
  addExtraColumns?(table: Knex.AlterTableBuilder, columns: readonly string[]): void;
  /**
   * An expression that reads the `'timestamp'` expiry column as `stats()` can decode it: a `Date` the driver builds
   * for the right instant, epoch milliseconds, or UTC text (ISO 8601, or `YYYY-MM-DD HH:MM:SS.fff`). For a driver that
   * would read the column in the process's time zone. Default: the column as it is.
   */
  readExpiry?(knex: Knex, column: string): Knex.Raw;
}

/**
 * Portable defaults for {@link DialectAdapter}: the upstream-compatible table shape (sid varchar(255)
 * primary key, sess json not null, expired timestamp not null and indexed), `Date` expiry values, an
 * `INSERT … ON CONFLICT` upsert through knex, and a batched delete through a `LIMIT`ed subquery.
 */
export abstract class BaseDialectAdapter implements DialectAdapter {
  abstract readonly name: string;
  readonly dialects?: readonly string[];
  readonly supportsSchema: boolean = true;
  readonly maxIdentifierLength?: { readonly length: number; readonly unit: 'bytes' | 'characters' };
  readonly transactionalDdl: boolean = false;
  readonly sweepBatchSize?: number;
  readonly sweepRestRatio?: number;
  readonly dynamicColumnTypes: boolean = false;
  createDefaultKnex?(): Knex;
  validateTable?(table: SessionTable): void;
  lockSweep?(trx: Knex.Transaction, table: SessionTable): Promise<boolean>;
  unlockSweep?(trx: Knex.Transaction, table: SessionTable): Promise<void>;
  nativeExecutor?(
    knex: Knex,
    context: NativeExecutorContext,
  ): NativeExecutor | undefined | Promise<NativeExecutor | undefined>;

  hasTable(knex: Knex, table: SessionTable): Promise<boolean> {
    return table.schema(knex).hasTable(table.tableName);
  }

  defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    this.defineSid(table, names.sidColumn);
    this.defineSess(table, names.sessColumn);
    if (names.expiryEncoding === 'timestamp') this.defineTimestamp(table, names.expiredColumn);
    else table.bigInteger(names.expiredColumn).notNullable().index();
    for (const column of names.extraColumns) this.defineExtra(table, column);
  }

  addExtraColumns(table: Knex.AlterTableBuilder, columns: readonly string[]): void {
    for (const column of columns) this.defineExtra(table, column);
  }

  /**
   * One of the `columns` option's extra columns: nullable text of up to 255 characters, indexed. `findWhere` and
   * `destroyWhere` compare it with `=`, so a dialect whose default collation ignores case or accents must override
   * this with a binary one: a filter must never match another user's value.
   */
  protected defineExtra(table: Knex.TableBuilder, column: string): void {
    table.string(column, 255).nullable().index();
  }

  /** The sid column: the table's primary key. */
  protected defineSid(table: Knex.CreateTableBuilder, column: string): void {
    table.string(column, 255).notNullable().primary();
  }

  /** The column holding the serialised session. */
  protected defineSess(table: Knex.CreateTableBuilder, column: string): void {
    table.json(column).notNullable();
  }

  /** The expiry column for the `'timestamp'` encoding, indexed for the sweep. */
  protected defineTimestamp(table: Knex.CreateTableBuilder, column: string): void {
    table.timestamp(column).notNullable().index();
  }

  encodeExpiry(ms: number, _knex?: Knex): Knex.Value {
    return new Date(ms);
  }

  bindExpiry(_knex: Knex, value: Knex.Value): Knex.Value {
    return value;
  }

  async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
    await this.upsertQuery(knex, table, row);
  }

  upsertQuery(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw {
    const columns = rowColumns(table, row);
    return table
      .query(knex)
      .insert(Object.fromEntries(columns))
      .onConflict(table.sidColumn)
      .merge(columns.slice(1).map(([column]) => column));
  }

  async deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number> {
    const batch = table.query(knex).select(table.sidColumn).where(table.expiredColumn, '<=', now).limit(limit);
    return rowCount(await table.query(knex).whereIn(table.sidColumn, batch).del());
  }

  isConnectionError(error: unknown): boolean {
    return isCommonConnectionError(error);
  }

  /** None is: an adapter that names no conflict error has its statements run once, as before. */
  isRetryable(_error: unknown): boolean {
    return false;
  }

  async columnNames(knex: Knex, table: SessionTable): Promise<readonly string[]> {
    return Object.keys(await table.query(knex).columnInfo());
  }

  /**
   * The table's column names from a catalog view, every name bound as a value: for the dialects whose knex
   * `columnInfo()` cannot be trusted with a schema or a hostile name. `catalog` names the view and its columns, and
   * gives the SQL of the current schema for a table named without one.
   */
  protected async catalogColumnNames(
    knex: Knex,
    table: SessionTable,
    catalog: { view: string; name: string; schema: string; table: string; currentSchema: string },
  ): Promise<string[]> {
    const rows: Array<{ name: unknown }> = await knex
      .select({ name: catalog.name })
      .from(catalog.view)
      .where(catalog.schema, table.schemaName ?? knex.raw(catalog.currentSchema))
      .andWhere(catalog.table, table.tableName);
    return rows.map((row) => String(row.name));
  }

  async columnType(knex: Knex, table: SessionTable, column: string): Promise<string | undefined> {
    const info = (await table.query(knex).columnInfo()) as unknown as Record<string, { type?: unknown }>;
    const found = Object.keys(info).find((name) => name.toLowerCase() === column.toLowerCase());
    return found === undefined ? undefined : String(info[found]?.type ?? '');
  }

  /**
   * The declared type of `column` from a catalog view (see {@link BaseDialectAdapter.catalogColumnNames}), its name
   * and the table's bound as values; `type` names the view's column holding the type.
   */
  protected async catalogColumnType(
    knex: Knex,
    table: SessionTable,
    column: string,
    catalog: { view: string; name: string; type: string; schema: string; table: string; currentSchema: string },
  ): Promise<string | undefined> {
    const rows: Array<{ name: unknown; type: unknown }> = await knex
      .select({ name: catalog.name, type: catalog.type })
      .from(catalog.view)
      .where(catalog.schema, table.schemaName ?? knex.raw(catalog.currentSchema))
      .andWhere(catalog.table, table.tableName);
    const row = rows.find((candidate) => String(candidate.name).toLowerCase() === column.toLowerCase());
    return row === undefined ? undefined : String(row.type);
  }

  sizeOf(knex: Knex, column: string): Knex.Raw {
    return knex.raw('length(??)', [column]);
  }

  readExpiry(knex: Knex, column: string): Knex.Raw {
    return knex.raw('??', [column]);
  }
}

/**
 * The row count of a DELETE or UPDATE. knex's own clients resolve a number; a third-party Client class may pass the
 * driver's result object through instead (knex-pglite 0.14 resolves `{ rowCount, affectedRows, … }` for a DELETE).
 */
export function rowCount(result: unknown): number {
  const count =
    result !== null && typeof result === 'object' ? Number((result as { rowCount?: unknown }).rowCount) : Number(result);
  return Number.isFinite(count) ? count : 0;
}
