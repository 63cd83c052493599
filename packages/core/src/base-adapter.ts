import type { Knex } from 'knex';
import { isCommonConnectionError } from './connection.js';
import type {
  ColumnTypes,
  DialectAdapter,
  DialectCapabilities,
  ErrorKind,
  PruneLock,
  TableCatalog,
} from './dialect-adapter.js';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';
import { rowColumns, type SessionRow, type SessionTable } from './session-table.js';

/**
 * Rows deleted per statement by the prune unless the adapter's capabilities say otherwise, so that no single DELETE
 * holds locks on a huge table for long.
 */
export const PRUNE_BATCH_SIZE = 1000;

/** What a dialect may do unless its adapter says otherwise: a server, schemas, a LIMITed subquery in the prune's delete. */
export const PORTABLE_CAPABILITIES: DialectCapabilities = Object.freeze({
  remote: true,
  schemas: true,
  transactionalDdl: false,
  dynamicColumnTypes: false,
  deleteLimit: 'subquery',
  pruneBatchSize: PRUNE_BATCH_SIZE,
  pruneRestRatio: 0,
});

/** Upstream's table: `sid varchar(255)`, `sess json`, `expired timestamp`; extra columns `varchar(255)`. */
export const PORTABLE_COLUMNS: ColumnTypes = Object.freeze({
  sid: (builder: Knex.TableBuilder, column: string) => builder.string(column, 255),
  sess: (builder: Knex.TableBuilder, column: string) => builder.json(column),
  timestamp: (builder: Knex.TableBuilder, column: string) => builder.timestamp(column),
  extra: (builder: Knex.TableBuilder, column: string) => builder.string(column, 255),
});

/** Column names and types from knex's `columnInfo()`, sizes by `length()`, the expiry read as the driver reads it. */
export const PORTABLE_CATALOG: TableCatalog = Object.freeze({
  hasTable: (knex: Knex, table: SessionTable) => table.schema(knex).hasTable(table.tableName),
  columnNames: async (knex: Knex, table: SessionTable) => Object.keys(await table.query(knex).columnInfo()),
  columnType: async (knex: Knex, table: SessionTable, column: string) => {
    const info = (await table.query(knex).columnInfo()) as unknown as Record<string, { type?: unknown }>;
    const found = Object.keys(info).find((name) => name.toLowerCase() === column.toLowerCase());
    return found === undefined ? undefined : String(info[found]?.type ?? '');
  },
  sizeOf: (knex: Knex, column: string) => knex.raw('length(??)', [column]),
  readExpiry: (knex: Knex, column: string) => knex.raw('??', [column]),
});

/** Where an information-schema-like view lists a table's columns: the view, its columns, the current schema's SQL. */
export interface CatalogView {
  readonly view: string;
  readonly name: string;
  readonly type: string;
  readonly schema: string;
  readonly table: string;
  /** SQL for the schema a table named without one lives in. */
  readonly currentSchema: string;
}

/**
 * `columnNames` and `columnType` read from a catalog view, every name bound as a value: for the dialects whose knex
 * `columnInfo()` ignores the schema or splices the table's name into its SQL.
 */
export function catalogView(catalog: CatalogView): Pick<TableCatalog, 'columnNames' | 'columnType'> {
  const columns = async (knex: Knex, table: SessionTable): Promise<Array<{ name: string; type: string }>> => {
    const rows: Array<{ name: unknown; type: unknown }> = await knex
      .select({ name: catalog.name, type: catalog.type })
      .from(catalog.view)
      .where(catalog.schema, table.schemaName ?? knex.raw(catalog.currentSchema))
      .andWhere(catalog.table, table.tableName);
    return rows.map((row) => ({ name: String(row.name), type: String(row.type) }));
  };
  return {
    columnNames: async (knex, table) => (await columns(knex, table)).map((column) => column.name),
    columnType: async (knex, table, column) =>
      (await columns(knex, table)).find((found) => found.name.toLowerCase() === column.toLowerCase())?.type,
  };
}

/**
 * The portable defaults of {@link DialectAdapter}: the capabilities, columns and catalog above, `Date` expiry values,
 * `INSERT … ON CONFLICT (sid) DO UPDATE` as the upsert, and the common connection errors. A dialect overrides only
 * what differs.
 */
export abstract class BaseDialectAdapter implements DialectAdapter {
  abstract readonly name: string;
  readonly capabilities: DialectCapabilities = PORTABLE_CAPABILITIES;
  readonly columns: ColumnTypes = PORTABLE_COLUMNS;
  readonly catalog: TableCatalog = PORTABLE_CATALOG;
  readonly pruneLock?: PruneLock;
  bindExpiry?(knex: Knex, value: Knex.Value): Knex.Value;
  upsertMany?(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder | Knex.Raw;
  nativeExecutor?(
    knex: Knex,
    context: NativeExecutorContext,
  ): NativeExecutor | undefined | Promise<NativeExecutor | undefined>;
  createDefaultKnex?(): Knex;

  encodeExpiry(ms: number, _knex?: Knex): Knex.Value {
    return new Date(ms);
  }

  upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw {
    return this.insertOrMerge(knex, table, [row]);
  }

  /**
   * `INSERT … ON CONFLICT (sid) DO UPDATE` (knex's `onConflict().merge()`) of `rows`: the portable upsert, and for a
   * dialect whose engine takes it with several rows, its `upsertMany`.
   */
  protected insertOrMerge(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder {
    const columns = rows.map((row) => rowColumns(table, row));
    return table
      .query(knex)
      .insert(columns.map((row) => Object.fromEntries(row)))
      .onConflict(table.sidColumn)
      .merge(columns[0]!.slice(1).map(([column]) => column));
  }

  /** The connection errors every driver shares (see `isCommonConnectionError`); no conflicts. */
  classifyError(error: unknown): ErrorKind {
    return isCommonConnectionError(error) ? 'unreachable' : undefined;
  }
}
