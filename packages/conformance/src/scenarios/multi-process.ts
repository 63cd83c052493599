import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Knex } from 'knex';
import { tableKeys } from '../introspect.js';
import { liveSession, randomId, uniqueTableName } from '../util.js';
import { startWorkers, type LiveTarget, type Worker } from './workers.js';

/** Options of {@link describeConcurrentFirstWrites}. */
export interface ConcurrentWritesOptions {
  /** Worker processes. Default 4. */
  processes?: number;
  /** Writes each process starts at once in a round. Default 16. */
  parallel?: number;
  /** Rounds, each on fresh sids. Default 20. */
  rounds?: number;
  /** Distinct sids per round; every process writes each of them `parallel / sids` times. Default 4. */
  sids?: number;
}

/**
 * Processes × parallel first writes of the same new sids, round after round: every write must succeed and every sid
 * must end with exactly one row holding one of the sessions written. This is what an upsert that is not atomic (a
 * SELECT-then-INSERT, or UPDATE-then-INSERT) fails with duplicate-key errors.
 */
export function describeConcurrentFirstWrites(target: LiveTarget, options: ConcurrentWritesOptions = {}): void {
  const { processes = 4, parallel = 16, rounds = 20, sids: perRound = 4 } = options;
  describe(`${target.name}: ${processes} processes × ${parallel} parallel first writes of the same sids, ${rounds} rounds`, () => {
    const tableName = uniqueTableName('race');
    let knex: Knex;
    let workers: Worker[] = [];

    beforeAll(async () => {
      knex = await target.createKnex();
      workers = await startWorkers(processes, target.process);
      // One store creates the table first: the boot race has its own scenario.
      await workers[0]!.request('boot', { storeOptions: { tableName } });
      await Promise.all(workers.slice(1).map((worker) => worker.request('boot', { storeOptions: { tableName } })));
    }, 60_000);

    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      await knex?.schema.dropTableIfExists(tableName);
      await knex?.destroy();
    }, 30_000);

    test('no write fails and every sid has exactly one row', async () => {
      const run = randomId();
      const errors: string[] = [];
      const written: string[] = [];
      for (let round = 0; round < rounds; round += 1) {
        const sids = Array.from({ length: perRound }, (_, i) => `race-${run}-${round}-${i}`);
        written.push(...sids);
        const results = await Promise.all(
          workers.map((worker, p) =>
            worker.request<string[]>('sets', {
              writes: Array.from({ length: parallel }, (_, write) => ({
                sid: sids[write % perRound],
                session: liveSession({ process: p, write }),
              })),
            }),
          ),
        );
        errors.push(...results.flat());
      }
      expect(errors).toEqual([]);
      const rows = (await knex(tableName).select('sid', 'sess')) as Array<{ sid: string; sess: unknown }>;
      const counts = new Map<string, number>();
      for (const row of rows) counts.set(row.sid, (counts.get(row.sid) ?? 0) + 1);
      expect([...counts.keys()].sort()).toEqual([...written].sort());
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
      for (const row of rows) {
        const sess = (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess) as { process: number; write: number };
        expect(sess.process).toBeGreaterThanOrEqual(0);
        expect(sess.write).toBeGreaterThanOrEqual(0);
      }
    }, 120_000);
  });
}

/** Options of {@link describeBootRace}. */
export interface BootRaceOptions {
  /** Stores booting at the same moment, each in a process of its own. Default 8. */
  stores?: number;
  /** Races, each on a new table. Default 3. */
  rounds?: number;
}

/**
 * Stores in separate processes booting at the same moment on a database without the table: every one must become
 * ready, and the database must end with one table holding one primary key and one expiry index, usable by all.
 */
export function describeBootRace(target: LiveTarget, options: BootRaceOptions = {}): void {
  const { stores = 8, rounds = 3 } = options;
  describe(`${target.name}: ${stores} stores booting at the same moment on an empty database`, () => {
    let knex: Knex;
    let workers: Worker[] = [];
    const tables: string[] = [];

    beforeAll(async () => {
      knex = await target.createKnex();
      workers = await startWorkers(stores, target.process);
    }, 60_000);

    afterAll(async () => {
      await Promise.all(workers.map((worker) => worker.stop()));
      for (const name of tables) await knex?.schema.dropTableIfExists(name);
      await knex?.destroy();
    }, 30_000);

    test(`all ${stores} become ready and share one table, ${rounds} times over`, async () => {
      for (let round = 0; round < rounds; round += 1) {
        const tableName = uniqueTableName('boot');
        tables.push(tableName);
        const booted = await Promise.allSettled(workers.map((worker) => worker.request('boot', { storeOptions: { tableName } })));
        expect(booted.filter((result) => result.status === 'rejected')).toEqual([]);

        const keys = await tableKeys(knex, tableName);
        expect(keys.primaryKey).toEqual(['sid']);
        expect(keys.indexes).toEqual([['expired']]);

        await Promise.all(workers.map((worker, i) => worker.call('set', `boot-${i}`, liveSession({ i }))));
        const seen = await Promise.all(workers.map((worker, i) => worker.call<{ i: number } | null>('get', `boot-${(i + 1) % stores}`)));
        expect(seen.map((session) => session?.i)).toEqual(workers.map((_, i) => (i + 1) % stores));
        await Promise.all(workers.map((worker) => worker.request('unboot')));
        await knex.schema.dropTable(tableName);
      }
    }, 180_000);
  });
}
