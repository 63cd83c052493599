// Expiries stored as integers (expiryEncoding epoch-seconds and epoch-ms): the column, and every method honouring it.
import { describe, expect, it } from '@jest/globals';
import type { KnexStore } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, asStored, liveSession, roundTrip, sessionExpiringAt } from '../util.js';
import { rawRow, rawSids } from './columns-rows.js';

/** expiryEncoding 'epoch-seconds' and 'epoch-ms': an integer column, and set, get, touch and prune reading it so. */
export function expiryEncodingCases(ctx: SuiteContext): void {
  describe.each([
    ['epoch-seconds', 1000],
    ['epoch-ms', 1],
  ] as const)('expiryEncoding: %s', (encoding, unit) => {
    const scope = useScope(ctx, { label: encoding === 'epoch-ms' ? 'ems' : 'esec' });
    let tableName: string;
    let store: KnexStore;
    /** The stored expiry, in the encoding's unit. */
    const stored = async (sid: string) => Number((await rawRow(scope, sid, tableName))?.expired);
    /** An expiry in ms as the store writes it (hours away: rounded up to the whole second), in the column's unit. */
    const expectStored = async (sid: string, ms: number) => {
      const value = await stored(sid);
      expect(Number.isInteger(value)).toBe(true);
      expect(value).toBe(asStored(ms) / unit);
    };
    const writeRaw = (sid: string, ms: number, data: Record<string, unknown> = {}) =>
      scope.table(tableName).insert({ sid, sess: JSON.stringify(liveSession(data)), expired: Math.floor(ms / unit) });

    it('createTable makes the expiry an integer column, indexed', async () => {
      tableName = scope.newTableName(encoding === 'epoch-ms' ? 'ms' : 'sec');
      store = scope.open({ tableName, expiryEncoding: encoding });
      await store.ready;
      const info = await scope.table(tableName).columnInfo();
      expect(String(info.expired?.type)).toMatch(/int|number/i);
      const keys = await tableKeys(scope.knex, tableName);
      expect(keys.indexes.filter((columns) => columns.join() === 'expired')).toHaveLength(1);
    });

    it(`set stores the cookie's expiry in ${encoding === 'epoch-ms' ? 'milliseconds' : 'seconds'}, and get honours it`, async () => {
      const sid = scope.sid();
      const expires = Date.now() + HOUR + 789;
      const session = sessionExpiringAt(expires, { n: 1 });
      await store.set(sid, session);
      await expectStored(sid, expires);
      await expect(store.get(sid)).resolves.toEqual(roundTrip(session));

      const old = scope.sid('old');
      await writeRaw(old, Date.now() - MINUTE, { old: true });
      await expect(store.get(old)).resolves.toBeNull();
      expect(await store.ids()).not.toContain(old);
      expect(Object.keys((await store.allById()) ?? {})).not.toContain(old);
    });

    it('touch extends a live session and never revives an expired one', async () => {
      const sid = scope.sid();
      await store.set(sid, liveSession());
      const later = Date.now() + 5 * HOUR + 111;
      await store.touch(sid, sessionExpiringAt(later));
      await expectStored(sid, later);

      const old = scope.sid('old');
      await writeRaw(old, Date.now() - MINUTE);
      const before = await stored(old);
      await store.touch(old, liveSession());
      expect(await stored(old)).toBe(before);
      await expect(store.get(old)).resolves.toBeNull();
    });

    it('prune deletes only the expired rows, and length counts the live ones', async () => {
      await scope.empty(tableName);
      const live = [scope.sid('live'), scope.sid('live')];
      for (const sid of live) await store.set(sid, liveSession());
      await writeRaw(scope.sid('old'), Date.now() - MINUTE);
      await writeRaw(scope.sid('old'), Date.now() - HOUR);
      await expect(store.length()).resolves.toBe(2);
      await expect(store.prune()).resolves.toBe(2);
      expect(await rawSids(scope, tableName)).toEqual([...live].sort());
    });

    it('a session saved already expired is deleted, not stored', async () => {
      const sid = scope.sid();
      await store.set(sid, liveSession());
      await store.set(sid, sessionExpiringAt(Date.now() - MINUTE));
      expect(await rawRow(scope, sid, tableName)).toBeUndefined();
    });
  });
}
