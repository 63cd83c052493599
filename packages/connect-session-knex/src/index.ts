/**
 * An express-session store for PostgreSQL, MySQL, MariaDB, MSSQL, Oracle and SQLite through knex. It picks the
 * dialect adapter from the knex instance you pass, and re-exports the core API.
 *
 * ```sh
 * npm install connect-session-knex knex express-session sqlite3   # or pg, mysql2, tedious, oracledb, better-sqlite3
 * ```
 *
 * @packageDocumentation
 */
export * from '@csk/core';
export { SqliteStore, SqliteAdapter, DEFAULT_SQLITE_FILENAME } from '@csk/sqlite';
export { PostgresStore, PostgresAdapter, type PostgresStoreOptions, type PostgresAdapterOptions } from '@csk/postgres';
export { MysqlStore, MysqlAdapter } from '@csk/mysql';
export { MssqlStore, MssqlAdapter } from '@csk/mssql';
export { OracleStore, OracleAdapter } from '@csk/oracle';
export { ConnectSessionKnexStore, type ConnectSessionKnexStoreOptions } from './connect-session-knex-store.js';
export { ADAPTERS, selectAdapter, supportedClients, type AdapterFactory, type KnexClientLike } from './adapters.js';
export { UnsupportedDialectError } from './errors.js';
export { createSessionTable, type ConnectSessionKnexTableOptions } from './session-table.js';
export { sessionTableMigration, type SessionTableMigration } from './migration.js';
