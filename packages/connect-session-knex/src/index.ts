/**
 * An express-session store for PostgreSQL, MySQL, MariaDB, MSSQL, Oracle and SQLite through knex. It picks the
 * dialect adapter from the knex instance you pass.
 *
 * ```sh
 * npm install connect-session-knex knex express-session sqlite3   # or pg, mysql2, tedious, oracledb, better-sqlite3
 * ```
 *
 * @packageDocumentation
 */
export { ConnectSessionKnexStore, type ConnectSessionKnexStoreOptions } from './connect-session-knex-store.js';
export { createSessionTable, type ConnectSessionKnexTableOptions } from './session-table.js';
export { sessionTableMigration, type SessionTableMigration } from './migration.js';
export { selectAdapter, supportedClients, type KnexClientLike } from './adapters.js';
export { UnsupportedDialectError } from './errors.js';
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
  createEncryptedSerializer,
  type EncryptedSerializerOptions,
  type Serializer,
  type PruneEvent,
  type PruneProgressEvent,
  type SetEvent,
  type DestroyEvent,
} from '@csk/core';
// The dialect adapters, for the `adapter` option (e.g. `new PostgresAdapter({ jsonb: true })`).
export { SqliteAdapter } from '@csk/sqlite';
export { PostgresAdapter, type PostgresAdapterOptions } from '@csk/postgres';
export { MysqlAdapter } from '@csk/mysql';
export { MssqlAdapter } from '@csk/mssql';
export { OracleAdapter } from '@csk/oracle';
