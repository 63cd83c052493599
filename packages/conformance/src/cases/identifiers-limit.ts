// A column name at the dialect's identifier limit, and one unit over it.
import { afterAll, describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import type { SuiteContext } from '../target.js';
import { liveSession, roundTrip } from '../util.js';

/**
 * A dialect's identifier limit (`maxIdentifierLength`): a column name exactly at the limit, in multi-byte characters
 * where the limit counts bytes, is kept as written and used end to end; one unit more is refused at construction,
 * naming the option, instead of being truncated onto another name or failing at the first statement.
 */
export function identifierLimitCases(ctx: SuiteContext, tableName: string): void {
  describe("a column name at the dialect's identifier limit", () => {
    const stores: KnexStore[] = [];
    afterAll(async () => {
      await Promise.allSettled(stores.map((store) => store.close()));
      await ctx.knex.schema.dropTableIfExists(tableName);
    });

    it('is used as written, and one unit longer is refused with a ConfigurationError', async () => {
      const probe = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, createTable: false });
      const limit = probe.adapter.capabilities.maxIdentifierLength;
      await probe.close();
      if (!limit) return;
      // Two-byte characters fill a byte limit with half as many characters; one more character would pass it.
      const unit = limit.unit === 'bytes' ? '\u00e9' : 's';
      const fits = limit.unit === 'bytes' ? unit.repeat(Math.floor(limit.length / 2)) + 'x'.repeat(limit.length % 2) : unit.repeat(limit.length);
      const over = `${fits}${unit}`;
      let thrown: unknown;
      try {
        ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: over });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({ name: 'ConfigurationError', option: 'sidFieldName' });

      const store = ctx.target.createStore({ knex: ctx.knex, cleanupInterval: 0, tableName, sidFieldName: fits });
      stores.push(store);
      await store.ready;
      const session = liveSession({ at: 'the limit' });
      await store.set('limit', session);
      await expect(store.get('limit')).resolves.toEqual(roundTrip(session));
      expect(await ctx.knex.table(tableName).where(fits, 'limit').pluck(fits)).toEqual(['limit']);
    });
  });
}
