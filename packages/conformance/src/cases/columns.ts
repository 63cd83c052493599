import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { tableKeys } from '../introspect.js';
import { expiryMs, sessionValue, useScope, type Scope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, errorName, liveSession, roundTrip, sessionExpiringAt, withCallback } from '../util.js';

type Columns = NonNullable<KnexStoreOptions['columns']>;

/** The per-user columns most cases use: the user and the tenant, each read from the session. */
const COLUMNS: Columns = {
  userId: (session) => (session as { user?: string | number }).user ?? null,
  tenant: (session) => (session as { tenant?: string | number }).tenant ?? null,
};

/** A table's row of `sid`, every column as the driver returns it. */
async function rawRow(scope: Scope, sid: string, tableName?: string, sidColumn = scope.sidColumn) {
  return (await scope.table(tableName).where(sidColumn, sid).first()) as Record<string, unknown> | undefined;
}

/** The sids of every row of a table, sorted. */
async function rawSids(scope: Scope, tableName?: string, sidColumn = scope.sidColumn): Promise<string[]> {
  return ((await scope.table(tableName).pluck(sidColumn)) as unknown[]).map(String).sort();
}

/** A session's found entries, sorted by sid, for comparing with what was written. */
const bySid = (found: Array<{ sid: string; session: SessionData }> | undefined) =>
  [...(found ?? [])].sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));

/**
 * Write an expired row of `user` directly: through the table, since the store deletes a session it is asked to save
 * already expired.
 */
async function writeExpired(scope: Scope, sid: string, user: string): Promise<void> {
  await scope.writeRow(sid, liveSession({ user }), Date.now() - MINUTE);
  await scope.table().where(scope.sidColumn, sid).update({ userId: user });
}

/** A filter the store must refuse, and what its message must name. */
const BAD_FILTERS: Array<[label: string, filter: unknown, names: RegExp]> = [
  ['an empty filter', {}, /names no column|empty/i],
  ['an undeclared column', { nope: 'x' }, /nope/],
  ['a declared column beside an undeclared one', { userId: 'kept', nope: 'x' }, /nope/],
  ['a null value', { userId: null }, /userId/],
  ['an object value', { userId: { id: 1 } }, /userId/],
  ['an array value', { userId: ['a'] }, /userId/],
  ['a boolean value', { userId: true }, /userId/],
  ['NaN', { userId: Number.NaN }, /userId/],
  ['a string instead of an object', 'userId', /object/],
  ['null instead of an object', null, /object/],
  ['an array instead of an object', [{ userId: 'kept' }], /object/],
  // Values are held to the rules of sids: each of these would reach some database as another value, or fail there.
  ['a lone surrogate', { userId: '\ud800' }, /userId.*lone surrogate/],
  ['a NUL', { userId: 'kept\0' }, /userId.*NUL/],
  ['a leading U+FEFF', { userId: '\ufeffkept' }, /userId.*U\+FEFF/],
  ['a string longer than 255 characters', { userId: 'k'.repeat(256) }, /userId.*255/],
  [
    'a getter that throws',
    Object.defineProperty({}, 'userId', {
      enumerable: true,
      get() {
        throw new Error('getter refused');
      },
    }),
    /getter refused/,
  ],
];

/** A column function's result that `set` must refuse. */
const BAD_RESULTS: Array<[label: string, value: unknown]> = [
  ['an object', { id: 1 }],
  ['an array', ['a']],
  ['a boolean', true],
  ['a string longer than 255 characters', 'u'.repeat(256)],
  ['a string beginning with U+FEFF', '\ufeffada'],
  ['a string holding a lone surrogate', 'ada\udc00'],
];

/**
 * The `columns` option (extra columns filled from the session, created with an index each), `destroyWhere` and
 * `findWhere` on them; custom names for the sess and expiry columns; and expiries stored as epoch seconds or ms.
 */
export function columnCases(ctx: SuiteContext): void {
  describe('extra columns: columns, findWhere and destroyWhere', () => {
    const scope = useScope(ctx, { label: 'cols', storeOptions: { columns: COLUMNS } });
    const user = (name: string): string => scope.sid(name);

    it('createTable creates each extra column, nullable, with an index of its own', async () => {
      const info = await scope.table().columnInfo();
      expect(Object.keys(info).sort()).toEqual(['expired', 'sess', 'sid', 'tenant', 'userId']);
      expect(info.userId?.nullable).toBe(true);
      expect(info.tenant?.nullable).toBe(true);
      const keys = await tableKeys(scope.knex, scope.tableName);
      expect(keys.primaryKey).toEqual(['sid']);
      expect(keys.indexes.filter((columns) => columns.join() === 'userId')).toHaveLength(1);
      expect(keys.indexes.filter((columns) => columns.join() === 'tenant')).toHaveLength(1);
      expect(keys.indexes.filter((columns) => columns.join() === 'expired')).toHaveLength(1);
    });

    it('set fills the columns from the session: text as written, a number as its decimal text, none as NULL', async () => {
      const full = scope.sid();
      await scope.store.set(full, liveSession({ user: 'Zoë ✓', tenant: 42 }));
      expect(await rawRow(scope, full)).toMatchObject({ userId: 'Zoë ✓', tenant: '42' });
      const empty = scope.sid();
      await scope.store.set(empty, liveSession({}));
      expect(await rawRow(scope, empty)).toMatchObject({ userId: null, tenant: null });
      await expect(scope.store.get(full)).resolves.toMatchObject({ user: 'Zoë ✓', tenant: 42 });
    });

    it('a later set of the session with another user updates the column, and touch leaves it alone', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ user: 'ada', tenant: 't1' }));
      await scope.store.set(sid, liveSession({ user: 'bob', tenant: 't1' }));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: 'bob', tenant: 't1' });
      await scope.store.touch(sid, liveSession({}, 2 * HOUR));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: 'bob', tenant: 't1' });
      await scope.store.set(sid, liveSession({ tenant: 't1' }));
      expect(await rawRow(scope, sid)).toMatchObject({ userId: null, tenant: 't1' });
    });

    it("findWhere returns the live sessions of that user only: not expired ones, not others'", async () => {
      const ada = user('ada');
      const bob = user('bob');
      const [a1, a2, b1, old] = [scope.sid('a1'), scope.sid('a2'), scope.sid('b1'), scope.sid('old')];
      const sessions = {
        [a1]: liveSession({ user: ada, tenant: 't1', n: 1 }),
        [a2]: liveSession({ user: ada, tenant: 't2', n: 2 }),
        [b1]: liveSession({ user: bob, tenant: 't1', n: 3 }),
      };
      for (const [sid, session] of Object.entries(sessions)) await scope.store.set(sid, session);
      await writeExpired(scope, old, ada);

      expect(bySid(await scope.store.findWhere({ userId: ada }))).toEqual(
        bySid([
          { sid: a1, session: roundTrip(sessions[a1]!) },
          { sid: a2, session: roundTrip(sessions[a2]!) },
        ]),
      );
      expect(await scope.store.findWhere({ userId: ada, tenant: 't1' })).toEqual([
        { sid: a1, session: roundTrip(sessions[a1]!) },
      ]);
      expect((await scope.store.findWhere({ tenant: 't1' }))?.map((found) => found.sid).sort()).toEqual(
        expect.arrayContaining([a1, b1]),
      );
      await expect(scope.store.findWhere({ userId: user('nobody') })).resolves.toEqual([]);

      const outcome = await withCallback<Array<{ sid: string; session: SessionData }>>((done) =>
        scope.store.findWhere({ userId: bob }, done),
      );
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(outcome.value).toEqual([{ sid: b1, session: roundTrip(sessions[b1]!) }]);
    });

    it('findWhere matches a number against the decimal text the column holds', async () => {
      const id = 100_000 + Math.floor(Math.random() * 1_000_000_000);
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ user: id }));
      expect((await scope.store.findWhere({ userId: id }))?.map((found) => found.sid)).toEqual([sid]);
      expect((await scope.store.findWhere({ userId: String(id) }))?.map((found) => found.sid)).toEqual([sid]);
    });

    it('findWhere and destroyWhere match the value exactly: letter case and accents count', async () => {
      const base = user('exact');
      const [lower, upper, accent] = [scope.sid('lower'), scope.sid('upper'), scope.sid('accent')];
      await scope.store.set(lower, liveSession({ user: `${base}-ada` }));
      await scope.store.set(upper, liveSession({ user: `${base}-ADA` }));
      await scope.store.set(accent, liveSession({ user: `${base}-adá` }));
      expect((await scope.store.findWhere({ userId: `${base}-ada` }))?.map((found) => found.sid)).toEqual([lower]);
      expect((await scope.store.findWhere({ userId: `${base}-adá` }))?.map((found) => found.sid)).toEqual([accent]);
      await expect(scope.store.destroyWhere({ userId: `${base}-ADA` })).resolves.toBe(1);
      expect(await rawRow(scope, lower)).toBeDefined();
      expect(await rawRow(scope, accent)).toBeDefined();
      expect(await rawRow(scope, upper)).toBeUndefined();
    });

    it('a trailing space is part of the value, or the value is refused: never matched as another user', async () => {
      const base = user('space');
      const plain = scope.sid('plain');
      const spaced = scope.sid('spaced');
      await scope.store.set(plain, liveSession({ user: base }));
      const stored = await scope.store.set(spaced, liveSession({ user: `${base} ` })).then(
        () => true,
        (error: unknown) => {
          expect(errorName(error)).toBe('InvalidSessionError');
          return false;
        },
      );
      expect((await scope.store.findWhere({ userId: base }))?.map((found) => found.sid)).toEqual([plain]);
      const spacedFilter = await scope.store.findWhere({ userId: `${base} ` }).then(
        (found) => found?.map((entry) => entry.sid),
        (error: unknown) => errorName(error),
      );
      expect(spacedFilter).toEqual(stored ? [spaced] : 'InvalidFilterError');
      await scope.store.destroyWhere({ userId: base });
      expect(await rawRow(scope, spaced)).toEqual(stored ? expect.anything() : undefined);
    });

    it("destroyWhere deletes exactly that user's sessions, live and expired, and resolves the count", async () => {
      const ada = user('ada');
      const bob = user('bob');
      const [a1, a2, b1, old] = [scope.sid('a1'), scope.sid('a2'), scope.sid('b1'), scope.sid('old')];
      await scope.store.set(a1, liveSession({ user: ada }));
      await scope.store.set(a2, liveSession({ user: ada }));
      await scope.store.set(b1, liveSession({ user: bob }));
      await writeExpired(scope, old, ada);
      const before = await rawSids(scope);

      await expect(scope.store.destroyWhere({ userId: ada })).resolves.toBe(3);
      expect(await rawSids(scope)).toEqual(before.filter((sid) => ![a1, a2, old].includes(sid)));
      await expect(scope.store.get(a1)).resolves.toBeNull();
      await expect(scope.store.get(b1)).resolves.toMatchObject({ user: bob });

      const again = await withCallback<number>((done) => scope.store.destroyWhere({ userId: ada }, done));
      expect(again).toMatchObject({ error: null, value: 0, calls: 1, promise: 'resolved' });
      const bobs = await withCallback<number>((done) => scope.store.destroyWhere({ userId: bob }, done));
      expect(bobs).toMatchObject({ error: null, value: 1, calls: 1 });
      expect(await rawRow(scope, b1)).toBeUndefined();
    });

    it('destroyWhere with two columns deletes only the rows matching both', async () => {
      const ada = user('ada');
      const [t1, t2] = [scope.sid('t1'), scope.sid('t2')];
      await scope.store.set(t1, liveSession({ user: ada, tenant: 'one' }));
      await scope.store.set(t2, liveSession({ user: ada, tenant: 'two' }));
      await expect(scope.store.destroyWhere({ userId: ada, tenant: 'two' })).resolves.toBe(1);
      expect(await rawRow(scope, t1)).toBeDefined();
      expect(await rawRow(scope, t2)).toBeUndefined();
    });

    describe.each(BAD_FILTERS)('a bad filter (%s)', (_label, filter, names) => {
      it('fails destroyWhere and findWhere with InvalidFilterError, through the callback and the promise, deleting nothing', async () => {
        const kept = scope.sid('kept');
        await scope.store.set(kept, liveSession({ user: 'kept', tenant: 'kept' }));
        const before = await rawSids(scope);
        const bad = filter as Record<string, string>;

        for (const method of ['destroyWhere', 'findWhere'] as const) {
          const call = (done?: (error: unknown) => void) =>
            method === 'destroyWhere' ? scope.store.destroyWhere(bad, done) : scope.store.findWhere(bad, done);
          await expect(call()).rejects.toMatchObject({ name: 'InvalidFilterError', message: expect.stringMatching(names) });
          const outcome = await withCallback<unknown>((done) => call(done));
          expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
          expect(errorName(outcome.error)).toBe('InvalidFilterError');
        }
        expect(await rawSids(scope)).toEqual(before);
      });
    });

    it("a lone surrogate in a filter never matches another user's U+FFFD (drivers would send one for the other)", async () => {
      const replaced = scope.sid('replaced');
      await scope.store.set(replaced, liveSession({ user: '\ufffd' }));
      await expect(scope.store.destroyWhere({ userId: '\ud800' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      await expect(scope.store.findWhere({ userId: 'x\udfff' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      expect(await rawRow(scope, replaced)).toBeDefined();
      await expect(scope.store.destroyWhere({ userId: '\ufffd' })).resolves.toBe(1);
    });

    it('a store with no columns refuses every filter with InvalidFilterError', async () => {
      const store = scope.open({});
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ user: 'plain' }));
      await expect(store.destroyWhere({ userId: 'plain' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      await expect(store.findWhere({ userId: 'plain' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
      expect(await rawRow(scope, sid)).toBeDefined();
    });

    it('a column function that throws fails set with InvalidSessionError naming it, and leaves the previous row', async () => {
      const store = scope.open({
        columns: {
          userId: (session) => {
            if ((session as { boom?: boolean }).boom) throw new Error('no user here');
            return (session as { user?: string }).user;
          },
        },
      });
      const sid = scope.sid();
      const first = liveSession({ user: 'ada', n: 1 });
      await store.set(sid, first);
      const previous = await rawRow(scope, sid);

      const outcome = await withCallback<void>((done) => store.set(sid, liveSession({ boom: true, n: 2 }), done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect((outcome.error as Error).message).toMatch(/columns\.userId/);
      expect((outcome.error as Error).message).toMatch(/no user here/);
      await expect(store.set(sid, liveSession({ boom: true, n: 3 }))).rejects.toMatchObject({ name: 'InvalidSessionError' });
      expect(await rawRow(scope, sid)).toEqual(previous);
      await expect(store.get(sid)).resolves.toEqual(roundTrip(first));
    });

    describe.each(BAD_RESULTS)('a column function returning %s', (_label, value) => {
      it('fails set with InvalidSessionError naming the column, and leaves the previous row', async () => {
        const store = scope.open({
          columns: {
            userId: (session) => ((session as { bad?: boolean }).bad ? value : 'ada') as string,
          },
        });
        const sid = scope.sid();
        const first = liveSession({ n: 1 });
        await store.set(sid, first);
        const previous = await rawRow(scope, sid);
        const outcome = await withCallback<void>((done) => store.set(sid, liveSession({ bad: true }), done));
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
        expect((outcome.error as Error).message).toMatch(/columns\.userId/);
        expect(await rawRow(scope, sid)).toEqual(previous);
        await expect(store.get(sid)).resolves.toEqual(roundTrip(first));
      });
    });
  });

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
      expect(Math.abs((await expiresOf(sid)) - expires)).toBeLessThanOrEqual(scope.expiryTolerance);
      await expect(store.get(sid)).resolves.toEqual(roundTrip(session));

      const later = Date.now() + 3 * HOUR + 654;
      await store.touch(sid, sessionExpiringAt(later, { user: 'ada' }));
      expect(Math.abs((await expiresOf(sid)) - later)).toBeLessThanOrEqual(scope.expiryTolerance);

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

  describe.each([
    ['epoch-seconds', 1000],
    ['epoch-ms', 1],
  ] as const)('expiryEncoding: %s', (encoding, unit) => {
    const scope = useScope(ctx, { label: encoding === 'epoch-ms' ? 'ems' : 'esec' });
    let tableName: string;
    let store: KnexStore;
    /** The stored expiry, in the encoding's unit. */
    const stored = async (sid: string) => Number((await rawRow(scope, sid, tableName))?.expired);
    /** An expiry in ms as the column holds it (whole units; the store may round either way within one). */
    const expectStored = async (sid: string, ms: number) => {
      const value = await stored(sid);
      expect(Number.isInteger(value)).toBe(true);
      expect(Math.abs(value - ms / unit)).toBeLessThanOrEqual(unit === 1 ? 0 : 1);
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
