import type { Knex } from 'knex';
import { DatabaseError, KnexStore, StoreClosedError } from '../src/index.js';
import { deferred, settleTicks } from './support/async.js';
import { memoryKnex, sessionWith, useFixtures, viaCallback } from './support/fixtures.js';
import { everyStoreMethod } from './support/operations.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const session = sessionWith({ maxAge: 3_600_000 });

/** An adapter that opens its own in-memory database, which the store then owns. */
function owningAdapter(): { adapter: RecordingAdapter; opened: Knex[] } {
  const opened: Knex[] = [];
  const adapter = new RecordingAdapter({
    createDefaultKnex: () => {
      const knex = memoryKnex();
      opened.push(knex);
      return knex;
    },
  });
  return { adapter, opened };
}

it('is idempotent, with or without a callback', async () => {
  const { store } = fixtures.store();
  const first = viaCallback((cb) => store.close(cb));
  const second = viaCallback((cb) => store.close(cb));
  expect(await first).toEqual({ error: null, value: undefined });
  expect(await second).toEqual({ error: null, value: undefined });
  await expect(store.close()).resolves.toBeUndefined();
});

it('destroys a knex the store created', async () => {
  const { adapter, opened } = owningAdapter();
  const { store } = fixtures.store({}, adapter);
  expect(store.knex).toBe(opened[0]);
  await store.set('a', session);
  await store.close();
  await expect(store.knex.raw('select 1')).rejects.toThrow();
});

it("leaves the application's knex open", async () => {
  const { store, knex } = fixtures.store();
  await store.set('a', session);
  await store.close();
  expect(await knex('sessions').pluck('sid')).toEqual(['a']);
});

it.each(everyStoreMethod(session))('%s after close fails with StoreClosedError', async (operation, call) => {
  const { store } = fixtures.store();
  await store.close();
  const { error } = await viaCallback((cb) => call(store, cb));
  expect(error).toBeInstanceOf(StoreClosedError);
  expect((error as Error).message).toContain(`${operation} called after close()`);
  await expect(call(store)).rejects.toThrow(StoreClosedError);
});

it('waits for the operations in flight', async () => {
  const { store, knex, adapter } = fixtures.store();
  await store.ready;
  const gate = deferred();
  adapter.before('upsert', () => gate.promise);
  const saved = viaCallback((cb) => store.set('a', session, cb));
  await settleTicks();
  let closed = false;
  const closing = store.close().then(() => {
    closed = true;
  });
  await settleTicks();
  expect(closed).toBe(false);
  gate.resolve();
  await closing;
  expect(await saved).toEqual({ error: null, value: undefined });
  expect(await knex('sessions').pluck('sid')).toEqual(['a']);
});

it('waits for the table bootstrap, and queries nothing afterwards', async () => {
  const knex = fixtures.knex();
  const queries: string[] = [];
  knex.on('query', (query: { sql: string }) => queries.push(query.sql));
  const store = new KnexStore({ knex, cleanupInterval: 0 }, new RecordingAdapter());
  await store.close();
  const issued = queries.length;
  await settleTicks(50);
  expect(queries).toHaveLength(issued);
  await expect(store.ready).resolves.toBeUndefined();
});

it('closes cleanly right after construction with an owned knex', async () => {
  const { adapter } = owningAdapter();
  const { store } = fixtures.store({}, adapter);
  await expect(store.close()).resolves.toBeUndefined();
  await expect(store.ready).resolves.toBeUndefined();
});

it('makes ready reject with StoreClosedError when the store never became ready', async () => {
  const { store } = fixtures.store({ createTable: false });
  await expect(store.ready).rejects.toThrow('does not exist');
  await store.close();
  await expect(store.ready).rejects.toThrow(StoreClosedError);
});

it('reports a failure to destroy its knex as DatabaseError', async () => {
  const cause = new Error('pool busy');
  const real = fixtures.knex();
  const failingDestroy = (): Promise<never> => Promise.reject(cause);
  const adapter = new RecordingAdapter({
    createDefaultKnex: () =>
      new Proxy(real, {
        get: (target, key, receiver) => (key === 'destroy' ? failingDestroy : Reflect.get(target, key, receiver)),
      }),
  });
  const store = new KnexStore({ cleanupInterval: 0 }, adapter);
  await store.ready;
  const { error } = await viaCallback((cb) => store.close(cb));
  expect(error).toBeInstanceOf(DatabaseError);
  expect(error).toMatchObject({ operation: 'close', cause });
});
