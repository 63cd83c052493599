import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { liveSession, roundTrip, withCallback } from '../util.js';

/** express-session's required methods: get, set and destroy, with callbacks and as promises. */
export function requiredMethodCases(ctx: SuiteContext): void {
  describe('required methods: get, set, destroy', () => {
    const scope = useScope(ctx, { label: 'req' });

    it('set stores a session that get returns (promises)', async () => {
      const sid = scope.sid();
      const session = liveSession({ user: { name: 'ada', roles: ['admin'] } });
      await expect(scope.store.set(sid, session)).resolves.toBeUndefined();
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
      expect((await scope.readRow(sid))?.sess).toEqual(roundTrip(session));
    });

    it('set and get call back (callbacks)', async () => {
      const sid = scope.sid();
      const session = liveSession({ n: 1 });
      const saved = await withCallback<void>((done) => scope.store.set(sid, session, done));
      expect(saved).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      const read = await withCallback<SessionData | null>((done) => scope.store.get(sid, done));
      expect(read).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(read.value).toEqual(roundTrip(session));
    });

    it('get of a missing sid gives null', async () => {
      await expect(scope.store.get(scope.sid('missing'))).resolves.toBeNull();
      const read = await withCallback<SessionData | null>((done) => scope.store.get(scope.sid('missing'), done));
      expect(read).toMatchObject({ error: null, value: null, calls: 1 });
    });

    it('set is an upsert: two sets leave one row, and the latest wins', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession({ version: 1 }));
      const latest = liveSession({ version: 2 }, 2 * 3_600_000);
      await scope.store.set(sid, latest);
      const rows = await scope.table().where(scope.sidColumn, sid);
      expect(rows).toHaveLength(1);
      expect((await scope.readRow(sid))?.sess).toEqual(roundTrip(latest));
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(latest));
    });

    it('destroy deletes the row and resolves; destroying a missing sid is no error', async () => {
      const sid = scope.sid();
      const other = scope.sid();
      await scope.store.set(sid, liveSession());
      await scope.store.set(other, liveSession());
      await expect(scope.store.destroy(sid)).resolves.not.toBeInstanceOf(Error);
      expect(await scope.readRow(sid)).toBeUndefined();
      expect(await scope.readRow(other)).toBeDefined();
      await expect(scope.store.get(sid)).resolves.toBeNull();
      await expect(scope.store.destroy(scope.sid('missing'))).resolves.not.toBeInstanceOf(Error);
    });

    it('destroy calls back once, with no error', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      const outcome = await withCallback<unknown>((done) => scope.store.destroy(sid, done));
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
      expect(await scope.readRow(sid)).toBeUndefined();
    });

    it('destroy of an array of sids deletes each of them and nothing else', async () => {
      const doomed = [scope.sid(), scope.sid(), scope.sid()];
      const kept = scope.sid();
      for (const sid of [...doomed, kept]) await scope.store.set(sid, liveSession());
      await scope.store.destroy([...doomed, scope.sid('missing')]);
      for (const sid of doomed) expect(await scope.readRow(sid)).toBeUndefined();
      expect(await scope.readRow(kept)).toBeDefined();
      await expect(scope.store.destroy([])).resolves.not.toBeInstanceOf(Error);
    });
  });
}
