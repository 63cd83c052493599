/**
 * MySQL and MariaDB session store for express-session, through knex (`mysql2`, `mysql` or `mariadb`).
 *
 * ```sh
 * npm install @csk/mysql knex express-session mysql2
 * ```
 *
 * @packageDocumentation
 */
import { KnexStore, type KnexStoreOptions } from '@csk/core';
import { MysqlAdapter } from './mysql-adapter.js';

export { MysqlAdapter, parseServerVersion, type MysqlServerInfo } from './mysql-adapter.js';
export * from '@csk/core';

/** An express-session store on MySQL or MariaDB. The `knex` option is required. */
export class MysqlStore extends KnexStore {
  constructor(options?: KnexStoreOptions) {
    super(options, new MysqlAdapter());
  }
}
