import path from 'node:path';
import { knex, type Knex } from 'knex';
import { describeStoreConformance } from '@csk/conformance';
import { OracleStore } from '@csk/oracle';

/** The package's folder, from which child processes resolve knex, oracledb and the built store. */
const packageDir = path.resolve(__dirname, '..');

/** knex config for `CSK_ORACLE_URL` (`oracle://user:password@host:port/service`), through node-oracledb thin mode. */
function serverConfig(url: string): Knex.Config {
  const parsed = new URL(url);
  return {
    client: 'oracledb',
    connection: {
      user: decodeURIComponent(parsed.username),
      password: decodeURIComponent(parsed.password),
      connectString: `${parsed.hostname}:${parsed.port || 1521}/${decodeURIComponent(parsed.pathname.slice(1))}`,
    },
    pool: { min: 0, max: 8 },
  };
}

const url = process.env.CSK_ORACLE_URL;
if (url) {
  const knexConfig = serverConfig(url);
  describeStoreConformance({
    name: 'Oracle Database (oracledb thin)',
    createKnex: () => knex(knexConfig),
    createStore: (options) => new OracleStore(options),
    isolated: { packageDir, storeModule: path.join(packageDir, 'dist', 'index.cjs'), storeExport: 'OracleStore', knexConfig },
  });
} else {
  // Skipped even in CI: no Oracle Database can run on this project's machines. The offline tests are what CI checks;
  // the live run is the docker-compose matrix (pnpm test:matrix).
  describe('Oracle Database (live)', () => {
    test.skip('needs CSK_ORACLE_URL, which pnpm test:matrix sets', () => undefined);
  });
}
