/**
 * PostgreSQL session store for express-session, through knex (`pg`, `pgnative`, `cockroachdb`, or a PostgreSQL
 * Client class such as PGlite's `knex-pglite`).
 *
 * ```sh
 * npm install @csk/postgres knex express-session pg
 * ```
 *
 * @packageDocumentation
 */
import type { Knex } from 'knex';
import { KnexStore, createSessionTable as createTableWith, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { PostgresAdapter } from './postgres-adapter.js';

export { PostgresAdapter, pruneLockKey, type PostgresAdapterOptions } from './postgres-adapter.js';
/** The errors every store raises: one base class, and one class per kind of failure. */
export {
  ConnectSessionKnexError,
  ConfigurationError,
  DatabaseError,
  InvalidFilterError,
  InvalidSessionError,
  SessionTableMissingError,
  SessionTableShapeError,
  StoreClosedError,
  PruneGuardError,
} from '@csk/core';
/** Encrypts the stored sessions at rest (AES-256-GCM with key rotation): pass its result as the `serializer` option. */
export { createEncryptedSerializer } from '@csk/core';


/** The options of {@link PostgresStore}: every core option, plus `jsonb`. */
export interface PostgresStoreOptions extends KnexStoreOptions {
  /** Create the `sess` column as `jsonb` instead of `json` (the default, upstream's type). Default `false`. */
  jsonb?: boolean;
}

/** An express-session store on PostgreSQL (and CockroachDB, and PGlite). The `knex` option is required. */
export class PostgresStore extends KnexStore {
  constructor(options?: PostgresStoreOptions) {
    const [core, jsonb] = withoutJsonb(options);
    super(core, new PostgresAdapter({ jsonb }));
  }
}

/** The options of the PostgreSQL {@link createSessionTable}: the store's, plus `jsonb`. */
export interface PostgresSessionTableOptions extends SessionTableOptions {
  /** Create the `sess` column as `jsonb` instead of `json`. Default `false`. */
  jsonb?: boolean;
}

/**
 * Create the session table on PostgreSQL as a store with the same options would (see the README's "Migrations and the
 * CLI"), for a deployment whose application user may not run DDL: run it once as a user who may, then start the
 * stores with `createTable: false`. Idempotent: resolves `true` when it created the table, `false` when it existed.
 * `knex` may be a transaction (a knex migration's).
 */
export async function createSessionTable(knex: Knex, options?: PostgresSessionTableOptions): Promise<boolean> {
  const [core, jsonb] = withoutJsonb(options);
  return createTableWith(knex, new PostgresAdapter({ jsonb }), core);
}

/** Take `jsonb` out, so that the core's unknown-option check never sees it; anything but an object goes on untouched. */
function withoutJsonb(options: PostgresStoreOptions | undefined): [KnexStoreOptions | undefined, boolean | undefined] {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return [options, undefined];
  const { jsonb, ...core } = options;
  return [core, jsonb];
}
