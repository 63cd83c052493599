import { describe, expect, it } from '@jest/globals';
import type { ExpiryEncoding, KnexStore } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, liveSession, waitFor, withCallback } from '../util.js';

/**
 * No prune may lose live sessions: the expiry column is checked against `expiryEncoding` at start-up, and the prune
 * guard stops a prune whose rows look live on a second reading, or a background prune that would delete more than
 * `pruneMaxShare` of the table.
 */
export function pruneSafetyCases(ctx: SuiteContext): void {
  describe('prune safety', () => {
    const scope = useScope(ctx, { label: 'safe' });

    const rowCount = async (tableName: string): Promise<number> =>
      Number(((await scope.table(tableName).count({ n: '*' }).first()) as { n?: unknown } | undefined)?.n ?? 0);

    /** A table made by a store in `encoding`, holding three live sessions that store wrote. */
    async function tableIn(encoding: ExpiryEncoding): Promise<string> {
      const tableName = scope.newTableName(encoding.replace('epoch-', 'e'));
      const writer = scope.open({ tableName, expiryEncoding: encoding });
      for (let i = 0; i < 3; i += 1) await writer.set(scope.sid('live'), liveSession());
      await writer.close();
      return tableName;
    }

    /** Rows written straight into `tableName` with the raw expiry values given, as another application would. */
    const writeRaw = (tableName: string, rows: Array<[sid: string, expired: number | string]>) =>
      scope.table(tableName).insert(rows.map(([sid, expired]) => ({ sid, sess: JSON.stringify(liveSession()), expired })));

    it.each([
      // The case on PostgreSQL and MariaDB: prune() deleted 3 of 3 live rows.
      ['epoch-seconds', 'epoch-ms'],
      // The case on SQLite: the CLI's default encoding on a table in epoch milliseconds.
      ['epoch-ms', 'timestamp'],
      ['epoch-seconds', 'timestamp'],
      ['timestamp', 'epoch-ms'],
      ['timestamp', 'epoch-seconds'],
    ] as const)('a table in %s opened as %s: the store refuses to start, naming the encoding that fits, and loses nothing', async (actual, configured) => {
      const tableName = await tableIn(actual);
      for (const createTable of [true, false]) {
        const store = scope.open({ tableName, expiryEncoding: configured, createTable });
        await expect(store.ready).rejects.toMatchObject({
          name: 'SessionTableShapeError',
          missing: [],
          mismatch: { column: 'expired', option: 'expiryEncoding', suggested: actual },
        });
        await expect(store.ready).rejects.toThrow(`set expiryEncoding: '${actual}'`);
        const outcome = await withCallback<number>((done) => store.prune(done));
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect((outcome.error as Error | null)?.name).toBe('SessionTableShapeError');
      }
      expect(await rowCount(tableName)).toBe(3);
      // The right encoding opens it.
      const right = scope.open({ tableName, expiryEncoding: actual, createTable: false });
      await expect(right.length()).resolves.toBe(3);
    });

    it('epoch seconds written into an epoch-ms table after start-up stop the prune: nothing is deleted, and it says why', async () => {
      const tableName = scope.newTableName('late');
      const store = scope.open({ tableName, expiryEncoding: 'epoch-ms' });
      await store.ready;
      const events: unknown[] = [];
      store.on('error', (error) => events.push(error));
      const now = Date.now();
      await writeRaw(tableName, [
        ['secs-1', Math.floor((now + HOUR) / 1000)],
        ['secs-2', Math.floor((now + 2 * HOUR) / 1000)],
        ['ms-old', now - HOUR],
      ]);
      await expect(store.prune()).rejects.toMatchObject({ name: 'PruneGuardError', reason: 'second-reading' });
      await waitFor("the 'error' event", () => events.length > 0);
      expect(events[0]).toMatchObject({ name: 'PruneGuardError', reason: 'second-reading' });
      expect((events[0] as Error).message).toMatch(/expiryEncoding/);
      expect(await rowCount(tableName)).toBe(3);
      // With a callback: called once with the error, and the promise resolves.
      const outcome = await withCallback<number>((done) => store.prune(done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect((outcome.error as Error | null)?.name).toBe('PruneGuardError');

      // Rows in epoch seconds that are expired read either way are no reason to stop.
      await scope.table(tableName).whereIn('sid', ['secs-1', 'secs-2']).update({ expired: Math.floor((now - HOUR) / 1000) });
      await expect(store.prune()).resolves.toBe(3);
    });

    it('on an engine whose columns keep any type, numbers written into a timestamp table after start-up stop the prune', async () => {
      const tableName = scope.newTableName('num');
      const store = scope.open({ tableName });
      await store.ready;
      // A typed engine refuses a number in a date-time column: nothing there can be misread so.
      if (!store.adapter.capabilities.dynamicColumnTypes) return;
      await store.set(scope.sid('live'), liveSession());
      await writeRaw(tableName, [['ms-live', Date.now() + HOUR]]);
      await expect(store.prune()).rejects.toMatchObject({ name: 'PruneGuardError', reason: 'second-reading' });
      expect(await rowCount(tableName)).toBe(2);
    });

    describe('the share rule', () => {
      /** A table with five live sessions and `expired` expired rows, made before any store under test opens it. */
      async function crowded(label: string, expired: number): Promise<string> {
        const tableName = scope.newTableName(label);
        const writer = scope.open({ tableName });
        for (let i = 0; i < 5; i += 1) await writer.set(scope.sid('live'), liveSession());
        await addExpired(tableName, expired, 'old');
        return tableName;
      }
      const addExpired = (tableName: string, count: number, prefix: string) =>
        scope.writeRows(
          Array.from({ length: count }, (_, i) => ({ sid: `${prefix}-${i}`, sess: {}, expiresMs: Date.now() - MINUTE - i })),
          tableName,
        );

      it('a background prune that would delete more than pruneMaxShare of the table stops; prune() by the application deletes them', async () => {
        const tableName = await crowded('share', 150);
        const errors: unknown[] = [];
        const store: KnexStore = scope.open({ tableName, cleanupInterval: 50, onDbCleanupError: (error) => errors.push(error) });
        await waitFor('the guard to stop a background prune', () => errors.length > 0);
        expect(errors[0]).toMatchObject({ name: 'PruneGuardError', reason: 'share' });
        expect((errors[0] as Error).message).toMatch(/pruneMaxShare/);
        expect(await rowCount(tableName)).toBe(155);
        await store.close();

        const manual = scope.open({ tableName });
        await expect(manual.prune()).resolves.toBe(150);
        expect(await rowCount(tableName)).toBe(5);
      });

      it('with pruneMaxShare: 1 the background prune deletes them', async () => {
        const tableName = await crowded('all', 150);
        const errors: unknown[] = [];
        scope.open({ tableName, cleanupInterval: 50, pruneMaxShare: 1, onDbCleanupError: (error) => errors.push(error) });
        await waitFor('the background prune to delete the expired rows', async () => (await rowCount(tableName)) === 5);
        expect(errors).toEqual([]);
      });

      it('below 100 expired rows, or with most rows live, the background prune runs', async () => {
        const tableName = await crowded('few', 99);
        const errors: unknown[] = [];
        scope.open({ tableName, cleanupInterval: 50, onDbCleanupError: (error) => errors.push(error) });
        await waitFor('the background prune to delete the expired rows', async () => (await rowCount(tableName)) === 5);
        const mostlyLive = await crowded('most', 0);
        const live = scope.open({ tableName: mostlyLive });
        for (let i = 0; i < 150; i += 1) await live.set(scope.sid('more'), liveSession());
        await addExpired(mostlyLive, 140, 'old');
        scope.open({ tableName: mostlyLive, cleanupInterval: 50, onDbCleanupError: (error) => errors.push(error) });
        await waitFor('the background prune to delete the expired rows', async () => (await rowCount(mostlyLive)) === 155);
        expect(errors).toEqual([]);
      });

      it('after a large prune(), the background prune of the same store may delete as large a share again', async () => {
        const tableName = await crowded('hist', 150);
        const store = scope.open({ tableName, cleanupInterval: 2000 });
        await expect(store.prune()).resolves.toBe(150);
        await addExpired(tableName, 150, 'again');
        await waitFor('the background prune to delete them', async () => (await rowCount(tableName)) === 5, 10_000);
      });
    });
  });
}
