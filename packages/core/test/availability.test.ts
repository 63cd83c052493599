import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import {
  AVAILABILITY_PROBE_INTERVAL_MS,
  ConfigurationError,
  DatabaseError,
  KnexStore,
  OPERATION_TIMEOUT_CODE,
  checkConnection,
  errorChain,
  isCommonConnectionError,
  PORTABLE_CATALOG,
  type TableCatalog,
  type SessionTable,
} from '../src/index.js';
import { deferred, eventually, settleTicks } from './support/async.js';
import { insertRow, readRows, sessionWith, useFixtures } from './support/fixtures.js';
import { RECORDING_CATALOG, RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const HOUR = 3_600_000;

/** The error a driver raises when nothing listens on the database's port. */
function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

/** An adapter whose database can be switched off: while `down`, everything it sends fails as a refused connection. */
class OutageAdapter extends RecordingAdapter {
  down = false;
  /** Table checks sent: the start-up's and the availability probes'. */
  checks = 0;
  /** What a table check waits for before it fails while `down`: a probe can be held in flight. */
  hold: Promise<void> = Promise.resolve();

  override readonly catalog: TableCatalog = {
    ...RECORDING_CATALOG,
    hasTable: async (knex: Knex, table: SessionTable): Promise<boolean> => {
      this.checks += 1;
      if (this.down) {
        await this.hold;
        throw refused();
      }
      return PORTABLE_CATALOG.hasTable(knex, table);
    },
  };

  override upsert(...args: Parameters<RecordingAdapter['upsert']>): ReturnType<RecordingAdapter['upsert']> {
    if (this.down) {
      this.before('upsert', () => {
        throw refused();
      });
    }
    return super.upsert(...args);
  }
}

/** Every availability event the store emits, in order. */
function eventsOf(store: KnexStore): string[] {
  const events: string[] = [];
  for (const name of ['connect', 'disconnect']) store.on(name, () => events.push(name));
  return events;
}

const live = () => sessionWith({ maxAge: HOUR });

/** A ready store over an OutageAdapter, with its events recorded. */
async function watchedStore() {
  const adapter = new OutageAdapter();
  const { store } = fixtures.store({}, adapter);
  const events = eventsOf(store);
  await store.ready;
  return { adapter, store, events };
}

/** A store whose database went down: one set failed, and the probe confirmed it with 'disconnect'. */
async function disconnectedStore() {
  const watched = await watchedStore();
  watched.adapter.down = true;
  await expect(watched.store.set('a', live())).rejects.toBeInstanceOf(DatabaseError);
  await eventually(() => expect(watched.events).toEqual(['disconnect']));
  return watched;
}

describe("availability events ('disconnect' and 'connect')", () => {
  it('never follow an SQL error, however many: the database answered each', async () => {
    const fixture = fixtures.store();
    const events = eventsOf(fixture.store);
    await fixture.store.ready;
    await fixture.knex.schema.dropTable(fixture.store.table.tableName);
    for (let i = 0; i < 5; i += 1) await expect(fixture.store.get('a')).rejects.toBeInstanceOf(DatabaseError);
    await settleTicks(AVAILABILITY_PROBE_INTERVAL_MS + 100);
    expect(events).toEqual([]);
  });

  it('never follow one refused connection when the database still answers the probe', async () => {
    const { adapter, store, events } = await watchedStore();
    adapter.before('upsert', () => {
      throw refused();
    });
    await expect(store.set('a', live())).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    await settleTicks(AVAILABILITY_PROBE_INTERVAL_MS + 100);
    expect(events).toEqual([]);
    await expect(store.set('a', live())).resolves.toBeUndefined();
  });

  it("emit 'disconnect' once the probe confirms the outage, then 'connect' by themselves when it ends", async () => {
    const { adapter, store, events } = await watchedStore();
    adapter.down = true;
    for (let i = 0; i < 3; i += 1) await expect(store.set(`s${i}`, live())).rejects.toBeInstanceOf(DatabaseError);
    await eventually(() => expect(events).toEqual(['disconnect']));
    // Still down over several probes: no second event.
    await settleTicks(2 * AVAILABILITY_PROBE_INTERVAL_MS + 100);
    expect(events).toEqual(['disconnect']);
    // express-session calls nothing while it believes the store disconnected: the store must notice by itself.
    adapter.down = false;
    await eventually(() => expect(events).toEqual(['disconnect', 'connect']));
    await expect(store.set('a', live())).resolves.toBeUndefined();
    expect(events).toEqual(['disconnect', 'connect']);
  });

  it("emit 'connect' for a probe's answer only, not for an operation answered while the probe still fails", async () => {
    const { adapter, store, events } = await disconnectedStore();
    // get() sends no adapter statement here: it is answered (as on a connection opened before the outage) while the
    // probe's statement still fails (as a new connection is refused).
    await expect(store.get('a')).resolves.toBeNull();
    await settleTicks(AVAILABILITY_PROBE_INTERVAL_MS + 100);
    expect(events).toEqual(['disconnect']);
    adapter.down = false;
    await eventually(() => expect(events).toEqual(['disconnect', 'connect']));
  });

  it("take no answer from a touch that sent nothing: it cannot hold back a 'disconnect' the probe confirms", async () => {
    const { adapter, store, events } = await watchedStore();
    await store.set('a', live());
    // The get reads the very expiry a touch would store: the touch after it sends no statement.
    const session = (await store.get('a'))!;
    const probe = deferred();
    adapter.hold = probe.promise;
    adapter.down = true;
    const checks = adapter.checks;
    await expect(store.set('b', live())).rejects.toBeInstanceOf(DatabaseError);
    await eventually(() => expect(adapter.checks).toBeGreaterThan(checks));
    // While the probe is out: were this touch an answer, the probe's failure would be taken for one connection's.
    await expect(store.touch('a', session)).resolves.toBeUndefined();
    probe.resolve();
    await eventually(() => expect(events).toEqual(['disconnect']));
  });

  it('follow a start-up that cannot reach the database, and the store recovers on its own', async () => {
    const adapter = new OutageAdapter();
    adapter.down = true;
    const { store } = fixtures.store({}, adapter);
    const events = eventsOf(store);
    await eventually(() => expect(events).toEqual(['disconnect']));
    await expect(store.ready).rejects.toMatchObject({ name: 'DatabaseError', operation: 'ready' });
    adapter.down = false;
    await eventually(() => expect(events).toEqual(['disconnect', 'connect']));
    await expect(store.ready).resolves.toBeUndefined();
  });

  it('are not emitted, nor probed for, after close()', async () => {
    const { adapter, store, events } = await disconnectedStore();
    await store.close();
    const checks = adapter.checks;
    adapter.down = false;
    await settleTicks(2 * AVAILABILITY_PROBE_INTERVAL_MS);
    expect(events).toEqual(['disconnect']);
    expect(adapter.checks).toBe(checks);
  });

  it('ignore refusals of the store itself (an invalid sid says nothing about the database)', async () => {
    const { store, events } = await disconnectedStore();
    await expect(store.set('', live())).rejects.toMatchObject({ name: 'InvalidSessionError' });
    await settleTicks();
    expect(events).toEqual(['disconnect']);
  });
});

describe('the probe of a pool of several connections', () => {
  it("opens a connection of its own: a pool that is merely busy is no outage, and emits no 'disconnect'", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-busy-'));
    const db = createKnex({
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, 'busy.sqlite') },
      useNullAsDefault: true,
      pool: { min: 0, max: 2 },
      acquireConnectionTimeout: 100,
    });
    const { store } = fixtures.store({ knex: db });
    const events = eventsOf(store);
    try {
      await store.ready;
      // Every pooled connection taken, as by slow queries: the next operation cannot get one in time.
      const taken = [await db.client.acquireConnection(), await db.client.acquireConnection()];
      await expect(store.get('a')).rejects.toMatchObject({ cause: { name: 'KnexTimeoutError' } });
      await settleTicks(AVAILABILITY_PROBE_INTERVAL_MS + 100);
      expect(events).toEqual([]);
      for (const connection of taken) await db.client.releaseConnection(connection);
      await expect(store.get('a')).resolves.toBeNull();
    } finally {
      await store.close();
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkConnection', () => {
  /** A knex whose driver connects when `connect` is called, and records the connections it closes. */
  function slowDriver() {
    const closed: unknown[] = [];
    let connect!: (connection: unknown) => void;
    const client = {
      acquireRawConnection: () => new Promise((resolve) => (connect = resolve)),
      destroyRawConnection: async (connection: unknown) => {
        closed.push(connection);
      },
    };
    // withUserParams: the knex copy a statement gets, pinned to the connection checkConnection opened.
    const knex = { client, withUserParams: () => ({ client: { ...client } }) };
    return { knex: knex as unknown as Knex, closed, connect: (connection: unknown) => connect(connection) };
  }

  it('opens a connection outside the pool and closes it', async () => {
    const driver = slowDriver();
    const checking = checkConnection(driver.knex, 1_000);
    await settleTicks(5);
    driver.connect('c1');
    await expect(checking).resolves.toBeUndefined();
    expect(driver.closed).toEqual(['c1']);
  });

  it('runs the statement on that connection before closing it, and rejects with its error', async () => {
    const driver = slowDriver();
    const asked: unknown[] = [];
    const checking = checkConnection(driver.knex, 1_000, async (pinned) => {
      asked.push(await (pinned.client as Knex.Client).acquireConnection());
      expect(driver.closed).toEqual([]);
    });
    driver.connect('c1');
    await expect(checking).resolves.toBeUndefined();
    expect(asked).toEqual(['c1']);
    expect(driver.closed).toEqual(['c1']);

    const refused = Object.assign(new Error('WSREP has not yet prepared node for application use'), { errno: 1047 });
    const failing = checkConnection(driver.knex, 1_000, () => Promise.reject(refused));
    driver.connect('c2');
    await expect(failing).rejects.toBe(refused);
    expect(driver.closed).toEqual(['c1', 'c2']);
  });

  it('gives up after the timeout with ETIMEDOUT, and closes the connection that comes later', async () => {
    const driver = slowDriver();
    await expect(checkConnection(driver.knex, 20)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    expect(driver.closed).toEqual([]);
    driver.connect('late');
    await eventually(() => expect(driver.closed).toEqual(['late']));
  });
});

describe('operationTimeout', () => {
  it('fails an operation the database does not answer in time, and close() does not wait for it', async () => {
    const adapter = new RecordingAdapter();
    const { store } = fixtures.store({ operationTimeout: 50 }, adapter);
    await store.ready;
    const stalled = deferred();
    adapter.before('upsert', () => stalled.promise);
    const failure = await store.set('a', live()).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseError);
    expect(failure).toMatchObject({ operation: 'set', cause: { code: OPERATION_TIMEOUT_CODE } });
    await store.close();
    stalled.resolve();
  });

  it('leaves an operation that answers in time alone', async () => {
    const fixture = fixtures.store({ operationTimeout: 5_000 });
    await fixture.store.set('a', sessionWith({ maxAge: HOUR }, { n: 1 }));
    expect(await fixture.store.get('a')).toMatchObject({ n: 1 });
  });

  it.each([-1, Number.NaN, Infinity, '100', 2 ** 31])('refuses %p', (value) => {
    expect(() => fixtures.store({ operationTimeout: value as number })).toThrow(ConfigurationError);
    expect(() => fixtures.store({ operationTimeout: value as number })).toThrow(/operationTimeout/);
  });
});

describe('the prune lock', () => {
  it("skips the prune when the adapter's lock is held elsewhere: prune resolves 0 and reports it skipped", async () => {
    class Held extends RecordingAdapter {
      override readonly pruneLock = { take: async (): Promise<boolean> => false };
    }
    const fixture = fixtures.store({}, new Held());
    await insertRow(fixture, 'old', Date.now() - 1000);
    const reports: unknown[] = [];
    fixture.store.on('prune', (report) => reports.push(report));
    await expect(fixture.store.prune()).resolves.toBe(0);
    await settleTicks();
    expect(reports).toEqual([{ deleted: 0, skipped: true, ms: expect.any(Number) }]);
    expect(fixture.adapter.callsOf('deleteExpired')).toEqual([]);
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['old']);
  });

  it('takes the lock in each batch\'s transaction and deletes in that same transaction', async () => {
    const locked: Knex.Transaction[] = [];
    class Locking extends RecordingAdapter {
      override readonly pruneLock = {
        take: async (trx: Knex.Transaction): Promise<boolean> => {
          locked.push(trx);
          return true;
        },
      };
    }
    const fixture = fixtures.store({}, new Locking());
    await insertRow(fixture, 'old', Date.now() - 1000);
    await insertRow(fixture, 'live', Date.now() + HOUR);
    const reports: unknown[] = [];
    fixture.store.on('prune', (report) => reports.push(report));
    await expect(fixture.store.prune()).resolves.toBe(1);
    await settleTicks();
    expect(reports).toEqual([{ deleted: 1, skipped: false, ms: expect.any(Number) }]);
    expect(locked).toHaveLength(1);
    expect(locked[0]!.isTransaction).toBe(true);
    expect(locked[0]!.isCompleted()).toBe(true);
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['live']);
  });

  it('gives a session-level lock back after each batch, also after a failed delete, and reports the failure', async () => {
    const events: string[] = [];
    class SessionLock extends RecordingAdapter {
      override readonly pruneLock = {
        take: async (): Promise<boolean> => {
          events.push('lock');
          return true;
        },
        release: async (trx: Knex.Transaction): Promise<void> => {
          events.push(trx.isCompleted() ? 'unlock after the transaction' : 'unlock');
        },
      };
    }
    const adapter = new SessionLock();
    const fixture = fixtures.store({}, adapter);
    await insertRow(fixture, 'old', Date.now() - 1000);
    await expect(fixture.store.prune()).resolves.toBe(1);
    adapter.before('deleteExpired', () => {
      throw new Error('the delete failed');
    });
    await insertRow(fixture, 'old-2', Date.now() - 1000);
    await expect(fixture.store.prune()).rejects.toMatchObject({ name: 'DatabaseError', operation: 'prune' });
    expect(events).toEqual(['lock', 'unlock', 'lock', 'unlock']);
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['old-2']);
  });
});

describe('isCommonConnectionError and errorChain', () => {
  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', OPERATION_TIMEOUT_CODE])(
    'counts the code %s',
    (code) => expect(isCommonConnectionError(Object.assign(new Error('x'), { code }))).toBe(true),
  );

  it("counts knex's timeout waiting for a pooled connection", () => {
    const error = new Error('Knex: Timeout acquiring a connection. The pool is probably full.');
    error.name = 'KnexTimeoutError';
    expect(isCommonConnectionError(error)).toBe(true);
  });

  it('does not count an answer from the database, nor non-errors', () => {
    expect(isCommonConnectionError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
    expect(isCommonConnectionError(new Error('syntax error'))).toBe(false);
    expect(isCommonConnectionError(undefined)).toBe(false);
    expect(isCommonConnectionError('ECONNREFUSED')).toBe(false);
  });

  it('walks causes and aggregated errors, each once, and ends on a cycle', () => {
    const inner = refused();
    const aggregate = new AggregateError([new Error('a'), inner], 'connect failed');
    const outer = new DatabaseError('get', aggregate);
    expect(errorChain(outer)).toEqual([outer, aggregate, expect.any(Error), inner]);
    const cyclic = new Error('cyclic') as Error & { cause?: unknown };
    cyclic.cause = cyclic;
    expect(errorChain(cyclic)).toEqual([cyclic]);
  });
});
