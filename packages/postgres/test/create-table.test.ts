import type { Knex } from 'knex';
import { ConfigurationError, createSessionTable, PostgresStore } from '@csk/postgres';
import { pgliteKnex } from './targets.js';

// The PostgreSQL package's createSessionTable, on PGlite: the options the store takes, jsonb included.

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
