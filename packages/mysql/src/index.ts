/**
 * MySQL and MariaDB session store for express-session, through knex (`mysql2`, `mysql` or `mariadb`).
 *
 * ```sh
 * npm install @csk/mysql knex express-session mysql2
 * ```
 *
 * @packageDocumentation
 */
import type { Knex } from 'knex';
import { KnexStore, createSessionTable as createTableWith, type KnexStoreOptions, type SessionTableOptions } from '@csk/core';
import { MysqlAdapter } from './mysql-adapter.js';

export { MysqlAdapter, type MysqlServerInfo } from './mysql-adapter.js';
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

/** The options of {@link MysqlStore}: the store options of `@csk/core`, with nothing added. */
export type MysqlStoreOptions = KnexStoreOptions;

/** An express-session store on MySQL or MariaDB. The `knex` option is required. */
export class MysqlStore extends KnexStore {
  constructor(options?: MysqlStoreOptions) {
    super(options, new MysqlAdapter());
  }
}

/**
 * Create the session table on MySQL or MariaDB as a store with the same options would (see the README's "Migrations
 * and the CLI"), for a deployment whose application user may not run DDL: run it once as a user who may, then start
 * the stores with `createTable: false`. Idempotent: resolves `true` when it created the table, `false` when it existed.
 * `knex` may be a transaction (a knex migration's).
 */
export function createSessionTable(knex: Knex, options?: SessionTableOptions): Promise<boolean> {
  return createTableWith(knex, new MysqlAdapter(), options);
}
