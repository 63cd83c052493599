import type { Knex } from 'knex';
import {
  ConfigurationError,
  createSessionTable as createTableWith,
  type DialectAdapter,
  type SessionTableOptions,
} from '@csk/core';
import { PostgresAdapter } from '@csk/postgres';
import { selectAdapter } from './adapters.js';
import { checkAdapter } from './connect-session-knex-store.js';

/**
 * The options of this package's {@link createSessionTable} and {@link sessionTableMigration}: the store's options that
 * shape the table, `adapter` as the store takes it, and PostgreSQL's `jsonb`.
 */
export interface ConnectSessionKnexTableOptions extends SessionTableOptions {
  /** The dialect adapter to use instead of the one picked from the knex client. */
  adapter?: DialectAdapter;
  /** On PostgreSQL, create the `sess` column as `jsonb` instead of `json`. Default `false`. */
  jsonb?: boolean;
}

/** The core options, and what picks the adapter: refused before any statement, as the store refuses them. */
export function splitTableOptions(
  options: ConnectSessionKnexTableOptions | undefined,
): [SessionTableOptions | undefined, (knex: Knex) => DialectAdapter] {
  // Anything but an options object is left for core to reject with its own message.
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    return [options, (knex) => selectAdapter(knex)];
  }
  const { adapter, jsonb, ...rest } = options;
  const explicit = adapter === undefined ? undefined : checkAdapter(adapter);
  if (jsonb !== undefined && explicit) {
    throw new ConfigurationError('jsonb', 'cannot be combined with "adapter": pass new PostgresAdapter({ jsonb }) instead');
  }
  const pick = (knex: Knex): DialectAdapter => {
    if (explicit) return explicit;
    const selected = selectAdapter(knex);
    if (jsonb === undefined) return selected;
    if (!(selected instanceof PostgresAdapter)) {
      throw new ConfigurationError('jsonb', `only applies to PostgreSQL, and this knex is ${selected.name}`);
    }
    return new PostgresAdapter({ jsonb });
  };
  return [rest, pick];
}

/**
 * Create the session table as a `ConnectSessionKnexStore` with the same options would, picking the dialect adapter
 * from the knex like the store does: for a deployment whose application user may not run DDL, run it once as a user
 * who may, then start the stores with `createTable: false`. Idempotent: resolves `true` when it created the table,
 * `false` when the table existed (or another process created it first). `knex` may be a transaction.
 *
 * @throws {ConfigurationError} for invalid options, {@link UnsupportedDialectError} for a knex client without an
 *   adapter (both before any statement), {@link DatabaseError} when the database refuses.
 */
export async function createSessionTable(knex: Knex, options?: ConnectSessionKnexTableOptions): Promise<boolean> {
  const [rest, pick] = splitTableOptions(options);
  return createTableWith(knex, pick(knex), rest);
}
