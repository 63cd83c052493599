import type { Knex } from 'knex';
import { BaseDialectAdapter, ConfigurationError, type SessionTable } from '@csk/core';

/** The options only a PostgreSQL store takes. */
export interface PostgresAdapterOptions {
  /**
   * Create the `sess` column as `jsonb` rather than `json` (upstream's type, the default). It only shapes a table the
   * store creates: an existing table works with either type.
   */
  jsonb?: boolean;
}

/**
 * PostgreSQL through knex's `pg`, `pgnative` and `cockroachdb` clients, and any Client class that extends knex's
 * PostgreSQL client (PGlite's `knex-pglite`): all report the `postgresql` dialect. The table is upstream's
 * (`sid varchar(255)` primary key, `sess json`, `expired timestamptz` indexed), and the base adapter's
 * `INSERT … ON CONFLICT (sid) DO UPDATE` is already the atomic upsert PostgreSQL and CockroachDB want.
 */
export class PostgresAdapter extends BaseDialectAdapter {
  override readonly name = 'postgresql';
  override readonly dialects = ['postgresql'] as const;
  /** Whether a table this adapter creates stores sessions as `jsonb`. */
  readonly jsonb: boolean;

  constructor(options: PostgresAdapterOptions = {}) {
    super();
    if (options.jsonb !== undefined && typeof options.jsonb !== 'boolean') {
      throw new ConfigurationError('jsonb', `must be a boolean, got ${typeof options.jsonb}`);
    }
    this.jsonb = options.jsonb ?? false;
  }

  override defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    table.string(names.sidColumn, 255).notNullable().primary();
    (this.jsonb ? table.jsonb(names.sessColumn) : table.json(names.sessColumn)).notNullable();
    table.timestamp(names.expiredColumn, { useTz: true }).notNullable().index();
  }

  /**
   * ISO-8601 UTC text (`2026-01-31T12:00:00.000Z`), which the server reads as an absolute instant whatever its
   * `TimeZone` setting, and which reaches every client (pg, pg-native, PGlite, CockroachDB) as the same text, with no
   * driver's date serialiser in the way. Upstream bound the same strings.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString();
  }
}
