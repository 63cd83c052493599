import { ConfigurationError, TouchThrottle } from '../src/index.js';
import { insertRow, readRows, sessionWith, useFixtures, type Fixture } from './support/fixtures.js';

const fixtures = useFixtures();
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Run with Date.now() frozen at `start`, moved by `advance`. It starts on a whole second, so that an expiry a whole
 * number of seconds away is stored exactly (the store rounds far expiries up to the second).
 */
function clock(start = Math.floor(Date.now() / 1000) * 1000): { advance(ms: number): void; now(): number } {
  let now = start;
  jest.spyOn(Date, 'now').mockImplementation(() => now);
  return {
    advance: (ms) => {
      now += ms;
    },
    now: () => now,
  };
}

afterEach(() => {
  jest.restoreAllMocks();
});

async function expiryOf(fixture: Fixture, sid: string): Promise<number | undefined> {
  return (await readRows(fixture)).find((row) => row.sid === sid)?.expiresMs;
}

describe('touchAfter', () => {
  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, '1000', null, true])('refuses %p', (touchAfter) => {
    expect(() => fixtures.store({ touchAfter } as never)).toThrow(ConfigurationError);
    expect(() => fixtures.store({ touchAfter } as never)).toThrow(/touchAfter/);
  });

  it('writes nothing for a touch within the window of the last set, so the stored expiry stays', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    const stored = await expiryOf(fixture, 's1');
    expect(stored).toBe(time.now() + HOUR);
    time.advance(9 * MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(stored);
  });

  it('writes a touch once the window has passed, and then waits a window again', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    time.advance(10 * MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    const touched = time.now() + HOUR;
    expect(await expiryOf(fixture, 's1')).toBe(touched);
    time.advance(5 * MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(touched);
  });

  it('never holds back a set, inside the window or not', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }, { v: 1 }));
    time.advance(MINUTE);
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }, { v: 2 }));
    expect(await readRows(fixture)).toEqual([{ sid: 's1', sess: expect.objectContaining({ v: 2 }), expiresMs: time.now() + HOUR }]);
  });

  it('touches every time with the default of 0', async () => {
    const time = clock();
    const fixture = fixtures.store();
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    time.advance(1000);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });

  it('touches a session this process has not written (another instance wrote it)', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await insertRow(fixture, 's1', time.now() + MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });

  it('does not count a touch that found no live row as a write', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    await insertRow(fixture, 's1', time.now() + MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });

  it('forgets a destroyed session: a touch after it is re-created elsewhere writes', async () => {
    const time = clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    await fixture.store.destroy('s1');
    await insertRow(fixture, 's1', time.now() + MINUTE);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });

  it('still deletes a session whose touch carries an expiry already past', async () => {
    clock();
    const fixture = fixtures.store({ touchAfter: 10 * MINUTE });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    await fixture.store.touch('s1', sessionWith({ expires: new Date(Date.now() - 1) }));
    expect(await readRows(fixture)).toEqual([]);
  });
});

/** Move the stored expiry of `sid` behind the store's back, as another process's write would. */
async function setExpiry(fixture: Fixture, sid: string, expiresMs: number): Promise<void> {
  const t = fixture.store.table;
  await t.query(fixture.knex).where(t.sidColumn, sid).update({ [t.expiredColumn]: fixture.adapter.encodeExpiry(expiresMs) });
}

/** A store holding `s1` until an hour from now (a fixed `cookie.expires`), just read by a get. */
async function storedAndRead(): Promise<{ time: ReturnType<typeof clock>; fixture: Fixture; expires: Date }> {
  const time = clock();
  const fixture = fixtures.store();
  const expires = new Date(time.now() + HOUR);
  await fixture.store.set('s1', sessionWith({ expires }));
  await fixture.store.get('s1');
  return { time, fixture, expires };
}

describe('a touch right after a get', () => {
  // The touch's effect is seen through a write behind the store's back between the get and the touch: a touch that
  // sends its statement overwrites it, one that sends nothing leaves it.
  it('sends nothing when the get read the very expiry it would store', async () => {
    const time = clock();
    const fixture = fixtures.store();
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    const session = await fixture.store.get('s1');
    expect(session).not.toBeNull();
    await setExpiry(fixture, 's1', time.now() + 2 * HOUR);
    time.advance(999);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR - 999 }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() - 999 + 2 * HOUR);
  });

  it('writes when the expiry it would store differs from the one read', async () => {
    const time = clock();
    const fixture = fixtures.store();
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    await fixture.store.get('s1');
    time.advance(1000);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });

  it('writes when the get was a second or more before, the expiry unchanged', async () => {
    const { time, fixture, expires } = await storedAndRead();
    await setExpiry(fixture, 's1', time.now() + 2 * HOUR);
    time.advance(1000);
    await fixture.store.touch('s1', sessionWith({ expires }));
    expect(await expiryOf(fixture, 's1')).toBe(expires.getTime());
  });

  it('uses a read once: a second touch after one get writes', async () => {
    const { time, fixture, expires } = await storedAndRead();
    await fixture.store.touch('s1', sessionWith({ expires }));
    await setExpiry(fixture, 's1', time.now() + 2 * HOUR);
    await fixture.store.touch('s1', sessionWith({ expires }));
    expect(await expiryOf(fixture, 's1')).toBe(expires.getTime());
  });

  it('writes after a set or a destroy of the session since the get', async () => {
    const { time, fixture, expires } = await storedAndRead();
    await fixture.store.destroy('s1');
    await insertRow(fixture, 's1', time.now() + 2 * HOUR);
    await fixture.store.touch('s1', sessionWith({ expires }));
    expect(await expiryOf(fixture, 's1')).toBe(expires.getTime());
    await fixture.store.get('s1');
    await fixture.store.set('s1', sessionWith({ expires }));
    await setExpiry(fixture, 's1', time.now() + 2 * HOUR);
    await fixture.store.touch('s1', sessionWith({ expires }));
    expect(await expiryOf(fixture, 's1')).toBe(expires.getTime());
  });

  it('never revives a session that expired or was deleted since the get', async () => {
    const time = clock();
    const fixture = fixtures.store();
    const t = fixture.store.table;
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    await fixture.store.get('s1');
    await t.query(fixture.knex).del();
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await readRows(fixture)).toEqual([]);
    await fixture.store.set('s2', sessionWith({ maxAge: HOUR }));
    await fixture.store.get('s2');
    await setExpiry(fixture, 's2', time.now() - 1);
    await fixture.store.touch('s2', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's2')).toBe(time.now() - 1);
  });
});

describe('disableTouch', () => {
  it('makes touch write nothing: the expiry moves only on set', async () => {
    const time = clock();
    const fixture = fixtures.store({ disableTouch: true });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    time.advance(HOUR / 2);
    await fixture.store.touch('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() - HOUR / 2 + HOUR);
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    expect(await expiryOf(fixture, 's1')).toBe(time.now() + HOUR);
  });
});

describe('TouchThrottle', () => {
  it('remembers at most its capacity of sids, forgetting the oldest write first', () => {
    const throttle = new TouchThrottle(1000, 3);
    for (const sid of ['a', 'b', 'c']) throttle.wrote(sid, 0);
    throttle.wrote('a', 1);
    throttle.wrote('d', 2);
    expect(throttle.size).toBe(3);
    expect(throttle.skip('b', 10)).toBe(false);
    expect(['a', 'c', 'd'].map((sid) => throttle.skip(sid, 10))).toEqual([true, true, true]);
  });

  it('skips within the window only, and never when the clock went back', () => {
    const throttle = new TouchThrottle(1000);
    throttle.wrote('a', 5000);
    expect(throttle.skip('a', 5999)).toBe(true);
    expect(throttle.skip('a', 4000)).toBe(false);
    throttle.wrote('a', 5000);
    expect(throttle.skip('a', 6000)).toBe(false);
    expect(throttle.size).toBe(0);
  });

  it('skips a touch that would store the expiry a get read less than a second before, once', () => {
    const throttle = new TouchThrottle(0);
    throttle.read('a', 90_000, 5000);
    expect(throttle.skip('a', 5999, 90_000)).toBe(true);
    expect(throttle.skip('a', 5999, 90_000)).toBe(false);
    throttle.read('a', 90_000, 5000);
    expect(throttle.skip('a', 5500, 91_000)).toBe(false);
    throttle.read('a', 90_000, 5000);
    expect(throttle.skip('a', 6000, 90_000)).toBe(false);
    throttle.read('a', 90_000, 5000);
    expect(throttle.skip('a', 4999, 90_000)).toBe(false);
  });

  it('forgets a read at a write, a set under way or a delete of the session, and reads too old to use', () => {
    const throttle = new TouchThrottle(0, 2);
    throttle.read('a', 90_000, 0);
    throttle.wrote('a', 1);
    expect(throttle.skip('a', 2, 90_000)).toBe(false);
    throttle.read('a', 90_000, 0);
    throttle.forget('a');
    expect(throttle.skip('a', 2, 90_000)).toBe(false);
    throttle.read('a', 90_000, 0);
    throttle.forgetRead('a');
    expect(throttle.skip('a', 2, 90_000)).toBe(false);
    for (const sid of ['a', 'b', 'c']) throttle.read(sid, 90_000, 0);
    expect(['a', 'b', 'c'].map((sid) => throttle.skip(sid, 1, 90_000))).toEqual([false, true, true]);
    throttle.read('a', 90_000, 0);
    throttle.read('b', 90_000, 1500);
    expect(throttle.skip('a', 900, 90_000)).toBe(false);
  });

  it('remembers nothing with a window of 0', () => {
    const throttle = new TouchThrottle(0);
    throttle.wrote('a', 0);
    expect(throttle.size).toBe(0);
    expect(throttle.skip('a', 0)).toBe(false);
  });
});
