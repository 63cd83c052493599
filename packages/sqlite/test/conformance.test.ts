import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import { describeStoreConformance, SECONDARY_FUZZ_RUNS } from '@csk/conformance';
import { SqliteStore } from '@csk/sqlite';

const packageDir = path.resolve(__dirname, '..');
const storeModule = path.join(packageDir, 'dist', 'index.cjs');
const tempDir = mkdtempSync(path.join(tmpdir(), 'csk-sqlite-conformance-'));

afterAll(() => {
  rmSync(tempDir, { recursive: true, force: true });
});

for (const client of ['sqlite3', 'better-sqlite3'] as const) {
  for (const where of ['file', 'memory'] as const) {
    const knexConfig: Knex.Config =
      where === 'file'
        ? { client, connection: { filename: path.join(tempDir, `${client}.sqlite`) }, useNullAsDefault: true }
        : // One connection for the whole suite: an in-memory database lives only as long as its connection.
          { client, connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } };
    describeStoreConformance({
      name: `${client} (${where})`,
      // The full fuzz once per engine (upstream's default driver, on a file); the other three targets run fewer.
      fuzzRuns: client === 'sqlite3' && where === 'file' ? undefined : SECONDARY_FUZZ_RUNS,
      createKnex: () => knex(knexConfig),
      createStore: (options) => new SqliteStore(options),
      isolated: { packageDir, storeModule, storeExport: 'SqliteStore', knexConfig },
    });
  }
}

// The whole suite again with the gets and touches of one event-loop turn sent together (coalesce, off by default here).
{
  const knexConfig: Knex.Config = {
    client: 'better-sqlite3',
    connection: { filename: path.join(tempDir, 'coalesce.sqlite') },
    useNullAsDefault: true,
  };
  describeStoreConformance({
    name: 'better-sqlite3 (file, coalesce)',
    fuzzRuns: SECONDARY_FUZZ_RUNS,
    createKnex: () => knex(knexConfig),
    createStore: (options) => new SqliteStore({ coalesce: true, ...options }),
    isolated: { packageDir, storeModule, storeExport: 'SqliteStore', knexConfig },
  });
}
