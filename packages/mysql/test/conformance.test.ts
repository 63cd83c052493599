import { knex } from 'knex';
import { describeStoreConformance, SECONDARY_FUZZ_RUNS } from '@csk/conformance';
import { describeLive } from '@csk/conformance/scenarios/live';
import { CLIENTS, createStore, packageDir, serverConfig, storeModule } from './targets';

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server', (url) => {
  for (const client of CLIENTS) {
    const knexConfig = serverConfig(url, client);
    describeStoreConformance({
      name: `MySQL/MariaDB (${client})`,
      // The full fuzz on the first driver; the others share its server and code path up to the driver.
      fuzzRuns: client === CLIENTS[0] ? undefined : SECONDARY_FUZZ_RUNS,
      createKnex: () => knex(knexConfig),
      createStore,
      isolated: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig },
    });
  }
  // The whole suite again with every call sent on its own (coalesce, on by default here, off).
  const knexConfig = serverConfig(url, CLIENTS[0]);
  describeStoreConformance({
    name: `MySQL/MariaDB (${CLIENTS[0]}, coalesce off)`,
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createKnex: () => knex(knexConfig),
    createStore: (options) => createStore({ coalesce: false, ...options }),
    isolated: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig },
  });
});
