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

export { MysqlAdapter, parseServerVersion, type MysqlServerInfo } from './mysql-adapter.js';
export * from '@csk/core';

/** An express-session store on MySQL or MariaDB. The `knex` option is required. */
export class MysqlStore extends KnexStore {
  constructor(options?: KnexStoreOptions) {
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
