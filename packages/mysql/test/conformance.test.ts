import { knex } from 'knex';
import { describeStoreConformance } from '@csk/conformance';
import { describeLive } from '@csk/conformance/scenarios/live';
import { CLIENTS, createStore, packageDir, serverConfig, storeModule } from './targets';

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server', (url) => {
  for (const client of CLIENTS) {
    const knexConfig = serverConfig(url, client);
    describeStoreConformance({
      name: `MySQL/MariaDB (${client})`,
      createKnex: () => knex(knexConfig),
      createStore,
      isolated: { packageDir, storeModule, storeExport: 'MysqlStore', knexConfig },
    });
  }
});
