import type { SessionData } from 'express-session';
import { MssqlStore, PRUNE_BATCH_SIZE } from '@csk/mssql';
import { recordingSqlServer, type RecordingSqlServer } from './support/recording-sql-server.js';
import { SQL, sqlServerDouble, type DoubleRow } from './support/sql-server-double.js';

const HOUR = 3_600_000;

function session(expiresMs: number, extra: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: null, expires: new Date(expiresMs).toISOString() }, ...extra } as unknown as SessionData;
}

/** What the store binds for an instant: datetime2(3) text in UTC. */
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 23);

describe('MssqlStore end to end against a recorded SQL Server', () => {
  let double: ReturnType<typeof sqlServerDouble>;
  let server: RecordingSqlServer;
  let store: MssqlStore;

  beforeEach(async () => {
    double = sqlServerDouble();
    server = recordingSqlServer(double.respond);
    store = new MssqlStore({ knex: server.knex, cleanupInterval: 0 });
    await store.ready;
  });

  afterEach(async () => {
    await store.close();
    await server.knex.destroy();
  });

  const sent = () => server.statements.map((s) => s.sql);
  const last = () => server.statements[server.statements.length - 1]!;
  const put = (sid: string, row: DoubleRow) => double.rows.set(sid, row);

  it('bootstraps with one lookup, CREATE TABLE and CREATE INDEX, then finds the table the next time', async () => {
    expect(sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.createIndex]);
    expect(server.statements[0]!.parameters).toEqual([{ name: 'p0', declaration: 'nvarchar(8)', value: 'sessions' }]);

    const second = new MssqlStore({ knex: server.knex, cleanupInterval: 0 });
    await second.ready;
    await second.close();
    expect(sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.createIndex, SQL.hasTable]);
  });

  it('set sends one MERGE with sid, sess and expiry as nvarchar parameters', async () => {
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    const data = session(expires, { user: 'ada', note: 'ünïcödé ✓' });
    await store.set('Sid-A', data);

    const merge = last();
    expect(merge.sql).toBe(SQL.merge);
    expect(merge.values).toEqual(['Sid-A', JSON.stringify(data), '2031-01-02T03:04:05.678']);
    expect(merge.parameters.map((p) => p.declaration)).toEqual([
      'nvarchar(5)',
      `nvarchar(${JSON.stringify(data).length})`,
      'nvarchar(23)',
    ]);
    expect(double.rows.get('Sid-A')).toEqual({ sess: JSON.stringify(data), expires });
  });

  it('get reads the live row back through knex and parses it; a missing or expired sid is null', async () => {
    const now = Date.now();
    const data = session(now + HOUR, { user: 'ada' });
    await store.set('a', data);
    put('old', { sess: JSON.stringify(session(now - 1)), expires: now - 1 });

    await expect(store.get('a')).resolves.toEqual(JSON.parse(JSON.stringify(data)));
    const get = last();
    expect(get.sql).toBe(SQL.get);
    expect(get.values[0]).toBe(1);
    expect(get.values[1]).toBe('a');
    expect(Date.parse(`${String(get.values[2])}Z`)).toBeGreaterThanOrEqual(now);
    expect(get.parameters.map((p) => p.declaration)).toEqual(['int', 'nvarchar(1)', 'nvarchar(23)']);

    await expect(store.get('old')).resolves.toBeNull();
    await expect(store.get('missing')).resolves.toBeNull();
  });

  it('touch moves a live expiry with one UPDATE and never revives an expired row', async () => {
    const now = Date.now();
    await store.set('a', session(now + HOUR));
    put('old', { sess: '{}', expires: now - 1 });

    await store.touch('a', session(now + 2 * HOUR));
    expect(last().sql).toBe(SQL.touch);
    expect(last().values.slice(0, 2)).toEqual([iso(now + 2 * HOUR), 'a']);
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

  it('all, length and ids see only live rows, with the counts decoded from the reply', async () => {
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

  it('destroy, clear and prune resolve the row counts from "select @@rowcount"', async () => {
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
    expect(last().values[0]).toBe(PRUNE_BATCH_SIZE);
    expect(last().parameters.map((p) => p.declaration)).toEqual(['int', 'nvarchar(23)']);
    expect([...double.rows.keys()]).toEqual(['d']);

    await expect(store.clear()).resolves.toBe(1);
    expect(last().sql).toBe(SQL.clear);
    expect(double.rows.size).toBe(0);
  });

  it('surfaces a server error as a DatabaseError naming the operation', async () => {
    const failing = recordingSqlServer((statement) => {
      if (statement.sql.startsWith('MERGE')) throw new Error('Transaction (Process ID 53) was deadlocked');
      return statement.sql === SQL.hasTable ? { rows: [{ TABLE_NAME: 'sessions' }] } : undefined;
    });
    const other = new MssqlStore({ knex: failing.knex, cleanupInterval: 0 });
    try {
      await expect(other.set('a', session(Date.now() + HOUR))).rejects.toMatchObject({
        name: 'DatabaseError',
        operation: 'set',
        message: expect.stringContaining('deadlocked'),
      });
    } finally {
      await other.close();
      await failing.knex.destroy();
    }
  });
});
