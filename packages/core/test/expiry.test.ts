import type { SessionData } from 'express-session';
import { expiryOf, InvalidSessionError, MAX_EXPIRY_MS } from '../src/index.js';
import { storedExpiry, WHOLE_SECONDS_FROM_MS } from '../src/expiry.js';
import { insertRow, readRows, sessionWith, useFixtures, wholeSecondUp as up } from './support/fixtures.js';
import { withStoredExpiry } from '../src/stored-expiry.js';

const NOW = Date.UTC(2030, 0, 1);
const DAY = 86_400_000;
const ttl = (): number => DAY;

describe('expiryOf', () => {
  it('takes cookie.expires first, as a Date or an ISO string', () => {
    const expires = new Date(NOW + 5000);
    expect(expiryOf(sessionWith({ expires, maxAge: 1 }), NOW, ttl)).toBe(NOW + 5000);
    expect(expiryOf(sessionWith({ expires: expires.toISOString(), maxAge: 1 }), NOW, ttl)).toBe(NOW + 5000);
  });

  it('then now + cookie.maxAge', () => {
    expect(expiryOf(sessionWith({ expires: null, maxAge: 3000 }), NOW, ttl)).toBe(NOW + 3000);
    expect(expiryOf(sessionWith({ maxAge: -1 }), NOW, ttl)).toBe(NOW - 1);
  });

  it('then now + ttl, which gets the session, also when there is no cookie', () => {
    const seen: SessionData[] = [];
    const byUser = (session: SessionData): number => (seen.push(session), 7000);
    const session = sessionWith({ expires: null, maxAge: null }, { user: 'ada' });
    expect(expiryOf(session, NOW, byUser)).toBe(NOW + 7000);
    expect(expiryOf(sessionWith(null), NOW, byUser)).toBe(NOW + 7000);
    expect(seen[0]).toBe(session);
  });

  it('caps far-future expiries at the latest storable time', () => {
    expect(expiryOf(sessionWith({ expires: new Date('+100000-01-01T00:00:00Z') }), NOW, ttl)).toBe(MAX_EXPIRY_MS);
    expect(expiryOf(sessionWith({ maxAge: Number.MAX_VALUE }), NOW, ttl)).toBe(MAX_EXPIRY_MS);
    expect(expiryOf(sessionWith(null), NOW, () => Number.POSITIVE_INFINITY)).toBe(MAX_EXPIRY_MS);
  });

  it('throws InvalidSessionError for an unreadable expires or a failing ttl function', () => {
    expect(() => expiryOf(sessionWith({ expires: 'next tuesday' }), NOW, ttl)).toThrow(InvalidSessionError);
    expect(() => expiryOf(sessionWith(null), NOW, () => Number.NaN)).toThrow(InvalidSessionError);
    const cause = new Error('no user');
    const failing = (): number => {
      throw cause;
    };
    expect(() => expiryOf(sessionWith(null), NOW, failing)).toThrow(expect.objectContaining({ cause }));
    expect(() => expiryOf(sessionWith(null), NOW, failing)).toThrow(InvalidSessionError);
  });
});

describe('storedExpiry', () => {
  it('rounds an expiry a minute or more away up to the whole second', () => {
    expect(storedExpiry(NOW + DAY + 1, NOW)).toBe(NOW + DAY + 1000);
    expect(storedExpiry(NOW + WHOLE_SECONDS_FROM_MS + 999, NOW)).toBe(NOW + WHOLE_SECONDS_FROM_MS + 1000);
    expect(storedExpiry(NOW + DAY, NOW)).toBe(NOW + DAY);
  });

  it('keeps the milliseconds of a nearer expiry, so that a short-lived session ends on time', () => {
    expect(storedExpiry(NOW + WHOLE_SECONDS_FROM_MS - 1, NOW)).toBe(NOW + WHOLE_SECONDS_FROM_MS - 1);
    expect(storedExpiry(NOW + 250, NOW)).toBe(NOW + 250);
  });

  it('never goes past the latest storable time', () => {
    expect(storedExpiry(MAX_EXPIRY_MS, NOW)).toBe(MAX_EXPIRY_MS);
    expect(storedExpiry(MAX_EXPIRY_MS - 500, NOW)).toBe(MAX_EXPIRY_MS);
  });
});

describe('the expiry a store writes', () => {
  const fixtures = useFixtures();

  it('is cookie.expires, rounded up to the second and encoded by the adapter', async () => {
    const fixture = fixtures.store();
    const expires = new Date(Date.now() + 3_600_000 + 1);
    await fixture.store.set('a', sessionWith({ expires: expires.toISOString(), maxAge: 5 }));
    expect(fixture.adapter.callsOf('upsert').map((call) => call.row.expired)).toEqual([up(expires.getTime()) * 1000]);
    expect(await readRows(fixture)).toEqual([expect.objectContaining({ sid: 'a', expiresMs: up(expires.getTime()) })]);
  });

  it('keeps the milliseconds of an expiry under a minute away', async () => {
    const fixture = fixtures.store();
    const expires = new Date(Date.now() + 30_000 + 1);
    await fixture.store.set('a', sessionWith({ expires }));
    expect(await readRows(fixture)).toEqual([expect.objectContaining({ sid: 'a', expiresMs: expires.getTime() })]);
  });

  it('is now + maxAge without expires, and now + ttl without either', async () => {
    const fixture = fixtures.store({ ttl: (session) => ((session as { long?: boolean }).long ? 2 * DAY : DAY) });
    const before = Date.now();
    await fixture.store.set('maxAge', sessionWith({ maxAge: 60_000 }));
    await fixture.store.set('ttl', sessionWith({ maxAge: null }, { long: true }));
    await fixture.store.set('no-cookie', sessionWith(null));
    const after = Date.now();
    const [maxAge, noCookie, byTtl] = await readRows(fixture);
    expect(maxAge!.expiresMs).toBeGreaterThanOrEqual(before + 60_000);
    expect(maxAge!.expiresMs).toBeLessThanOrEqual(up(after + 60_000));
    expect(byTtl!.expiresMs).toBeGreaterThanOrEqual(before + 2 * DAY);
    expect(byTtl!.expiresMs).toBeLessThanOrEqual(up(after + 2 * DAY));
    expect(noCookie!.expiresMs).toBeGreaterThanOrEqual(before + DAY);
    expect(noCookie!.expiresMs).toBeLessThanOrEqual(up(after + DAY));
  });

  it.each([
    ['cookie.expires in the past', { expires: new Date(Date.now() - 1000) }],
    ['a negative maxAge', { maxAge: -1000 }],
  ])('deletes the session instead of storing it when %s', async (_case, cookie) => {
    const fixture = fixtures.store();
    await insertRow(fixture, 'old', Date.now() + DAY, { kept: false });
    await fixture.store.set('old', sessionWith(cookie));
    await fixture.store.set('new', sessionWith(cookie));
    expect(await readRows(fixture)).toEqual([]);
    expect(fixture.adapter.callsOf('upsert')).toEqual([]);
  });
});

describe('withStoredExpiry', () => {
  const at = (iso: string) => ({ cookie: { expires: iso, path: '/' }, n: 1 });
  const ms = (iso: string) => Date.parse(iso);

  it('takes the expiry from the row once a touch moved it', () => {
    const session = at('2030-01-01T00:00:00.456Z');
    expect(withStoredExpiry(session, ms('2030-01-01T02:00:00.789Z')).cookie.expires).toBe('2030-01-01T02:00:00.789Z');
  });

  it('keeps the cookie the row agrees with, also on a column of whole seconds', () => {
    expect(withStoredExpiry(at('2030-01-01T00:00:00.456Z'), ms('2030-01-01T00:00:00.456Z')).cookie.expires).toBe(
      '2030-01-01T00:00:00.456Z',
    );
    expect(withStoredExpiry(at('2030-01-01T00:00:00.456Z'), ms('2030-01-01T00:00:00.000Z')).cookie.expires).toBe(
      '2030-01-01T00:00:00.456Z',
    );
    // The store's own rounding up of a far expiry.
    expect(withStoredExpiry(at('2030-01-01T00:00:00.456Z'), ms('2030-01-01T00:00:01.000Z')).cookie.expires).toBe(
      '2030-01-01T00:00:00.456Z',
    );
  });

  it('leaves a browser-session cookie, a session without cookie, and an unknown expiry alone', () => {
    const browser = { cookie: { expires: null, originalMaxAge: null } };
    expect(withStoredExpiry(browser, ms('2030-01-01T00:00:00.000Z'))).toEqual({ cookie: { expires: null, originalMaxAge: null } });
    expect(withStoredExpiry({ n: 1 }, 5)).toEqual({ n: 1 });
    expect(withStoredExpiry(at('2030-01-01T00:00:00.456Z'), undefined).cookie.expires).toBe('2030-01-01T00:00:00.456Z');
    expect(withStoredExpiry(null, 5)).toBeNull();
  });

  it('keeps a Date a Date', () => {
    const session = { cookie: { expires: new Date('2030-01-01T00:00:00.000Z') } };
    expect(withStoredExpiry(session, ms('2031-01-01T00:00:00.000Z')).cookie.expires).toEqual(new Date('2031-01-01T00:00:00.000Z'));
  });
});
