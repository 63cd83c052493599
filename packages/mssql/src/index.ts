/**
 * Microsoft SQL Server session store for express-session, through knex's `mssql` client (the `tedious` driver).
 *
 * ```sh
 * npm install @csk/mssql knex express-session tedious
 * ```
 *
 * @packageDocumentation
 */
import { KnexStore, type KnexStoreOptions } from '@csk/core';
import { MssqlAdapter } from './mssql-adapter.js';

export { MssqlAdapter, MSSQL_SID_COLLATION } from './mssql-adapter.js';
export * from '@csk/core';

/** An express-session store on SQL Server. The `knex` option is required (a knex with `client: 'mssql'`). */
export class MssqlStore extends KnexStore {
  constructor(options?: KnexStoreOptions) {
    super(options, new MssqlAdapter());
  }
}
