import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { tableKeys } from '../introspect.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, liveSession, randomId, roundTrip, sessionExpiringAt, uniqueTableName } from '../util.js';

/** Table and column names reach SQL through knex's quoting only: hostile ones work and touch nothing else. */
export function identifierCases(ctx: SuiteContext): void {
  describe('hostile table and column names', () => {
    const suffix = randomId();
    const sentinel = uniqueTableName('sentinel');
    const tableName = `We"ird 'Tab; le_${suffix}`;
    const sidColumn = 's"id';

    // Registered before the scope's hooks, so the sentinel exists before the hostile table is created.
    beforeAll(async () => {
      await ctx.knex.schema.createTable(sentinel, (table) => {
        table.string('name', 64).primary();
      });
      await ctx.knex.table(sentinel).insert({ name: 'untouched' });
    });
    afterAll(async () => {
      await ctx.knex.schema.dropTableIfExists(sentinel);
    });

    const scope = useScope(ctx, { label: 'hostile', tableName, sidColumn });

    it('creates the table under exactly that name, with the sid column so named', async () => {
      expect(await scope.knex.schema.hasTable(tableName)).toBe(true);
      expect(Object.keys(await scope.table().columnInfo()).sort()).toEqual(['expired', sidColumn, 'sess'].sort());
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.primaryKey).toEqual([sidColumn]);
      expect(keys.indexes.filter((columns) => columns[0] === 'expired')).toHaveLength(1);
    });

    it('set, get, touch and destroy work end to end', async () => {
      const sid = `it's a "sid"; --`;
      const session = liveSession({ quote: `'"` });
      await scope.store.set(sid, session);
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
      expect((await scope.readRow(sid))?.sess).toEqual(roundTrip(session));

      const later = Date.now() + 3 * HOUR + 9;
      await scope.store.touch(sid, sessionExpiringAt(later));
      const touched = (await scope.readRow(sid))?.expiresMs ?? Number.NaN;
      expect(Math.abs(touched - later)).toBeLessThanOrEqual(scope.expiryTolerance);

      await scope.store.destroy(sid);
      expect(await scope.readRow(sid)).toBeUndefined();
    });

    it('all, length, ids, prune and clear work end to end', async () => {
      await scope.store.set('a', liveSession({ a: 1 }));
      await scope.store.set('b', liveSession({ b: 1 }));
      await scope.writeRow('old', liveSession(), Date.now() - MINUTE);
      expect(Object.keys((await scope.store.all()) ?? {}).sort()).toEqual(['a', 'b']);
      await expect(scope.store.length()).resolves.toBe(2);
      expect([...((await scope.store.ids()) ?? [])].sort()).toEqual(['a', 'b']);
      await expect(scope.store.prune()).resolves.toBe(1);
      await scope.store.destroy(['a']);
      expect((await scope.readRows()).map((row) => row.sid)).toEqual(['b']);
      await scope.store.clear();
      expect(await scope.readRows()).toEqual([]);
    });

    it('left every other table alone', async () => {
      expect(await ctx.knex.table(sentinel).select('name')).toEqual([{ name: 'untouched' }]);
    });
  });
}
