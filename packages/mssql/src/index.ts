/**
 * Microsoft SQL Server session store for express-session, through knex's `mssql` client (the `tedious` driver).
 *
 * ```sh
 * npm install @csk/mssql knex express-session tedious
 * ```
 *
 * @packageDocumentation
 */
import type { Knex } from 'knex';
import { KnexStore, createSessionTable as createTableWith, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { MssqlAdapter } from './mssql-adapter.js';

export { MssqlAdapter } from './mssql-adapter.js';
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

/** The options of {@link MssqlStore}: the store options of `@csk/core`, with nothing added. */
export type MssqlStoreOptions = KnexStoreOptions;

/** An express-session store on SQL Server. The `knex` option is required (a knex with `client: 'mssql'`). */
export class MssqlStore extends KnexStore {
  constructor(options?: MssqlStoreOptions) {
    super(options, new MssqlAdapter());
  }
}

/**
 * Create the session table on SQL Server as a store with the same options would (see the README's "Migrations and the
 * CLI"), for a deployment whose application user may not run DDL: run it once as a user who may, then start the
 * stores with `createTable: false`. Idempotent: resolves `true` when it created the table, `false` when it existed.
 * `knex` may be a transaction (a knex migration's).
 */
export function createSessionTable(knex: Knex, options?: SessionTableOptions): Promise<boolean> {
  return createTableWith(knex, new MssqlAdapter(), options);
}
