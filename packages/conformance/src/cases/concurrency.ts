import { describe, expect, it } from '@jest/globals';
import type { SessionData } from 'express-session';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, liveSession, roundTrip, sessionExpiringAt } from '../util.js';
import { expectExpiryWithin } from './touch.js';

const ROUNDS = 20;
const WRITERS = 16;

/** Racing first writes of one new sid: the upsert must be atomic. */
export function concurrencyCases(ctx: SuiteContext): void {
  describe('concurrency', () => {
    const scope = useScope(ctx, { label: 'race' });

    it(`${ROUNDS} rounds of ${WRITERS} parallel first writes of one sid: no error, one row`, async () => {
      // Two instances on the same table, like two processes behind a load balancer.
      const stores = [scope.store, scope.open()];
      for (let round = 0; round < ROUNDS; round += 1) {
        const sid = scope.sid(`race${round}`);
        const versions = Array.from({ length: WRITERS }, (_, writer) => liveSession({ round, writer }));
        const results = await Promise.allSettled(
          versions.map((session, i) => stores[i % stores.length]!.set(sid, session)),
        );
        expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
        const rows = await scope.table().where(scope.sidColumn, sid);
        expect(rows).toHaveLength(1);
        const stored = await scope.store.get(sid);
        expect(versions.map((session) => roundTrip(session))).toContainEqual(stored);
      }
    });

    // With coalesce these share one statement; each must still answer exactly as it would alone.
    it.each([false, true])('parallel gets (coalesce: %s): each answers for its own sid only', async (coalesce) => {
      const store = scope.open({ coalesce });
      const live = Array.from({ length: 12 }, (_, i) => ({ sid: scope.sid(`many${i}`), session: liveSession({ i }) }));
      await Promise.all(live.map(({ sid, session }) => store.set(sid, session)));
      const missing = scope.sid('missing');
      const expired = scope.sid('expired');
      await scope.writeRow(expired, JSON.stringify(liveSession({ old: true })), Date.now() - HOUR);
      const corrupt = scope.sid('corrupt');
      await scope.writeRow(corrupt, '[1, 2]', Date.now() + HOUR);
      const asked = [...live.map(({ sid }) => sid), missing, expired, corrupt, live[0]!.sid];
      const results = await Promise.allSettled(asked.map((sid) => store.get(sid)));
      live.forEach(({ session }, i) => expect(results[i]).toEqual({ status: 'fulfilled', value: roundTrip(session) }));
      expect(results[live.length]).toEqual({ status: 'fulfilled', value: null });
      expect(results[live.length + 1]).toEqual({ status: 'fulfilled', value: null });
      expect(results[live.length + 2]).toMatchObject({ status: 'rejected', reason: { name: 'InvalidSessionError', sid: corrupt } });
      expect(results[live.length + 3]).toEqual({ status: 'fulfilled', value: roundTrip(live[0]!.session) });
    });

    // With coalesce these share one UPDATE; each sid must get its own expiry, and no expired or missing row revives.
    it.each([false, true])('parallel touches (coalesce: %s): each moves its own expiry only', async (coalesce) => {
      const store = scope.open({ coalesce });
      const live = Array.from({ length: 12 }, (_, i) => ({ sid: scope.sid(`touch${i}`), session: liveSession({ i }) }));
      await Promise.all(live.map(({ sid, session }) => store.set(sid, session)));
      const expired = scope.sid('touch-expired');
      await scope.writeRow(expired, JSON.stringify(liveSession({ old: true })), Date.now() - HOUR);
      const missing = scope.sid('touch-missing');
      const base = Date.now() + 2 * HOUR;
      const targets = live.map(({ sid }, i) => ({ sid, at: base + i * 60_000 + i }));
      // The first sid twice in one turn: coalesced, the later touch's expiry is kept; else the two race.
      const twice = { sid: live[0]!.sid, at: base + HOUR };
      const touches = [...targets, { sid: expired, at: base }, { sid: missing, at: base }, twice];
      const results = await Promise.allSettled(touches.map(({ sid, at }) => store.touch(sid, sessionExpiringAt(at, {}))));
      expect(results.filter((result) => result.status === 'rejected')).toEqual([]);
      const first = (await scope.readRow(twice.sid))?.expiresMs;
      expectExpiryWithin(scope, first, coalesce ? twice.at : targets[0]!.at, twice.at);
      for (const { sid, at } of targets.slice(1)) expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, at);
      expect((await scope.readRow(expired))?.expiresMs).toBeLessThan(Date.now());
      expect(await scope.readRow(missing)).toBeUndefined();
      await expect(store.get(expired)).resolves.toBeNull();
    });

    // With coalesce (where the dialect upserts several rows at once) these share statements: a row the database refuses
    // must fail its own set alone, and two sets of one sid in a turn leave the later one.
    it.each([false, true])('parallel sets (coalesce: %s): each lands on its own, a refused row fails alone', async (coalesce) => {
      // Text that is not JSON: a json column refuses it, a text column keeps it; either way the others must land.
      const serializer = {
        stringify: (session: SessionData) => ((session as { bad?: boolean }).bad ? 'not json {' : JSON.stringify(session)),
        parse: (text: string) => JSON.parse(text) as SessionData,
      };
      const store = scope.open({ coalesce, serializer });
      const writes = Array.from({ length: 37 }, (_, i) => ({ sid: scope.sid(`set${i}`), session: liveSession({ i }) }));
      const bad = { sid: scope.sid('set-bad'), session: liveSession({ bad: true }) };
      const again = { sid: writes[3]!.sid, session: liveSession({ i: 3, again: true }) };
      const all = [...writes.slice(0, 20), bad, ...writes.slice(20), again];
      const results = await Promise.allSettled(all.map(({ sid, session }) => store.set(sid, session)));
      results.forEach((result, i) => {
        if (all[i] !== bad) expect(result).toEqual({ status: 'fulfilled', value: undefined });
        else if (result.status === 'rejected') expect(result.reason).toMatchObject({ name: 'DatabaseError' });
      });
      for (const { sid, session } of writes.filter((_, i) => i !== 3)) await expect(store.get(sid)).resolves.toEqual(roundTrip(session));
      const third = await store.get(again.sid);
      if (coalesce) expect(third).toEqual(roundTrip(again.session));
      else expect([roundTrip(writes[3]!.session), roundTrip(again.session)]).toContainEqual(third);
    });
  });
}
