import { knex as createKnex, type Knex } from 'knex';
import { ConnectSessionKnexStore, SessionTableMissingError } from 'connect-session-knex';

// The README's createTable: false guidance, as an application following it would run it.
describe('createTable: false', () => {
  let db: Knex;
  const stores: ConnectSessionKnexStore[] = [];

  beforeEach(() => {
    db = createKnex({
      client: 'sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
      pool: { min: 1, max: 1 },
    });
  });
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await db.destroy();
  });

  function open(options: { knex?: Knex | Knex.Transaction; createTable?: boolean; tableName?: string } = {}) {
    const store = new ConnectSessionKnexStore({ knex: db, cleanupInterval: 0, ...options } as never);
    stores.push(store);
    return store;
  }

  it('refuses to run on a missing table, then recovers once a migration has created it', async () => {
    const store = open({ createTable: false, tableName: 'app_sessions' });
    await expect(store.ready).rejects.toBeInstanceOf(SessionTableMissingError);
    await expect(store.get('x')).rejects.toBeInstanceOf(SessionTableMissingError);
    expect(await db.schema.hasTable('app_sessions')).toBe(false);

    // The README's migration: a store on the migration's transaction creates the table, then closes.
    await db.transaction(async (trx) => {
      const migrating = new ConnectSessionKnexStore({ knex: trx, tableName: 'app_sessions', cleanupInterval: 0 });
      await migrating.ready;
      await migrating.close();
    });

    expect(await db.schema.hasTable('app_sessions')).toBe(true);
    const expires = new Date(Date.now() + 60_000).toISOString();
    await store.set('x', { cookie: { expires }, n: 1 } as never);
    expect(await store.get('x')).toEqual({ cookie: { expires }, n: 1 });
  });

  it('leaves the application\'s knex open on close()', async () => {
    const store = open({ createTable: true });
    await store.ready;
    await store.close();
    expect(await db.schema.hasTable('sessions')).toBe(true);
  });
});
