import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import { describeLive } from '@csk/conformance/scenarios/live';
import type { KnexStore, PruneEvent, PruneLock } from '@csk/core';
import { pruneLockKey } from '@csk/postgres';
import { directKnex, mariadb, postgres, uniqueTable, type Engine } from './support/engines.js';

/** Stores on one table, as several application instances would run them: each with its own knex and pool. */
const INSTANCES = 4;
/** Expired rows: several batches of the prune, so that the winner holds the lock while the others ask for it. */
const EXPIRED = 4_500;
/**
 * A pause before each batch of the prune, so that on a loaded machine the winner surely still holds the lock when the
 * slowest of the others asks for it (a store asking after the winner finished would find nothing left, and rightly
 * prune: that would not be the simultaneous prune this test is about).
 */
const BATCH_PAUSE_MS = 100;

/** Whether nobody holds the table's prune lock: asked from a connection of the test's own. */
type LockIsFree = (db: Knex, tableName: string) => Promise<boolean>;

const pgLockIsFree: LockIsFree = async (db, tableName) => {
  const key = pruneLockKey({ schemaName: undefined, tableName } as Parameters<typeof pruneLockKey>[0]);
  // A bigint advisory key shows in pg_locks as classid (high 32 bits) and objid (low 32 bits), with objsubid 1.
  const high = Number(BigInt.asUintN(64, BigInt(key)) >> 32n);
  const low = Number(BigInt.asUintN(32, BigInt(key)));
  const rows: Array<{ n?: unknown }> = await db('pg_locks')
    .count({ n: '*' })
    .where({ locktype: 'advisory', classid: high, objid: low, objsubid: 1 });
  return Number(rows[0]?.n) === 0;
};

const mariadbLockIsFree: LockIsFree = async (db, tableName) => {
  const row = await db
    .select(db.raw("is_free_lock(concat('csk-sweep:', sha1(concat(database(), '.', ?)))) as ??", [tableName, 'free']))
    .first();
  return Number(row.free) === 1;
};

/** Take the table's prune lock from a connection of the test's own, as another instance mid-prune would hold it. */
type HoldLock = (db: Knex, tableName: string) => Promise<() => Promise<void>>;

const pgHold: HoldLock = async (db, tableName) => {
  const key = pruneLockKey({ schemaName: undefined, tableName } as Parameters<typeof pruneLockKey>[0]);
  const trx = await db.transaction();
  await trx.raw('select pg_advisory_xact_lock(?::bigint)', [key]);
  return async () => {
    await trx.commit();
  };
};

const mariadbHold: HoldLock = async (db, tableName) => {
  const trx = await db.transaction();
  await trx.raw("select get_lock(concat('csk-sweep:', sha1(concat(database(), '.', ?))), 0)", [tableName]);
  return async () => {
    await trx.raw("select release_lock(concat('csk-sweep:', sha1(concat(database(), '.', ?))))", [tableName]);
    await trx.commit();
  };
};

function pruneLockSuite(engine: Engine, lockIsFree: LockIsFree, hold: HoldLock): void {
  describeLive(engine.variable, `${engine.name}: one pruner at a time`, (url) => {
    const tableName = uniqueTable('prune');
    const knexes: Knex[] = [];
    let stores: KnexStore[] = [];
    let db: Knex;

    beforeAll(async () => {
      db = directKnex(engine, url);
      for (let i = 0; i < INSTANCES; i += 1) {
        const knex = directKnex(engine, url, 2);
        knexes.push(knex);
        const store = engine.createStore({ knex, tableName, cleanupInterval: 0 });
        // Each batch holds the lock a while before its delete, as a slow one would.
        const lock = store.adapter.pruneLock!;
        const take: PruneLock['take'] = async (trx, table) => {
          const taken = await lock.take(trx, table);
          if (taken) await new Promise((resolve) => setTimeout(resolve, BATCH_PAUSE_MS));
          return taken;
        };
        Object.defineProperty(store.adapter, 'pruneLock', { value: { ...lock, take } });
        stores.push(store);
      }
      await Promise.all(stores.map((store) => store.ready));
    });

    afterAll(async () => {
      await Promise.all(stores.map((store) => store.close()));
      await Promise.all(knexes.map((knex) => knex.destroy()));
      await db?.schema.dropTableIfExists(tableName);
      await db?.destroy();
      stores = [];
    });

    async function addExpired(count: number): Promise<void> {
      const store = stores[0]!;
      const past = Date.now() - 60_000;
      const rows = Array.from({ length: count }, (_, i) => ({
        sid: `old-${i}-${Math.random().toString(36).slice(2)}`,
        sess: '{}',
        expired: store.adapter.encodeExpiry(past, db),
      }));
      await db.batchInsert(tableName, rows, 500);
    }

    /** Prune on every store at once; resolves each store's count and its 'prune' report. */
    async function pruneTogether(): Promise<Array<{ deleted: number; report: PruneEvent }>> {
      const reports = stores.map(
        (store) => new Promise<PruneEvent>((resolve) => store.once('prune', (report: PruneEvent) => resolve(report))),
      );
      const counts = await Promise.all(stores.map((store) => store.prune()));
      return Promise.all(reports.map(async (report, i) => ({ deleted: counts[i]!, report: await report })));
    }

    it(`${INSTANCES} instances prune at once: exactly one prunes, the others skip, the lock is then free`, async () => {
      await addExpired(EXPIRED);
      const cookie = { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) };
      await stores[0]!.set('live', { cookie } as never);
      const outcomes = await pruneTogether();
      const pruners = outcomes.filter((outcome) => !outcome.report.skipped);
      expect(pruners).toEqual([
        { deleted: EXPIRED, report: { deleted: EXPIRED, skipped: false, ms: expect.any(Number) } },
      ]);
      expect(outcomes.filter((outcome) => outcome.report.skipped)).toHaveLength(INSTANCES - 1);
      for (const outcome of outcomes.filter((o) => o.report.skipped)) expect(outcome.deleted).toBe(0);
      expect(await db(tableName).pluck('sid')).toEqual(['live']);
      expect(await lockIsFree(db, tableName)).toBe(true);
      process.stdout.write(
        `[reliability] ${engine.name}: ${INSTANCES} instances pruned ${EXPIRED} expired rows at once: ` +
          `${pruners.length} pruned, ${outcomes.length - pruners.length} skipped, lock free afterwards\n`,
      );
    });

    it('every instance skips while another holds the lock, and prunes once it is released', async () => {
      await addExpired(10);
      const release = await hold(db, tableName);
      try {
        const outcomes = await pruneTogether();
        expect(outcomes.map((outcome) => outcome.report)).toEqual(
          Array.from({ length: INSTANCES }, () => ({ deleted: 0, skipped: true, ms: expect.any(Number) })),
        );
        const row = await db(tableName).count({ n: '*' }).first();
        expect(Number(row?.n)).toBe(11);
      } finally {
        await release();
      }
      await expect(stores[1]!.prune()).resolves.toBe(10);
      expect(await lockIsFree(db, tableName)).toBe(true);
    });

    it('releases the lock when the prune fails', async () => {
      await addExpired(3);
      const broken = engine.createStore({ knex: knexes[0]!, tableName, cleanupInterval: 0 });
      await broken.ready;
      // A prune that fails inside the lock: its delete is made invalid SQL for the engine (the other LIMIT form).
      const { capabilities } = broken.adapter;
      const deleteLimit = capabilities.deleteLimit === 'statement' ? 'subquery' : 'statement';
      Object.defineProperty(broken.adapter, 'capabilities', { value: { ...capabilities, deleteLimit } });
      await expect(broken.prune()).rejects.toMatchObject({ name: 'DatabaseError', operation: 'prune' });
      await broken.close();
      expect(await lockIsFree(db, tableName)).toBe(true);
      await expect(stores[2]!.prune()).resolves.toBe(3);
    });

    it('works on a pool of one connection: the batches run on the connection that holds the lock', async () => {
      await addExpired(2_500);
      const single = directKnex(engine, url, 1);
      const store = engine.createStore({ knex: single, tableName, cleanupInterval: 0 });
      try {
        await expect(store.prune()).resolves.toBe(2_500);
      } finally {
        await store.close();
        await single.destroy();
      }
      expect(await lockIsFree(db, tableName)).toBe(true);
    });
  });
}

pruneLockSuite(postgres, pgLockIsFree, pgHold);
pruneLockSuite(mariadb, mariadbLockIsFree, mariadbHold);

describe('the prune lock key', () => {
  it('differs between tables and schemas, and is a bigint', () => {
    const key = (schemaName: string | undefined, tableName: string) =>
      pruneLockKey({ schemaName, tableName } as Parameters<typeof pruneLockKey>[0]);
    expect(key(undefined, 'sessions')).toMatch(/^-?\d+$/);
    expect(key(undefined, 'sessions')).toBe(key(undefined, 'sessions'));
    expect(key(undefined, 'sessions')).not.toBe(key(undefined, 'sessions2'));
    expect(key('app', 'sessions')).not.toBe(key(undefined, 'sessions'));
    expect(key('a', 'b.c')).not.toBe(key('a.b', 'c'));
  });
});
