import { knex as createKnex, type Knex } from 'knex';
import type { SessionData } from 'express-session';
import { describeBlackHole } from '@csk/conformance/scenarios/black-hole';
import { describeLive } from '@csk/conformance/scenarios/live';
import { MysqlStore } from '@csk/mysql';
import type { KnexStoreOptions } from '@csk/core';
import { CLIENTS, EXPIRY_MS, serverConfig } from './targets';

const HOUR = 3_600_000;
const session = (data: Record<string, unknown>, ms = Date.now() + HOUR): SessionData =>
  ({ cookie: { originalMaxAge: HOUR, expires: new Date(ms), httpOnly: true, path: '/' }, ...data }) as unknown as SessionData;
const suffix = Math.random().toString(16).slice(2, 10);
/** 16 MB of session, below MariaDB's and MySQL's default max_allowed_packet (16 MiB and 64 MiB). */
const SIXTEEN_MB = 16_000_000;

/** The rows of a raw query, whichever driver answered it. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) && Array.isArray(result[0]) ? result[0] : result) as T[];
}

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server', (url) => {
  describe.each(CLIENTS)('MySQL/MariaDB (%s)', (client) => {
    let knex: Knex;
    const stores: MysqlStore[] = [];
    const tables: string[] = [];
    const open = (label: string, options: Omit<KnexStoreOptions, 'knex'> = {}): MysqlStore => {
      const tableName = `csk_${label}_${client}_${suffix}`;
      tables.push(tableName);
      const store = new MysqlStore({ cleanupInterval: 0, tableName, ...options, knex });
      stores.push(store);
      return store;
    };

    beforeAll(() => {
      knex = createKnex(serverConfig(url, client));
    });

    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()));
      for (const name of tables) await knex.schema.dropTableIfExists(name);
      await knex.destroy();
    });

    it('creates the documented table: binary-collated sid, longtext sess, datetime(3) expired', async () => {
      const store = open('ddl');
      await store.ready;
      const columns = rowsOf<Record<string, unknown>>(
        await knex.raw(
          'select column_name as name, data_type as type, collation_name as collation, datetime_precision as ms ' +
            'from information_schema.columns where table_schema = database() and table_name = ? order by ordinal_position',
          [store.table.tableName],
        ),
      );
      expect(columns.map((column) => ({ ...column, ms: column.ms === null ? null : Number(column.ms) }))).toEqual([
        { name: 'sid', type: 'varchar', collation: 'utf8mb4_bin', ms: null },
        { name: 'sess', type: 'longtext', collation: expect.stringMatching(/^utf8mb4_/), ms: null },
        { name: 'expired', type: 'datetime', collation: null, ms: 3 },
      ]);
    });

    it('keeps sids case-sensitive: ABC and abc are two sessions', async () => {
      const store = open('case');
      await store.set('ABC', session({ who: 'upper' }));
      await store.set('abc', session({ who: 'lower' }));
      await store.set('Abc', session({ who: 'mixed' }));
      expect(await store.get('ABC')).toMatchObject({ who: 'upper' });
      expect(await store.get('abc')).toMatchObject({ who: 'lower' });
      expect(await store.length()).toBe(3);
      expect(await store.destroy('abc')).toBe(1);
      expect(((await store.ids()) ?? []).sort()).toEqual(['ABC', 'Abc']);
      expect(await store.get('aBc')).toBeNull();
    });

    it('round-trips a 16 MB session (no 64 KB TEXT cap)', async () => {
      const row = rowsOf<{ packet: unknown }>(await knex.raw('select @@max_allowed_packet as packet'))[0];
      expect(Number(row?.packet)).toBeGreaterThan(SIXTEEN_MB + 4096);
      const store = open('big');
      const chunk = 'the quick brown fox jumps over the lazy dog 0123456789 ';
      const blob = chunk.repeat(Math.ceil(SIXTEEN_MB / chunk.length)).slice(0, SIXTEEN_MB);
      await store.set('big', session({ blob }));
      const back = (await store.get('big')) as unknown as { blob: string } | null;
      expect(back?.blob.length).toBe(SIXTEEN_MB);
      expect(back?.blob === blob).toBe(true);
    }, 60_000);

    it('stores expiry to the millisecond in UTC, whatever the session time_zone and the driver', async () => {
      const zoned = createKnex({
        ...serverConfig(url, client, { utcReads: false }),
        pool: {
          min: 0,
          max: 2,
          afterCreate(connection: { query(sql: string, done: (error: unknown) => void): void }, done: (error: unknown) => void) {
            connection.query("set time_zone = '+09:00'", done);
          },
        },
      });
      try {
        const store = new MysqlStore({ knex: zoned, tableName: open('ms').table.tableName, cleanupInterval: 0 });
        stores.push(store);
        // Half a minute away: stored with its milliseconds (one a minute or more away is rounded up to the second).
        const at = Date.now() + 30_000;
        await store.set('ms', session({}, at));
        const read = rowsOf<{ zone: string; ms: unknown }>(
          await zoned.raw(`select @@session.time_zone as zone, ${EXPIRY_MS} as ms from ?? where ?? = ?`, [
            'expired',
            store.table.tableName,
            'sid',
            'ms',
          ]),
        )[0];
        expect(read?.zone).toBe('+09:00');
        expect(Number(read?.ms)).toBe(at);
        await store.close();
      } finally {
        await zoned.destroy();
      }
    });
  });
});

// mysql2 gives up on a connection attempt after its own connectTimeout (10 s by default): longer here, so that the
// store's operationTimeout is what ends the wait.
describeBlackHole(
  'MySQL (mysql2)',
  (port) => ({ client: 'mysql2', connection: { host: '127.0.0.1', port, user: 'root', database: 'csk', connectTimeout: 60_000 } }),
  (options) => new MysqlStore(options),
  createKnex,
);
