import { describe, expect, it } from '@jest/globals';
import { DEFAULT_TTL_MS, MAX_EXPIRY_MS } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, MINUTE, liveSession, roundTrip, sessionExpiringAt, sessionWithCookie } from '../util.js';
import { expectExpiryAfterWrite, expectExpiryWithin } from './touch.js';

/** Which expiry a session gets (cookie.expires, then cookie.maxAge, then the ttl) and how exactly it is stored. */
export function expiryCases(ctx: SuiteContext): void {
  describe('expiry', () => {
    const scope = useScope(ctx, { label: 'exp', storeOptions: { ttl: 7 * HOUR } });

    it('a directly written expiry reads back as the same instant, to the ms where the column allows', async () => {
      const sid = scope.sid();
      const at = Date.UTC(2032, 1, 29, 23, 59, 58, 987);
      await scope.writeRow(sid, liveSession(), at);
      const stored = (await scope.readRow(sid))?.expiresMs;
      expect(Math.abs((stored ?? Number.NaN) - at)).toBeLessThan(1000);
      if (scope.expiryTolerance === 0) {
        expect(stored).toBe(at);
        // Equality through the adapter's own encoding finds the row: the column holds exactly what encodeExpiry wrote.
        const found = await scope
          .table()
          .where('expired', scope.store.adapter.encodeExpiry(at, scope.store.knex))
          .andWhere(scope.sidColumn, sid);
        expect(found).toHaveLength(1);
      }
    });

    it('uses cookie.expires (a Date) exactly', async () => {
      const sid = scope.sid();
      const at = Date.now() + 3 * HOUR + 321;
      await scope.store.set(sid, sessionExpiringAt(at));
      expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, at);
    });

    it('uses cookie.expires as an ISO string, as a session read back from JSON carries it', async () => {
      const sid = scope.sid();
      const at = Date.now() + 2 * HOUR + 654;
      const session = roundTrip(sessionExpiringAt(at, { from: 'json' }));
      expect(typeof (session.cookie as unknown as { expires: unknown }).expires).toBe('string');
      await scope.store.set(sid, session);
      expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, at);
      await expect(scope.store.get(sid)).resolves.toEqual(session);
    });

    it('prefers cookie.expires over cookie.maxAge and the ttl', async () => {
      const sid = scope.sid();
      const at = Date.now() + 2 * HOUR + 111;
      await scope.store.set(
        sid,
        sessionWithCookie({ expires: new Date(at), maxAge: 5 * HOUR, originalMaxAge: 5 * HOUR }),
      );
      expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, at);
    });

    it('uses cookie.maxAge when the cookie has no expires, before the ttl', async () => {
      const sid = scope.sid();
      await expectExpiryAfterWrite(scope, sid, 3 * HOUR, () =>
        scope.store.set(sid, sessionWithCookie({ maxAge: 3 * HOUR })),
      );
    });

    it('uses the ttl (a number) when the cookie has neither expires nor maxAge', async () => {
      const sid = scope.sid();
      await expectExpiryAfterWrite(scope, sid, 7 * HOUR, () =>
        scope.store.set(sid, sessionWithCookie({ originalMaxAge: null, expires: null, httpOnly: true, path: '/' })),
      );
    });

    it('uses the ttl for a session with no cookie at all', async () => {
      const sid = scope.sid();
      await expectExpiryAfterWrite(scope, sid, 7 * HOUR, () =>
        scope.store.set(sid, sessionWithCookie(undefined, { bare: true })),
      );
      await expect(scope.store.get(sid)).resolves.toEqual({ bare: true });
    });

    it('uses the ttl (a function of the session)', async () => {
      const store = scope.open({
        ttl: (session) => ((session as unknown as { plan?: string }).plan === 'long' ? 10 * HOUR : HOUR),
      });
      const long = scope.sid();
      const short = scope.sid();
      const before = Date.now();
      await store.set(long, sessionWithCookie(undefined, { plan: 'long' }));
      await store.set(short, sessionWithCookie({ originalMaxAge: null, expires: null }, { plan: 'short' }));
      const after = Date.now();
      expectExpiryWithin(scope, (await scope.readRow(long))?.expiresMs, before + 10 * HOUR, after + 10 * HOUR);
      expectExpiryWithin(scope, (await scope.readRow(short))?.expiresMs, before + HOUR, after + HOUR);
    });

    it('defaults the ttl to one day', async () => {
      const store = scope.open();
      const sid = scope.sid();
      expect(DEFAULT_TTL_MS).toBe(24 * HOUR);
      await expectExpiryAfterWrite(scope, sid, DEFAULT_TTL_MS, () => store.set(sid, sessionWithCookie(undefined)));
    });

    it('deletes, rather than stores, a session whose expiry is already past', async () => {
      const byExpires = scope.sid();
      const byMaxAge = scope.sid();
      for (const sid of [byExpires, byMaxAge]) await scope.store.set(sid, liveSession());
      await scope.store.set(byExpires, sessionExpiringAt(Date.now() - MINUTE));
      await scope.store.set(byMaxAge, sessionWithCookie({ maxAge: -MINUTE }));
      expect(await scope.readRow(byExpires)).toBeUndefined();
      expect(await scope.readRow(byMaxAge)).toBeUndefined();
      await expect(scope.store.get(byExpires)).resolves.toBeNull();

      const fresh = scope.sid();
      await scope.store.set(fresh, sessionExpiringAt(Date.now() - MINUTE));
      expect(await scope.readRow(fresh)).toBeUndefined();
    });

    it('hides a row whose expiry has passed from get', async () => {
      const sid = scope.sid();
      await scope.writeRow(sid, liveSession(), Date.now() - 1000);
      await expect(scope.store.get(sid)).resolves.toBeNull();
      expect(await scope.readRow(sid)).toBeDefined();
    });

    it('stores an expiry beyond what the column holds as the latest it holds', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, sessionExpiringAt(Date.UTC(12000, 0, 1)));
      await expect(scope.store.get(sid)).resolves.not.toBeNull();
      expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, MAX_EXPIRY_MS);
    });
  });
}
