// What the extra columns refuse: bad filters to findWhere and destroyWhere, and bad results of a column function.
import { describe, expect, it } from '@jest/globals';
import type { Scope } from '../scope.js';
import { errorName, liveSession, roundTrip, withCallback } from '../util.js';
import { rawRow, rawSids } from './columns-rows.js';

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

/** What `scope`'s store with extra columns must refuse, through the callback and the promise, changing nothing. */
export function columnRefusalCases(scope: Scope): void {
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
}
