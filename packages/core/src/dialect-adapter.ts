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
  /** A query builder on the table, in its schema when one is set. */
  query(knex: Knex | Knex.Transaction): Knex.QueryBuilder;
  /** A schema builder in the table's schema when one is set. */
  schema(knex: Knex): Knex.SchemaBuilder;
  /** The table as people read it in messages: `schema.table`. */
  readonly displayName: string;
}

/** One row as the store writes it: the sid, the serialised session and the encoded expiry. */
export interface SessionRow {
  readonly sid: string;
  readonly sess: string;
  readonly expired: Knex.Value;
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
  /** Whether the session table exists (in its schema, when one is set). */
  hasTable(knex: Knex, table: SessionTable): Promise<boolean>;
  /** Columns of the session table as `createTable` should build them. */
  defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void;
  /**
   * The value bound for an expiry of `ms` milliseconds since the epoch (also "now" in comparisons). `knex` is the
   * store's instance, for dialects whose driver needs an explicitly typed bind value.
   */
  encodeExpiry(ms: number, knex: Knex): Knex.Value;
  /** Insert the row or replace the existing one of the same sid, atomically: two racing first writes must not fail. */
  upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void>;
  /** Delete at most `limit` rows whose expiry is at or before `now` (an encoded value); resolve the count deleted. */
  deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number>;
  /**
   * The knex instance used when the application passes none, or `undefined` when the dialect has no such default.
   * The store destroys a knex it got from here on `close()`.
   */
  createDefaultKnex?(): Knex;
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
  createDefaultKnex?(): Knex;

  hasTable(knex: Knex, table: SessionTable): Promise<boolean> {
    return table.schema(knex).hasTable(table.tableName);
  }

  defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    table.string(names.sidColumn, 255).notNullable().primary();
    table.json(names.sessColumn).notNullable();
    table.timestamp(names.expiredColumn).notNullable().index();
  }

  encodeExpiry(ms: number, _knex?: Knex): Knex.Value {
    return new Date(ms);
  }

  async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
    await table
      .query(knex)
      .insert({ [table.sidColumn]: row.sid, [table.sessColumn]: row.sess, [table.expiredColumn]: row.expired })
      .onConflict(table.sidColumn)
      .merge([table.sessColumn, table.expiredColumn]);
  }

  async deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number> {
    const batch = table.query(knex).select(table.sidColumn).where(table.expiredColumn, '<=', now).limit(limit);
    return rowCount(await table.query(knex).whereIn(table.sidColumn, batch).del());
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
