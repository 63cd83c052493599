import { describe, expect, it } from '@jest/globals';
import { PRUNE_BATCH_SIZE } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { MINUTE, errorName, liveSession, sleep, waitFor, withCallback } from '../util.js';

/** Pruning expired rows: prune(), the background timer, and close() stopping it. */
export function pruneCases(ctx: SuiteContext): void {
  describe('prune of expired rows', () => {
    const scope = useScope(ctx, { label: 'prune' });

    const expiredRows = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, i) => ({
        sid: `${prefix}-${i}`,
        sess: { i },
        expiresMs: Date.now() - MINUTE - i,
      }));

    it(`prune() deletes only expired rows, over several batches of ${PRUNE_BATCH_SIZE}`, async () => {
      await scope.empty();
      const live = Array.from({ length: 7 }, () => scope.sid('live'));
      for (const sid of live) await scope.store.set(sid, liveSession());
      await scope.writeRows(expiredRows(2500, 'old'));
      await expect(scope.store.prune()).resolves.toBe(2500);
      expect((await scope.readRows()).map((row) => row.sid)).toEqual([...live].sort());
    });

    it('prune() calls back once with the count, 0 when nothing has expired', async () => {
      await scope.empty();
      await scope.store.set(scope.sid('live'), liveSession());
      const outcome = await withCallback<number>((done) => scope.store.prune(done));
      expect(outcome).toMatchObject({ error: null, value: 0, calls: 1, promise: 'resolved' });
      await scope.writeRows(expiredRows(3, 'cb'));
      const again = await withCallback<number>((done) => scope.store.prune(done));
      expect(again).toMatchObject({ error: null, value: 3, calls: 1 });
    });

    it('the background prune deletes expired rows on its own', async () => {
      const tableName = scope.newTableName('bg');
      const store = scope.open({ tableName, cleanupInterval: 50 });
      await store.ready;
      const live = scope.sid('live');
      await store.set(live, liveSession());
      await scope.writeRows(expiredRows(30, 'bg'), tableName);
      await waitFor('the prune to delete the expired rows', async () => (await scope.readRows(tableName)).length === 1);
      expect((await scope.readRows(tableName)).map((row) => row.sid)).toEqual([live]);
    });

    it('close() stops the background prune', async () => {
      const tableName = scope.newTableName('stop');
      const store = scope.open({ tableName, cleanupInterval: 50 });
      await store.ready;
      await store.close();
      await scope.writeRows(expiredRows(5, 'kept'), tableName);
      // Several prune periods: a prune still running would have deleted them by now.
      await sleep(400);
      expect(await scope.readRows(tableName)).toHaveLength(5);
      const after = await withCallback<number>((done) => store.prune(done));
      expect(errorName(after.error)).toBe('StoreClosedError');
    });

    it('stores on one table pruning together, round after round: each expired row deleted once, none left', async () => {
      const tableName = scope.newTableName('many');
      const stores = Array.from({ length: 4 }, () => scope.open({ tableName, cleanupInterval: 0 }));
      await Promise.all(stores.map((store) => store.ready));
      const live = scope.sid('live');
      await stores[0]!.set(live, liveSession());
      // Short rounds, then one of several batches, where a store may find the lock taken between two batches.
      for (const [round, count] of [40, 40, 40, 40, 40, 40, 2 * PRUNE_BATCH_SIZE + 30].entries()) {
        await scope.writeRows(expiredRows(count, `r${round}`), tableName);
        const counts = await Promise.all(stores.map((store) => store.prune()));
        expect({ round, deleted: counts.reduce<number>((sum, n) => sum + (n ?? 0), 0) }).toEqual({ round, deleted: count });
        expect((await scope.readRows(tableName)).map((row) => row.sid)).toEqual([live]);
      }
      await Promise.all(stores.map((store) => store.close()));
      // Nothing of theirs holds the lock now: a store opened later prunes rather than skipping.
      await scope.writeRows(expiredRows(3, 'later'), tableName);
      const later = scope.open({ tableName, cleanupInterval: 0 });
      const report = new Promise((resolve) => later.once('prune', resolve));
      await expect(later.prune()).resolves.toBe(3);
      await expect(report).resolves.toMatchObject({ deleted: 3, skipped: false });
    });

    it('hands errors of the background prune to onDbCleanupError', async () => {
      const errors: unknown[] = [];
      const store = scope.open({
        tableName: scope.newTableName('err'),
        createTable: false,
        cleanupInterval: 50,
        onDbCleanupError: (error) => errors.push(error),
      });
      await waitFor('a prune error', () => errors.length > 0);
      await store.close();
      expect(errorName(errors[0])).toBe('SessionTableMissingError');
    });
  });
}
