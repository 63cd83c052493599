import path from 'node:path';
import { knex, type Knex } from 'knex';
import { mysqlConnection } from '@csk/conformance/scenarios/live';
import type { LiveTarget } from '@csk/conformance/scenarios/workers';
import { MysqlStore } from '@csk/mysql';
import type { KnexStoreOptions } from '@csk/core';

/** The package's folder, from which worker processes resolve knex, the drivers and the built store. */
export const packageDir = path.resolve(__dirname, '..');
/** The built store (`npx tsup` first): what worker processes load. */
export const storeModule = path.join(packageDir, 'dist', 'index.cjs');

/** The knex clients the package supports. */
export const CLIENTS = ['mysql2', 'mysql', 'mariadb'] as const;
export type MysqlClient = (typeof CLIENTS)[number];

/** The store, as the tests build it. */
export const createStore = (options: KnexStoreOptions): MysqlStore => new MysqlStore(options);

/**
 * A knex config for the server at `url` (`CSK_MYSQL_URL`, e.g. mysql://root@127.0.0.1:3306/test). `timezone: 'Z'`
 * only makes the tests' own reads of DATETIME columns come back as UTC; the store never reads them. The `mysql`
 * driver talks utf8mb3 unless told otherwise, which refuses emoji: the README tells its users to set the charset too.
 */
export function serverConfig(url: string, client: MysqlClient = 'mysql2', { utcReads = true } = {}): Knex.Config {
  return {
    client,
    connection: {
      ...mysqlConnection(url),
      ...(client === 'mysql' ? { charset: 'utf8mb4' } : {}),
      ...(utcReads ? { timezone: 'Z' } : {}),
    },
    pool: { min: 0, max: 8 },
  };
}

/** The live target of a MySQL or MariaDB server (driver time zone left at its default: local). */
export function serverTarget(url: string, client: MysqlClient = 'mysql2'): LiveTarget {
  const config = serverConfig(url, client, { utcReads: false });
  return {
    name: `MySQL/MariaDB (${client})`,
    createKnex: () => knex(serverConfig(url, client)),
    createStore,
    process: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig: config },
    shared: true,
  };
}

/** Epoch milliseconds of a DATETIME holding UTC, computed without any time zone setting. */
export const EXPIRY_MS = "timestampdiff(microsecond, '1970-01-01 00:00:00', ??) div 1000";
