import { knex } from 'knex';
import { describeStoreConformance, SECONDARY_FUZZ_RUNS } from '@csk/conformance';
import { describeLive } from '@csk/conformance/scenarios/live';
import { createStore, packageDir, pgliteKnex, serverConfig, storeModule } from './targets';

// PGlite runs everywhere, with no server: a real PostgreSQL inside this process.
describeStoreConformance({
  name: 'PGlite (knex-pglite)',
  createKnex: pgliteKnex,
  // The full fuzz runs on the server target whenever one is set; this one runs it whole only where it is alone.
  fuzzRuns: process.env.CSK_PG_URL ? SECONDARY_FUZZ_RUNS : undefined,
  createStore,
  // A child process opens in-memory databases of its own, through the same Client class.
  isolated: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig: { connection: {} }, clientModule: 'knex-pglite' },
});

describeLive('CSK_PG_URL', 'PostgreSQL server', (url) => {
  const knexConfig = serverConfig(url);
  describeStoreConformance({
    name: 'PostgreSQL (pg)',
    createKnex: () => knex(knexConfig),
    createStore,
    isolated: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig },
  });
  // The whole suite again with every call sent on its own (coalesce, on by default here, off).
  describeStoreConformance({
    name: 'PostgreSQL (pg, coalesce off)',
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createKnex: () => knex(knexConfig),
    createStore: (options) => createStore({ coalesce: false, ...options }),
    isolated: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig },
  });
});

// The same server through PgBouncer in transaction pooling mode (scripts/pgbouncer.sh, which CI starts): each
// transaction may run on another server connection, so nothing the store does may rely on a session's state.
describeLive('CSK_PGBOUNCER_URL', 'PostgreSQL through PgBouncer (transaction mode)', (url) => {
  const knexConfig = serverConfig(url);
  describeStoreConformance({
    name: 'PostgreSQL through PgBouncer (pg)',
    createKnex: () => knex(knexConfig),
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createStore,
    isolated: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig },
  });
});

// CockroachDB speaks PostgreSQL's protocol through knex's cockroachdb client (and pg). No CockroachDB server runs on
// the machines this was written on, so the SQL it receives is checked in postgres-adapter.test.ts, and this suite runs
// only where CSK_COCKROACH_URL names one (e.g. postgresql://root@127.0.0.1:26257/defaultdb?sslmode=disable).
describeLive(
  'CSK_COCKROACH_URL',
  'CockroachDB server',
  (url) => {
    const knexConfig = serverConfig(url, 'cockroachdb');
    describeStoreConformance({
      name: 'CockroachDB (cockroachdb)',
      createKnex: () => knex(knexConfig),
      createStore,
      isolated: { packageDir, storeModule, storeExport: 'PostgresStore', knexConfig },
    });
  },
  { requiredInCi: false },
);
