import { createHash, createHmac } from 'node:crypto';
import type { SessionData } from 'express-session';
import {
  ConfigurationError,
  DatabaseError,
  InvalidFilterError,
  InvalidSessionError,
  type DestroyEvent,
  type PruneEvent,
  type SetEvent,
} from '../src/index.js';
import { sessionWith, useFixtures, viaCallback, wholeSecondUp, type Fixture } from './support/fixtures.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** Every row as stored, keyed by its sid column, with every column as the database returns it. */
async function rawRows({ knex, store }: Fixture): Promise<Record<string, unknown>[]> {
  const t = store.table;
  return t.query(knex).select().orderBy(t.sidColumn);
}

/** Whatever the store emits as `name`, from now on. */
function collect<T>(fixture: Fixture, name: string): T[] {
  const seen: T[] = [];
  fixture.store.on(name, (value: T) => seen.push(value));
  return seen;
}

/** Let the store's later-tick events arrive. */
const ticks = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const user = (name: string | null, data: object = {}): SessionData => sessionWith({ maxAge: HOUR }, { user: name, ...data });

describe('option validation for the #7 options', () => {
  it.each([
    [{ columns: [] }, 'columns'],
    [{ columns: { userId: 'user' } }, 'columns.userId'],
    [{ columns: { 'a.b': () => 1 } }, 'columns.a.b'],
    [{ columns: { SID: () => 1 } }, 'columns.SID'],
    [{ sessFieldName: 'sid' }, 'sessFieldName'],
    [{ expiredFieldName: '' }, 'expiredFieldName'],
    [{ expiryEncoding: 'seconds' }, 'expiryEncoding'],
    [{ serializer: { parse: JSON.parse } }, 'serializer'],
    [{ serializer: { stringify: () => '' } }, 'serializer'],
    [{ hashSid: 'yes please'.slice(0, 0) }, 'hashSid'],
    [{ hashSid: 1 }, 'hashSid'],
  ])('refuses %j naming %s', (options, option) => {
    let thrown: unknown;
    try {
      fixtures.store(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigurationError);
    expect(thrown).toMatchObject({ option });
  });
});

describe('hashSid', () => {
  it('stores SHA-256 of the sid, and works through get/set/touch/destroy', async () => {
    const fixture = fixtures.store({ hashSid: true });
    const session = user('ann');
    await fixture.store.set('cookie-sid', session);
    const rows = await rawRows(fixture);
    expect(rows.map((row) => row.sid)).toEqual([createHash('sha256').update('cookie-sid').digest('hex')]);
    expect(JSON.stringify(rows)).not.toContain('cookie-sid');
    await expect(fixture.store.get('cookie-sid')).resolves.toEqual(JSON.parse(JSON.stringify(session)));
    await expect(fixture.store.touch('cookie-sid', session)).resolves.toBeUndefined();
    await expect(fixture.store.destroy('cookie-sid')).resolves.toBe(1);
    await expect(fixture.store.get('cookie-sid')).resolves.toBeNull();
  });

  it('with a secret, stores HMAC-SHA-256 (another secret reads nothing)', async () => {
    const fixture = fixtures.store({ hashSid: 'pepper' });
    await fixture.store.set('s', user('ann'));
    const rows = await rawRows(fixture);
    expect(rows.map((row) => row.sid)).toEqual([createHmac('sha256', 'pepper').update('s').digest('hex')]);
    const other = fixtures.store({ knex: fixture.knex, hashSid: Buffer.from('salt') });
    await expect(other.store.get('s')).resolves.toBeNull();
  });
});

describe('serializer', () => {
  it('writes its text and reads through an async parse', async () => {
    const serializer = {
      stringify: (session: SessionData) => `~${JSON.stringify(session)}`,
      parse: async (text: string) => JSON.parse(text.slice(1)) as SessionData,
    };
    const fixture = fixtures.store({ serializer });
    const session = user('ann');
    await fixture.store.set('s', session);
    expect(String((await rawRows(fixture))[0]!.sess)).toMatch(/^~\{/);
    await expect(fixture.store.get('s')).resolves.toEqual(JSON.parse(JSON.stringify(session)));
    await expect(fixture.store.allById()).resolves.toEqual({ s: JSON.parse(JSON.stringify(session)) });
  });

  it('a stringify that fails or gives no string fails set clearly and keeps the previous row', async () => {
    let mode: 'ok' | 'throw' | 'number' = 'ok';
    const serializer = {
      stringify: (session: SessionData) => {
        if (mode === 'throw') throw new Error('nope');
        return (mode === 'number' ? 42 : JSON.stringify(session)) as string;
      },
      parse: (text: string) => JSON.parse(text) as SessionData,
    };
    const fixture = fixtures.store({ serializer });
    await fixture.store.set('s', user('ann', { v: 1 }));
    mode = 'throw';
    await expect(fixture.store.set('s', user('ann', { v: 2 }))).rejects.toThrow(/stringify failed: nope/);
    mode = 'number';
    const outcome = await viaCallback((done) => fixture.store.set('s', user('ann', { v: 3 }), done));
    expect(outcome.error).toBeInstanceOf(InvalidSessionError);
    expect(String(outcome.error)).toMatch(/must return a string, got number/);
    mode = 'ok';
    await expect(fixture.store.get('s')).resolves.toMatchObject({ v: 1 });
  });

  it('a parse that fails is a corrupt row naming the sid, or with onCorruptSession delete a missing one', async () => {
    const serializer = {
      stringify: (session: SessionData) => JSON.stringify(session),
      parse: async (): Promise<SessionData> => {
        throw new Error('bad seal');
      },
    };
    const fixture = fixtures.store({ serializer });
    await fixture.store.set('s', user('ann'));
    await expect(fixture.store.get('s')).rejects.toMatchObject({ sid: 's', message: expect.stringMatching(/bad seal/) });
    const lenient = fixtures.store({ knex: fixture.knex, serializer, onCorruptSession: 'delete' });
    await expect(lenient.store.get('s')).resolves.toBeNull();
    expect(await rawRows(fixture)).toEqual([]);
  });
});

describe('extra columns, destroyWhere and findWhere', () => {
  const columns = { userId: (s: SessionData) => (s as { user?: string | null }).user ?? null, n: () => 7 };

  it('fills the columns on every set, and createTable made them', async () => {
    const fixture = fixtures.store({ columns });
    await fixture.store.set('a', user('ann'));
    await fixture.store.set('b', user(null));
    expect((await rawRows(fixture)).map(({ sid, userId, n }) => ({ sid, userId, n }))).toEqual([
      { sid: 'a', userId: 'ann', n: '7' },
      { sid: 'b', userId: null, n: '7' },
    ]);
    await fixture.store.set('b', user('bob'));
    expect((await rawRows(fixture))[1]).toMatchObject({ userId: 'bob' });
  });

  it('with createTable, an existing table gains the extra columns it lacks (a second store racing it is no failure)', async () => {
    const before = fixtures.store();
    await before.store.set('old', user('ann'));
    const [a, b] = [fixtures.store({ knex: before.knex, columns }), fixtures.store({ knex: before.knex, columns })];
    await Promise.all([a.store.ready, b.store.ready]);
    await a.store.set('new', user('ann'));
    expect((await rawRows(a)).map(({ sid, userId, n }) => ({ sid, userId, n }))).toEqual([
      { sid: 'new', userId: 'ann', n: '7' },
      { sid: 'old', userId: null, n: null },
    ]);
  });

  it('with createTable false, a table without an extra column is refused naming it', async () => {
    const before = fixtures.store();
    await before.store.ready;
    const after = fixtures.store({ knex: before.knex, columns, createTable: false });
    await expect(after.store.ready).rejects.toThrow(/userId/);
  });

  it('findWhere lists the live sessions of a user; destroyWhere deletes all of them, live or expired', async () => {
    const fixture = fixtures.store({ columns });
    await fixture.store.set('a1', user('ann', { k: 1 }));
    await fixture.store.set('a2', user('ann', { k: 2 }));
    await fixture.store.set('b1', user('bob'));
    const t = fixture.store.table;
    await t.query(fixture.knex).where(t.sidColumn, 'a2').update({ [t.expiredColumn]: fixture.adapter.encodeExpiry(Date.now() - 1000) });
    const found = await fixture.store.findWhere({ userId: 'ann' });
    expect(found).toEqual([{ sid: 'a1', session: expect.objectContaining({ k: 1 }) }]);
    await expect(fixture.store.findWhere({ userId: 'ann', n: 7 })).resolves.toHaveLength(1);
    await expect(fixture.store.findWhere({ userId: 'ann', n: 8 })).resolves.toEqual([]);
    const destroyed = collect<DestroyEvent>(fixture, 'destroy');
    await expect(fixture.store.destroyWhere({ userId: 'ann' })).resolves.toBe(2);
    await ticks();
    expect(destroyed).toEqual([{ where: { userId: 'ann' }, deleted: 2 }]);
    expect((await rawRows(fixture)).map((row) => row.sid)).toEqual(['b1']);
  });

  it.each([
    [{}, /names no column/],
    [{ nope: 'x' }, /"nope" is no extra column \(declared: userId, n\)/],
    [{ userId: null }, /must be a string or a finite number, got null/],
    [{ userId: { $ne: 1 } }, /got object/],
    [{ n: Number.NaN }, /got number/],
    [null, /must be an object/],
  ])('refuses the filter %j through promise and callback, deleting nothing', async (filter, message) => {
    const fixture = fixtures.store({ columns });
    await fixture.store.set('a', user('ann'));
    await expect(fixture.store.destroyWhere(filter as never)).rejects.toThrow(message);
    await expect(fixture.store.findWhere(filter as never)).rejects.toBeInstanceOf(InvalidFilterError);
    const outcome = await viaCallback((done) => fixture.store.destroyWhere(filter as never, done));
    expect(outcome.error).toBeInstanceOf(InvalidFilterError);
    expect(await rawRows(fixture)).toHaveLength(1);
  });

  it.each([
    [() => ({ id: 1 }), /got an object/],
    [() => 'x'.repeat(256), /256 characters/],
    [() => Number.POSITIVE_INFINITY, /the number Infinity/],
    [
      () => {
        throw new Error('no user');
      },
      /columns.userId function threw: no user/,
    ],
  ])('a column function giving a bad value fails set and keeps the previous row (%#)', async (bad, message) => {
    let broken = false;
    const fixture = fixtures.store({ columns: { userId: (s) => (broken ? (bad as () => string)() : columns.userId(s)) } });
    await fixture.store.set('a', user('ann', { v: 1 }));
    broken = true;
    await expect(fixture.store.set('a', user('ann', { v: 2 }))).rejects.toThrow(message);
    broken = false;
    await expect(fixture.store.get('a')).resolves.toMatchObject({ v: 1 });
  });
});

describe('column names and expiry encodings', () => {
  it.each(['epoch-seconds', 'epoch-ms'] as const)('%s: an integer expiry that expires, prunes and touches', async (encoding) => {
    const fixture = fixtures.store({ sessFieldName: 'data', expiredFieldName: 'expires', expiryEncoding: encoding });
    const expires = new Date(Date.now() + HOUR);
    await fixture.store.set('live', sessionWith({ expires }));
    await fixture.store.set('soon', sessionWith({ expires: new Date(Date.now() + 2000) }));
    const rows = await rawRows(fixture);
    const unit = encoding === 'epoch-seconds' ? 1000 : 1;
    // An hour away: rounded up to the whole second, in either unit.
    expect(Number(rows[0]!.expires)).toBe(wholeSecondUp(expires.getTime()) / unit);
    expect(rows[0]).toHaveProperty('data');
    const t = fixture.store.table;
    await t.query(fixture.knex).where(t.sidColumn, 'soon').update({ expires: Math.floor((Date.now() - 5000) / unit) });
    await expect(fixture.store.get('soon')).resolves.toBeNull();
    await expect(fixture.store.length()).resolves.toBe(1);
    await expect(fixture.store.prune()).resolves.toBe(1);
    const later = new Date(Date.now() + 2 * HOUR);
    await fixture.store.touch('live', sessionWith({ expires: later }));
    expect(Number((await rawRows(fixture))[0]!.expires)).toBe(wholeSecondUp(later.getTime()) / unit);
  });
});

describe('events', () => {
  it("emits 'set' and 'destroy' with the stored ids", async () => {
    const fixture = fixtures.store();
    const sets = collect<SetEvent>(fixture, 'set');
    const destroys = collect<DestroyEvent>(fixture, 'destroy');
    const expires = new Date(Date.now() + HOUR);
    await fixture.store.set('a', sessionWith({ expires }));
    await fixture.store.destroy('a');
    await fixture.store.destroy(['b', 'c']);
    await ticks();
    expect(sets).toEqual([{ sid: 'a', expires }]);
    expect(destroys).toEqual([
      { sids: ['a'], deleted: 1 },
      { sids: ['b', 'c'], deleted: 0 },
    ]);
  });

  it("emits 'prune' with rows and time, and 'prune-progress' per batch", async () => {
    const fixture = fixtures.store();
    const prunes = collect<PruneEvent>(fixture, 'prune');
    const progress = collect<{ deleted: number }>(fixture, 'prune-progress');
    await fixture.store.set('a', sessionWith({ maxAge: HOUR }));
    const t = fixture.store.table;
    await t.query(fixture.knex).update({ [t.expiredColumn]: fixture.adapter.encodeExpiry(Date.now() - 1000) });
    await fixture.store.prune();
    await ticks();
    expect(prunes).toEqual([{ deleted: 1, skipped: false, ms: expect.any(Number) }]);
    expect(progress).toEqual([{ deleted: 1 }]);
  });

  it("emits 'error' for a failed operation only to a listener", async () => {
    const fixture = fixtures.store();
    await fixture.store.ready;
    await fixture.knex.schema.dropTable(fixture.store.table.tableName);
    // No listener: the failure reaches the caller only, and nothing crashes.
    await expect(fixture.store.get('a')).rejects.toBeInstanceOf(DatabaseError);
    await ticks();
    const errors = collect<unknown>(fixture, 'error');
    await expect(fixture.store.get('a')).rejects.toBeInstanceOf(DatabaseError);
    await ticks();
    expect(errors).toEqual([expect.any(DatabaseError)]);
  });
});
