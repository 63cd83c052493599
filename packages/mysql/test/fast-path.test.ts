import { knex, type Knex } from 'knex';
import type { SessionData } from 'express-session';
import { describeLive } from '@csk/conformance/scenarios/live';
import { DatabaseError, MysqlStore, type KnexStoreOptions } from '@csk/mysql';
import { serverConfig } from './targets';

const HOUR = 3_600_000;
const TABLE = 'csk_fast_path_my';

function session(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), path: '/' }, ...data } as SessionData;
}

function inUse(db: Knex): number {
  const pool = (db.client as { pool: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return pool.numUsed() + pool.numPendingAcquires();
}

/** The statements knex itself ran while `body` ran (the fast path runs its own without knex, so raises none). */
async function knexQueries(db: Knex, body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const record = (query: { sql: string }): void => {
    seen.push(query.sql);
  };
  db.on('query', record);
  try {
    await body();
  } finally {
    db.off('query', record);
  }
  return seen;
}

async function roundTrip(store: MysqlStore, sid = 'a'): Promise<void> {
  await store.set(sid, session({ n: 1 }));
  await store.set(sid, session({ n: 2 }));
  expect(await store.get(sid)).toMatchObject({ n: 2 });
  await store.touch(sid, session({ n: 2 }));
  expect(await store.destroy(sid)).toBe(1);
  expect(await store.get(sid)).toBeNull();
}

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server: the fast path', (url) => {
  describe.each([
    ['mysql2', true],
    ['mysql', true],
    ['mariadb', false],
  ] as const)('through %s', (client, native) => {
    let db: Knex;
    const stores: MysqlStore[] = [];
    const open = (options: KnexStoreOptions = {}): MysqlStore => {
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
      if (native) expect(queries.filter((sql) => !/version\(\)/i.test(sql))).toEqual([]);
      else expect(queries.length).toBeGreaterThanOrEqual(6);
    });

    it('sends every statement through knex with fastPath: false', async () => {
      const store = open({ fastPath: false });
      await store.ready;
      expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(6);
    });

    it('gives every connection back after many operations, failed ones included', async () => {
      const store = open();
      const work = (round: number) =>
        Array.from({ length: 40 }, (_, i) => {
          const sid = `s${i % 8}`;
          if (i % 4 === 0) return store.get(sid);
          if (i % 4 === 1) return store.set(sid, session({ round }));
          if (i % 4 === 2) return store.touch(sid, session({ round }));
          return store.destroy(sid);
        });
      expect((await Promise.allSettled(work(1))).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
      await db.schema.dropTable(`${TABLE}_${client}`);
      const failed = await Promise.allSettled(work(2));
      expect(failed.every((outcome) => outcome.status === 'rejected')).toBe(true);
      expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseError);
      expect(inUse(db)).toBe(0);
      await roundTrip(open());
      expect(inUse(db)).toBe(0);
    });
  });
});
