import type { SessionData } from 'express-session';
import { OracleStore, PRUNE_BATCH_SIZE } from '@csk/oracle';
import { recordingOracle, type RecordingOracle } from './support/recording-oracle.js';
import { SQL, oracleDouble, type DoubleRow } from './support/oracle-double.js';

const HOUR = 3_600_000;

function session(expiresMs: number, extra: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: null, expires: new Date(expiresMs).toISOString() }, ...extra } as unknown as SessionData;
}

/**
 * The comparisons core builds bind "now" as encodeExpiry makes it: TIMESTAMP WITH TIME ZONE when core hands the
 * adapter its knex, else node-oracledb's default for a Date (a zone-less TIMESTAMP). Either way, a Date.
 */
const NOW_TYPES = ['DB_TYPE_TIMESTAMP_TZ', 'DB_TYPE_TIMESTAMP'];

describe('OracleStore end to end against a recorded Oracle Database', () => {
  let double: ReturnType<typeof oracleDouble>;
  let db: RecordingOracle;
  let store: OracleStore;

  beforeEach(async () => {
    double = oracleDouble();
    db = recordingOracle(double.respond);
    store = new OracleStore({ knex: db.knex, cleanupInterval: 0 });
    await store.ready;
  });

  afterEach(async () => {
    await store.close();
    await db.knex.destroy();
  });

  const sent = () => db.statements.map((s) => s.sql);
  const last = () => db.statements[db.statements.length - 1]!;
  const put = (sid: string, row: DoubleRow) => double.rows.set(sid, row);

  it('bootstraps with one lookup, CREATE TABLE, the primary key and the index, then finds the table', async () => {
    expect(sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.primaryKey, SQL.createIndex]);
    expect(db.statements[0]!.binds).toEqual([{ type: 'DB_TYPE_VARCHAR', value: 'sessions' }]);

    const second = new OracleStore({ knex: db.knex, cleanupInterval: 0 });
    await second.ready;
    await second.close();
    expect(sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.primaryKey, SQL.createIndex, SQL.hasTable]);
  });

  it('set sends one MERGE binding sess as a CLOB and the expiry as TIMESTAMP WITH TIME ZONE, and commits it', async () => {
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    const data = session(expires, { user: 'ada', note: 'ünïcödé ✓' });
    const commits = db.commits();
    await store.set('Sid-A', data);

    const merge = last();
    expect(merge.sql).toBe(SQL.merge);
    expect(merge.binds).toEqual([
      { type: 'DB_TYPE_VARCHAR', value: 'Sid-A' },
      { type: 'DB_TYPE_CLOB', value: JSON.stringify(data) },
      { type: 'DB_TYPE_TIMESTAMP_TZ', value: new Date(expires) },
    ]);
    expect(db.commits()).toBe(commits + 1);
    expect(double.rows.get('Sid-A')).toEqual({ sess: JSON.stringify(data), expires });
  });

  it('get reads the CLOB back through knex and parses it; a missing or expired sid is null', async () => {
    const now = Date.now();
    const data = session(now + HOUR, { user: 'ada' });
    await store.set('a', data);
    put('old', { sess: JSON.stringify(session(now - 1)), expires: now - 1 });

    await expect(store.get('a')).resolves.toEqual(JSON.parse(JSON.stringify(data)));
    const get = last();
    expect(get.sql).toBe(SQL.get);
    expect(get.binds[0]).toEqual({ type: 'DB_TYPE_VARCHAR', value: 'a' });
    expect(NOW_TYPES).toContain(get.binds[1]!.type);
    expect((get.values[1] as Date).getTime()).toBeGreaterThanOrEqual(now);
    expect(get.binds[2]).toEqual({ type: 'DB_TYPE_NUMBER', value: 1 });

    await expect(store.get('old')).resolves.toBeNull();
    await expect(store.get('missing')).resolves.toBeNull();
  });

  it('touch moves a live expiry with one UPDATE and never revives an expired row', async () => {
    const now = Date.now();
    await store.set('a', session(now + HOUR));
    put('old', { sess: '{}', expires: now - 1 });

    await store.touch('a', session(now + 2 * HOUR));
    expect(last().sql).toBe(SQL.touch);
    expect(last().values.slice(0, 2)).toEqual([new Date(now + 2 * HOUR), 'a']);
    expect(double.rows.get('a')!.expires).toBe(now + 2 * HOUR);

    await store.touch('old', session(now + 2 * HOUR));
    expect(double.rows.get('old')!.expires).toBe(now - 1);
  });

  it('set of an already expired session deletes the row instead of writing it', async () => {
    const now = Date.now();
    await store.set('a', session(now + HOUR));
    await store.set('a', session(now - HOUR));
    expect(last().sql).toBe(SQL.destroy);
    expect(double.rows.has('a')).toBe(false);
  });

  it('all, length and ids see only live rows, reading every CLOB and the count', async () => {
    const now = Date.now();
    await store.set('a', session(now + HOUR, { n: 1 }));
    await store.set('b', session(now + HOUR, { n: 2 }));
    put('old', { sess: '{"n":3}', expires: now - 1 });

    const all = await store.all();
    expect(Object.keys(all!).sort()).toEqual(['a', 'b']);
    expect(all!.b).toMatchObject({ n: 2 });
    expect(last().sql).toBe(SQL.all);

    await expect(store.length()).resolves.toBe(2);
    expect(last().sql).toBe(SQL.length);

    await expect(store.ids()).resolves.toEqual(expect.arrayContaining(['a', 'b']));
    expect(last().sql).toBe(SQL.ids);
  });

  it('destroy, clear and prune resolve the rows affected', async () => {
    const now = Date.now();
    for (const sid of ['a', 'b', 'c', 'd']) await store.set(sid, session(now + HOUR));
    for (let i = 0; i < 3; i += 1) put(`old-${i}`, { sess: '{}', expires: now - HOUR });

    await expect(store.destroy('a')).resolves.toBe(1);
    expect(last().sql).toBe(SQL.destroy);
    await expect(store.destroy('a')).resolves.toBe(0);
    await expect(store.destroy(['b', 'c', 'nope'])).resolves.toBe(2);
    expect(last().values).toEqual(['b', 'c', 'nope']);

    await expect(store.prune()).resolves.toBe(3);
    expect(last().sql).toBe(SQL.prune);
    expect(last().binds.map((b) => b.type)).toEqual(['DB_TYPE_TIMESTAMP_TZ', 'DB_TYPE_NUMBER']);
    expect(last().values[1]).toBe(PRUNE_BATCH_SIZE);
    expect([...double.rows.keys()]).toEqual(['d']);

    await expect(store.clear()).resolves.toBe(1);
    expect(last().sql).toBe(SQL.clear);
    expect(double.rows.size).toBe(0);
  });
});
