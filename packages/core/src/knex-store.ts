import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { BulkStatements } from './bulk-statements.js';
import { settle, settleNow, type Callback } from './callback.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { ConfigurationError, DatabaseError } from './errors.js';
import { checkFilter, checkSession, checkSid, checkSids, type SessionFilter } from './input-checks.js';
import { LATER, NOTHING_SENT, type Later, type NothingSent } from './later.js';
import { OperationRunner } from './operation-runner.js';
import { resolveOptions, type KnexStoreOptions, type ResolvedOptions } from './options.js';
import { conflictRetry } from './retry.js';
import { collectStats, type SessionStats, type StatsOptions } from './stats.js';
import type { DestroyEvent, SetEvent } from './store-events.js';
import { StoredExpiry } from './stored-expiry.js';
import { StoredSessions, type FoundSession } from './stored-sessions.js';
import type { TouchPlan } from './write-plan.js';
import { Pruner } from './pruner.js';
import { adapterTable, checkDialect } from './table-setup.js';

const noop = (): void => {};

/**
 * An express-session store on any SQL database knex speaks. A {@link DialectAdapter} supplies what differs between
 * engines; everything else is here. Every method takes an optional callback and returns a promise: with a callback
 * the callback gets the result or error once and the promise never rejects; without one the promise carries both.
 */
export class KnexStore extends session.Store {
  /** The validated options. */
  readonly options: ResolvedOptions;
  /** The knex instance in use: the application's own, or the dialect's default when none was passed. */
  readonly knex: Knex;
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #ownsKnex: boolean;
  readonly #expiry: StoredExpiry;
  readonly #sessions: StoredSessions;
  readonly #runner: OperationRunner;
  readonly #pruner: Pruner;
  #closing: Promise<void> | undefined;

  constructor(options: KnexStoreOptions | undefined, adapter: DialectAdapter) {
    super();
    const resolved = (this.options = resolveOptions(options));
    this.#adapter = adapter;
    const table = (this.#table = adapterTable(adapter, resolved));
    if (resolved.knex) {
      this.knex = resolved.knex;
      this.#ownsKnex = false;
    } else if (adapter.createDefaultKnex) {
      this.knex = adapter.createDefaultKnex();
      this.#ownsKnex = true;
    } else {
      throw new ConfigurationError('knex', `is required: pass the knex instance of your ${adapter.name} database`);
    }
    checkDialect(this.knex, adapter);
    const expiry = (this.#expiry = new StoredExpiry(adapter, table, this.knex));
    const retry = conflictRetry(adapter);
    const bulk = new BulkStatements(table, retry);
    const parts = { adapter, table, knex: this.knex, ownsKnex: this.#ownsKnex, expiry, bulk, retry };
    const coalesce = resolved.coalesce ?? adapter.capabilities.remote;
    this.#sessions = new StoredSessions({ ...resolved, coalesce }, parts);
    const emit = (event: string, ...args: unknown[]): void => this.#emitLater(event, ...args);
    this.#runner = new OperationRunner(resolved, { knex: this.knex, adapter, table, expiry, retry, emit });
    this.#pruner = new Pruner(resolved, { adapter, table, expiry, bulk, runner: this.#runner, emit });
    void this.#runner.ready();
    this.#pruner.schedule();
  }

  /** The dialect adapter in use. */
  get adapter(): DialectAdapter {
    return this.#adapter;
  }

  /** The session table and column names. */
  get table(): SessionTable {
    return this.#table;
  }

  /**
   * The timer of the next background prune, or `null` when none is scheduled (`cleanupInterval: 0`, a prune running,
   * or after `close()`): connect-session-knex 5's handle, so that its `clearTimeout(store.nextDbCleanup)` still stops
   * the prune.
   *
   * @deprecated Call `close()`, which also waits for the operations in flight.
   */
  get nextDbCleanup(): NodeJS.Timeout | null {
    return this.#pruner.timer ?? null;
  }

  /**
   * Settles when the table is known to exist (created if missing and allowed). A failed start-up is retried by the
   * next operation, so the store recovers once the database is back. Rejects with the start-up error (a
   * {@link DatabaseError} of operation `'ready'`, {@link SessionTableMissingError}, or {@link SessionTableShapeError}
   * for an expiry column that holds what expiryEncoding does not say, and with `createTable: false` for a table that
   * lacks a column); after `close()`, a store that is not ready rejects with {@link StoreClosedError}. Ignoring a
   * rejection here is safe.
   */
  get ready(): Promise<void> {
    return this.#runner.ready();
  }

  /** The live session of `sid`, or `null` when there is none or it has expired. */
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null | undefined> {
    const now = this.#now('get', (knex, nowValue) => this.#sessions.immediate.read(knex, checkSid(sid), nowValue), callback);
    if (now) return now;
    return settle(
      this.#runner.run('get', (knex, now) => this.#sessions.read(knex, checkSid(sid), now)),
      callback,
    );
  }

  /** Insert or replace the session of `sid`. One whose expiry is already past is deleted instead. */
  override set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    const now = this.#now(
      'set',
      (knex) => {
        const written = this.#sessions.immediate.write(knex, checkSid(sid), checkSession(session));
        if (written === LATER) return LATER;
        if (written) this.#emitLater('set', written satisfies SetEvent);
      },
      callback,
    );
    if (now) return now as Promise<void>;
    return settle(
      this.#runner.run('set', async (knex) => {
        const written = await this.#sessions.write(knex, checkSid(sid), checkSession(session));
        if (written) this.#emitLater('set', written satisfies SetEvent);
      }),
      callback,
    ) as Promise<void>;
  }

  /**
   * Extend a live session's expiry from its cookie (or the ttl). Never revives an expired session, and does nothing
   * with `disableTouch`.
   */
  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    // Planned once, in whichever path gets there first: the plan consumes the read of this request's get.
    let plan: TouchPlan | undefined;
    const now = this.#now(
      'touch',
      (knex, nowValue) => {
        checkSid(sid);
        checkSession(session);
        plan = this.#sessions.planTouch(sid, session);
        return plan ? this.#sessions.immediate.touch(knex, sid, plan, nowValue) : NOTHING_SENT;
      },
      callback,
    );
    if (now) return now as Promise<void>;
    return settle(
      this.#runner.run('touch', async (knex, nowValue) => {
        checkSid(sid);
        checkSession(session);
        plan ??= this.#sessions.planTouch(sid, session);
        if (plan) await this.#sessions.touch(knex, sid, plan, nowValue);
      }),
      callback,
    ) as Promise<void>;
  }

  /**
   * Delete the session of `sid` (or of every sid in an array): the session id as the cookie carries it. Resolves the
   * number of rows deleted. With `hashSid`, an id that `ids` or `findWhere` gave (a stored hash) is no session id:
   * it fails with an {@link InvalidSessionError} pointing to `destroyWhere({ sid })`, instead of deleting nothing.
   */
  override destroy(sid: string | readonly string[], callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#runner.run('destroy', async (knex) => {
        const { keys, deleted } = Array.isArray(sid)
          ? await this.#sessions.destroyMany(knex, checkSids(sid))
          : await this.#sessions.destroy(knex, checkSid(sid));
        this.#emitLater('destroy', { sids: keys, deleted } satisfies DestroyEvent);
        return deleted;
      }),
      callback,
    );
  }

  /**
   * Every live session, as an array: the shape express-session documents for `all` and connect-session-knex 5
   * returned. The sessions carry no ids; {@link KnexStore.allById} gives them keyed by id.
   */
  override all(callback?: Callback<SessionData[]>): Promise<SessionData[] | undefined> {
    return settle(
      this.#runner.run('all', async (knex, now) => Object.values(await this.#sessions.live(knex, now))),
      callback,
    );
  }

  /**
   * Every live session keyed by its stored id (the sid, or its hash with `hashSid`): the shape of express-session's
   * MemoryStore `all`. Keys are own properties, so a sid such as `"__proto__"` is an ordinary key.
   */
  allById(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData> | undefined> {
    return settle(
      this.#runner.run('allById', (knex, now) => this.#sessions.live(knex, now)),
      callback,
    );
  }

  /**
   * Delete every session, live or expired, whose extra columns (the `columns` option) hold the filter's values: e.g.
   * `destroyWhere({ userId })` logs a user out everywhere. The key `sid` names one session by the id `ids` or
   * `findWhere` gave (the stored id: with `hashSid`, the hash), so `destroyWhere({ sid: found.sid, userId })` signs
   * out one device of that user and no one else's. Resolves the number of rows deleted. A filter that is empty, names
   * a column not declared in `columns`, holds a value that is not a string or finite number, or text a session id
   * could not hold either (over 255 characters, a NUL, a lone surrogate, a leading U+FEFF, a trailing space), or
   * throws when read, fails with an {@link InvalidFilterError} and deletes nothing.
   */
  destroyWhere(filter: SessionFilter, callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#runner.run('destroyWhere', async (knex) => {
        const where = this.#filter(filter);
        const deleted = await this.#sessions.destroyWhere(knex, where);
        this.#emitLater('destroy', { where, deleted } satisfies DestroyEvent);
        return deleted;
      }),
      callback,
    );
  }

  /**
   * The live sessions whose extra columns hold the filter's values, each with its stored id (the hash, with
   * `hashSid`), which `destroyWhere({ sid })` accepts. The filter's rules are those of {@link KnexStore.destroyWhere}.
   */
  findWhere(filter: SessionFilter, callback?: Callback<FoundSession[]>): Promise<FoundSession[] | undefined> {
    return settle(
      this.#runner.run('findWhere', (knex, now) => this.#sessions.find(knex, now, this.#filter(filter))),
      callback,
    );
  }

  /** The number of live sessions. */
  override length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#runner.run('length', (knex, now) => this.#sessions.count(knex, now)),
      callback,
    );
  }

  /** The stored ids of every live session (the hashes, with `hashSid`), which `destroyWhere({ sid })` accepts. */
  ids(callback?: Callback<string[]>): Promise<string[] | undefined> {
    return settle(
      this.#runner.run('ids', (knex, now) => this.#sessions.ids(knex, now)),
      callback,
    );
  }

  /**
   * A snapshot of the table (see {@link SessionStats}): live and expired counts, the earliest expiries, and the largest
   * session, which reads every row's session (`{ largest: false }` skips it).
   */
  stats(callback?: Callback<SessionStats>): Promise<SessionStats | undefined>;
  stats(options: StatsOptions, callback?: Callback<SessionStats>): Promise<SessionStats | undefined>;
  stats(
    options?: StatsOptions | Callback<SessionStats>,
    callback?: Callback<SessionStats>,
  ): Promise<SessionStats | undefined> {
    const [chosen, done] = typeof options === 'function' ? [undefined, options] : [options, callback];
    return settle(
      this.#runner.run('stats', (knex, now) =>
        collectStats(knex, this.#adapter, this.#table, this.#expiry.bind(knex, now), chosen),
      ),
      done,
    );
  }

  /** Delete every session, live or expired. Resolves the number of rows deleted. */
  override clear(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#runner.run('clear', (knex) => this.#sessions.clear(knex)),
      callback,
    );
  }

  /**
   * Delete expired sessions now, in batches of {@link PRUNE_BATCH_SIZE}. Resolves the number deleted. The background
   * prune calls this; a call while a prune is running joins it. Where the adapter has a prune lock, only one store
   * on the table deletes at a time: a store that finds the lock held skips the prune and resolves 0 (the `'prune'`
   * event, a {@link PruneEvent}, tells a skip from a prune that found nothing). After `close()` it fails with
   * {@link StoreClosedError}, and a prune running when `close()` is called stops after its current batch. Before its
   * first batch the prune guard looks for rows that are live on a second reading of their expiry (epoch seconds in an
   * `'epoch-ms'` column, say): finding one, it deletes nothing and fails with a {@link PruneGuardError}, which is also
   * emitted as `'error'` (see the README's "Prune safety").
   */
  prune(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.#pruner.prune(false), callback);
  }

  /**
   * Stop the prune, wait for the operations in flight, and destroy the knex instance if the store created it (an
   * application's own knex is left open). Later operations fail with {@link StoreClosedError}. Idempotent.
   */
  close(callback?: Callback<void>): Promise<void> {
    this.#closing ??= (async () => {
      this.#pruner.stop();
      await this.#runner.close();
      // Before the knex: what the fast path holds on its connections must be released while they are open.
      await this.#sessions.close().catch(noop);
      if (!this.#ownsKnex) return;
      try {
        await this.knex.destroy();
      } catch (error) {
        throw new DatabaseError('close', error);
      }
    })();
    return settle(this.#closing, callback) as Promise<void>;
  }

  /**
   * `operation` finished at once, when `attempt` can carry it out now (see `ImmediateWrites`): its promise, the callback
   * already queued. `undefined` when it cannot, having done nothing: the caller then runs it the ordinary way.
   */
  #now<T>(
    operation: string,
    attempt: (knex: Knex, now: () => Knex.Value) => T | Later | NothingSent,
    callback: Callback<T> | undefined,
  ): Promise<T | undefined> | undefined {
    let value: T | Later | NothingSent;
    try {
      value = this.#runner.now(operation, attempt);
    } catch (error) {
      return settleNow(true, error, callback);
    }
    if (value === LATER) return undefined;
    return settleNow(false, value === NOTHING_SENT ? undefined : value, callback);
  }

  /** The filter as column values, checked (see destroyWhere); `sid` becomes the sid column. */
  #filter(filter: unknown): Record<string, string> {
    return checkFilter(filter, this.#table.extraColumns, this.#table.sidColumn);
  }

  /**
   * Emit on a later tick, outside the store's promise chains, so that a listener that throws is the application's
   * own uncaught exception and never fails an operation. 'error' is emitted only to a listener (with none, it
   * would crash the process).
   */
  #emitLater(event: string, ...args: unknown[]): void {
    // Nothing to schedule for an event nobody listens to (most stores have no 'set' or 'prune-progress' listener).
    if (this.listenerCount(event) === 0) return;
    process.nextTick(() => this.emit(event, ...args));
  }
}
