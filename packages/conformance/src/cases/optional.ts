import { beforeEach, describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { MINUTE, liveSession, roundTrip, withCallback } from '../util.js';

/** The optional methods express-session never calls: all, length, clear, and the store's own allById and ids. */
export function optionalMethodCases(ctx: SuiteContext): void {
  describe('optional methods: all, allById, length, ids, clear', () => {
    const scope = useScope(ctx, { label: 'opt' });
    const live: Record<string, SessionData> = {};

    beforeEach(async () => {
      await scope.empty();
      for (const key of Object.keys(live)) delete live[key];
      // "__proto__" must come back as an ordinary key, never as the result's prototype.
      for (const sid of ['alpha', 'beta', '__proto__', 'constructor']) {
        const session = liveSession({ owner: sid });
        Object.defineProperty(live, sid, { value: session, enumerable: true, writable: true, configurable: true });
        await scope.store.set(sid, session);
      }
      await scope.writeRow('expired-1', liveSession({ owner: 'expired-1' }), Date.now() - MINUTE);
      await scope.writeRow('expired-2', liveSession({ owner: 'expired-2' }), Date.now() - 1000 * MINUTE);
    });

    it('all() returns the live sessions only, as an array (express-session\'s documented shape and v5\'s)', async () => {
      const all = await scope.store.all();
      expect(Array.isArray(all)).toBe(true);
      const owners = (all ?? []).map((session) => (session as unknown as { owner: string }).owner);
      expect(owners.sort()).toEqual(['__proto__', 'alpha', 'beta', 'constructor']);
      for (const session of all ?? []) {
        expect(session).toEqual(roundTrip(live[(session as unknown as { owner: string }).owner]));
      }
    });

    it('all() calls back once with the array', async () => {
      const outcome = await withCallback<SessionData[]>((done) => scope.store.all(done));
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(Array.isArray(outcome.value)).toBe(true);
      expect(outcome.value).toHaveLength(4);
    });

    it('allById() returns the live sessions only, keyed by sid, every sid an ordinary key', async () => {
      const all = (await scope.store.allById()) as Record<string, SessionData>;
      expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
      expect(Object.keys(all).sort()).toEqual(['__proto__', 'alpha', 'beta', 'constructor']);
      for (const sid of Object.keys(live)) {
        expect(Object.prototype.hasOwnProperty.call(all, sid)).toBe(true);
        expect(Object.getOwnPropertyDescriptor(all, sid)?.value).toEqual(roundTrip(live[sid]));
      }
      const outcome = await withCallback<Record<string, SessionData>>((done) => scope.store.allById(done));
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(Object.keys(outcome.value ?? {}).sort()).toEqual(['__proto__', 'alpha', 'beta', 'constructor']);
    });

    it('length() counts the live sessions only', async () => {
      await expect(scope.store.length()).resolves.toBe(4);
      const outcome = await withCallback<number>((done) => scope.store.length(done));
      expect(outcome).toMatchObject({ error: null, value: 4, calls: 1 });
    });

    it('ids() lists the live sessions only', async () => {
      const ids = await scope.store.ids();
      expect([...(ids ?? [])].sort()).toEqual(['__proto__', 'alpha', 'beta', 'constructor']);
      const outcome = await withCallback<string[]>((done) => scope.store.ids(done));
      expect(outcome).toMatchObject({ error: null, calls: 1 });
      expect([...(outcome.value ?? [])].sort()).toEqual(['__proto__', 'alpha', 'beta', 'constructor']);
    });

    it('clear() deletes every row, live or expired', async () => {
      await expect(scope.store.clear()).resolves.not.toBeInstanceOf(Error);
      expect(await scope.readRows()).toEqual([]);
      await expect(scope.store.all()).resolves.toEqual([]);
      await expect(scope.store.allById()).resolves.toEqual({});
      await expect(scope.store.length()).resolves.toBe(0);
      await expect(scope.store.ids()).resolves.toEqual([]);
    });

    it('clear() calls back once', async () => {
      const outcome = await withCallback<number>((done) => scope.store.clear(done));
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(await scope.readRows()).toEqual([]);
    });
  });
}
