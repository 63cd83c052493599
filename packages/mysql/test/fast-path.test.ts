import { knex, type Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { expectConnectionsBackAfterFailures, inUse, knexQueries, roundTrip } from '@csk/conformance/fast-path';
import { MysqlStore, type MysqlStoreOptions } from '@csk/mysql';
import { serverConfig } from './targets';

const TABLE = 'csk_fast_path_my';

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server: the fast path', (url) => {
  describe.each([
    ['mysql2', true],
    ['mysql', true],
    ['mariadb', false],
  ] as const)('through %s', (client, native) => {
    let db: Knex;
    const stores: MysqlStore[] = [];
    const open = (options: MysqlStoreOptions = {}): MysqlStore => {
      const store = new MysqlStore({ tableName: `${TABLE}_${client}`, cleanupInterval: 0, ...options, knex: db });
      stores.push(store);
      return store;
    };

    beforeEach(() => {
      db = knex({ ...serverConfig(url, client), pool: { min: 0, max: 4 } });
    });

    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      await db.schema.dropTableIfExists(`${TABLE}_${client}`);
      await db.destroy();
    });

    it(native ? 'runs get, set, touch and destroy without knex' : 'falls back to knex (a driver it does not know)', async () => {
      const store = open();
      await store.ready;
      const queries = await knexQueries(db, () => roundTrip(store));
      // Only the adapter's one-time questions about the server (its version, and whether it is a Galera node) go
      // through knex.
      if (native) expect(queries.filter((sql) => !/version\(\)|global_variables/i.test(sql))).toEqual([]);
      else expect(queries.length).toBeGreaterThanOrEqual(6);
    });

    it('sends every statement through knex with fastPath: false', async () => {
      const store = open({ fastPath: false });
      await store.ready;
      expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(6);
    });

    it('gives every connection back after many operations, failed ones included', async () => {
      await expectConnectionsBackAfterFailures(db, open(), () => db.schema.dropTable(`${TABLE}_${client}`));
      await roundTrip(open());
      expect(inUse(db)).toBe(0);
    });
  });
});
