import type { SessionData } from 'express-session';
import { knex as createKnex, type Knex } from 'knex';
import { KnexStore, type KnexStoreOptions } from '../../src/index.js';
import { RecordingAdapter } from './recording-adapter.js';

/** A fresh in-memory SQLite database (one connection, so one database) through better-sqlite3. */
export function memoryKnex(filename = ':memory:'): Knex {
  return createKnex({ client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true });
}

/** A store under test with its database and adapter. */
export interface Fixture {
  readonly store: KnexStore;
  readonly knex: Knex;
  readonly adapter: RecordingAdapter;
}

/**
 * Opens stores and databases for a test file and closes them after each test (stores first). Stores get
 * `cleanupInterval: 0` unless the test asks for a prune.
 */
export function useFixtures(): {
  knex(filename?: string): Knex;
  store(options?: KnexStoreOptions, adapter?: RecordingAdapter): Fixture;
} {
  let cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    const pending = cleanups.reverse();
    cleanups = [];
    for (const cleanup of pending) await cleanup().catch(() => undefined);
  });
  const knex = (filename?: string): Knex => {
    const instance = memoryKnex(filename);
    cleanups.push(() => instance.destroy());
    return instance;
  };
  return {
    knex,
    store(options = {}, adapter = new RecordingAdapter()) {
      const db = options.knex ?? (adapter.createDefaultKnex ? undefined : knex());
      const store = new KnexStore({ cleanupInterval: 0, ...options, ...(db && { knex: db }) }, adapter);
      cleanups.push(() => store.close());
      adapter.watch(store.knex);
      return { store, knex: store.knex, adapter };
    },
  };
}

/** A session as express-session hands it to a store (the cookie as plain data). */
export function sessionWith(cookie: { expires?: unknown; maxAge?: unknown } | null, data: object = {}): SessionData {
  return { ...(cookie && { cookie: { originalMaxAge: null, ...cookie } }), ...data } as unknown as SessionData;
}

/** `ms` rounded up to the whole second, as the store writes an expiry a minute or more away. */
export const wholeSecondUp = (ms: number): number => Math.ceil(ms / 1000) * 1000;

/** A row as stored, with its expiry decoded to epoch milliseconds. */
export interface StoredRow {
  readonly sid: string;
  readonly sess: unknown;
  readonly expiresMs: number;
}

/** Every row of the session table, read directly (not through the store), ordered by sid. */
export async function readRows({ knex, adapter, store }: Fixture): Promise<StoredRow[]> {
  const t = store.table;
  const rows: Record<string, unknown>[] = await t.query(knex).select().orderBy(t.sidColumn);
  return rows.map((row) => ({
    sid: String(row[t.sidColumn]),
    sess: JSON.parse(String(row[t.sessColumn])),
    expiresMs: adapter.decodeExpiry(row[t.expiredColumn]),
  }));
}

/** Write a row directly (not through the store), e.g. one that has already expired. */
export async function insertRow(fixture: Fixture, sid: string, expiresMs: number, sess: object = {}): Promise<void> {
  const { knex, adapter, store } = fixture;
  await store.ready;
  const t = store.table;
  await t
    .query(knex)
    .insert({
      [t.sidColumn]: sid,
      [t.sessColumn]: JSON.stringify(sess),
      [t.expiredColumn]: adapter.encodeExpiry(expiresMs),
    });
}

/** Call a node-style method and resolve with what its callback received. */
export function viaCallback<T>(
  call: (callback: (error: unknown, value?: T) => void) => unknown,
): Promise<{ error: unknown; value: T | undefined }> {
  return new Promise((resolve) => {
    call((error, value) => resolve({ error, value }));
  });
}
