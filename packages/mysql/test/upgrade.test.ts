import { knex } from 'knex';
import { ConnectSessionKnexStore } from 'connect-session-knex-v5';
import { describeLive } from '@csk/conformance/scenarios/live';
import { describeUpgrade, type UpstreamStore } from '@csk/conformance/scenarios/upgrade';
import { CLIENTS, createStore, EXPIRY_MS, serverConfig } from './targets';

// The published connect-session-knex 5.0.0, installed as "connect-session-knex-v5". Its tables: sid varchar(255) in
// the default (case-insensitive) collation, sess json (longtext with a json_valid check on MariaDB), expired DATETIME
// holding UTC to the second.
const createUpstream = (options: ConstructorParameters<typeof ConnectSessionKnexStore>[0]): UpstreamStore =>
  new ConnectSessionKnexStore(options) as unknown as UpstreamStore;

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server upgrade', (url) => {
  for (const client of CLIENTS) {
    describeUpgrade({
      name: `MySQL/MariaDB (${client})`,
      createKnex: () => knex(serverConfig(url, client)),
      createStore,
      createUpstream,
      expiryMsExpression: EXPIRY_MS,
    });
  }
});
