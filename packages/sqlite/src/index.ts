/**
 * SQLite session store for express-session, through knex (`sqlite3` or `better-sqlite3`).
 *
 * ```sh
 * npm install @csk/sqlite knex express-session sqlite3
 * ```
 *
 * @packageDocumentation
 */
import { KnexStore, type KnexStoreOptions } from '@csk/core';
import { SqliteAdapter } from './sqlite-adapter.js';

export { SqliteAdapter, DEFAULT_SQLITE_FILENAME } from './sqlite-adapter.js';
export * from '@csk/core';

/** An express-session store on SQLite. Without a `knex` option it opens `connect-session-knex.sqlite` in the working directory. */
export class SqliteStore extends KnexStore {
  constructor(options?: KnexStoreOptions) {
    super(options, new SqliteAdapter());
  }
}
