import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import {
  expectConnectionsBack,
  expectConnectionsBackAfterFailures,
  fastPathSession as session,
  knexQueries,
  roundTrip,
} from '@csk/conformance/fast-path';
import type { SessionData } from 'express-session';
import { DatabaseError, SqliteStore, type SqliteStoreOptions } from '@csk/sqlite';

const dir = mkdtempSync(path.join(tmpdir(), 'csk-sqlite-fast-path-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['sqlite3', 'better-sqlite3'] as const)('on %s', (client) => {
  let db: Knex;
  const stores: SqliteStore[] = [];
  const open = (options: SqliteStoreOptions = {}): SqliteStore => {
    const store = new SqliteStore({ cleanupInterval: 0, ...options, knex: db });
    stores.push(store);
    return store;
  };

  beforeEach(() => {
    db = knex({ client, connection: { filename: path.join(dir, `${client}-${Date.now()}.sqlite`) }, useNullAsDefault: true });
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await db.destroy();
  });

  it('runs get, set, touch and destroy without knex, and they behave as on knex', async () => {
    const store = open();
    await store.ready;
    expect(await knexQueries(db, () => roundTrip(store))).toEqual([]);
  });

  it('sends every statement through knex with fastPath: false', async () => {
    const store = open({ fastPath: false });
    await store.ready;
    expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(5);
  });

  it('falls back to knex for a driver it does not know', async () => {
    (db.client as { driverName: string }).driverName = 'some-other-sqlite-driver';
    const store = open();
    await store.ready;
    expect((await knexQueries(db, () => roundTrip(store))).length).toBeGreaterThanOrEqual(5);
  });

  it('gives every connection back after many operations, failed ones included', async () => {
    const store = open({ tableName: 'churn' });
    await store.ready;
    // With the table gone every statement fails, on the connection the fast path holds.
    await expectConnectionsBackAfterFailures(db, store, () => db.schema.dropTable('churn'));
    // And the store works again once the table is back.
    await db.schema.createTable('churn', (table) => {
      table.string('sid', 255).primary();
      table.json('sess').notNullable();
      table.string('expired').notNullable().index();
    });
    await roundTrip(store);
    await new Promise((resolve) => setImmediate(resolve));
    await expectConnectionsBack(db);
  });
});

describe('a store that owns its sqlite3 database', () => {
  const home = process.cwd();
  const cwd = path.join(dir, 'own');

  beforeAll(() => {
    mkdirSync(cwd, { recursive: true });
    process.chdir(cwd);
  });

  afterAll(() => {
    process.chdir(home);
  });

  it('keeps prepared statements, and still closes its database (statements finalized first)', async () => {
    const store = new SqliteStore({ cleanupInterval: 0 });
    await store.ready;
    expect(await store.knex.raw('PRAGMA synchronous')).toEqual([{ synchronous: 1 }]);
    for (let i = 0; i < 20; i++) await store.set(`s${i}`, session({ i }));
    expect(await knexQueries(store.knex, () => roundTrip(store))).toEqual([]);
    // node-sqlite3 refuses to close a database with statements still prepared, and knex's pool only logs that.
    const client = store.knex.client as Knex.Client;
    const connection = (await client.acquireConnection()) as { open: boolean };
    await client.releaseConnection(connection);
    await expect(store.close()).resolves.toBeUndefined();
    expect(connection.open).toBe(false);
    const filename = path.join(cwd, 'connect-session-knex.sqlite');
    const check = knex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true });
    try {
      expect(await check.table('sessions').count({ n: '*' }).first()).toEqual({ n: 20 });
    } finally {
      await check.destroy();
    }
  });
});

/** A second, raw better-sqlite3 connection on a file, to look at the table synchronously. */
type RawDatabase = { prepare(sql: string): { get(...values: unknown[]): unknown }; exec(sql: string): void; close(): void; readonly open: boolean };
const RawDatabase = require('better-sqlite3') as new (filename: string) => RawDatabase;

describe('on better-sqlite3, a set or touch made while the store holds a connection (as after a get, in express-session)', () => {
  let db: Knex;
  let raw: RawDatabase;
  let store: SqliteStore;

  beforeEach(async () => {
    const filename = path.join(dir, `immediate-${Date.now()}.sqlite`);
    db = knex({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
    store = new SqliteStore({ cleanupInterval: 0, knex: db });
    await store.set('a', session({ n: 1 }));
    raw = new RawDatabase(filename);
  });

  afterEach(async () => {
    raw.close();
    await store.close();
    await db.destroy();
  });

  /** `body` run from a get's callback of sid 'a', with the session it read; resolves what `body` resolves. */
  const afterGet = <T>(body: (read: SessionData) => Promise<T>): Promise<T> =>
    new Promise((resolve, reject) => {
      store.get('a', (error, read) => (error || !read ? reject(error ?? new Error('no session')) : body(read).then(resolve, reject)));
    });
  const stored = (): string => (raw.prepare('select sess from sessions where sid = ?').get('a') as { sess: string }).sess;

  it('is done when the call returns, and calls back once, on a later tick, before what the caller queues next', async () => {
    const order = await afterGet(
      (read) =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          store.set('a', { ...read, n: 2 } as SessionData, (error) => seen.push(`set ${String(error)}`));
          seen.push(`returned, stored n = ${(JSON.parse(stored()) as { n: number }).n}`);
          // express-session writes its response's start here; a callback already queued lets it send all at once.
          process.nextTick(() => seen.push('next tick'));
          setImmediate(() => resolve(seen));
        }),
    );
    expect(order).toEqual(['returned, stored n = 2', 'set null', 'next tick']);
    await expectConnectionsBack(db);
  });

  it('reads at once too: the callback is queued before the call returns', async () => {
    const order = await afterGet(
      () =>
        new Promise<string[]>((resolve) => {
          const seen: string[] = [];
          store.get('a', (error, read) => seen.push(`get ${String(error)} n = ${(read as unknown as { n: number }).n}`));
          store.get('missing', (error, read) => seen.push(`get ${String(error)} ${String(read)}`));
          process.nextTick(() => seen.push('next tick'));
          setImmediate(() => resolve(seen));
        }),
    );
    expect(order).toEqual(['get null n = 1', 'get null null', 'next tick']);
  });

  it('touches at once too, and a touch of an expired session deletes it as the ordinary path does', async () => {
    const expires = () => (raw.prepare('select expired from sessions where sid = ?').get('a') as { expired: string } | undefined)?.expired;
    const before = expires();
    await afterGet(async (read) => {
      const later = { ...read, cookie: { ...read.cookie, expires: new Date(Date.now() + 7_200_000) } } as SessionData;
      const done = store.touch('a', later);
      expect(expires()).not.toBe(before);
      await done;
    });
    await afterGet(async (read) => {
      const gone = { ...read, cookie: { ...read.cookie, expires: new Date(Date.now() - 1000) } } as SessionData;
      const done = store.touch('a', gone);
      expect(expires()).toBeUndefined();
      await done;
    });
  });

  it('fails as the ordinary path does: a DatabaseError of its operation, once, and an error event', async () => {
    const events: unknown[] = [];
    store.on('error', (error) => events.push(error));
    const outcome = await afterGet(
      (read) =>
        new Promise<unknown[]>((resolve) => {
          raw.exec('drop table sessions');
          const calls: unknown[] = [];
          const promise = store.set('a', read, (error) => calls.push(error));
          // Without a callback the promise rejects with the error.
          store.touch('a', read).catch((error: unknown) => calls.push(error));
          setImmediate(() => promise.then(() => resolve(calls)));
        }),
    );
    expect(outcome).toHaveLength(2);
    expect(outcome.map((error) => [error instanceof DatabaseError, (error as DatabaseError).operation])).toEqual([
      [true, 'set'],
      [true, 'touch'],
    ]);
    expect(events).toEqual(outcome);
  });
});

it('on better-sqlite3, reads one sid with get(), which stops at its row, and still reads several with all()', async () => {
  const db = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
  const store = new SqliteStore({ cleanupInterval: 0, knex: db, coalesce: true });
  try {
    await store.ready;
    const calls: string[] = [];
    type Spied = { prepare(sql: string): Record<string, (...values: unknown[]) => unknown> };
    const connection = (await (db.client as Knex.Client).acquireConnection()) as Spied;
    const prepare = connection.prepare.bind(connection);
    connection.prepare = (sql) => {
      const statement = prepare(sql);
      for (const method of ['get', 'all'] as const) {
        const original = statement[method]!.bind(statement);
        statement[method] = (...values) => (calls.push(`${method} ${/ in \(/.test(sql) ? 'several' : 'one'}`), original(...values));
      }
      return statement;
    };
    await (db.client as Knex.Client).releaseConnection(connection);
    await store.set('a', session({ n: 1 }));
    await store.set('b', session({ n: 2 }));
    expect(await store.get('a')).toMatchObject({ n: 1 });
    expect(await store.get('missing')).toBeNull();
    // Two reads in one turn are coalesced into one statement over both sids.
    const both = await Promise.all([store.get('a'), store.get('b')]);
    expect(both.map((one) => (one as unknown as { n: number }).n)).toEqual([1, 2]);
    expect(calls).toEqual(['get one', 'get one', 'all several']);
  } finally {
    await store.close();
    await db.destroy();
  }
});

it('on better-sqlite3, a kept connection closed behind the pool fails one call, then the pool replaces it', async () => {
  const created: RawDatabase[] = [];
  const db = knex({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, `closed-${Date.now()}.sqlite`) },
    useNullAsDefault: true,
    pool: {
      // The application's own check, which the pool runs before it hands a connection out.
      validate: (connection: RawDatabase) => connection.open,
      afterCreate: (connection: RawDatabase, done: (error: Error | null, connection: RawDatabase) => void) => {
        created.push(connection);
        done(null, connection);
      },
    },
  } as Knex.Config);
  const store = new SqliteStore({ cleanupInterval: 0, knex: db });
  try {
    await store.set('a', session({ n: 1 }));
    await new Promise((resolve) => setImmediate(resolve));
    created.at(-1)!.close();
    await expect(store.get('a')).rejects.toBeInstanceOf(DatabaseError);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await store.get('a')).toMatchObject({ n: 1 });
    await expectConnectionsBack(db);
  } finally {
    await store.close();
    await db.destroy();
  }
});
