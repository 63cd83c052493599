// The whole store on a table and sid column of hostile names, in the connection's own schema.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Knex } from 'knex';
import type { KnexStore } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { expiryMs, sessionValue } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, SECOND, liveSession, roundTrip, sessionExpiringAt } from '../util.js';

/**
 * The whole store on a table and sid column of hostile names, in the connection's own schema; or, where the dialect
 * cannot keep such a name as written, a ConfigurationError from the constructor naming the option.
 */
export function hostileTableCases(ctx: SuiteContext, title: string, tableName: string, sidColumn: string): void {
  describe(title, () => {
    const stores: KnexStore[] = [];
    let store: KnexStore | undefined;
    let refusal: unknown;
    const open = (): KnexStore => {
      const opened = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: sidColumn });
      stores.push(opened);
      return opened;
    };
    const rows = (): Knex.QueryBuilder => ctx.knex.table(tableName);
    const readRow = async (sid: string): Promise<{ sess: unknown; expiresMs: number } | undefined> => {
      const row = (await rows().where(sidColumn, sid).first()) as Record<string, unknown> | undefined;
      return row && { sess: sessionValue(row.sess), expiresMs: expiryMs(row.expired) };
    };
    const sidsStored = async (): Promise<string[]> => (await rows().pluck(sidColumn)).map(String).sort();

    beforeAll(async () => {
      try {
        store = open();
      } catch (error) {
        refusal = error;
        return;
      }
      await store.ready;
    });
    afterAll(async () => {
      await Promise.allSettled(stores.map((opened) => opened.close()));
      await ctx.knex.schema.dropTableIfExists(tableName);
    });

    /** The store, or undefined once the refusal has been checked: a ConfigurationError naming one of the two options. */
    const accepted = (): KnexStore | undefined => {
      if (refusal === undefined) return store;
      expect(refusal).toMatchObject({
        name: 'ConfigurationError',
        option: expect.stringMatching(/^(tableName|sidFieldName)$/),
      });
      return undefined;
    };

    it('creates the table under exactly that name, with the sid column so named (or is refused at construction)', async () => {
      const hostile = accepted();
      if (!hostile) return;
      // A row read back through the quoted name shows the columns (knex's hasTable and columnInfo on SQLite mangle a
      // name holding a backtick, so neither can be asked).
      await hostile.set('probe', liveSession());
      expect(Object.keys((await rows().first()) as object).sort()).toEqual(['expired', sidColumn, 'sess'].sort());
      await hostile.destroy('probe');
      const keys = await tableKeys(ctx.knex, tableName);
      expect(keys.primaryKey).toEqual([sidColumn]);
      expect(keys.indexes.filter((columns) => columns[0] === 'expired')).toHaveLength(1);
    });

    it('set, get, touch and destroy work end to end', async () => {
      const hostile = accepted();
      if (!hostile) return;
      const sid = `it's a "sid"; --`;
      const session = liveSession({ quote: `'"\`]` });
      await hostile.set(sid, session);
      await expect(hostile.get(sid)).resolves.toEqual(roundTrip(session));
      expect((await readRow(sid))?.sess).toEqual(roundTrip(session));

      const later = Date.now() + 3 * HOUR + 9;
      await hostile.touch(sid, sessionExpiringAt(later));
      const touched = (await readRow(sid))?.expiresMs ?? Number.NaN;
      // Within a second: some engines' columns keep whole seconds.
      expect(Math.abs(touched - later)).toBeLessThanOrEqual(SECOND);

      await hostile.destroy(sid);
      expect(await readRow(sid)).toBeUndefined();
    });

    it('all, length, ids, prune and clear work end to end', async () => {
      const hostile = accepted();
      if (!hostile) return;
      await hostile.set('a', liveSession({ a: 1 }));
      await hostile.set('b', liveSession({ b: 1 }));
      await rows().insert({
        [sidColumn]: 'old',
        sess: '{}',
        expired: hostile.adapter.encodeExpiry(Date.now() - MINUTE, ctx.knex),
      });
      expect(Object.keys((await hostile.allById()) ?? {}).sort()).toEqual(['a', 'b']);
      await expect(hostile.length()).resolves.toBe(2);
      expect([...((await hostile.ids()) ?? [])].sort()).toEqual(['a', 'b']);
      await expect(hostile.prune()).resolves.toBe(1);
      await hostile.destroy(['a']);
      expect(await sidsStored()).toEqual(['b']);
    });

    it('a second store (the next start of the app) finds the existing table and reads its sessions', async () => {
      const hostile = accepted();
      if (!hostile) return;
      const session = liveSession({ before: 'restart' });
      await hostile.set('kept', session);
      const next = open();
      await next.ready;
      await expect(next.get('kept')).resolves.toEqual(roundTrip(session));
      await next.clear();
      expect(await sidsStored()).toEqual([]);
    });
  });
}
