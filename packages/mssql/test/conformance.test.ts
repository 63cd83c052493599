import path from 'node:path';
import { knex, type Knex } from 'knex';
import { describeStoreConformance } from '@csk/conformance';
import { MssqlStore } from '@csk/mssql';

/** The package's folder, from which child processes resolve knex, tedious and the built store. */
const packageDir = path.resolve(__dirname, '..');

/** knex config for `CSK_MSSQL_URL` (`mssql://user:password@host:port/database`); tedious wants a numeric port. */
function serverConfig(url: string): Knex.Config {
  const parsed = new URL(url);
  return {
    client: 'mssql',
    connection: {
      server: parsed.hostname,
      port: Number(parsed.port || 1433),
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      database: decodeURIComponent(parsed.pathname.slice(1)) || 'master',
      // A test server (the matrix's container) has a self-signed certificate.
      options: { trustServerCertificate: true },
    },
    pool: { min: 0, max: 8 },
  };
}

const url = process.env.CSK_MSSQL_URL;
if (url) {
  const knexConfig = serverConfig(url);
  describeStoreConformance({
    name: 'SQL Server (tedious)',
    createKnex: () => knex(knexConfig),
    createStore: (options) => new MssqlStore(options),
    isolated: { packageDir, storeModule: path.join(packageDir, 'dist', 'index.cjs'), storeExport: 'MssqlStore', knexConfig },
  });
} else {
  // Skipped even in CI: no SQL Server can run on this project's machines. The offline tests are what CI checks; the
  // live run is the docker-compose matrix (pnpm test:matrix).
  describe('SQL Server (live)', () => {
    test.skip('needs CSK_MSSQL_URL, which pnpm test:matrix sets', () => undefined);
  });
}
