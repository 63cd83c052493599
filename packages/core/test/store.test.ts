import {
  ConnectSessionKnexError,
  DatabaseError,
  InvalidSessionError,
  MAX_SID_LENGTH,
  type KnexStore,
} from '../src/index.js';
import {
  insertRow,
  readRows,
  sessionWith,
  useFixtures,
  viaCallback,
  wholeSecondUp,
  type Fixture,
} from './support/fixtures.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A store holding two live sessions (a, b) and one expired row (x). */
async function populated(options = {}): Promise<Fixture> {
  const fixture = fixtures.store(options);
  await insertRow(fixture, 'a', Date.now() + HOUR, { n: 1 });
  await insertRow(fixture, 'b', Date.now() + HOUR, { n: 2 });
  await insertRow(fixture, 'x', Date.now() - 1000, { n: 0 });
  return fixture;
}

describe('get and set', () => {
  it('round-trips a session', async () => {
    const { store } = fixtures.store();
    const session = sessionWith({ maxAge: HOUR }, { user: { name: 'Zoë ✓', roles: ['a', 'b'] }, n: null });
    await store.set('s1', session);
    expect(await store.get('s1')).toEqual(session);
    expect(await store.get('unknown')).toBeNull();
  });

  it('replaces a session on a second set (one row)', async () => {
    const fixture = fixtures.store();
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }, { v: 1 }));
    await fixture.store.set('s1', sessionWith({ maxAge: DAY }, { v: 2 }));
    const rows = await readRows(fixture);
    expect(rows).toEqual([expect.objectContaining({ sid: 's1', sess: expect.objectContaining({ v: 2 }) })]);
  });

  it("serves express-session's inherited load(), which rebuilds the cookie", async () => {
    const { store } = fixtures.store();
    const expires = new Date(Date.now() + HOUR);
    await store.set('s1', sessionWith({ expires, maxAge: HOUR }, { user: 'ada' }));
    const loaded = await new Promise<unknown>((resolve, reject) => {
      store.load('s1', (error, session) => (error ? reject(error) : resolve(session)));
    });
    expect(loaded).toMatchObject({ user: 'ada', cookie: { expires } });
  });

  it('accepts a sid of the longest storable length', async () => {
    const { store } = fixtures.store();
    const sid = 's'.repeat(MAX_SID_LENGTH);
    await store.set(sid, sessionWith({ maxAge: HOUR }));
    expect(await store.get(sid)).not.toBeNull();
  });
});

describe('reads see only live sessions', () => {
  it('get, all, length and ids skip an expired row', async () => {
    const { store } = await populated();
    expect(await store.get('x')).toBeNull();
    expect(await store.all()).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }]));
    expect(await store.allById()).toEqual({ a: { n: 1 }, b: { n: 2 } });
    expect(await store.length()).toBe(2);
    expect((await store.ids())?.sort()).toEqual(['a', 'b']);
  });

  it('filter in SQL with "now" from Node bound as a parameter', async () => {
    const { store, knex, adapter } = await populated();
    const queries: { sql: string; bindings: unknown[] }[] = [];
    knex.on('query', (query: { sql: string; bindings: unknown[] }) => queries.push(query));
    const before = adapter.encodeExpiry(Date.now()) as number;
    await Promise.all([store.get('a'), store.all(), store.length(), store.ids()]);
    const after = adapter.encodeExpiry(Date.now()) as number;
    expect(queries).toHaveLength(4);
    for (const { sql, bindings } of queries) {
      expect(sql).toMatch(/[`"]expired[`"] > \?/);
      const isNow = (value: unknown): boolean => typeof value === 'number' && value >= before && value <= after;
      expect(bindings.some(isNow)).toBe(true);
    }
  });

  it('allById keys sessions by sid, even a sid such as __proto__', async () => {
    const fixture = fixtures.store();
    await insertRow(fixture, '__proto__', Date.now() + HOUR, { evil: false });
    const all = (await fixture.store.allById())!;
    expect(Object.keys(all)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
  });

  it('an expired row stays until pruned (reads do not delete)', async () => {
    const fixture = await populated();
    await fixture.store.get('x');
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['a', 'b', 'x']);
  });
});

describe('touch', () => {
  it('moves the expiry of a live session without rewriting its data', async () => {
    const fixture = await populated();
    const expires = new Date(Date.now() + DAY);
    await fixture.store.touch('a', sessionWith({ expires }, { n: 'changed' }));
    const [a] = await readRows(fixture);
    // A day away: stored rounded up to the second.
    expect(a).toEqual({ sid: 'a', sess: { n: 1 }, expiresMs: wholeSecondUp(expires.getTime()) });
  });

  it('never revives an expired session, nor creates a missing one', async () => {
    const fixture = await populated();
    const rowsBefore = await readRows(fixture);
    await fixture.store.touch('x', sessionWith({ maxAge: DAY }));
    await fixture.store.touch('missing', sessionWith({ maxAge: DAY }));
    expect(await fixture.store.get('x')).toBeNull();
    expect(await readRows(fixture)).toEqual(rowsBefore);
  });

  it('deletes a session whose new expiry is already past', async () => {
    const fixture = await populated();
    await fixture.store.touch('a', sessionWith({ maxAge: -1 }));
    expect(await fixture.store.get('a')).toBeNull();
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['b', 'x']);
  });

  it('does nothing with disableTouch', async () => {
    const fixture = await populated({ disableTouch: true });
    const rowsBefore = await readRows(fixture);
    await fixture.store.touch('a', sessionWith({ maxAge: DAY }));
    expect(await readRows(fixture)).toEqual(rowsBefore);
  });
});

describe('destroy and clear', () => {
  it('destroy deletes one sid or many, resolving the count deleted', async () => {
    const fixture = await populated();
    expect(await fixture.store.destroy('a')).toBe(1);
    expect(await fixture.store.destroy('a')).toBe(0);
    expect(await fixture.store.destroy(['b', 'x', 'none'])).toBe(2);
    expect(await readRows(fixture)).toEqual([]);
  });

  it('destroy handles more sids than one statement takes', async () => {
    const fixture = fixtures.store();
    const sids = Array.from({ length: 1201 }, (_, i) => `s${i}`);
    for (const sid of sids) await insertRow(fixture, sid, Date.now() + HOUR);
    expect(await fixture.store.destroy([...sids, 'none'])).toBe(1201);
    expect(await fixture.store.length()).toBe(0);
  });

  it('clear deletes every row, live or expired', async () => {
    const fixture = await populated();
    expect(await fixture.store.clear()).toBe(3);
    expect(await readRows(fixture)).toEqual([]);
  });
});

describe('invalid input reaches the callback as InvalidSessionError', () => {
  const session = sessionWith({ maxAge: HOUR });
  const circular: Record<string, unknown> = { cookie: {} };
  circular.self = circular;

  it.each([
    ['an empty sid', ''],
    ['a number', 42],
    ['undefined', undefined],
    ['a sid that is too long', 's'.repeat(MAX_SID_LENGTH + 1)],
  ])('%s as sid', async (_case, sid) => {
    const { store } = fixtures.store();
    const calls: ((cb: (error: unknown) => void) => unknown)[] = [
      (cb) => store.get(sid as string, cb),
      (cb) => store.set(sid as string, session, cb),
      (cb) => store.touch(sid as string, session, cb),
      (cb) => store.destroy(sid as string, cb),
      (cb) => store.destroy(['ok', sid as string], cb),
    ];
    for (const call of calls) expect((await viaCallback(call)).error).toBeInstanceOf(InvalidSessionError);
  });

  it.each([
    ['null', null],
    ['an array', []],
    ['a string', '{}'],
    ['a circular object', circular],
    ['an object holding a BigInt', { cookie: {}, n: 1n }],
  ])('%s as session', async (_case, value) => {
    const { store } = fixtures.store();
    const { error } = await viaCallback((cb) => store.set('a', value as never, cb));
    expect(error).toBeInstanceOf(InvalidSessionError);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      const touched = await viaCallback((cb) => store.touch('a', value as never, cb));
      expect(touched.error).toBeInstanceOf(InvalidSessionError);
    }
  });

  it('a stored row that is not JSON', async () => {
    const fixture = fixtures.store();
    await insertRow(fixture, 'a', Date.now() + HOUR);
    await fixture.store.table.query(fixture.knex).update({ sess: 'not json' });
    expect((await viaCallback((cb) => fixture.store.get('a', cb))).error).toBeInstanceOf(InvalidSessionError);
    await expect(fixture.store.all()).rejects.toThrow(InvalidSessionError);
  });
});

describe('database errors', () => {
  it('are wrapped in DatabaseError naming the operation, with the original as cause', async () => {
    const { store, adapter } = fixtures.store();
    const cause = new Error('disk full');
    adapter.before('upsert', () => {
      throw cause;
    });
    const { error } = await viaCallback((cb) => store.set('a', sessionWith({ maxAge: HOUR }), cb));
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toBeInstanceOf(ConnectSessionKnexError);
    expect(error).toMatchObject({ operation: 'set', cause, name: 'DatabaseError' });
    expect((error as Error).message).toBe('[connect-session-knex] set failed: disk full');
  });

  it.each([
    ['get', (s: KnexStore) => s.get('a')],
    ['touch', (s: KnexStore) => s.touch('a', sessionWith({ maxAge: HOUR }))],
    ['length', (s: KnexStore) => s.length()],
    ['clear', (s: KnexStore) => s.clear()],
  ])('from the driver: %s on a dropped table', async (operation, call) => {
    const { store, knex } = fixtures.store();
    await store.ready;
    await knex.schema.dropTable('sessions');
    const error = await call(store).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(DatabaseError);
    expect(error).toMatchObject({ operation, cause: { message: expect.stringContaining('no such table') } });
  });
});
