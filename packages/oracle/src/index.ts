/**
 * Oracle Database session store for express-session, through knex's `oracledb` client (node-oracledb; its default
 * thin mode needs no Oracle Client libraries).
 *
 * ```sh
 * npm install @csk/oracle knex express-session oracledb
 * ```
 *
 * @packageDocumentation
 */
import type { Knex } from 'knex';
import { KnexStore, createSessionTable as createTableWith, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { OracleAdapter } from './oracle-adapter.js';

export { OracleAdapter } from './oracle-adapter.js';
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

/** The options of {@link OracleStore}: the store options of `@csk/core`, with nothing added. */
export type OracleStoreOptions = KnexStoreOptions;

/** An express-session store on Oracle Database. The `knex` option is required (a knex with `client: 'oracledb'`). */
export class OracleStore extends KnexStore {
  constructor(options?: OracleStoreOptions) {
    super(options, new OracleAdapter());
  }
}

/**
 * Create the session table on Oracle as a store with the same options would (see the README's "Migrations and the
 * CLI"), for a deployment whose application user may not run DDL: run it once as a user who may, then start the
 * stores with `createTable: false`. Idempotent: resolves `true` when it created the table, `false` when it existed.
 * `knex` may be a transaction (a knex migration's).
 */
export function createSessionTable(knex: Knex, options?: SessionTableOptions): Promise<boolean> {
  return createTableWith(knex, new OracleAdapter(), options);
}
