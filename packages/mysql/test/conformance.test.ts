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
  // The whole suite again with the reads of one event-loop turn sent as one statement.
  const knexConfig = serverConfig(url, CLIENTS[0]);
  describeStoreConformance({
    name: `MySQL/MariaDB (${CLIENTS[0]}, coalesceReads)`,
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createKnex: () => knex(knexConfig),
    createStore: (options) => createStore({ coalesceReads: true, ...options }),
    isolated: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig },
  });
});
