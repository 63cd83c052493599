import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import type { SessionData } from 'express-session';
import { DatabaseError, SqliteStore, type KnexStoreOptions } from '@csk/sqlite';

const HOUR = 3_600_000;
const dir = mkdtempSync(path.join(tmpdir(), 'csk-sqlite-fast-path-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function session(data: Record<string, unknown> = {}): SessionData {
  return { cookie: { originalMaxAge: HOUR, expires: new Date(Date.now() + HOUR), path: '/' }, ...data } as SessionData;
}

/** Connections handed out and not yet back, plus callers waiting for one. */
function inUse(db: Knex): number {
  const pool = (db.client as { pool: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return pool.numUsed() + pool.numPendingAcquires();
}

/** The statements knex itself ran while `body` ran (the fast path runs its own without knex, so raises none). */
async function knexQueries(db: Knex, body: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const record = (query: { sql: string }): void => {
    seen.push(query.sql);
  };
  db.on('query', record);
  try {
    await body();
  } finally {
    db.off('query', record);
  }
  return seen;
}

async function roundTrip(store: SqliteStore): Promise<void> {
  await store.set('a', session({ n: 1 }));
  expect(await store.get('a')).toMatchObject({ n: 1 });
  await store.touch('a', session({ n: 1 }));
  expect(await store.destroy('a')).toBe(1);
  expect(await store.get('a')).toBeNull();
}

describe.each(['sqlite3', 'better-sqlite3'] as const)('on %s', (client) => {
  let db: Knex;
  const stores: SqliteStore[] = [];
  const open = (options: KnexStoreOptions = {}): SqliteStore => {
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
    const work = (round: number) =>
      Array.from({ length: 40 }, (_, i) => {
        const sid = `s${i % 8}`;
        if (i % 4 === 0) return store.get(sid);
        if (i % 4 === 1) return store.set(sid, session({ round }));
        if (i % 4 === 2) return store.touch(sid, session({ round }));
        return store.destroy(sid);
      });
    expect((await Promise.allSettled(work(1))).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    // With the table gone every statement fails, on the connection the fast path holds.
    await db.schema.dropTable('churn');
    const failed = await Promise.allSettled(work(2));
    expect(failed.every((outcome) => outcome.status === 'rejected')).toBe(true);
    expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(DatabaseError);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inUse(db)).toBe(0);
    // And the store works again once the table is back.
    await db.schema.createTable('churn', (table) => {
      table.string('sid', 255).primary();
      table.json('sess').notNullable();
      table.string('expired').notNullable().index();
    });
    await roundTrip(store);
    await new Promise((resolve) => setImmediate(resolve));
    expect(inUse(db)).toBe(0);
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
