import path from 'node:path';
import type { Knex } from 'knex';
import { describeMatrixConformance } from '@csk/conformance/recorded/live-matrix';
import { serverAddress } from '@csk/conformance/scenarios/live';
import { MssqlStore } from '@csk/mssql';

/** The package's folder, from which child processes resolve knex, tedious and the built store. */
const packageDir = path.resolve(__dirname, '..');

/** knex config for `CSK_MSSQL_URL` (`mssql://user:password@host:port/database`); tedious wants a numeric port. */
function serverConfig(url: string): Knex.Config {
  const { host, port, user, password, database } = serverAddress(url, 1433);
  return {
    client: 'mssql',
    connection: {
      server: host,
      port,
      user,
      password,
      database: database || 'master',
      // A test server (the matrix's container) has a self-signed certificate.
      options: { trustServerCertificate: true },
    },
    pool: { min: 0, max: 8 },
  };
}

describeMatrixConformance({
  variable: 'CSK_MSSQL_URL',
  database: 'SQL Server',
  name: 'SQL Server (tedious)',
  serverConfig,
  packageDir,
  storeExport: 'MssqlStore',
  createStore: (options) => new MssqlStore(options),
});
