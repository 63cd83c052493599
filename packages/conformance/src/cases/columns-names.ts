// Custom names for the sid, sess and expiry columns: the table created under them, and the whole store on it.
import { describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { expiryMs, sessionValue, useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, liveSession, roundTrip, sessionExpiringAt } from '../util.js';
import { rawRow, rawSids } from './columns-rows.js';
import { expectExpiryWithin } from './touch.js';

/** sidFieldName, sessFieldName and expiredFieldName: the table is created under those names and the store uses them. */
export function columnNameCases(ctx: SuiteContext): void {
  describe('custom column names: sidFieldName, sessFieldName and expiredFieldName', () => {
    const scope = useScope(ctx, { label: 'names' });
    const names = { sidFieldName: 'session_id', sessFieldName: 'data', expiredFieldName: 'expires' } as const;
    let tableName: string;
    let store: KnexStore;
    const expiresOf = async (sid: string) =>
      expiryMs((await rawRow(scope, sid, tableName, names.sidFieldName))?.[names.expiredFieldName]);

    it('createTable creates the columns under those names, keyed and indexed', async () => {
      tableName = scope.newTableName('named');
      store = scope.open({ tableName, ...names });
      await store.ready;
      expect(Object.keys(await scope.table(tableName).columnInfo()).sort()).toEqual(['data', 'expires', 'session_id']);
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.primaryKey).toEqual(['session_id']);
      expect(keys.indexes.filter((columns) => columns.join() === 'expires')).toHaveLength(1);
    });

    it('set, get, touch, length, ids, all, destroy and prune work on them', async () => {
      const sid = scope.sid();
      const expires = Date.now() + HOUR + 321;
      const session = sessionExpiringAt(expires, { user: 'ada' });
      await store.set(sid, session);
      const row = await rawRow(scope, sid, tableName, names.sidFieldName);
      expect(sessionValue(row?.data)).toEqual(roundTrip(session));
      expectExpiryWithin(scope, await expiresOf(sid), expires);
      await expect(store.get(sid)).resolves.toEqual(roundTrip(session));

      const later = Date.now() + 3 * HOUR + 654;
      await store.touch(sid, sessionExpiringAt(later, { user: 'ada' }));
      expectExpiryWithin(scope, await expiresOf(sid), later);

      const old = scope.sid('old');
      await scope.table(tableName).insert({
        [names.sidFieldName]: old,
        [names.sessFieldName]: JSON.stringify(liveSession()),
        [names.expiredFieldName]: scope.store.adapter.encodeExpiry(Date.now() - MINUTE, scope.knex),
      });
      await expect(store.get(old)).resolves.toBeNull();
      await expect(store.length()).resolves.toBe(1);
      await expect(store.ids()).resolves.toEqual([sid]);
      expect(Object.keys((await store.allById()) ?? {})).toEqual([sid]);
      await expect(store.prune()).resolves.toBe(1);
      expect(await rawSids(scope, tableName, names.sidFieldName)).toEqual([sid]);
      await expect(store.destroy(sid)).resolves.toBe(1);
      expect(await rawSids(scope, tableName, names.sidFieldName)).toEqual([]);
    });
  });
}
