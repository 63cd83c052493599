import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { settle, type Callback } from './callback.js';
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
import { resolveOptions, type KnexStoreOptions, type ResolvedOptions } from './options.js';

/** Rows deleted per statement by the sweep, so that no single DELETE holds locks on a huge table for long. */
export const PRUNE_BATCH_SIZE = 1000;
/** The longest session id the sid column (varchar(255)) holds. */
export const MAX_SID_LENGTH = 255;
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
  let parsed: unknown = value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString());
    } catch (error) {
      throw new InvalidSessionError(`the stored session "${sid}" is not valid JSON`, { cause: error });
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidSessionError(`the stored session "${sid}" is not a JSON object`);
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

  constructor(options: KnexStoreOptions | undefined, adapter: DialectAdapter) {
    super();
    this.options = resolveOptions(options);
    this.#adapter = adapter;
    if (this.options.schemaName !== undefined && adapter.supportsSchema === false) {
      throw new ConfigurationError('schemaName', `is not supported by the ${adapter.name} adapter`);
    }
    this.#table = createSessionTable(this.options);
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
        const t = this.#table;
        const row = await t
          .query(knex)
          .select(t.sessColumn)
          .where(t.sidColumn, checkSid(sid))
          .andWhere(t.expiredColumn, '>', now)
          .first();
        return row ? deserialise(row[t.sessColumn], sid) : null;
      }),
      callback,
    );
  }

  /** Insert or replace the session of `sid`. One whose expiry is already past is deleted instead. */
  override set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(
      this.#run('set', async (knex) => {
        checkSid(sid);
        const sess = serialise(checkSession(session));
        const now = Date.now();
        const expires = expiryOf(session, now, this.options.ttl);
        if (expires <= now) {
          await this.#table.query(knex).where(this.#table.sidColumn, sid).del();
          return;
        }
        await this.#adapter.upsert(knex, this.#table, { sid, sess, expired: this.#adapter.encodeExpiry(expires, knex) });
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
        const expires = expiryOf(session, now, this.options.ttl);
        const t = this.#table;
        if (expires <= now) {
          await t.query(knex).where(t.sidColumn, sid).del();
          return;
        }
        await t
          .query(knex)
          .where(t.sidColumn, sid)
          .andWhere(t.expiredColumn, '>', nowValue)
          .update({ [t.expiredColumn]: this.#adapter.encodeExpiry(expires, knex) });
      }),
      callback,
    ) as Promise<void>;
  }

  /** Delete the session of `sid` (or of every sid in an array). Resolves the number of rows deleted. */
  override destroy(sid: string | readonly string[], callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('destroy', async (knex) => {
        const t = this.#table;
        if (!Array.isArray(sid)) return rowCount(await t.query(knex).where(t.sidColumn, checkSid(sid)).del());
        const sids = sid.map(checkSid);
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
      this.#run('all', async (knex, now) => {
        const t = this.#table;
        const rows: Record<string, unknown>[] = await t
          .query(knex)
          .select(t.sidColumn, t.sessColumn)
          .where(t.expiredColumn, '>', now);
        const sessions: Record<string, SessionData> = {};
        for (const row of rows) {
          const id = String(row[t.sidColumn]);
          // defineProperty, so that a sid such as "__proto__" is an ordinary key and never a prototype.
          Object.defineProperty(sessions, id, {
            value: deserialise(row[t.sessColumn], id),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return sessions;
      }),
      callback,
    );
  }

  /** The number of live sessions. */
  override length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('length', async (knex, now) => {
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
   * sweep calls this; a call while a prune is running joins it. After `close()` it fails with
   * {@link StoreClosedError}, and a prune running when `close()` is called stops after its current batch.
   */
  prune(callback?: Callback<number>): Promise<number | undefined> {
    // Only an open store's prune may be joined: after close() every call fails alike.
    if (this.#closing) return settle(Promise.reject(new StoreClosedError('prune')), callback);
    this.#pruning ??= this.#run('prune', (knex) => this.#deleteExpired(knex)).finally(() => {
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
      // The bootstrap is no operation in #inflight, yet it queries too: the knex must outlive it.
      await Promise.allSettled([...this.#inflight, this.#ready]);
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
      ready.catch(noop);
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

  /** Delete expired rows batch by batch until a batch comes back short or the store is closing. */
  async #deleteExpired(knex: Knex): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.#adapter.encodeExpiry(Date.now(), this.knex);
      const deleted = await this.#adapter.deleteExpired(knex, this.#table, now, PRUNE_BATCH_SIZE);
      if (deleted > 0) total += deleted;
      // Negated, so that a count that is no number (an adapter's bug) ends the loop instead of spinning forever.
      if (!(deleted >= PRUNE_BATCH_SIZE) || this.#closing) return total;
    }
  }

  /** Run one operation: refuse it after close, wait for the table, bind "now", and name the operation in errors. */
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
    this.#inflight.add(run);
    const forget = (): void => {
      this.#inflight.delete(run);
    };
    run.then(forget, forget);
    return run;
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
