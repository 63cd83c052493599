import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { Availability, type AvailabilityEvent } from './availability.js';
import { settle, type Callback } from './callback.js';
import { OPERATION_TIMEOUT_CODE, checkConnection, isCommonConnectionError } from './connection.js';
import { rowCount, type DialectAdapter, type SessionTable } from './dialect-adapter.js';
import {
  ConfigurationError,
  ConnectSessionKnexError,
  DatabaseError,
  InvalidSessionError,
  SessionTableMissingError,
  StoreClosedError,
} from './errors.js';
import { expiryOf } from './expiry.js';
import { LONE_SURROGATE, resolveOptions, type KnexStoreOptions, type ResolvedOptions } from './options.js';
import { SessionStatements } from './session-statements.js';
import { TouchThrottle } from './touch-throttle.js';

/** Rows deleted per statement by the sweep, so that no single DELETE holds locks on a huge table for long. */
export const PRUNE_BATCH_SIZE = 1000;
/** The longest session id the sid column (varchar(255)) holds. */
export const MAX_SID_LENGTH = 255;
/**
 * What a store emits as `'prune'` after each sweep that ran to its end: the rows it deleted, and whether it skipped
 * the sweep because another store on the same table held the sweep lock (then `deleted` is 0).
 */
export interface PruneEvent {
  readonly deleted: number;
  readonly skipped: boolean;
}

/** Sids per statement when destroying many at once (below every engine's bind-parameter limit). */
const DESTROY_CHUNK_SIZE = 500;

const noop = (): void => {};

/** A rejected promise already marked as handled, like every promise `ready` returns (it still rejects an awaiter). */
function rejected(error: unknown): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(noop);
  return promise;
}

function createSessionTable(options: ResolvedOptions): SessionTable {
  const { schemaName, tableName } = options;
  return Object.freeze({
    schemaName,
    tableName,
    sidColumn: options.sidFieldName,
    sessColumn: 'sess',
    expiredColumn: 'expired',
    displayName: schemaName ? `${schemaName}.${tableName}` : tableName,
    query: (knex: Knex | Knex.Transaction) => (schemaName ? knex.withSchema(schemaName).table(tableName) : knex.table(tableName)),
    schema: (knex: Knex) => (schemaName ? knex.schema.withSchema(schemaName) : knex.schema),
  });
}

function checkSid(sid: unknown): string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new InvalidSessionError(`a session id must be a non-empty string, got ${sid === '' ? 'an empty string' : typeof sid}`);
  }
  if (sid.length > MAX_SID_LENGTH) {
    throw new InvalidSessionError(`a session id must be at most ${MAX_SID_LENGTH} characters, got ${sid.length}`);
  }
  // Each rule below keeps a sid that some supported database would refuse or store as another sid from reaching any.
  if (sid.includes('\0')) throw new InvalidSessionError('a session id must not contain a NUL character');
  if (LONE_SURROGATE.test(sid)) {
    throw new InvalidSessionError('a session id must be well-formed Unicode (it holds a lone surrogate)');
  }
  if (sid.startsWith('\ufeff')) {
    throw new InvalidSessionError('a session id must not begin with U+FEFF (some drivers drop a leading byte-order mark)');
  }
  if (sid.endsWith(' ')) {
    throw new InvalidSessionError(
      'a session id must not end with a space (some databases compare text ignoring trailing spaces)',
    );
  }
  return sid;
}

function checkSession(session: unknown): SessionData {
  if (session === null || typeof session !== 'object' || Array.isArray(session)) {
    const kind = session === null ? 'null' : Array.isArray(session) ? 'an array' : typeof session;
    throw new InvalidSessionError(`a session must be an object, got ${kind}`);
  }
  return session as SessionData;
}

function serialise(session: SessionData): string {
  let json: unknown;
  try {
    json = JSON.stringify(session);
  } catch (error) {
    throw new InvalidSessionError(`the session cannot be serialised to JSON: ${(error as Error)?.message ?? error}`, {
      cause: error,
    });
  }
  if (typeof json !== 'string' || json[0] !== '{') {
    throw new InvalidSessionError('the session cannot be serialised to JSON: it does not serialise to an object');
  }
  return json;
}

function deserialise(value: unknown, sid: string): SessionData {
  const corrupt = (problem: string, cause?: unknown): InvalidSessionError =>
    new InvalidSessionError(
      `the stored session ${JSON.stringify(sid)} ${problem} (onCorruptSession: 'delete' treats such rows as missing)`,
      { cause, sid },
    );
  let parsed: unknown = value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString());
    } catch (error) {
      throw corrupt('is not valid JSON', error);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    // A driver may hand back SQL NULL and JSON null alike as null: both read as "null".
    const kind = parsed === null || parsed === undefined ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw corrupt(`is not a JSON object (it holds ${kind})`);
  }
  return parsed as SessionData;
}

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
  #ready: Promise<void> | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #pruning: Promise<number> | undefined;
  #closing: Promise<void> | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #availability: Availability;
  readonly #statements: SessionStatements;
  readonly #touches: TouchThrottle;

  constructor(options: KnexStoreOptions | undefined, adapter: DialectAdapter) {
    super();
    this.options = resolveOptions(options);
    this.#adapter = adapter;
    if (this.options.schemaName !== undefined && adapter.supportsSchema === false) {
      throw new ConfigurationError('schemaName', `is not supported by the ${adapter.name} adapter`);
    }
    this.#table = createSessionTable(this.options);
    adapter.validateTable?.(this.#table);
    if (this.options.knex) {
      this.knex = this.options.knex;
      this.#ownsKnex = false;
    } else if (adapter.createDefaultKnex) {
      this.knex = adapter.createDefaultKnex();
      this.#ownsKnex = true;
    } else {
      throw new ConfigurationError('knex', `is required: pass the knex instance of your ${adapter.name} database`);
    }
    const dialect = (this.knex.client as { dialect?: unknown }).dialect;
    if (adapter.dialects && typeof dialect === 'string' && !adapter.dialects.includes(dialect)) {
      throw new ConfigurationError('knex', `uses the ${dialect} dialect, but this store's adapter is for ${adapter.name}`);
    }
    this.#statements = new SessionStatements(adapter, this.#table, {
      enabled: this.options.fastPath,
      ownsKnex: this.#ownsKnex,
    });
    this.#touches = new TouchThrottle(this.options.touchAfter);
    this.#availability = new Availability({
      probe: () => this.#probe(),
      isConnectionError: (error) =>
        adapter.isConnectionError ? adapter.isConnectionError(error) : isCommonConnectionError(error),
      emit: (event: AvailabilityEvent) => this.#emitLater(event),
    });
    void this.#ensureReady();
    this.#scheduleSweep();
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
   * Settles when the table is known to exist (created if missing and allowed). A failed start-up is retried by the
   * next operation, so the store recovers once the database is back. Rejects with the start-up error (a
   * {@link DatabaseError} of operation `'ready'`, or {@link SessionTableMissingError}); after `close()`, a store that
   * is not ready rejects with {@link StoreClosedError}. Ignoring a rejection here is safe.
   */
  get ready(): Promise<void> {
    return this.#ensureReady();
  }

  /** The live session of `sid`, or `null` when there is none or it has expired. */
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null | undefined> {
    return settle(
      this.#run('get', async (knex, now) => {
        const row = await this.#statements.get(knex, checkSid(sid), now);
        return row.found ? this.#readSession(knex, row.value, sid) : null;
      }),
      callback,
    );
  }

  /** The session's expiry in ms, or `undefined` once its row is deleted because that expiry has already passed. */
  async #liveExpiry(knex: Knex, sid: string, session: SessionData, now: number): Promise<number | undefined> {
    const expires = expiryOf(session, now, this.options.ttl);
    if (expires > now) return expires;
    this.#touches.forget(sid);
    await this.#statements.remove(knex, sid);
    return undefined;
  }

  /** Insert or replace the session of `sid`. One whose expiry is already past is deleted instead. */
  override set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(
      this.#run('set', async (knex) => {
        checkSid(sid);
        const sess = serialise(checkSession(session));
        const now = Date.now();
        const expires = await this.#liveExpiry(knex, sid, session, now);
        if (expires === undefined) return;
        await this.#statements.upsert(knex, { sid, sess, expired: this.#adapter.encodeExpiry(expires, knex) });
        this.#touches.wrote(sid, now);
      }),
      callback,
    ) as Promise<void>;
  }

  /**
   * Extend a live session's expiry from its cookie (or the ttl). Never revives an expired session, and does nothing
   * with `disableTouch`.
   */
  override touch(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(
      this.#run('touch', async (knex, nowValue) => {
        checkSid(sid);
        checkSession(session);
        if (this.options.disableTouch) return;
        const now = Date.now();
        const expires = await this.#liveExpiry(knex, sid, session, now);
        if (expires === undefined) return;
        // Within touchAfter of this process's last expiry write for the sid: no statement at all.
        if (this.#touches.skip(sid, now)) return;
        const changed = await this.#statements.touch(knex, sid, this.#adapter.encodeExpiry(expires, knex), nowValue);
        if (changed > 0) this.#touches.wrote(sid, now);
      }),
      callback,
    ) as Promise<void>;
  }

  /** Delete the session of `sid` (or of every sid in an array). Resolves the number of rows deleted. */
  override destroy(sid: string | readonly string[], callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('destroy', async (knex) => {
        const t = this.#table;
        if (!Array.isArray(sid)) {
          const one = checkSid(sid);
          this.#touches.forget(one);
          return this.#statements.remove(knex, one);
        }
        const sids = sid.map(checkSid);
        for (const one of sids) this.#touches.forget(one);
        let deleted = 0;
        for (let i = 0; i < sids.length; i += DESTROY_CHUNK_SIZE) {
          deleted += rowCount(await t.query(knex).whereIn(t.sidColumn, sids.slice(i, i + DESTROY_CHUNK_SIZE)).del());
        }
        return deleted;
      }),
      callback,
    );
  }

  /** Every live session, keyed by sid (the shape of express-session's MemoryStore). */
  override all(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData> | undefined> {
    return settle(
      this.#run('all', (knex, now) => this.#liveSessions(knex, now)),
      callback,
    );
  }

  /** The number of live sessions. */
  override length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('length', async (knex, now) => {
        if (this.options.onCorruptSession === 'delete') return Object.keys(await this.#liveSessions(knex, now)).length;
        const t = this.#table;
        const row = await t.query(knex).count({ n: t.sidColumn }).where(t.expiredColumn, '>', now).first();
        return Number(row?.n ?? 0);
      }),
      callback,
    );
  }

  /** The ids of every live session. */
  ids(callback?: Callback<string[]>): Promise<string[] | undefined> {
    return settle(
      this.#run('ids', async (knex, now) => {
        if (this.options.onCorruptSession === 'delete') return Object.keys(await this.#liveSessions(knex, now));
        const t = this.#table;
        const sids: unknown[] = await t.query(knex).where(t.expiredColumn, '>', now).pluck(t.sidColumn);
        return sids.map(String);
      }),
      callback,
    );
  }

  /** Delete every session, live or expired. Resolves the number of rows deleted. */
  override clear(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('clear', async (knex) => rowCount(await this.#table.query(knex).del())),
      callback,
    );
  }

  /**
   * Delete expired sessions now, in batches of {@link PRUNE_BATCH_SIZE}. Resolves the number deleted. The background
   * sweep calls this; a call while a prune is running joins it. Where the adapter has a sweep lock, only one store
   * on the table sweeps at a time: a store that finds the lock held skips the sweep and resolves 0 (the `'prune'`
   * event, a {@link PruneEvent}, tells a skip from a sweep that found nothing). After `close()` it fails with
   * {@link StoreClosedError}, and a prune running when `close()` is called stops after its current batch.
   */
  prune(callback?: Callback<number>): Promise<number | undefined> {
    // Only an open store's prune may be joined: after close() every call fails alike.
    if (this.#closing) return settle(Promise.reject(new StoreClosedError('prune')), callback);
    this.#pruning ??= this.#run('prune', (knex) => this.#sweep(knex)).finally(() => {
      this.#pruning = undefined;
    });
    return settle(this.#pruning, callback);
  }

  /**
   * Stop the sweep, wait for the operations in flight, and destroy the knex instance if the store created it (an
   * application's own knex is left open). Later operations fail with {@link StoreClosedError}. Idempotent.
   */
  close(callback?: Callback<void>): Promise<void> {
    this.#closing ??= (async () => {
      clearTimeout(this.#sweepTimer);
      this.#sweepTimer = undefined;
      // The bootstrap and an availability probe are no operations in #inflight, yet they query too: the knex must
      // outlive them.
      await Promise.allSettled([...this.#inflight, this.#ready, this.#availability.stop()]);
      // Before the knex: what the fast path holds on its connections must be released while they are open.
      await this.#statements.close().catch(noop);
      if (!this.#ownsKnex) return;
      try {
        await this.knex.destroy();
      } catch (error) {
        throw new DatabaseError('close', error);
      }
    })();
    return settle(this.#closing, callback) as Promise<void>;
  }

  #ensureReady(): Promise<void> {
    if (!this.#ready) {
      if (this.#closing) return rejected(new StoreClosedError('ready'));
      const ready = this.#bootstrap().catch((error: unknown) => {
        this.#ready = undefined;
        throw error instanceof ConnectSessionKnexError ? error : new DatabaseError('ready', error);
      });
      // Also marks the rejection handled: the start-up's outcome is evidence of availability like any operation's.
      ready.then(
        () => this.#availability.record(),
        (error: unknown) => this.#availability.record(error),
      );
      this.#ready = ready;
    }
    return this.#ready;
  }

  async #bootstrap(): Promise<void> {
    const t = this.#table;
    if (await this.#adapter.hasTable(this.knex, t)) return;
    if (!this.options.createTable) throw new SessionTableMissingError(t.displayName);
    try {
      await t.schema(this.knex).createTable(t.tableName, (builder) => this.#adapter.defineTable(builder, t));
    } catch (error) {
      // Another process may have created it first: that is success, not failure. If even the check fails, the
      // creation's error is the one worth reporting.
      if (await this.#adapter.hasTable(this.knex, t).catch(() => false)) return;
      throw error;
    }
  }

  /** Every live session keyed by sid; corrupt rows fail the read or, with onCorruptSession 'delete', are deleted. */
  async #liveSessions(knex: Knex, now: Knex.Value): Promise<Record<string, SessionData>> {
    const t = this.#table;
    const rows: Record<string, unknown>[] = await t
      .query(knex)
      .select(t.sidColumn, t.sessColumn)
      .where(t.expiredColumn, '>', now);
    const sessions: Record<string, SessionData> = {};
    const corrupt: string[] = [];
    for (const row of rows) {
      const id = String(row[t.sidColumn]);
      const session = this.#decode(row[t.sessColumn], id);
      if (!session) {
        corrupt.push(id);
        continue;
      }
      // defineProperty, so that a sid such as "__proto__" is an ordinary key and never a prototype.
      Object.defineProperty(sessions, id, { value: session, enumerable: true, writable: true, configurable: true });
    }
    for (let i = 0; i < corrupt.length; i += DESTROY_CHUNK_SIZE) {
      await t.query(knex).whereIn(t.sidColumn, corrupt.slice(i, i + DESTROY_CHUNK_SIZE)).del();
    }
    return sessions;
  }

  /** One stored session as `get` returns it: a corrupt row either fails the read or is deleted and reads as none. */
  async #readSession(knex: Knex, value: unknown, sid: string): Promise<SessionData | null> {
    const session = this.#decode(value, sid);
    if (session) return session;
    // A set racing this read could be deleted with the corrupt row; that costs one session, as the corrupt row did.
    await this.#table.query(knex).where(this.#table.sidColumn, sid).del();
    return null;
  }

  /** The stored session, or `undefined` for a corrupt row when onCorruptSession is 'delete' (else it throws). */
  #decode(value: unknown, sid: string): SessionData | undefined {
    try {
      return deserialise(value, sid);
    } catch (error) {
      if (this.options.onCorruptSession === 'delete') return undefined;
      throw error;
    }
  }

  /**
   * The sweep, under the adapter's lock so that of several stores on one table only one sweeps at a time; the others
   * skip it and resolve 0. Emits `'prune'` with `{ deleted, skipped }` either way.
   */
  async #sweep(knex: Knex): Promise<number> {
    let deleted = 0;
    const run = async (locked: Knex): Promise<void> => {
      deleted = await this.#deleteExpired(locked);
    };
    const ran = this.#adapter.withSweepLock
      ? await this.#adapter.withSweepLock(knex, this.#table, run)
      : await run(knex).then(() => true);
    this.#emitLater('prune', { deleted, skipped: !ran } satisfies PruneEvent);
    return deleted;
  }

  /**
   * Whether the database answers, for the availability events. With a pool of several connections, by opening a
   * connection of its own outside the pool (within the pool's acquire timeout): a pool that is merely busy (every
   * connection taken, by slow queries or a burst of requests) is then no outage. A pool of one connection is an
   * embedded database's, where a second connection is no option: there, by asking for the table through the pool.
   * After an answer, a start-up that failed is retried at once, so that the table exists before requests return.
   */
  async #probe(): Promise<void> {
    const pool = (this.knex.client as { pool?: { max?: unknown; acquireTimeoutMillis?: unknown } }).pool;
    if (typeof pool?.max === 'number' && pool.max > 1) {
      const timeout = Number(pool.acquireTimeoutMillis);
      await checkConnection(this.knex, Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000);
      void this.#ensureReady();
      return;
    }
    await this.#ensureReady();
    await this.#adapter.hasTable(this.knex, this.#table);
  }

  /**
   * Emit on a later tick, outside the store's promise chains, so that a listener that throws is the application's
   * own uncaught exception and never fails an operation. The store never emits 'error' (with no listener, that
   * would crash the process).
   */
  #emitLater(event: string, ...args: unknown[]): void {
    process.nextTick(() => this.emit(event, ...args));
  }

  /** Delete expired rows batch by batch until a batch comes back short or the store is closing. */
  async #deleteExpired(knex: Knex): Promise<number> {
    let total = this.options.onCorruptSession === 'delete' ? await this.#deleteWithoutExpiry(knex) : 0;
    for (;;) {
      const now = this.#adapter.encodeExpiry(Date.now(), this.knex);
      const deleted = await this.#adapter.deleteExpired(knex, this.#table, now, PRUNE_BATCH_SIZE);
      if (deleted > 0) total += deleted;
      // Negated, so that a count that is no number (an adapter's bug) ends the loop instead of spinning forever.
      if (!(deleted >= PRUNE_BATCH_SIZE) || this.#closing) return total;
    }
  }

  /**
   * Delete rows whose expiry is NULL, which only a table made by hand allows: such a row is never live (no comparison
   * with NULL holds) and no expiry ever sweeps it, so with onCorruptSession 'delete' the sweep deletes it as the
   * corrupt row it is. Batched like the sweep; one indexed query when there is none.
   */
  async #deleteWithoutExpiry(knex: Knex): Promise<number> {
    const t = this.#table;
    let total = 0;
    for (;;) {
      const sids: string[] = await t
        .query(knex)
        .whereNull(t.expiredColumn)
        .limit(DESTROY_CHUNK_SIZE)
        .pluck(t.sidColumn);
      if (sids.length === 0) return total;
      // whereNull again, so that a row given an expiry since the select is live and stays.
      total += rowCount(await t.query(knex).whereIn(t.sidColumn, sids).whereNull(t.expiredColumn).del());
      if (sids.length < DESTROY_CHUNK_SIZE || this.#closing) return total;
    }
  }

  /**
   * Run one operation: refuse it after close, wait for the table, bind "now", and name the operation in errors. Every
   * operation goes through here, whatever runs its statements: here it is bounded by operationTimeout, and its
   * outcome feeds the availability events.
   */
  #run<T>(operation: string, body: (knex: Knex, now: Knex.Value) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new StoreClosedError(operation));
    const run = (async () => {
      try {
        await this.#ensureReady();
        return await body(this.knex, this.#adapter.encodeExpiry(Date.now(), this.knex));
      } catch (error) {
        throw error instanceof ConnectSessionKnexError ? error : new DatabaseError(operation, error);
      }
    })();
    const bounded = operation === 'prune' ? run : this.#bounded(operation, run);
    this.#inflight.add(bounded);
    bounded.then(
      () => {
        this.#inflight.delete(bounded);
        this.#availability.record();
      },
      (error: unknown) => {
        this.#inflight.delete(bounded);
        this.#availability.record(error);
      },
    );
    return bounded;
  }

  /**
   * `run`, or its failure once `operationTimeout` has passed without an answer. The statement is left to finish (or
   * fail) on its own, unobserved; close() does not wait for it.
   */
  #bounded<T>(operation: string, run: Promise<T>): Promise<T> {
    const limit = this.options.operationTimeout;
    if (!(limit > 0)) return run;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const cause = Object.assign(new Error(`the database did not answer within ${limit} ms (operationTimeout)`), {
          code: OPERATION_TIMEOUT_CODE,
        });
        reject(new DatabaseError(operation, cause));
      }, limit);
    });
    return Promise.race([run, expired]).finally(() => clearTimeout(timer));
  }

  #scheduleSweep(): void {
    const interval = this.options.cleanupInterval;
    if (interval <= 0 || this.#closing) return;
    // 50–150 % of the interval, so that instances started together do not sweep together.
    const delay = Math.round(interval * (0.5 + Math.random()));
    this.#sweepTimer = setTimeout(() => {
      this.#sweepTimer = undefined;
      this.prune().then(
        () => this.#scheduleSweep(),
        (error: unknown) => {
          if (!(error instanceof StoreClosedError)) process.nextTick(this.options.onDbCleanupError, error);
          this.#scheduleSweep();
        },
      );
    }, delay);
    this.#sweepTimer.unref();
  }
}
