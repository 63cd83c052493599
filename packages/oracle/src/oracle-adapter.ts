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
  type TableCatalog,
} from '@csk/core';

/** The bind types the adapter reads from node-oracledb, reached through knex: the adapter never imports the driver. */
interface OracleBindTypes {
  readonly DB_TYPE_CLOB?: unknown;
  readonly DB_TYPE_TIMESTAMP_TZ?: unknown;
}

/**
 * One upsert. Oracle's MERGE takes no lock on a key that does not exist yet, so two first writes of one sid can both
 * reach the insert: the loser gets ORA-00001, which the adapter classifies as a conflict, so that the store runs the
 * statement again, when it matches. No trailing semicolon: node-oracledb sends one statement and Oracle rejects the `;`.
 */
function mergeStatement(table: SessionTable): string {
  const extras = table.extraColumns.map((_, i) => i);
  const pairs = [
    [':sidValue', ':sid:'],
    [':sessValue', ':sess:'],
    [':expiredValue', ':expired:'],
    ...extras.map((i) => [`:extraValue${i}`, `:extra${i}:`]),
  ];
  const names = pairs.map(([, name]) => name);
  const updates = names
    .slice(1)
    .map((name) => `"target".${name} = "source".${name}`)
    .join(', ');
  return `MERGE INTO :table: "target"
USING (SELECT ${pairs.map(([value, name]) => `${value} AS ${name}`).join(', ')} FROM dual) "source"
ON ("target".:sid: = "source".:sid:)
WHEN MATCHED THEN UPDATE SET ${updates}
WHEN NOT MATCHED THEN INSERT (${names.join(', ')}) VALUES (${names.map((name) => `"source".${name}`).join(', ')})`;
}

/** `value` with an explicit node-oracledb bind type, or as it is when the knex has no driver loaded. */
function typed(knex: Knex | undefined, value: Knex.Value, type: keyof OracleBindTypes): Knex.Value {
  const dbType = (knex?.client as { driver?: OracleBindTypes } | undefined)?.driver?.[type];
  // Anything else (a value encodeExpiry has typed already) passes through.
  return dbType && (value instanceof Date || typeof value === 'string') ? { val: value, type: dbType } : value;
}

/**
 * node-oracledb's errors of a connection that broke or could not be made (NJS-500 broken, NJS-501 ended, NJS-503
 * refused, NJS-510 timed out) and the server's (ORA-03113/03114/03135 lost contact, ORA-12170 connect timeout,
 * ORA-12514/12541 no listener or service, ORA-12547 lost contact). Verified against the documented codes only: no
 * Oracle server runs here.
 */
const CONNECTION_CODES = new Set([
  'NJS-500',
  'NJS-501',
  'NJS-503',
  'NJS-510',
  'ORA-03113',
  'ORA-03114',
  'ORA-03135',
  'ORA-12170',
  'ORA-12514',
  'ORA-12541',
  'ORA-12547',
  'DPI-1080',
]);

function isUniqueViolation(error: unknown): boolean {
  const { errorNum, message } = (error ?? {}) as { errorNum?: unknown; message?: unknown };
  return errorNum === 1 || (typeof message === 'string' && /\bORA-00001\b/.test(message));
}

/** Text of up to 255 characters, as core allows, not 255 bytes (the default length semantics). */
const text255 = (builder: Knex.TableBuilder, column: string): Knex.ColumnBuilder =>
  builder.specificType(column, 'varchar2(255 char)');

/**
 * Oracle Database through knex's `oracledb` client (node-oracledb, thin mode needs no Oracle Client). sid is
 * `varchar2(255 char)`, sess a CLOB (no 4000-byte cap), and expired `timestamp(3) with time zone`. Every name is
 * quoted, so it is case-sensitive: `sessions` is the table `"sessions"`, and a schema is named as the data dictionary
 * spells it (usually in capitals).
 */
export class OracleAdapter extends BaseDialectAdapter {
  override readonly name = 'oracle';
  override readonly capabilities = {
    ...PORTABLE_CAPABILITIES,
    dialects: ['oracle'],
    /** Oracle Database 12.2 and later: 128 bytes (30 before 12.2). */
    maxIdentifierLength: { length: 128, unit: 'bytes' },
  } as const;
  override readonly columns: ColumnTypes = {
    sid: text255,
    sess: (builder, column) => builder.text(column),
    timestamp: (builder, column) => builder.specificType(column, 'timestamp(3) with time zone'),
    extra: text255,
  };
  override readonly catalog: TableCatalog = {
    ...PORTABLE_CATALOG,
    /**
     * knex's `hasTable` reads USER_TABLES and ignores the schema, so with `schemaName` this asks ALL_TABLES for that
     * owner instead.
     */
    hasTable: async (knex, table) => {
      if (!table.schemaName) return table.schema(knex).hasTable(table.tableName);
      const rows: unknown[] = await knex.raw('select 1 from all_tables where owner = ? and table_name = ?', [
        table.schemaName,
        table.tableName,
      ]);
      return rows.length > 0;
    },
    /**
     * From ALL_TAB_COLUMNS for the table's owner (the schema, else the session's current schema): knex's
     * `columnInfo()` splices the table name into its SQL and ignores the owner.
     */
    ...catalogView({
      view: 'ALL_TAB_COLUMNS',
      name: 'COLUMN_NAME',
      type: 'DATA_TYPE',
      schema: 'OWNER',
      table: 'TABLE_NAME',
      currentSchema: "sys_context('USERENV', 'CURRENT_SCHEMA')",
    }),
    /** The CLOB's length (in characters: a CLOB has no byte length short of converting it). */
    sizeOf: (knex, column) => knex.raw('dbms_lob.getlength(??)', [column]),
  };

  /**
   * A `Date`, typed TIMESTAMP WITH TIME ZONE when given the knex (the MERGE and the prune type theirs in any case).
   * Left to itself node-oracledb binds a Date as a zone-less TIMESTAMP in Node's local time, which Oracle reads in the
   * session's time zone: thin mode sets that to Node's UTC offset when it connects, so a pooled connection that
   * outlives a daylight-saving change is an hour off.
   */
  override encodeExpiry(ms: number, knex?: Knex): Knex.Value {
    return typed(knex, new Date(ms), 'DB_TYPE_TIMESTAMP_TZ');
  }

  /** MERGE from `dual`, with sess bound as a CLOB: a plain string bind stops at 4000 bytes in SQL (ORA-01461). */
  override upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.Raw {
    const bindings: Record<string, Knex.Value> = {
      table: table.schemaName ? `${table.schemaName}.${table.tableName}` : table.tableName,
      sid: table.sidColumn,
      sess: table.sessColumn,
      expired: table.expiredColumn,
      sidValue: row.sid,
      sessValue: typed(knex, row.sess, 'DB_TYPE_CLOB'),
      expiredValue: typed(knex, row.expired, 'DB_TYPE_TIMESTAMP_TZ'),
    };
    table.extraColumns.forEach((column, i) => {
      bindings[`extra${i}`] = column;
      bindings[`extraValue${i}`] = row.extra[i] ?? null;
    });
    return knex.raw(mergeStatement(table), bindings);
  }

  /**
   * Unreachable: the common errors and node-oracledb's and the server's codes of a lost or refused connection. A
   * conflict: ORA-00060 (a deadlock: the statement was rolled back), ORA-08177 (a serializable transaction could not
   * serialize access), and ORA-00001 (two first writes of one sid both reached the MERGE's insert; run again, the
   * loser's MERGE matches the winner's row).
   */
  override classifyError(error: unknown): ErrorKind {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (isUniqueViolation(error)) return 'conflict';
    const prefix = typeof message === 'string' ? /^([A-Z]{3}-\d{4,5}):/.exec(message)?.[1] : undefined;
    const codes = [code, prefix].filter((value): value is string => typeof value === 'string');
    if (codes.some((value) => value === 'ORA-00060' || value === 'ORA-08177')) return 'conflict';
    if (codes.some((value) => CONNECTION_CODES.has(value))) return 'unreachable';
    return super.classifyError(error);
  }
}
