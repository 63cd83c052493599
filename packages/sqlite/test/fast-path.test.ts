import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import { expectConnectionsBackAfterFailures, fastPathSession as session, inUse, knexQueries, roundTrip } from '@csk/conformance/fast-path';
import { SqliteStore, type SqliteStoreOptions } from '@csk/sqlite';

const dir = mkdtempSync(path.join(tmpdir(), 'csk-sqlite-fast-path-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['sqlite3', 'better-sqlite3'] as const)('on %s', (client) => {
  let db: Knex;
  const stores: SqliteStore[] = [];
  const open = (options: SqliteStoreOptions = {}): SqliteStore => {
    const store = new SqliteStore({ cleanupInterval: 0, ...options, knex: db });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    db = knex({ client, connection: { filename: path.join(dir, `${client}-${Date.now()}.sqlite`) }, useNullAsDefault: true });
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await db.destroy();
  });

  it('runs get, set, touch and destroy without knex, and they behave as on knex', async () => {
    const store = open();
    await store.ready;
    expect(await knexQueries(db, () => roundTrip(store))).toEqual([]);
  });

  it('sends every statement through knex with fastPath: false', async () => {
    const store = open({ fastPath: false });
    await store.ready;
    expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(5);
  });

  it('falls back to knex for a driver it does not know', async () => {
    (db.client as { driverName: string }).driverName = 'some-other-sqlite-driver';
    const store = open();
    await store.ready;
    expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(5);
  });

  it('gives every connection back after many operations, failed ones included', async () => {
    const store = open({ tableName: 'churn' });
    await store.ready;
    // With the table gone every statement fails, on the connection the fast path holds.
    await expectConnectionsBackAfterFailures(db, store, () => db.schema.dropTable('churn'));
    // And the store works again once the table is back.
    await db.schema.createTable('churn', (table) => {
      table.string('sid', 255).primary();
      table.json('sess').notNullable();
      table.string('expired').notNullable().index();
    });
    await roundTrip(store);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inUse(db)).toBe(0);
  });
});

describe('a store that owns its sqlite3 database', () => {
  const home = process.cwd();
  const cwd = path.join(dir, 'own');

  beforeAll(() => {
    mkdirSync(cwd, { recursive: true });
    process.chdir(cwd);
  });

  afterAll(() => {
    process.chdir(home);
  });

  it('keeps prepared statements, and still closes its database (statements finalized first)', async () => {
    const store = new SqliteStore({ cleanupInterval: 0 });
    await store.ready;
    expect(await store.knex.raw('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
    for (let i = 0; i < 20; i++) await store.set(`s${i}`, session({ i }));
    expect(await knexQueries(store.knex, () => roundTrip(store))).toEqual([]);
    // node-sqlite3 refuses to close a database with statements still prepared, and knex's pool only logs that.
    const client = store.knex.client as Knex.Client;
    const connection = (await client.acquireConnection()) as { open: boolean };
    await client.releaseConnection(connection);
    await expect(store.close()).resolves.toBeUndefined();
    expect(connection.open).toBe(false);
    const filename = path.join(cwd, 'connect-session-knex.sqlite');
    const check = knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true });
    try {
      expect(await check.table('sessions').count({ n: '*' }).first()).toEqual({ n: 20 });
    } finally {
      await check.destroy();
    }
  });
});
