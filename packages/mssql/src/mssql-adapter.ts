import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import {
  BaseDialectAdapter,
  catalogView,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  type ColumnTypes,
  type ErrorKind,
  type SessionRow,
  type SessionTable,
  type PruneLock,
  type TableCatalog,
} from '@csk/core';

/** The sid column's collation: binary, so that sids differing only in case or accents are different sessions. */
export const MSSQL_SID_COLLATION = 'Latin1_General_100_BIN2';

/**
 * One atomic upsert. HOLDLOCK (serialisable) makes MERGE hold a key-range lock from its read to its write, so two
 * first writes of one sid queue instead of both inserting; SQL Server requires the terminating semicolon. Names are
 * named bindings (`:sid:`), quoted by knex; the extra columns are `:extra0:`… with values `:extraValue0`….
 */
function mergeStatement(table: SessionTable): string {
  const extras = table.extraColumns.map((_, i) => i);
  const expiredValue = table.expiryEncoding === 'timestamp' ? 'CAST(:expiredValue AS datetime2(3))' : ':expiredValue';
  const values = [':sidValue', ':sessValue', expiredValue, ...extras.map((i) => `:extraValue${i}`)].join(', ');
  const names = [':sid:', ':sess:', ':expired:', ...extras.map((i) => `:extra${i}:`)];
  const updates = names
    .slice(1)
    .map((name) => `${name} = [source].${name}`)
    .join(', ');
  return `MERGE INTO :table: WITH (HOLDLOCK) AS [target]
USING (VALUES (${values})) AS [source] (${names.join(', ')})
ON [target].:sid: = [source].:sid:
WHEN MATCHED THEN UPDATE SET ${updates}
WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${names.map((name) => `[source].${name}`).join(', ')});`;
}

/**
 * Takes the prune's application lock without waiting (`@LockTimeout = 0`) and returns sp_getapplock's status: 0 when
 * granted, negative when another session holds it. Owned by the batch's transaction, which releases it at its commit
 * or rollback; a batch (at most a thousand rows) stays below the row-lock count at which SQL Server escalates to a
 * lock on the whole table.
 */
export const GET_PRUNE_LOCK = `DECLARE @result int;
EXEC @result = sp_getapplock @Resource = ?, @LockMode = 'Exclusive', @LockOwner = 'Transaction', @LockTimeout = 0;
SELECT @result AS [result];`;

/**
 * The application-lock resource of a table's prune (application locks belong to one database): a hash of the schema
 * and table names, well within the 255 characters sp_getapplock takes.
 */
export function pruneLockResource(table: SessionTable): string {
  // 'sweep' and 'csk-sweep:' are the words of earlier builds, kept byte for byte so that stores of the previous build
  // and this one still take the same resource and exclude each other.
  const name = `connect-session-knex sweep\0${table.schemaName ?? ''}\0${table.tableName}`;
  return `csk-sweep:${createHash('sha256').update(name).digest('hex')}`;
}

/** tedious's codes of a connection that broke, timed out or closed under a request. */
const CONNECTION_CODES = new Set(['ESOCKET', 'ETIMEOUT', 'ECLOSE', 'ECONNCLOSED', 'EINVALIDSTATE']);

/** The table as one identifier binding: knex splits it at the dot and brackets each part (core forbids dots in names). */
function qualifiedName(table: SessionTable): string {
  return table.schemaName ? `${table.schemaName}.${table.tableName}` : table.tableName;
}

/** An nvarchar(255) column with the binary collation: values differing only in case or accents stay different. */
const binaryText = (builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder =>
  builder.specificType(column, `nvarchar(255) collate ${MSSQL_SID_COLLATION}`);

/**
 * SQL Server through knex's `mssql` client (tedious). sid is `nvarchar(255)` with a binary collation (nvarchar
 * because knex binds every string as nvarchar: a varchar key would be converted row by row and lose its index seek),
 * sess is `nvarchar(max)`, and expired is `datetime2(3)` holding UTC.
 */
export class MssqlAdapter extends BaseDialectAdapter {
  override readonly name = 'mssql';
  override readonly capabilities = {
    ...PORTABLE_CAPABILITIES,
    dialects: ['mssql'],
    /** SQL Server's sysname holds 128 characters. */
    maxIdentifierLength: { length: 128, unit: 'characters' },
    /**
     * knex quotes SQL Server names by bracketing them after deleting every `[` and `]`, while its `hasTable` compares
     * the name as given: such a table would be created under one name and looked for under another, and two column
     * names that differ only in brackets would land on one column.
     */
    refusedIdentifierCharacters: ['[', ']'],
  } as const;
  override readonly columns: ColumnTypes = {
    sid: binaryText,
    sess: (builder, column) => builder.text(column),
    timestamp: (builder, column) => builder.specificType(column, 'datetime2(3)'),
    /** Binary, like the sid: a database's usual case- and accent-insensitive collation would match other users' values. */
    extra: binaryText,
  };
  override readonly catalog: TableCatalog = {
    ...PORTABLE_CATALOG,
    /** From INFORMATION_SCHEMA, in the table's schema or the user's default: `columnInfo()` assumes `dbo`. */
    ...catalogView({
      view: 'INFORMATION_SCHEMA.COLUMNS',
      name: 'COLUMN_NAME',
      type: 'DATA_TYPE',
      schema: 'TABLE_SCHEMA',
      table: 'TABLE_NAME',
      currentSchema: 'schema_name()',
    }),
    /** Bytes as stored (`len()` counts characters, and `length()` does not exist). */
    sizeOf: (knex, column) => knex.raw('datalength(??)', [column]),
  };
  /** The application lock {@link GET_PRUNE_LOCK}, owned by the batch's transaction. */
  override readonly pruneLock: PruneLock = {
    take: async (trx, table) => {
      const rows: Array<{ result?: unknown }> = await trx.raw(GET_PRUNE_LOCK, [pruneLockResource(table)]);
      return Number(rows[0]?.result) >= 0;
    },
  };

  /**
   * ISO 8601 UTC text with milliseconds and no zone: `2026-01-31T12:00:00.000`. SQL Server reads this form the same
   * under every SET LANGUAGE and DATEFORMAT, and into datetime2(3) exactly. A `Date` would not do: knex binds it as
   * legacy `datetime` (1/300 s steps, widened inexactly to datetime2 since SQL Server 2016) and tedious encodes it
   * in local time when the application sets `useUTC: false`.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString().slice(0, 23);
  }

  /**
   * Unreachable: the common errors and tedious's errors of a connection that broke or timed out (not a failed login:
   * that is an answer). A conflict: error 1205, the statement was chosen as a deadlock victim and rolled back.
   */
  override classifyError(error: unknown): ErrorKind {
    const { code, number } = (error ?? {}) as { code?: unknown; number?: unknown };
    if (number === 1205) return 'conflict';
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return 'unreachable';
    return super.classifyError(error);
  }

  /** The MERGE above: one statement, atomic for two first writes of one sid. */
  override upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.Raw {
    const bindings: Record<string, Knex.Value> = {
      table: qualifiedName(table),
      sid: table.sidColumn,
      sess: table.sessColumn,
      expired: table.expiredColumn,
      sidValue: row.sid,
      sessValue: row.sess,
      expiredValue: row.expired,
    };
    table.extraColumns.forEach((column, i) => {
      bindings[`extra${i}`] = column;
      bindings[`extraValue${i}`] = row.extra[i] ?? null;
    });
    return knex.raw(mergeStatement(table), bindings);
  }
}
