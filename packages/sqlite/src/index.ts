/**
 * SQLite session store for express-session, through knex (`sqlite3` or `better-sqlite3`).
 *
 * ```sh
 * npm install @csk/sqlite knex express-session sqlite3
 * ```
 *
 * @packageDocumentation
 */
import type { Knex } from 'knex';
import { KnexStore, createSessionTable as createTableWith, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { SqliteAdapter } from './sqlite-adapter.js';

export { SqliteAdapter, DEFAULT_SQLITE_FILENAME } from './sqlite-adapter.js';
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

/** The options of {@link SqliteStore}: the store options of `@csk/core`, with nothing added. */
export type SqliteStoreOptions = KnexStoreOptions;

/** An express-session store on SQLite. Without a `knex` option it opens `connect-session-knex.sqlite` in the working directory. */
export class SqliteStore extends KnexStore {
  constructor(options?: SqliteStoreOptions) {
    super(options, new SqliteAdapter());
  }
}

/**
 * Create the session table on SQLite as a store with the same options would (see the README's "Migrations and the
 * CLI"), for a deployment whose application user may not run DDL: run it once as a user who may, then start the
 * stores with `createTable: false`. Idempotent: resolves `true` when it created the table, `false` when it existed.
 * `knex` may be a transaction (a knex migration's).
 */
export function createSessionTable(knex: Knex, options?: SessionTableOptions): Promise<boolean> {
  return createTableWith(knex, new SqliteAdapter(), options);
}
