import path from 'node:path';
import type { Knex } from 'knex';
import { describeMatrixConformance } from '@csk/conformance/recorded/live-matrix';
import { serverAddress } from '@csk/conformance/scenarios/live';
import { OracleStore } from '@csk/oracle';

/** The package's folder, from which child processes resolve knex, oracledb and the built store. */
const packageDir = path.resolve(__dirname, '..');

/** knex config for `CSK_ORACLE_URL` (`oracle://user:password@host:port/service`), through node-oracledb thin mode. */
function serverConfig(url: string): Knex.Config {
  const { host, port, user, password, database } = serverAddress(url, 1521);
  return {
    client: 'oracledb',
    connection: { user, password, connectString: `${host}:${port}/${database}` },
    pool: { min: 0, max: 8 },
  };
}

describeMatrixConformance({
  variable: 'CSK_ORACLE_URL',
  database: 'Oracle Database',
  name: 'Oracle Database (oracledb thin)',
  serverConfig,
  packageDir,
  storeExport: 'OracleStore',
  createStore: (options) => new OracleStore(options),
});
