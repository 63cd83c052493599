import { afterEach } from '@jest/globals';
import type { SessionData } from 'express-session';
import { knex as createKnex, type Knex } from 'knex';
import type { KnexStore, KnexStoreOptions } from '@csk/core';

// The shared parts of the recorded-database tests of the dialects no machine here runs: a knex on the real client
// whose driver is a recording, and the stores opened on it. What the driver receives and answers is each package's own.

/** One statement as a recording driver received it. */
export interface RecordedStatement {
  /** The statement text, with the client's placeholders. */
  readonly sql: string;
  /** The bound values in order. */
  readonly values: readonly unknown[];
}

/** A knex on a real client whose driver is a recording: nothing leaves the process. */
export interface Recording<S extends RecordedStatement = RecordedStatement> {
  readonly knex: Knex;
  /** Every statement received so far, in order. */
  readonly statements: S[];
}

/** The statement type a recording holds. */
export type StatementOf<R extends Recording> = R['statements'][number];

/**
 * A knex on the real `client` (its dialect, its bindings, its driver code) whose driver module is what `replace`
 * makes of the one knex loads: the way to record the calls a driver receives without a database. One connection at a
 * time, as a recording answers in order; `config` overrides any setting.
 */
export function knexOnRecordedDriver(
  client: string,
  replace: (driver: object) => object,
  connection: Knex.Config['connection'],
  config: Partial<Knex.Config> = {},
): Knex {
  const Client = createKnex({ client }).client.constructor as new (config: Knex.Config) => Knex.Client;
  class RecordingClient extends Client {
    _driver(): unknown {
      return replace((Client.prototype as unknown as { _driver(): object })._driver.call(this));
    }
  }
  return createKnex({
    client: RecordingClient as unknown as typeof Knex.Client,
    connection,
    pool: { min: 0, max: 1 },
    ...config,
  });
}

/** How a package's tests open its store on a recording. */
export interface RecordedStoreFactory<Rec extends Recording, St extends KnexStore, P> {
  /** A new recording whose driver is answered by `respond`, with `config` over the knex defaults. */
  record(respond: P, config?: Partial<Knex.Config>): Rec;
  /** The package's store class with these options. */
  createStore(options: KnexStoreOptions): St;
}

/** Opens a store (no background prune, on its own recording); see {@link useRecordedStores}. */
export type OpenRecordedStore<Rec extends Recording, St extends KnexStore, P> = (
  options?: KnexStoreOptions,
  respond?: P,
  config?: Partial<Knex.Config>,
) => { recording: Rec; store: St };

/**
 * Opening stores on recordings in a test file: each store is closed and its recording's knex destroyed after the
 * test that opened it. `respond` answers the recordings a test opens without a responder of its own; without it,
 * every call must bring one.
 */
export function useRecordedStores<Rec extends Recording, St extends KnexStore, P>(
  factory: RecordedStoreFactory<Rec, St, P>,
  respond?: P,
): OpenRecordedStore<Rec, St, P> {
  const opened: Array<{ recording: Rec; store: St }> = [];
  afterEach(async () => {
    for (const { store, recording } of opened.splice(0)) {
      await store.close();
      await recording.knex.destroy();
    }
  });
  return (options = {}, answer = respond, config = {}) => {
    if (answer === undefined) throw new Error('open() needs a responder: this file has no default one');
    const recording = factory.record(answer, config);
    let store: St;
    try {
      store = factory.createStore({ cleanupInterval: 0, ...options, knex: recording.knex });
    } catch (error) {
      // A store refused at construction leaves its knex to us.
      void recording.knex.destroy();
      throw error;
    }
    opened.push({ recording, store });
    return { recording, store };
  };
}

/**
 * A session whose cookie expires at `expiresMs`, as the ISO text a session read back from JSON carries, with `extra`
 * data. `originalMaxAge` is only carried along (the store reads `expires`).
 */
export function sessionUntil(
  expiresMs: number,
  extra: Record<string, unknown> = {},
  originalMaxAge: number | null = null,
): SessionData {
  return { cookie: { originalMaxAge, expires: new Date(expiresMs).toISOString() }, ...extra } as unknown as SessionData;
}

/** Run every store operation once, so that every statement the store can send is recorded. */
export async function everyOperation(store: KnexStore, session: () => SessionData): Promise<void> {
  await store.ready;
  await store.set('a', session());
  await store.get('a');
  await store.touch('a', session());
  await store.all();
  await store.length();
  await store.ids();
  await store.destroy('a');
  await store.destroy(['a', 'b']);
  await store.prune();
  await store.clear();
}
