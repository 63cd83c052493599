import path from 'node:path';
import { knex, type Knex } from 'knex';
import { describeStoreConformance, SECONDARY_FUZZ_RUNS } from '@csk/conformance';
import { ConnectSessionKnexStore } from 'connect-session-knex';

// The whole conformance suite through the meta-package's lookup: the adapter is picked from the knex client.
// The child-process checks load the built dist/index.cjs (turbo builds before it tests).
const packageDir = path.resolve(__dirname, '..');
// One connection for the whole suite: an in-memory database lives only as long as its connection.
const knexConfig: Knex.Config = {
  client: 'sqlite3',
  connection: { filename: ':memory:' },
  useNullAsDefault: true,
  pool: { min: 1, max: 1 },
};

describeStoreConformance({
  name: 'ConnectSessionKnexStore on sqlite3 (memory)',
  // @csk/sqlite runs the full fuzz on the same adapter; this target proves the meta-package's wiring.
  fuzzRuns: SECONDARY_FUZZ_RUNS,
  createKnex: () => knex(knexConfig),
  createStore: (options) => new ConnectSessionKnexStore(options),
  isolated: {
    packageDir,
    storeModule: path.join(packageDir, 'dist', 'index.cjs'),
    storeExport: 'ConnectSessionKnexStore',
    knexConfig,
  },
});
