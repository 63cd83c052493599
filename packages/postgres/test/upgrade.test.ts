import { knex } from 'knex';
import { ConnectSessionKnexStore } from 'connect-session-knex-v5';
import { describeLive } from '@csk/conformance/scenarios/live';
import { describeUpgrade, type UpstreamStore } from '@csk/conformance/scenarios/upgrade';
import { createStore, EXPIRY_MS, pgliteKnex, serverConfig } from './targets';

// The published connect-session-knex 5.0.0, installed as "connect-session-knex-v5".
const createUpstream = (options: ConstructorParameters<typeof ConnectSessionKnexStore>[0]): UpstreamStore =>
  new ConnectSessionKnexStore(options) as unknown as UpstreamStore;

describeUpgrade({ name: 'PGlite (knex-pglite)', createKnex: pgliteKnex, createStore, createUpstream, expiryMsExpression: EXPIRY_MS });

describeLive('CSK_PG_URL', 'PostgreSQL server upgrade', (url) => {
  describeUpgrade({
    name: 'PostgreSQL (pg)',
    createKnex: () => knex(serverConfig(url)),
    createStore,
    createUpstream,
    expiryMsExpression: EXPIRY_MS,
  });
});
