import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import {
  DatabaseError,
  type NativeExecutor,
  type NativeExecutorContext,
  type NativeStatement,
} from '../src/index.js';
import { eventually } from './support/async.js';
import { readRows, sessionWith, useFixtures, viaCallback, type Fixture } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** The part of a better-sqlite3 connection the test executor uses. */
interface Database {
  prepare(sql: string): { raw(on: boolean): { all(...values: unknown[]): unknown[] }; run(...values: unknown[]): { changes: number } };
}

/** One statement as the executor received it. */
interface Sent {
  readonly kind: string;
  readonly sql: string;
  readonly values: readonly unknown[];
}

/** A fast-path executor for better-sqlite3 connections that keeps what it is sent; `fail` makes the next call throw. */
class TestExecutor implements NativeExecutor {
  readonly sent: Sent[] = [];
  refuse = false;
  closed = false;
  fail: Error | undefined;

  /** Milliseconds each statement takes before it runs (a driver that answers later). */
  delayMs = 0;

  constructor(readonly sharesConnection = false) {}

  accepts(): boolean {
    return !this.refuse;
  }

  async read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.#record(statement, values);
    return (connection as Database).prepare(statement.sql).raw(true).all(...values) as unknown[][];
  }

  async write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    this.#record(statement, values);
    return (connection as Database).prepare(statement.sql).run(...values).changes;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  #record(statement: NativeStatement, values: readonly unknown[]): void {
    this.sent.push({ kind: statement.name.split('_')[1]!, sql: statement.sql, values });
    const failure = this.fail;
    this.fail = undefined;
    if (failure) throw failure;
  }
}

/** A sharing executor whose calls also run synchronously (`readNow`, `writeNow`), as an in-process driver's do. */
class SyncExecutor extends TestExecutor {
  constructor() {
    super(true);
  }

  readNow(connection: unknown, statement: NativeStatement, values: readonly unknown[]): unknown[][] {
    return (connection as Database).prepare(statement.sql).raw(true).all(...values) as unknown[][];
  }

  writeNow(connection: unknown, statement: NativeStatement, values: readonly unknown[]): number {
    return (connection as Database).prepare(statement.sql).run(...values).changes;
  }
}

/** The recording adapter with a fast path: `executor` is what `nativeExecutor` answers (a function may throw). */
class FastAdapter extends RecordingAdapter {
  contexts: NativeExecutorContext[] = [];

  constructor(private readonly answer: () => NativeExecutor | undefined | Promise<NativeExecutor | undefined>) {
    super();
  }

  override nativeExecutor(_knex: Knex, context: NativeExecutorContext) {
    this.contexts.push(context);
    return this.answer();
  }
}

function fastStore(executor: TestExecutor, options = {}): Fixture & { executor: TestExecutor } {
  return { ...fixtures.store(options, new FastAdapter(() => executor)), executor };
}

const impatient: Knex[] = [];
afterEach(async () => {
  for (const db of impatient.splice(0)) await db.destroy().catch(() => undefined);
});

/** A knex of one pooled connection whose acquire gives up after 1 s, so that a connection never given back fails a test. */
function impatientKnex(): Knex {
  const db = createKnex({
    client: 'better-sqlite3',
    connection: { filename: ':memory:' },
    useNullAsDefault: true,
    acquireConnectionTimeout: 1000,
  });
  impatient.push(db);
  return db;
}

/** The next turn of the event loop. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** What the pool has handed out and not had back, and what waits for a connection. */
function poolInUse(knex: Knex): number {
  const pool = (knex.client as { pool: { numUsed(): number; numPendingAcquires(): number } }).pool;
  return pool.numUsed() + pool.numPendingAcquires();
}

describe('the fast path', () => {
  it('sends get, set, touch and destroy to the executor as the SQL knex compiles, values in binding order', async () => {
    const fixture = fastStore(new TestExecutor());
    const { store, knex, adapter, executor } = fixture;
    const session = sessionWith({ maxAge: HOUR }, { n: 1 });
    await store.set('s1', session);
    expect(await store.get('s1')).toEqual(session);
    await store.touch('s1', sessionWith({ maxAge: 2 * HOUR }));
    expect(await store.destroy('s1')).toBe(1);

    expect(executor.sent.map((sent) => sent.kind)).toEqual(['upsert', 'get', 'touch', 'destroy']);
    expect(adapter.callsOf('upsert')).toEqual([]);
    const [upsert, get, touch, remove] = executor.sent;
    const t = store.table;
    const native = (query: Knex.QueryBuilder): string => query.toSQL().toNative().sql;
    const expiry = knex.raw('?? / 1000.0 as ??', ['expired', 'csk_expires']);
    expect(get!.sql).toBe(
      native(t.query(knex).select('sess', expiry).where('sid', 'x').andWhere('expired', '>', 1).limit(1, { skipBinding: true })),
    );
    expect(get!.values).toEqual(['s1', expect.any(Number)]);
    expect(remove!.sql).toBe(native(t.query(knex).where('sid', 'x').del()));
    // knex orders an insert's columns itself: the values follow the SQL, whatever that order is.
    expect(upsert!.values).toHaveLength(3);
    expect(upsert!.values).toEqual(expect.arrayContaining(['s1', JSON.stringify(session)]));
    expect(touch!.values[1]).toBe('s1');
    expect(remove!.values).toEqual(['s1']);
    expect(await readRows(fixture)).toEqual([]);
    expect(poolInUse(knex)).toBe(0);
  });

  it('stores the same rows as the knex path', async () => {
    const fast = fastStore(new TestExecutor());
    const slow = fixtures.store();
    const expires = new Date(Date.now() + HOUR);
    for (const { store } of [fast, slow]) {
      await store.set('a', sessionWith({ expires }, { user: 'ada' }));
      await store.set('b', sessionWith({ expires }, { user: 'bob' }));
      await store.destroy('b');
    }
    expect(await readRows(fast)).toEqual(await readRows(slow));
  });

  it('sends nothing to the executor with fastPath: false', async () => {
    const fixture = fastStore(new TestExecutor(), { fastPath: false });
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }));
    expect(await fixture.store.get('s1')).not.toBeNull();
    expect(fixture.executor.sent).toEqual([]);
    expect(fixture.adapter.callsOf('upsert')).toHaveLength(1);
  });

  it('tells the adapter whether the store owns the knex', async () => {
    const owned = new FastAdapter(() => new TestExecutor());
    Object.assign(owned, { createDefaultKnex: () => fixtures.knex() });
    const given = new FastAdapter(() => new TestExecutor());
    await fixtures.store({}, owned).store.get('x');
    await fixtures.store({}, given).store.get('x');
    expect(owned.contexts).toEqual([{ ownsKnex: true }]);
    expect(given.contexts).toEqual([{ ownsKnex: false }]);
  });

  it('releases the executor on close()', async () => {
    const { store, executor } = fastStore(new TestExecutor());
    await store.set('s1', sessionWith({ maxAge: HOUR }));
    await store.close();
    expect(executor.closed).toBe(true);
  });
});

describe('falling back to knex', () => {
  it('when the adapter has no executor for the driver', async () => {
    const fixture = fixtures.store({}, new FastAdapter(() => undefined));
    await fixture.store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    expect(await fixture.store.get('s1')).toMatchObject({ n: 1 });
    expect(fixture.adapter.callsOf('upsert')).toHaveLength(1);
  });

  it("when the knex's client has no acquireConnection", async () => {
    const executor = new TestExecutor();
    const real = fixtures.knex();
    // The same knex, seen through a client without acquireConnection (queries still run on the real one).
    const client = Object.create(real.client, { acquireConnection: { value: undefined } });
    const knex = new Proxy(real, { get: (target, key) => (key === 'client' ? client : Reflect.get(target, key)) });
    const { store, adapter } = fixtures.store({ knex }, new FastAdapter(() => executor));
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 2 }));
    expect(await store.get('s1')).toMatchObject({ n: 2 });
    expect(executor.sent).toEqual([]);
    expect(adapter.callsOf('upsert')).toHaveLength(1);
  });

  it('for good, when the executor refuses the connection, which goes back to the pool', async () => {
    const executor = new TestExecutor();
    executor.refuse = true;
    const { store, knex } = fastStore(executor);
    for (let i = 0; i < 3; i++) await store.set(`s${i}`, sessionWith({ maxAge: HOUR }, { i }));
    expect(await store.get('s2')).toMatchObject({ i: 2 });
    expect(executor.sent).toEqual([]);
    expect(poolInUse(knex)).toBe(0);
  });

});

it('fails one call as a DatabaseError when the executor cannot be had yet; the next call asks again', async () => {
  const executor = new TestExecutor();
  const cause = new Error('the server did not say what it is');
  let attempts = 0;
  const adapter = new FastAdapter(async () => {
    attempts += 1;
    if (attempts === 1) throw cause;
    return executor;
  });
  const { store } = fixtures.store({}, adapter);
  const outcome = await viaCallback((done) => store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }), done));
  expect(outcome.error).toMatchObject({ operation: 'set', cause });
  await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
  expect(await store.get('s1')).toMatchObject({ n: 1 });
  expect(executor.sent.map((sent) => sent.kind)).toEqual(['upsert', 'get']);
});

describe('errors and connections on the fast path', () => {
  it('a failed statement reaches the callback once as a DatabaseError naming the operation', async () => {
    const { store, knex, executor } = fastStore(new TestExecutor());
    const cause = new Error('disk I/O error');
    executor.fail = cause;
    const outcome = await viaCallback((done) => store.set('s1', sessionWith({ maxAge: HOUR }), done));
    expect(outcome.error).toBeInstanceOf(DatabaseError);
    expect(outcome.error).toMatchObject({ operation: 'set', cause });
    executor.fail = new Error('gone');
    await expect(store.get('s1')).rejects.toMatchObject({ operation: 'get' });
    expect(poolInUse(knex)).toBe(0);
  });

  it.each([false, true])('leaves no connection in use after many operations, failed ones too (shared: %s)', async (sync) => {
    const { store, knex, executor } = fastStore(new TestExecutor(sync));
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) => {
        if (i % 10 === 0) executor.fail = new Error(`failure ${i}`);
        const sid = `s${i % 20}`;
        if (i % 3 === 0) return store.get(sid);
        return i % 3 === 1 ? store.set(sid, sessionWith({ maxAge: HOUR })) : store.destroy(sid);
      }),
    );
    expect(outcomes.some((outcome) => outcome.status === 'rejected')).toBe(true);
    expect(outcomes.some((outcome) => outcome.status === 'fulfilled')).toBe(true);
    await eventually(() => expect(poolInUse(knex)).toBe(0));
  });

  it("a sharing executor's connection serves the calls of one turn and leaves the pool open to others", async () => {
    const { store, knex, executor } = fastStore(new TestExecutor(true));
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    // The application's own query on the same pool of one, interleaved with the store's calls.
    const [own, read] = await Promise.all([
      knex.raw('select 42 as answer'),
      store.get('s1'),
      store.touch('s1', sessionWith({ maxAge: HOUR })),
    ]);
    expect(own).toEqual([{ answer: 42 }]);
    expect(read).toMatchObject({ n: 1 });
    expect(executor.sent.map((sent) => sent.kind)).toEqual(['upsert', 'get', 'touch']);
    await eventually(() => expect(poolInUse(knex)).toBe(0));
  });

  it('a shared connection under constant load still goes back to the pool for another user who waits', async () => {
    const executor = new TestExecutor(true);
    executor.delayMs = 1;
    const { store, knex } = fastStore(executor);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    let running = true;
    let completed = 0;
    const load = Array.from({ length: 8 }, async () => {
      while (running) {
        await store.get('s1');
        completed += 1;
      }
    });
    await eventually(() => expect(completed).toBeGreaterThan(20));
    // The application's own query, on a pool of one that the store's calls keep busy.
    const own = await knex.raw('select 7 as answer');
    running = false;
    await Promise.all(load);
    expect(own).toEqual([{ answer: 7 }]);
    await eventually(() => expect(poolInUse(knex)).toBe(0));
  });
});

/** A store on `db` with a synchronous executor, each call on its own as on an embedded database (no coalescing). */
function syncStore(db: Knex, tableName = 'sessions'): Fixture {
  return fixtures.store({ knex: db, tableName, coalesce: false }, new FastAdapter(() => new SyncExecutor()));
}

describe('a synchronous executor keeps its connection between turns', () => {
  it("serves the application's own queries on the same pool of one at once, between and during the store's calls", async () => {
    const db = impatientKnex();
    const { store } = syncStore(db);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    for (let i = 0; i < 5; i++) {
      await nextTurn();
      // The store's connection is kept after its call; the query must not wait for the acquire timeout.
      expect(await store.get('s1')).toMatchObject({ n: 1 });
      expect(await db.raw('select ? as answer', [i])).toEqual([{ answer: i }]);
      await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
      expect(await db.transaction(async (trx) => trx.raw('select 7 as answer'))).toEqual([{ answer: 7 }]);
    }
  });

  it('gives the connection back on close(), and a knex destroyed by its application does not wait for the store', async () => {
    const db = impatientKnex();
    const { store } = syncStore(db);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    await nextTurn();
    await store.close();
    expect(poolInUse(db)).toBe(0);

    const other = impatientKnex();
    const second = syncStore(other).store;
    await second.set('s2', sessionWith({ maxAge: HOUR }, { n: 2 }));
    await nextTurn();
    // The application shuts its knex down first: the pool is destroyed, not left waiting for the kept connection.
    await other.destroy();
    await expect(second.get('s2')).rejects.toBeInstanceOf(DatabaseError);
  });

  it('a knex destroyed in the turn of a call, before the connection is kept, does not wait for the store', async () => {
    const db = impatientKnex();
    const { store } = syncStore(db);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still waiting after 2 s'), 2000);
    });
    const destroyed = db.destroy().then(() => 'destroyed');
    expect(await Promise.race([destroyed, hung])).toBe('destroyed');
    clearTimeout(timer);
  });

  it('two stores on one pool of one take turns with its connection', async () => {
    const db = impatientKnex();
    const a = syncStore(db, 'sessions_a').store;
    const b = syncStore(db, 'sessions_b').store;
    for (let i = 0; i < 5; i++) {
      await a.set(`a${i}`, sessionWith({ maxAge: HOUR }, { i }));
      await b.set(`b${i}`, sessionWith({ maxAge: HOUR }, { i }));
      await nextTurn();
      const [fromA, fromB] = await Promise.all([a.get(`a${i}`), b.get(`b${i}`)]);
      expect([fromA, fromB]).toEqual([expect.objectContaining({ i }), expect.objectContaining({ i })]);
    }
    expect(await a.length()).toBe(5);
    expect(await b.length()).toBe(5);
  });
});

/** The raw connection of a better-sqlite3 knex, as far as these tests touch it. */
interface RawDatabase {
  readonly open: boolean;
  close(): void;
}

/**
 * A knex on a database file whose pool checks a connection with `validate` before handing it out (the application's
 * own rule) and lists every connection it creates, so that a test can break one behind the pool's back.
 */
function fileKnex(pool: { validate?: (connection: RawDatabase) => boolean; maxConnectionLifetimeMillis?: number }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-kept-'));
  const created: RawDatabase[] = [];
  const db = createKnex({
    client: 'better-sqlite3',
    connection: { filename: path.join(dir, 'db.sqlite') },
    useNullAsDefault: true,
    acquireConnectionTimeout: 1000,
    pool: {
      min: 0,
      max: 1,
      ...pool,
      afterCreate: (connection: RawDatabase, done: (error: Error | null, connection: RawDatabase) => void) => {
        created.push(connection);
        done(null, connection);
      },
    },
  } as Knex.Config);
  impatient.push(db);
  return { db, created, dir };
}

describe('a kept connection still answers to the pool', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const db of impatient.splice(0)) await db.destroy().catch(() => undefined);
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("after a failed call on it, goes back, and the pool's validation replaces a broken one", async () => {
    const { db, created, dir } = fileKnex({ validate: (connection) => connection.open });
    dirs.push(dir);
    const { store } = syncStore(db);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    await nextTurn();
    // Someone closes the connection the store keeps, behind the pool's back.
    created.at(-1)!.close();
    await expect(store.get('s1')).rejects.toBeInstanceOf(DatabaseError);
    await nextTurn();
    expect(await store.get('s1')).toMatchObject({ n: 1 });
    expect(created.at(-1)!.open).toBe(true);
  });

  it('after a failed call while it waited for the pool, is not kept', async () => {
    const db = impatientKnex();
    const executor = new SyncExecutor();
    const { store } = fixtures.store({ knex: db, coalesce: false }, new FastAdapter(() => executor));
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    // The application's query takes the store's connection: the store's next call has to wait for the pool.
    await db.raw('select 1');
    executor.fail = new Error('the driver gave up');
    await expect(store.get('s1')).rejects.toBeInstanceOf(DatabaseError);
    await nextTurn();
    expect(poolInUse(db)).toBe(0);
    expect(await store.get('s1')).toMatchObject({ n: 1 });
  });

  it("goes back within a second, so that the pool's maxConnectionLifetimeMillis retires it", async () => {
    const { db, created, dir } = fileKnex({ maxConnectionLifetimeMillis: 100 });
    dirs.push(dir);
    const { store } = syncStore(db);
    await store.set('s1', sessionWith({ maxAge: HOUR }, { n: 1 }));
    const first = created[0]!;
    const until = Date.now() + 1500;
    while (Date.now() < until && first.open) {
      await nextTurn();
      expect(await store.get('s1')).toMatchObject({ n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(first.open).toBe(false);
  });
});
