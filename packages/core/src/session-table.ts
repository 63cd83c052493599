import type { Knex } from 'knex';

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
 * Every identifier of the table, each with the option that names it (`columns.<name>` for an extra column): so that a
 * dialect's rule on names (its length limit, the characters its quoting drops) reaches every one of them.
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
