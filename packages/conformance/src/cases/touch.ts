import { describe, expect, it } from '@jest/globals';
import { useScope, type Scope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import {
  HOUR,
  MINUTE,
  asStored,
  liveSession,
  roundTrip,
  sessionExpiringAt,
  sessionWithCookie,
  withCallback,
} from '../util.js';

/**
 * Expect an expiry the store wrote, `actual`, to be what it writes for an expiry in [low, high] (see {@link asStored}),
 * widened by what the column cannot keep.
 */
export function expectExpiryWithin(scope: Scope, actual: number | undefined, low: number, high = low): void {
  expect(actual).toBeGreaterThanOrEqual(asStored(low) - scope.expiryTolerance);
  expect(actual).toBeLessThanOrEqual(asStored(high) + scope.expiryTolerance);
}

/**
 * Run `write`, then expect the row of `sid` to expire `lifetimeMs` after an instant within the write: the store reads
 * the clock itself, at a moment only known to lie between the write's start and end.
 */
export async function expectExpiryAfterWrite(
  scope: Scope,
  sid: string,
  lifetimeMs: number,
  write: () => Promise<unknown>,
): Promise<void> {
  const before = Date.now();
  await write();
  const after = Date.now();
  expectExpiryWithin(scope, (await scope.readRow(sid))?.expiresMs, before + lifetimeMs, after + lifetimeMs);
}

/** express-session's recommended touch: extends live sessions only. */
export function touchCases(ctx: SuiteContext): void {
  describe('recommended method: touch', () => {
    const scope = useScope(ctx, { label: 'touch', storeOptions: { ttl: 5 * HOUR } });

    it('extends a live session to its cookie.expires, leaving the data alone', async () => {
      const sid = scope.sid();
      const session = liveSession({ cart: [1, 2] });
      await scope.store.set(sid, session);
      const later = Date.now() + 2 * HOUR + 345;
      const touched = sessionExpiringAt(later, { cart: [1, 2] });
      await expect(scope.store.touch(sid, touched)).resolves.toBeUndefined();
      const row = await scope.readRow(sid);
      expectExpiryWithin(scope, row?.expiresMs, later);
      expect(row?.sess).toEqual(roundTrip(session));
      // get reads the cookie's expiry from the row, which the touch moved (express-session's "reset session expiration").
      const read = await scope.store.get(sid);
      expect(read).toEqual({ ...roundTrip(session), cookie: { ...roundTrip(session).cookie, expires: expect.any(String) } });
      expect(Date.parse(String(read?.cookie.expires))).toBe(row?.expiresMs);
    });

    it('get returns the cookie as set while no touch has moved the expiry, to the millisecond', async () => {
      const sid = scope.sid();
      const session = sessionExpiringAt(Date.now() + HOUR + 789, { kept: true });
      await scope.store.set(sid, session);
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
    });

    it('get after a touch within touchAfter returns the expiry the row still holds', async () => {
      const store = scope.open({ touchAfter: HOUR });
      const sid = scope.sid();
      const session = sessionExpiringAt(Date.now() + HOUR + 123, { n: 1 });
      await store.set(sid, session);
      await store.touch(sid, sessionExpiringAt(Date.now() + 2 * HOUR, { n: 1 }));
      await expect(store.get(sid)).resolves.toEqual(roundTrip(session));
    });

    it('get keeps a browser-session cookie (no expires) so, after a touch by the ttl', async () => {
      const sid = scope.sid();
      const session = sessionWithCookie({ originalMaxAge: null, expires: null });
      await scope.store.set(sid, session);
      await scope.store.touch(sid, session);
      await expect(scope.store.get(sid)).resolves.toEqual(roundTrip(session));
    });

    it('extends a live session by its cookie.maxAge when the cookie has no expires', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      await expectExpiryAfterWrite(scope, sid, 3 * HOUR, () =>
        scope.store.touch(sid, sessionWithCookie({ maxAge: 3 * HOUR })),
      );
    });

    it('extends a live session by the ttl when its cookie has no expiry', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      await expectExpiryAfterWrite(scope, sid, 5 * HOUR, () =>
        scope.store.touch(sid, sessionWithCookie({ originalMaxAge: null, expires: null })),
      );
    });

    it('never revives an expired session', async () => {
      const sid = scope.sid();
      const expiredAt = Date.now() - MINUTE;
      await scope.writeRow(sid, liveSession({ stale: true }), expiredAt);
      const stored = (await scope.readRow(sid))?.expiresMs;
      await scope.store.touch(sid, liveSession({ stale: true }));
      await expect(scope.store.get(sid)).resolves.toBeNull();
      expect((await scope.readRow(sid))?.expiresMs).toBe(stored);
    });

    it('creates nothing for a sid that has no row', async () => {
      const sid = scope.sid('missing');
      await scope.store.touch(sid, liveSession());
      expect(await scope.readRow(sid)).toBeUndefined();
    });

    it('calls back once, with no error', async () => {
      const sid = scope.sid();
      await scope.store.set(sid, liveSession());
      const outcome = await withCallback<void>((done) => scope.store.touch(sid, liveSession(), done));
      expect(outcome).toMatchObject({ error: null, calls: 1, promise: 'resolved' });
    });

    it('does nothing with disableTouch: true', async () => {
      const store = scope.open({ disableTouch: true });
      const sid = scope.sid();
      const first = Date.now() + HOUR + 7;
      await store.set(sid, sessionExpiringAt(first));
      const stored = (await scope.readRow(sid))?.expiresMs;
      expectExpiryWithin(scope, stored, first);
      const outcome = await withCallback<void>((done) =>
        store.touch(sid, sessionExpiringAt(Date.now() + 4 * HOUR), done),
      );
      expect(outcome).toMatchObject({ error: null, calls: 1 });
      expect((await scope.readRow(sid))?.expiresMs).toBe(stored);
      expect(Date.parse(String((await store.get(sid))?.cookie.expires))).toBe(first);
    });
  });
}
