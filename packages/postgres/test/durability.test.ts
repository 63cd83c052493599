import { knex, type Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { createSessionTable, PostgresStore } from '@csk/postgres';
import { serverConfig } from './targets.js';

// The README's two durability trade-offs ("Durability and speed"), on a live server: a store on a knex of its own whose
// sessions commit asynchronously, and a store on an UNLOGGED table. Neither needs an option of the store; these check
// that the recipes do what the README says and that the store works unchanged on them.

/** set, get, touch, length, destroy and prune through `store`, as an application would use it. */
async function exercise(store: PostgresStore): Promise<void> {
  const expires = new Date(Date.now() + 3_600_000).toISOString();
  const session = (n: number) => ({ cookie: { expires }, n });
  await store.set('one', session(1) as never);
  await store.set('two', session(2) as never);
  await expect(store.get('one')).resolves.toEqual(session(1));
  await store.touch('two', session(3) as never);
  await expect(store.length()).resolves.toBe(2);
  await store.destroy('one');
  await expect(store.get('one')).resolves.toBeNull();
  await expect(store.prune()).resolves.toBe(0);
  await expect(store.length()).resolves.toBe(1);
}

describeLive('CSK_PG_URL', 'PostgreSQL server', (url) => {
  const tableName = `csk_durability_${Math.random().toString(16).slice(2, 10)}`;
  let app: Knex;
  beforeAll(() => {
    app = knex(serverConfig(url));
  });
  afterAll(async () => {
    await app.schema.dropTableIfExists(tableName);
    await app.destroy();
  });

  it('a knex of its own with synchronous_commit = off: the store commits asynchronously, the app does not', async () => {
    const sessions = knex({ client: 'pg', connection: { connectionString: url, options: '-c synchronous_commit=off' } });
    const store = new PostgresStore({ knex: sessions, tableName, cleanupInterval: 0 });
    try {
      await store.ready;
      const setting = async (db: Knex) => (await db.raw("select current_setting('synchronous_commit') as v")).rows[0].v;
      expect(await setting(sessions)).toBe('off');
      expect(await setting(app)).not.toBe('off');
      await exercise(store);
    } finally {
      await store.close();
      await sessions.destroy();
      await app(tableName).del();
    }
  });

  it('an UNLOGGED table (ALTER TABLE … SET UNLOGGED): the store starts on it and works unchanged', async () => {
    await createSessionTable(app, { tableName });
    await app.raw('alter table ?? set unlogged', [tableName]);
    const persistence = await app('pg_class').where({ relname: tableName }).first('relpersistence');
    expect(persistence?.relpersistence).toBe('u');
    const store = new PostgresStore({ knex: app, tableName, createTable: false, cleanupInterval: 0 });
    try {
      await store.ready;
      await exercise(store);
    } finally {
      await store.close();
    }
  });
});
