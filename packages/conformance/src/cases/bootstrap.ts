import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { tableKeys } from '../introspect.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { errorName, liveSession, withCallback } from '../util.js';

/** Table creation: the shape it creates, createTable: false, and many stores starting at once. */
export function bootstrapCases(ctx: SuiteContext): void {
  describe('table bootstrap', () => {
    const scope = useScope(ctx, { label: 'boot' });

    it('createTable creates the table with a primary key on sid and an index on expired', async () => {
      const tableName = scope.newTableName('new');
      expect(await scope.knex.schema.hasTable(tableName)).toBe(false);
      const store = scope.open({ tableName });
      await store.ready;
      expect(await scope.knex.schema.hasTable(tableName)).toBe(true);
      expect(Object.keys(await scope.table(tableName).columnInfo()).sort()).toEqual(['expired', 'sess', 'sid']);
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.primaryKey).toEqual(['sid']);
      expect(keys.indexes.filter((columns) => columns[0] === 'expired')).toHaveLength(1);

      await store.set('one', liveSession());
      // The primary key refuses a second row of the same sid (the driver's error may come from another realm).
      const duplicate = await scope.writeRow('one', {}, Date.now() + 60_000, tableName).then(
        () => 'inserted',
        () => 'refused',
      );
      expect(duplicate).toBe('refused');
    });

    it('with createTable: false and no table, operations call back with SessionTableMissingError', async () => {
      const tableName = scope.newTableName('off');
      const store = scope.open({ tableName, createTable: false });
      await expect(store.ready).rejects.toMatchObject({ name: 'SessionTableMissingError' });
      const outcome = await withCallback<SessionData | null>((done) => store.get('sid', done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('SessionTableMissingError');
      const saved = await withCallback<void>((done) => store.set('sid', liveSession(), done));
      expect(errorName(saved.error)).toBe('SessionTableMissingError');
      expect(await scope.knex.schema.hasTable(tableName)).toBe(false);
    });

    it('a createTable: false store works once the table exists (it retries)', async () => {
      const tableName = scope.newTableName('late');
      const store = scope.open({ tableName, createTable: false });
      const failed = await withCallback<SessionData | null>((done) => store.get('sid', done));
      expect(errorName(failed.error)).toBe('SessionTableMissingError');

      // The table arrives later, as from a migration.
      await scope.open({ tableName }).ready;
      await expect(store.ready).resolves.toBeUndefined();
      const sid = scope.sid();
      await store.set(sid, liveSession({ late: true }));
      await expect(store.get(sid)).resolves.toMatchObject({ late: true });
      expect(await scope.readRow(sid, tableName)).toBeDefined();
    });

    it('8 stores starting at once on a missing table all become ready, with one table', async () => {
      const tableName = scope.newTableName('herd');
      const stores = Array.from({ length: 8 }, () => scope.open({ tableName }));
      const results = await Promise.allSettled(stores.map((store) => store.ready));
      expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
      expect(await scope.knex.schema.hasTable(tableName)).toBe(true);
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.primaryKey).toEqual(['sid']);
      expect(keys.indexes.filter((columns) => columns[0] === 'expired')).toHaveLength(1);
      await Promise.all(stores.map((store, i) => store.set(`herd-${i}`, liveSession({ i }))));
      expect(await scope.readRows(tableName)).toHaveLength(8);
    });
  });
}
