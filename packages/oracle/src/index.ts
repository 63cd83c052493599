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
import { KnexStore, type KnexStoreOptions } from '@csk/core';
import { OracleAdapter } from './oracle-adapter.js';

export { OracleAdapter } from './oracle-adapter.js';
export * from '@csk/core';

/** An express-session store on Oracle Database. The `knex` option is required (a knex with `client: 'oracledb'`). */
export class OracleStore extends KnexStore {
  constructor(options?: KnexStoreOptions) {
    super(options, new OracleAdapter());
  }
}
