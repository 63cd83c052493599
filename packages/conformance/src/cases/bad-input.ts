import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { createEncryptedSerializer, type KnexStoreOptions } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { errorName, liveSession, roundTrip, sessionWithCookie, withCallback } from '../util.js';

const BAD_SIDS: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 42],
  ['an object', { id: 'x' }],
  ['an empty string', ''],
  ['a 256-character string', 'x'.repeat(256)],
];

function circular(): SessionData {
  const session = liveSession({ name: 'loop' }) as unknown as Record<string, unknown>;
  session.self = session;
  return session as unknown as SessionData;
}

const BAD_SESSIONS: Array<[string, () => unknown]> = [
  ['a circular session', circular],
  ['a session holding a BigInt', () => liveSession({ big: 10n })],
  [
    'a session whose toJSON throws',
    () =>
      liveSession({
        trap: {
          toJSON: () => {
            throw new Error('toJSON refused');
          },
        },
      }),
  ],
  ['a null session', () => null],
  ['an undefined session', () => undefined],
  ['a string session', () => 'not a session'],
  ['an array session', () => [liveSession()]],
  ['a session whose cookie.expires is not a date', () => sessionWithCookie({ expires: 'not a date' })],
  // Objects that fail the moment they are looked at: the fault is the input's, never the database's.
  ['a session whose cookie.expires has a null prototype', () => sessionWithCookie({ expires: Object.create(null) })],
  [
    'a session whose cookie getter throws',
    () =>
      Object.defineProperty(liveSession({ name: 'trap' }), 'cookie', {
        enumerable: true,
        get() {
          throw new Error('cookie getter refused');
        },
      }),
  ],
  ['a session whose toJSON gives no object', () => ({ ...liveSession(), toJSON: () => 'not an object' })],
];

/** Serializers other than the default, which must refuse the same sessions before they reach them. */
const OTHER_SERIALIZERS: Array<[string, () => Partial<KnexStoreOptions>]> = [
  [
    'a custom JSON serializer',
    () => ({ serializer: { stringify: (session) => JSON.stringify(session), parse: (text) => JSON.parse(text) as SessionData } }),
  ],
  ['the encrypting serializer', () => ({ serializer: createEncryptedSerializer({ keys: [randomBytes(32)] }) })],
];

/** Bad input ends in the callback (or a rejected promise), never in a throw or a crash, and never damages a row. */
export function badInputCases(ctx: SuiteContext): void {
  describe('bad input', () => {
    const scope = useScope(ctx, { label: 'bad' });

    describe.each(BAD_SIDS)('a sid that is %s', (_title, sid) => {
      it.each(['get', 'set', 'touch', 'destroy'] as const)('%s calls back with InvalidSessionError', async (method) => {
        const bad = sid as string;
        const outcome = await withCallback<unknown>((done) => {
          if (method === 'get') return scope.store.get(bad, done);
          if (method === 'destroy') return scope.store.destroy(bad, done);
          return scope.store[method](bad, liveSession(), done as (error: unknown) => void);
        });
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
      });
    });

    it('destroy of a sparse array calls back with InvalidSessionError and deletes nothing', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      const sparse: string[] = [sid];
      sparse.length = 3;
      const outcome = await withCallback<unknown>((done) => scope.store.destroy(sparse, done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect((outcome.error as Error).message).toMatch(/\[1\]/);
      expect(await scope.readRow(sid)).toBeDefined();
    });

    describe.each(OTHER_SERIALIZERS)('with %s', (_title, options) => {
      it.each(BAD_SESSIONS)('set of %s calls back with InvalidSessionError and stores nothing', async (_label, make) => {
        const store = scope.open(options());
        const sid = scope.sid();
        const outcome = await withCallback<void>((done) => store.set(sid, make() as SessionData, done));
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
        expect(await scope.readRow(sid)).toBeUndefined();
      });
    });

    it('a 255-character sid is accepted', async () => {
      const sid = `${scope.sid()}-`.padEnd(255, 'y');
      await scope.store.set(sid, liveSession({ long: true }));
      await expect(scope.store.get(sid)).resolves.toMatchObject({ long: true });
      expect((await scope.readRow(sid))?.sid).toBe(sid);
    });

    it('destroy of an array holding a bad sid calls back with InvalidSessionError and deletes nothing', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      const outcome = await withCallback<unknown>((done) => scope.store.destroy([sid, 7 as unknown as string], done));
      expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect(await scope.readRow(sid)).toBeDefined();
    });

    it.each(BAD_SESSIONS)('set of %s calls back with InvalidSessionError', async (_title, make) => {
      const sid = scope.sid();
      const outcome = await withCallback<void>((done) => scope.store.set(sid, make() as SessionData, done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect(await scope.readRow(sid)).toBeUndefined();
    });

    it.each(BAD_SESSIONS)('touch with %s calls back with an error or nothing, never throws', async (_title, make) => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ keep: true }));
      const outcome = await withCallback<void>((done) => scope.store.touch(sid, make() as SessionData, done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      if (outcome.error) expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect((await scope.readRow(sid))?.sess).toMatchObject({ keep: true });
    });

    it('without a callback, bad input rejects the promise instead of throwing', async () => {
      let returned: Promise<unknown> | undefined;
      expect(() => {
        returned = scope.store.set('', liveSession());
      }).not.toThrow();
      await expect(returned).rejects.toMatchObject({ name: 'InvalidSessionError' });
      await expect(scope.store.get(undefined as unknown as string)).rejects.toMatchObject({
        name: 'InvalidSessionError',
      });
      await expect(scope.store.set(scope.sid(), circular())).rejects.toMatchObject({ name: 'InvalidSessionError' });
    });

    it('a failed set leaves the previous version intact', async () => {
      const sid = scope.sid();
      const good = liveSession({ version: 'good' });
      await scope.store.set(sid, good);
      const before = await scope.readRow(sid);
      for (const [, make] of BAD_SESSIONS) {
        const outcome = await withCallback<void>((done) => scope.store.set(sid, make() as SessionData, done));
        expect(outcome.error).toBeInstanceOf(Error);
      }
      expect(await scope.readRow(sid)).toEqual(before);
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(good));
    });

    it.each<[string, () => number]>([
      ['returning a non-number', () => 'soon' as unknown as number],
      [
        'that throws',
        () => {
          throw new Error('ttl refused');
        },
      ],
    ])('a ttl function %s fails the set through the callback', async (_title, ttl) => {
      const store = scope.open({ ttl });
      const sid = scope.sid();
      const outcome = await withCallback<void>((done) => store.set(sid, sessionWithCookie(undefined), done));
      expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
      expect(errorName(outcome.error)).toBe('InvalidSessionError');
      expect(await scope.readRow(sid)).toBeUndefined();
    });
  });
}
