import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import {
  ConfigurationError,
  ConnectSessionKnexError,
  DatabaseError,
  SessionTableMissingError,
  SessionTableShapeError,
} from './errors.js';
import { checkExpiryColumn } from './expiry-column.js';
import { resolveOptions, type KnexStoreOptions, type ResolvedOptions } from './options.js';
import { lostConflict } from './retry.js';
import { tableIdentifiers, type SessionTable } from './session-table.js';

/**
 * The options {@link createSessionTable} reads: the store's own, so that a table made ahead of time (in a migration,
 * by the CLI) is the table a store given the same options expects. Options that only a running store uses (the
 * prune, ttl, …) are accepted and ignored; `knex` is the function's first argument instead.
 */
export type SessionTableOptions = Omit<KnexStoreOptions, 'knex'>;

/** The session table and column names the resolved options describe. */
export function sessionTable(options: ResolvedOptions): SessionTable {
  const { schemaName, tableName } = options;
  return Object.freeze({
    schemaName,
    tableName,
    sidColumn: options.sidFieldName,
    sessColumn: options.sessFieldName,
    expiredColumn: options.expiredFieldName,
    extraColumns: Object.freeze(options.columns.map((column) => column.name)),
    expiryEncoding: options.expiryEncoding,
    displayName: schemaName ? `${schemaName}.${tableName}` : tableName,
    query: (knex: Knex | Knex.Transaction) => (schemaName ? knex.withSchema(schemaName).table(tableName) : knex.table(tableName)),
    schema: (knex: Knex) => (schemaName ? knex.schema.withSchema(schemaName) : knex.schema),
  });
}

/**
 * The table `options` describe for `adapter`, refused as the store's constructor refuses it: invalid options, a schema
 * the adapter cannot use, a name the adapter cannot keep, a knex of another dialect.
 *
 * @throws {ConfigurationError}
 */
export function resolveSessionTable(knex: Knex, adapter: DialectAdapter, options?: SessionTableOptions): SessionTable {
  if (options !== undefined && (options === null || typeof options !== 'object' || Array.isArray(options))) {
    // resolveOptions words this refusal; spreading a non-object below would silently drop it.
    resolveOptions(options);
  }
  const table = adapterTable(adapter, resolveOptions({ ...options, knex }));
  checkDialect(knex, adapter);
  return table;
}

/**
 * The table the resolved options describe, refused where `adapter` cannot keep it (a schema it does not support, a
 * name it would alter): the store's constructor and {@link resolveSessionTable} both start here.
 *
 * @throws {ConfigurationError}
 */
export function adapterTable(adapter: DialectAdapter, options: ResolvedOptions): SessionTable {
  if (options.schemaName !== undefined && !adapter.capabilities.schemas) {
    throw new ConfigurationError(
      'schemaName',
      `is not supported by the ${adapter.name} adapter (nor is a dotted tableName, which names a schema)`,
    );
  }
  const table = sessionTable(options);
  checkIdentifiers(adapter, table);
  return table;
}

/**
 * Refuse a name the dialect would not keep as written: one longer than its limit, or one holding a character knex's
 * quoting drops (see `DialectCapabilities.maxIdentifierLength` and `refusedIdentifierCharacters`).
 */
function checkIdentifiers(adapter: DialectAdapter, table: SessionTable): void {
  const { maxIdentifierLength: limit, refusedIdentifierCharacters: refused = [] } = adapter.capabilities;
  for (const [option, name] of tableIdentifiers(table)) {
    if (refused.some((character) => name.includes(character))) {
      const list = refused.map((character) => `"${character}"`).join(' or ');
      throw new ConfigurationError(option, `must not contain ${list} on ${adapter.name} (knex drops them from names)`);
    }
    if (!limit) continue;
    const length = limit.unit === 'bytes' ? Buffer.byteLength(name, 'utf8') : [...name].length;
    if (length > limit.length) {
      throw new ConfigurationError(
        option,
        `must be at most ${limit.length} ${limit.unit} on ${adapter.name}, which would not keep "${name}" (${length} ${limit.unit}) as written`,
      );
    }
  }
}

/** Refuse a knex whose dialect `adapter` does not serve. @throws {ConfigurationError} */
export function checkDialect(knex: Knex, adapter: DialectAdapter): void {
  const dialect = (knex.client as { dialect?: unknown }).dialect;
  const { dialects } = adapter.capabilities;
  if (dialects && typeof dialect === 'string' && !dialects.includes(dialect)) {
    throw new ConfigurationError('knex', `uses the ${dialect} dialect, but the adapter is for ${adapter.name}`);
  }
}

/**
 * Create the table unless it exists. Resolves `true` when this call created it, `false` when it was there already,
 * or when another process created it first (its CREATE TABLE then fails here, and the table is found after all).
 */
export async function ensureSessionTable(knex: Knex, adapter: DialectAdapter, table: SessionTable): Promise<boolean> {
  if (await adapter.catalog.hasTable(knex, table)) return false;
  const create = async (db: Knex): Promise<void> => {
    await table.schema(db).createTable(table.tableName, (builder) => defineSessionTable(builder, adapter, table));
  };
  try {
    // In the caller's transaction, under a savepoint where the dialect has them for DDL: a CREATE that fails because
    // another process created the table first then aborts only the savepoint, not the caller's transaction.
    const inTransaction = (knex as { isTransaction?: unknown }).isTransaction === true;
    await (inTransaction && adapter.capabilities.transactionalDdl ? knex.transaction(create) : create(knex));
    return true;
  } catch (error) {
    // If even the check fails, the creation's error is the one worth reporting, unless the check lost a conflict (on
    // a multi-primary cluster, with another node's CREATE TABLE of this table): then that is the error, which the
    // store's start-up retries like any conflict, and the table is found on the next round.
    const found = await adapter.catalog.hasTable(knex, table).catch((checkError: unknown) => {
      if (lostConflict(adapter, checkError)) throw checkError;
      return false;
    });
    if (found) return false;
    throw error;
  }
}

/**
 * A store's start-up. With `createTable`, create the table if it is missing (another process creating it first is
 * success). Without, the table must exist and have every column the store uses: checked once here, so that a table
 * made by a migration that missed a column fails at start-up and says which, instead of failing requests one by one.
 * Either way, the expiry column of a table that was there already is checked against expiryEncoding.
 *
 * @throws {SessionTableMissingError}
 * @throws {SessionTableShapeError}
 */
export async function bootstrapTable(
  knex: Knex,
  adapter: DialectAdapter,
  table: SessionTable,
  createTable: boolean,
): Promise<void> {
  if (createTable) {
    // A table that was there already gains the extra columns of the columns option it lacks.
    if (await ensureSessionTable(knex, adapter, table)) return;
    await addMissingColumns(knex, adapter, table);
    // A table that was there already may hold its expiries otherwise than expiryEncoding says: never prune it so.
    await checkExpiryColumn(knex, adapter, table);
    return;
  }
  if (!(await adapter.catalog.hasTable(knex, table))) throw new SessionTableMissingError(table.displayName);
  await checkTableShape(knex, adapter, table);
}

/**
 * Create the session table (with its index on the expiry column, and the `columns` option's extra columns) as a store
 * with these options would: for a deployment whose application user may not run DDL, run this once with a user who
 * may, then start the stores with `createTable: false`. Idempotent: a table that exists is left as it is (see
 * {@link checkTableShape} to check it). `knex` may be a transaction, such as a knex migration's: where the dialect's
 * DDL is transactional (see `DialectCapabilities.transactionalDdl`), the table is created under a savepoint, so that another process creating it at
 * the same moment leaves that transaction usable.
 *
 * Resolves `true` when it created the table, `false` when the table was there already.
 *
 * @throws {ConfigurationError} for invalid options (before any statement is sent).
 * @throws {DatabaseError} (operation `'createSessionTable'`) when the database refuses.
 */
export async function createSessionTable(
  knex: Knex,
  adapter: DialectAdapter,
  options?: SessionTableOptions,
): Promise<boolean> {
  const table = resolveSessionTable(knex, adapter, options);
  try {
    return await ensureSessionTable(knex, adapter, table);
  } catch (error) {
    throw error instanceof ConnectSessionKnexError ? error : new DatabaseError('createSessionTable', error);
  }
}

/**
 * Add the extra columns (the `columns` option) that an existing table lacks, so that a store given new `columns` on
 * an older table with `createTable` works at once. Resolves the columns added. A concurrent store adding the same
 * column first is no failure: the columns are read again, and only a column still missing fails.
 */
export async function addMissingColumns(knex: Knex, adapter: DialectAdapter, table: SessionTable): Promise<string[]> {
  const missingOf = async (): Promise<string[]> =>
    absent(table.extraColumns, await columnsOf(knex, adapter, table));
  const missing = table.extraColumns.length > 0 ? await missingOf() : [];
  if (missing.length === 0) return [];
  try {
    await table.schema(knex).alterTable(table.tableName, (builder) => {
      for (const column of missing) defineExtraColumn(builder, adapter, column);
    });
  } catch (error) {
    if ((await missingOf().catch(() => missing)).length > 0) throw error;
  }
  return missing;
}

/** Every column the store reads or writes: sid, sess, the expiry, and each extra column. */
export function requiredColumns(table: SessionTable): string[] {
  return [table.sidColumn, table.sessColumn, table.expiredColumn, ...table.extraColumns];
}

/**
 * Check that the session table has every column the store needs, and that its expiry column holds what
 * `expiryEncoding` says (see `checkExpiryColumn`; the other columns' types are not checked: a table made by hand or by
 * connect-session-knex 5 may use others that work). Resolves when it does. Names are compared ignoring case: several
 * engines match column names so, and where the database does not, a column that differs only in case fails the first
 * statement just as it always did, whereas a false alarm here would stop a store that works.
 *
 * @throws {SessionTableShapeError} naming the table and the missing columns, or the expiry column and what it holds.
 */
export async function checkTableShape(knex: Knex, adapter: DialectAdapter, table: SessionTable): Promise<void> {
  const present = await columnsOf(knex, adapter, table);
  const missing = absent(requiredColumns(table), present);
  if (missing.length > 0) throw new SessionTableShapeError(table.displayName, missing, present);
  await checkExpiryColumn(knex, adapter, table);
}

/** The `wanted` columns not among `present`, names compared ignoring case (see {@link checkTableShape}). */
function absent(wanted: readonly string[], present: readonly string[]): string[] {
  const lower = new Set(present.map((name) => name.toLowerCase()));
  return wanted.filter((column) => !lower.has(column.toLowerCase()));
}

/** The table's column names, as the adapter's catalog reads them. */
async function columnsOf(knex: Knex, adapter: DialectAdapter, table: SessionTable): Promise<string[]> {
  return [...(await adapter.catalog.columnNames(knex, table))];
}

/**
 * The session table's columns, typed by the adapter, constrained here: the sid the primary key, sid, sess and expiry
 * not null, the expiry (a date-time, or a bigint of epoch seconds or ms) indexed for the prune, and each extra column.
 */
export function defineSessionTable(builder: Knex.CreateTableBuilder, adapter: DialectAdapter, table: SessionTable): void {
  const { columns } = adapter;
  columns.table?.(builder);
  columns.sid(builder, table.sidColumn).notNullable().primary();
  columns.sess(builder, table.sessColumn).notNullable();
  const expired = table.expiredColumn;
  const expiry = table.expiryEncoding === 'timestamp' ? columns.timestamp(builder, expired) : builder.bigInteger(expired);
  expiry.notNullable().index();
  for (const column of table.extraColumns) defineExtraColumn(builder, adapter, column);
}

/** One extra column of the `columns` option: nullable, indexed for `findWhere` and `destroyWhere`. */
function defineExtraColumn(builder: Knex.TableBuilder, adapter: DialectAdapter, column: string): void {
  adapter.columns.extra(builder, column).nullable().index();
}
