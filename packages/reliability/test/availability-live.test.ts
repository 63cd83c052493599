import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import { AVAILABILITY_PROBE_INTERVAL_MS, type KnexStore } from '@csk/core';
import { directKnex, mariadb, postgres, uniqueTable, type Engine } from './support/engines.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const live = (n: number): SessionData =>
  ({ cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) }, n }) as unknown as SessionData;

/** How the test finds and kills the server connection a blocked statement of the store runs on. */
interface Killer {
  /** The server's id of the connection waiting for a row lock on `tableName`, or undefined while there is none. */
  blocked(db: Knex, tableName: string): Promise<string | number | undefined>;
  kill(db: Knex, id: string | number): Promise<void>;
  /** Begin a transaction holding a row lock on `sid`, so that a write of it by the store waits. */
  lockRow(db: Knex, tableName: string, sid: string): Promise<Knex.Transaction>;
}

const pgKiller: Killer = {
  async blocked(db, tableName) {
    const rows: Array<{ pid: number }> = await db('pg_stat_activity')
      .select('pid')
      .where('wait_event_type', 'Lock')
      .andWhere('query', 'like', `%${tableName}%`);
    return rows[0]?.pid;
  },
  async kill(db, pid) {
    await db.raw('select pg_terminate_backend(?)', [pid]);
  },
  async lockRow(db, tableName, sid) {
    const trx = await db.transaction();
    await trx(tableName).select('sid').where({ sid }).forUpdate();
    return trx;
  },
};

const mariadbKiller: Killer = {
  async blocked(db, tableName) {
    const rows: Array<{ id: number }> = await db('information_schema.INNODB_TRX')
      .select({ id: 'trx_mysql_thread_id' })
      .where('trx_state', 'LOCK WAIT')
      .andWhere('trx_query', 'like', `%${tableName}%`);
    return rows[0]?.id;
  },
  async kill(db, id) {
    await db.raw('kill connection ?', [Number(id)]);
  },
  async lockRow(db, tableName, sid) {
    const trx = await db.transaction();
    await trx(tableName).select('sid').where({ sid }).forUpdate();
    return trx;
  },
};

function availabilitySuite(engine: Engine, killer: Killer): void {
  describeLive(engine.variable, `${engine.name}: 'disconnect' only for real outages`, (url) => {
    const tableName = uniqueTable('avail');
    let db: Knex;
    let storeKnex: Knex;
    let store: KnexStore;
    const events: string[] = [];

    beforeAll(async () => {
      db = directKnex(engine, url);
      storeKnex = directKnex(engine, url, 4);
      store = engine.createStore({ knex: storeKnex, tableName, cleanupInterval: 0 });
      for (const name of ['connect', 'disconnect']) store.on(name, () => events.push(name));
      await store.ready;
    });

    afterAll(async () => {
      await store?.close();
      await storeKnex?.destroy();
      await db?.schema.dropTableIfExists(tableName);
      await db?.destroy();
    });

    it('one statement whose connection is killed under it fails alone: no event, the next one works', async () => {
      await store.set('locked', live(1));
      const trx = await killer.lockRow(db, tableName, 'locked');
      let failure: unknown;
      try {
        const blocked = store.set('locked', live(2)).then(
          () => 'resolved',
          (error: unknown) => error,
        );
        let id: string | number | undefined;
        for (let i = 0; i < 200 && id === undefined; i += 1) {
          id = await killer.blocked(db, tableName);
          if (id === undefined) await sleep(25);
        }
        expect(id).toBeDefined();
        await killer.kill(db, id!);
        failure = await blocked;
      } finally {
        await trx.rollback();
      }
      // The killed connection's statement fails with a connection-level error: exactly the case that must not
      // become a 'disconnect', because the database is there (the probe that follows gets its answer).
      expect(failure).toMatchObject({ name: 'DatabaseError', operation: 'set' });
      expect(store.adapter.classifyError((failure as Error).cause)).toBe('unreachable');
      await sleep(AVAILABILITY_PROBE_INTERVAL_MS * 2);
      expect(events).toEqual([]);
      await expect(store.set('locked', live(3))).resolves.toBeUndefined();
      expect(await store.get('locked')).toMatchObject({ n: 3 });
    });

    it('SQL errors, however many, are no outage', async () => {
      const other = uniqueTable('gone');
      const doomed = engine.createStore({ knex: storeKnex, tableName: other, cleanupInterval: 0 });
      const seen: string[] = [];
      for (const name of ['connect', 'disconnect']) doomed.on(name, () => seen.push(name));
      await doomed.ready;
      await db.schema.dropTable(other);
      for (let i = 0; i < 5; i += 1) {
        await expect(doomed.get('a')).rejects.toMatchObject({ name: 'DatabaseError', operation: 'get' });
      }
      await sleep(AVAILABILITY_PROBE_INTERVAL_MS * 2);
      await doomed.close();
      expect(seen).toEqual([]);
    });
  });
}

availabilitySuite(postgres, pgKiller);
availabilitySuite(mariadb, mariadbKiller);
