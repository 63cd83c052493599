import type { Knex } from 'knex';
import { decodeExpiry, StoreClosedError } from '../src/index.js';
import { insertRow, useFixtures, viaCallback } from './support/fixtures.js';
import { RECORDING_CATALOG, RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** The recording adapter stores epoch microseconds: it tells stats() how to read them back as milliseconds. */
class ReadableAdapter extends RecordingAdapter {
  override readonly catalog = { ...RECORDING_CATALOG, readExpiry: (knex: Knex, column: string) => knex.raw('?? / 1000', [column]) };
}

describe('stats', () => {
  it('of an empty table: zero counts and no rows', async () => {
    const { store } = fixtures.store({}, new ReadableAdapter());
    await expect(store.stats()).resolves.toEqual({ live: 0, expired: 0, oldestLive: null, oldest: null, largest: null });
  });

  it('counts live and expired rows, and finds the earliest expiries and the largest session', async () => {
    const fixture = fixtures.store({}, new ReadableAdapter());
    const now = Date.now();
    const expiries = {
      'live-soon': now + HOUR,
      'live-late': now + 5 * HOUR,
      'gone-long-ago': now - 5 * HOUR,
      'gone-recently': now - HOUR,
    };
    for (const [sid, expires] of Object.entries(expiries)) await insertRow(fixture, sid, expires, { sid });
    await insertRow(fixture, 'big', now + 2 * HOUR, { blob: 'x'.repeat(5000) });

    const stats = await fixture.store.stats();
    expect(stats).toEqual({
      live: 3,
      expired: 2,
      oldestLive: { sid: 'live-soon', expires: new Date(expiries['live-soon']) },
      oldest: { sid: 'gone-long-ago', expires: new Date(expiries['gone-long-ago']) },
      largest: { sid: 'big', bytes: JSON.stringify({ blob: 'x'.repeat(5000) }).length },
    });
  });

  it('skips the scan for the largest session with { largest: false }', async () => {
    const fixture = fixtures.store({}, new ReadableAdapter());
    await insertRow(fixture, 'a', Date.now() + HOUR);
    const stats = await fixture.store.stats({ largest: false });
    expect(stats).toMatchObject({ live: 1, expired: 0 });
    expect(stats).not.toHaveProperty('largest');
  });

  it('calls back once, and with a callback never rejects', async () => {
    const fixture = fixtures.store({}, new ReadableAdapter());
    await insertRow(fixture, 'a', Date.now() - HOUR);
    const { error, value } = await viaCallback((cb) => fixture.store.stats(cb));
    expect(error).toBeNull();
    expect(value).toMatchObject({ live: 0, expired: 1, oldest: { sid: 'a' } });

    await fixture.store.close();
    const closed = await viaCallback((cb) => fixture.store.stats({ largest: false }, cb));
    expect(closed.error).toBeInstanceOf(StoreClosedError);
  });

  it('fails with a DatabaseError of operation stats when the table is gone', async () => {
    const fixture = fixtures.store({}, new ReadableAdapter());
    await fixture.store.ready;
    await fixture.knex.schema.dropTable('sessions');
    await expect(fixture.store.stats()).rejects.toMatchObject({ name: 'DatabaseError', operation: 'stats' });
  });
});

describe('decodeExpiry', () => {
  const ms = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
  it.each([
    ['a Date', new Date(ms), 'timestamp', ms],
    ['ISO text with a zone', '2031-01-02T03:04:05.678Z', 'timestamp', ms],
    ['UTC text with no zone (as MySQL and SQL Server text reads)', '2031-01-02 03:04:05.678', 'timestamp', ms],
    ['text with an offset', '2031-01-02T05:04:05.678+02:00', 'timestamp', ms],
    ['epoch milliseconds', ms, 'epoch-ms', ms],
    ['epoch milliseconds as text (a bigint driver)', String(ms), 'epoch-ms', ms],
    ['epoch milliseconds as a bigint', BigInt(ms), 'epoch-ms', ms],
    ['epoch seconds', Math.floor(ms / 1000), 'epoch-seconds', ms - 678],
    ['a server-computed fraction of milliseconds', `${ms}.000000`, 'timestamp', ms],
  ] as const)('reads %s', (_title, value, encoding, expected) => {
    expect(decodeExpiry(value, encoding)).toBe(expected);
  });

  it.each([null, undefined, 'not a date', {}, Number.NaN])('reads %p as no instant', (value) => {
    expect(decodeExpiry(value, 'timestamp')).toBeUndefined();
  });
});
