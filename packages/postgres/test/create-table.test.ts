import { knex, type Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { waitFor } from '@csk/conformance';
import { ConfigurationError, createSessionTable, PostgresStore } from '@csk/postgres';
import { pgliteKnex, serverConfig } from './targets.js';

// The PostgreSQL package's createSessionTable, on PGlite: the options the store takes, jsonb included; and on a
// server, inside a transaction that races another creator.

let db: Knex;
beforeAll(() => {
  db = pgliteKnex();
});
afterAll(async () => {
  await db.destroy();
});

/** The column's type as the catalogue names it. */
async function typeOf(table: string, column: string): Promise<string> {
  const row = await db('information_schema.columns').where({ table_name: table, column_name: column }).first('data_type');
  return String(row?.data_type);
}

it('creates the table a PostgresStore expects, with sess as json or, with jsonb, jsonb', async () => {
  await expect(createSessionTable(db, { tableName: 'plain' })).resolves.toBe(true);
  await expect(createSessionTable(db, { tableName: 'binary', jsonb: true })).resolves.toBe(true);
  await expect(createSessionTable(db, { tableName: 'binary', jsonb: true })).resolves.toBe(false);
  expect(await typeOf('plain', 'sess')).toBe('json');
  expect(await typeOf('binary', 'sess')).toBe('jsonb');
  expect(await typeOf('binary', 'expired')).toBe('timestamp with time zone');

  const store = new PostgresStore({ knex: db, tableName: 'binary', createTable: false, cleanupInterval: 0 });
  try {
    const session = { cookie: { expires: new Date(Date.now() + 60_000).toISOString() }, n: 1 };
    await store.set('a', session as never);
    await expect(store.get('a')).resolves.toEqual(session);
  } finally {
    await store.close();
  }
});

it('refuses a jsonb that is no boolean with a ConfigurationError, before any statement', async () => {
  await expect(createSessionTable(db, { tableName: 'never', jsonb: 'yes' as never })).rejects.toBeInstanceOf(
    ConfigurationError,
  );
  expect(await db.schema.hasTable('never')).toBe(false);
});

describeLive('CSK_PG_URL', 'PostgreSQL server', (url) => {
  it('createSessionTable in a transaction loses a race with another creator and the transaction goes on', async () => {
    const server = knex(serverConfig(url));
    const name = `csk_race_${Math.random().toString(16).slice(2, 10)}`;
    const first = await server.transaction();
    const second = await server.transaction();
    try {
      await expect(createSessionTable(first, { tableName: name })).resolves.toBe(true);
      // The second CREATE TABLE waits for the first transaction: commit it only once the second is seen waiting.
      const racing = createSessionTable(second, { tableName: name });
      racing.catch(() => {});
      await waitFor('the second CREATE TABLE to wait on the first', async () => {
        const waiting = await server('pg_stat_activity')
          .whereNotNull('wait_event_type')
          .andWhereILike('query', `%create table%${name}%`)
          .count({ n: '*' });
        return Number(waiting[0]?.n) > 0;
      });
      await first.commit();
      await expect(racing).resolves.toBe(false);
      // The caller's transaction is still usable: the failed CREATE was rolled back to its savepoint only.
      await expect(second.raw('select 1 as one')).resolves.toMatchObject({ rows: [{ one: 1 }] });
      await second.commit();
    } finally {
      for (const trx of [first, second]) if (!trx.isCompleted()) await trx.rollback().catch(() => {});
      await server.schema.dropTableIfExists(name);
      await server.destroy();
    }
  });
});
