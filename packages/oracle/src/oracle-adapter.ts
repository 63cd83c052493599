import type { Knex } from 'knex';
import { BaseDialectAdapter, type SessionRow, type SessionTable } from '@csk/core';

/** The bind types the adapter reads from node-oracledb, reached through knex: the adapter never imports the driver. */
interface OracleBindTypes {
  readonly DB_TYPE_CLOB?: unknown;
  readonly DB_TYPE_TIMESTAMP_TZ?: unknown;
}

/**
 * One upsert. Oracle's MERGE takes no lock on a key that does not exist yet, so two first writes of one sid can both
 * reach the insert: the loser gets ORA-00001, and {@link OracleAdapter.upsert} runs the statement once more, when it
 * matches. No trailing semicolon: node-oracledb sends one statement and Oracle rejects the `;`.
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

/** Where the catalog lists the table's columns and their declared types, every name bound as a value. */
const COLUMN_CATALOG = {
  view: 'ALL_TAB_COLUMNS',
  name: 'COLUMN_NAME',
  type: 'DATA_TYPE',
  schema: 'OWNER',
  table: 'TABLE_NAME',
  currentSchema: "sys_context('USERENV', 'CURRENT_SCHEMA')",
};

/**
 * Oracle Database through knex's `oracledb` client (node-oracledb, thin mode needs no Oracle Client). sid is
 * `varchar2(255 char)`, sess a CLOB (no 4000-byte cap), and expired `timestamp(3) with time zone`. Every name is
 * quoted, so it is case-sensitive: `sessions` is the table `"sessions"`, and a schema is named as the data dictionary
 * spells it (usually in capitals).
 */
export class OracleAdapter extends BaseDialectAdapter {
  override readonly name = 'oracle';
  /** Oracle Database 12.2 and later: 128 bytes (30 before 12.2). */
  override readonly maxIdentifierLength = { length: 128, unit: 'bytes' } as const;
  override readonly dialects = ['oracle'] as const;

  protected override defineSid(table: Knex.CreateTableBuilder, column: string): void {
    table.specificType(column, 'varchar2(255 char)').notNullable().primary();
  }

  protected override defineSess(table: Knex.CreateTableBuilder, column: string): void {
    table.text(column).notNullable();
  }

  protected override defineTimestamp(table: Knex.CreateTableBuilder, column: string): void {
    table.specificType(column, 'timestamp(3) with time zone').notNullable().index();
  }

  /** 255 characters, as core allows, not 255 bytes (the default length semantics): like the sid. */
  protected override defineExtra(table: Knex.TableBuilder, column: string): void {
    table.specificType(column, 'varchar2(255 char)').nullable().index();
  }

  /**
   * A `Date`, typed TIMESTAMP WITH TIME ZONE when given the knex (the MERGE and the sweep type theirs in any case).
   * Left to itself node-oracledb binds a Date as a zone-less TIMESTAMP in Node's local time, which Oracle reads in the
   * session's time zone: thin mode sets that to Node's UTC offset when it connects, so a pooled connection that
   * outlives a daylight-saving change is an hour off.
   */
  override encodeExpiry(ms: number, knex?: Knex): Knex.Value {
    return typed(knex, new Date(ms), 'DB_TYPE_TIMESTAMP_TZ');
  }

  /** MERGE from `dual`, with sess bound as a CLOB: a plain string bind stops at 4000 bytes in SQL (ORA-01461). */
  override async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
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
    const merge = mergeStatement(table);
    try {
      await knex.raw(merge, bindings);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      await knex.raw(merge, bindings);
    }
  }

  /** Also node-oracledb's and the server's codes of a lost or refused connection. */
  override isConnectionError(error: unknown): boolean {
    if (super.isConnectionError(error)) return true;
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
    const prefix = typeof message === 'string' ? /^([A-Z]{3}-\d{4,5}):/.exec(message)?.[1] : undefined;
    return prefix !== undefined && CONNECTION_CODES.has(prefix);
  }

  /**
   * ORA-00060 (a deadlock: the statement was rolled back) and ORA-08177 (a serializable transaction could not
   * serialize access): the statement may run again.
   */
  override isRetryable(error: unknown): boolean {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const prefix = typeof code === 'string' ? code : typeof message === 'string' ? /^(ORA-\d{5}):/.exec(message)?.[1] : undefined;
    return prefix === 'ORA-00060' || prefix === 'ORA-08177';
  }

  /** The portable batched delete, with "now" typed like the stored expiries. */
  override deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number> {
    return super.deleteExpired(knex, table, typed(knex, now, 'DB_TYPE_TIMESTAMP_TZ'), limit);
  }

  /**
   * Whether the session table exists. knex's `hasTable` reads USER_TABLES and ignores the schema, so with
   * `schemaName` this asks ALL_TABLES for that owner instead. For the store's bootstrap to use it, core must ask the
   * adapter (its bootstrap calls knex's check today).
   */
  override async hasTable(knex: Knex, table: SessionTable): Promise<boolean> {
    if (!table.schemaName) return table.schema(knex).hasTable(table.tableName);
    const rows: unknown[] = await knex.raw('select 1 from all_tables where owner = ? and table_name = ?', [
      table.schemaName,
      table.tableName,
    ]);
    return rows.length > 0;
  }

  /**
   * The columns from ALL_TAB_COLUMNS for the table's owner (the schema, else the session's current schema), with
   * every name bound as a value: knex's `columnInfo()` splices the table name into its SQL and ignores the owner.
   */
  override async columnNames(knex: Knex, table: SessionTable): Promise<readonly string[]> {
    return this.catalogColumnNames(knex, table, COLUMN_CATALOG);
  }

  /** The declared type from the same catalog view, the names bound as values. */
  override columnType(knex: Knex, table: SessionTable, column: string): Promise<string | undefined> {
    return this.catalogColumnType(knex, table, column, COLUMN_CATALOG);
  }

  /** The CLOB's length (in characters: a CLOB has no byte length short of converting it). */
  override sizeOf(knex: Knex, column: string): Knex.Raw {
    return knex.raw('dbms_lob.getlength(??)', [column]);
  }
}
