import { knex, type Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { expectConnectionsBackAfterFailures, fastPathSession as session, knexQueries, inUse, roundTrip } from '@csk/conformance/fast-path';
import { PostgresStore, type PostgresStoreOptions } from '@csk/postgres';
import { pgliteKnex } from './targets';

const TABLE = 'csk_fast_path_pg';

describeLive('CSK_PG_URL', 'PostgreSQL server: the fast path', (url) => {
  let db: Knex;
  const stores: PostgresStore[] = [];
  const open = (options: PostgresStoreOptions = {}): PostgresStore => {
    const store = new PostgresStore({ tableName: TABLE, cleanupInterval: 0, ...options, knex: db });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    // One connection, so that what one statement does to the connection is seen by the next.
    db = knex({ client: 'pg', connection: url, pool: { min: 1, max: 1 } });
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await db.schema.dropTableIfExists(TABLE);
    await db.destroy();
  });

  it('runs get, set, touch and destroy as prepared statements, without knex', async () => {
    const store = open();
    await store.ready;
    expect(await knexQueries(db, () => roundTrip(store))).toEqual([]);
    const prepared = await db.raw("select count(*)::int as n from pg_prepared_statements where name like 'csk\\_%'");
    expect(prepared.rows[0].n).toBeGreaterThanOrEqual(4);
  });

  it('sends every statement through knex with fastPath: false, or for a driver it does not know', async () => {
    const slow = open({ fastPath: false });
    await slow.ready;
    expect((await knexQueries(db, () => roundTrip(slow))).length).toBeGreaterThanOrEqual(5);
    (db.client as { driverName: string }).driverName = 'pg-lookalike';
    const unknown = open();
    expect((await knexQueries(db, () => roundTrip(unknown, 'b'))).length).toBeGreaterThanOrEqual(5);
  });

  it('keeps working when a pooler drops the prepared statements (DEALLOCATE ALL, DISCARD ALL)', async () => {
    const store = open();
    await roundTrip(store);
    await db.raw('DEALLOCATE ALL');
    await roundTrip(store);
    await db.raw('DISCARD ALL');
    await roundTrip(store);
  });

  it('prepares again when the columns change under a prepared statement', async () => {
    const store = open();
    await store.set('a', session({ n: 1 }));
    expect(await store.get('a')).toMatchObject({ n: 1 });
    await db.raw('alter table ?? alter column ?? type text', [TABLE, 'sess']);
    expect(await store.get('a')).toMatchObject({ n: 1 });
    await roundTrip(store, 'b');
  });

  it('gives every connection back after many operations, failed ones included', async () => {
    await expectConnectionsBackAfterFailures(db, open(), () => db.schema.dropTable(TABLE));
    // The next store on the same knex creates the table again, and the statements work on the same connection.
    await roundTrip(open());
    expect(inUse(db)).toBe(0);
  });
});

describe('PGlite (its knex client reports the pg driver, but hands out PGlite)', () => {
  it('falls back to knex, and works', async () => {
    const db = pgliteKnex();
    const store = new PostgresStore({ knex: db, cleanupInterval: 0 });
    try {
      await store.ready;
      expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(5);
    } finally {
      await store.close();
      await db.destroy();
    }
  });
});
