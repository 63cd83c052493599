import { createHash, createHmac } from 'node:crypto';
import session from 'express-session';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { Availability, type AvailabilityEvent } from './availability.js';
import { settle, type Callback } from './callback.js';
import { OPERATION_TIMEOUT_CODE, checkConnection, isCommonConnectionError } from './connection.js';
import { rowCount, type DialectAdapter, type SessionRow, type SessionTable } from './dialect-adapter.js';
import {
  ConfigurationError,
  ConnectSessionKnexError,
  DatabaseError,
  InvalidFilterError,
  InvalidSessionError,
  SessionTableMissingError,
  StoreClosedError,
  type SweepGuardError,
} from './errors.js';
import { expiryOf } from './expiry.js';
import { checkExpiryColumn } from './expiry-column.js';
import { checkSecondReading, measureShare, shareError } from './sweep-guard.js';
import { resolveOptions, type KnexStoreOptions, type ResolvedOptions } from './options.js';
import { MAX_STORED_TEXT_LENGTH, storedTextProblem } from './stored-text.js';
import type { Serializer } from './serializer.js';
import { ReadCoalescer } from './read-coalescer.js';
import { SessionStatements } from './session-statements.js';
import { withStoredExpiry } from './stored-expiry.js';
import { sweepBatch } from './sweep-batch.js';
import { isConflict, retryConflicts } from './retry.js';
import { TouchThrottle } from './touch-throttle.js';
import { addMissingColumns, adapterTable, checkDialect, checkTableShape, ensureSessionTable } from './table-setup.js';
import { collectStats, type SessionStats, type StatsOptions } from './stats.js';

/** Rows deleted per statement by the sweep, so that no single DELETE holds locks on a huge table for long. */
export const PRUNE_BATCH_SIZE = 1000;
/** The longest rest between two batches of the sweep, so that one slow batch cannot hold `close()` up for long. */
const MAX_SWEEP_REST_MS = 1000;
/** The longest session id the sid column (varchar(255)) holds. */
export const MAX_SID_LENGTH = MAX_STORED_TEXT_LENGTH;
/**
 * What a store emits as `'prune'` after each sweep that ran to its end: the rows it deleted, and whether it skipped
 * the sweep because another store on the same table held the sweep lock (then it deleted no expired row) or, where
 * that lock does not reach (a multi-primary cluster's nodes each hold their own), because its delete collided with
 * another store's (then `deleted` counts the batches done before).
 */
export interface PruneEvent {
  readonly deleted: number;
  readonly skipped: boolean;
  /** How long the sweep took, lock included, in milliseconds. */
  readonly ms: number;
}

/** What a store emits as `'prune-progress'` after each batch of a sweep: the rows deleted so far. */
export interface PruneProgressEvent {
  readonly deleted: number;
}

/** What a store emits as `'set'` after a session is written: its stored id (the hash, with `hashSid`) and expiry. */
export interface SetEvent {
  readonly sid: string;
  readonly expires: Date;
}

/**
 * What a store emits as `'destroy'` after sessions are deleted on request: the stored ids given to `destroy`, or the
 * filter given to `destroyWhere`, and the rows deleted.
 */
export interface DestroyEvent {
  readonly sids?: readonly string[];
  readonly where?: Readonly<Record<string, string>>;
  readonly deleted: number;
}

/** A filter on the extra columns, and `sid` for a stored id a listing gave: every named column must hold the value. */
export type SessionFilter = Readonly<Record<string, string | number>>;

/** One session `findWhere` found: its stored id and the session. */
export interface FoundSession {
  /** The stored id (with `hashSid`, the hash, not the cookie's sid): pass it to `destroyWhere({ sid })` to revoke. */
  readonly sid: string;
  readonly session: SessionData;
}

/** The filter key that names a session by the id a listing gave (`ids`, `findWhere`): its stored id. */
const STORED_ID_KEY = 'sid';

/** A stored id as `hashSid` makes it: 64 lowercase hex characters (SHA-256 or HMAC-SHA-256). */
const HASHED_ID = /^[0-9a-f]{64}$/;


/** Sids per statement when destroying many at once (below every engine's bind-parameter limit). */
const DESTROY_CHUNK_SIZE = 500;

const noop = (): void => {};

/** A rejected promise already marked as handled, like every promise `ready` returns (it still rejects an awaiter). */
function rejected(error: unknown): Promise<never> {
  const promise = Promise.reject(error);
  promise.catch(noop);
  return promise;
}

function checkSid(sid: unknown): string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new InvalidSessionError(`a session id must be a non-empty string, got ${sid === '' ? 'an empty string' : typeof sid}`);
  }
  const problem = storedTextProblem(sid);
  if (problem) throw new InvalidSessionError(`a session id ${problem}`);
  return sid;
}

function checkSession(session: unknown): SessionData {
  const kind = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
  if (session === null || typeof session !== 'object' || Array.isArray(session)) {
    throw new InvalidSessionError(`a session must be an object, got ${kind(session)}`);
  }
  // Whatever the serializer: a session whose toJSON gives no object would be stored, then refused by every read.
  let json: unknown = session;
  try {
    const toJSON = (session as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') json = toJSON.call(session, '');
  } catch (error) {
    throw new InvalidSessionError(`the session's toJSON threw: ${reasonOf(error)}`, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new InvalidSessionError(`a session must be an object, but its toJSON gives ${kind(json)}`);
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

/** An error's message for another message: without the prefix when it is one of the store's own errors. */
function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return error instanceof ConnectSessionKnexError ? message.replace(/^\[connect-session-knex\] /, '') : message;
}

/** The session stored under the id `sid` through the application's serializer, which must give text. */
async function serialiseWith(serializer: Serializer, session: SessionData, sid: string): Promise<string> {
  let text: unknown;
  try {
    text = await serializer.stringify(session, { sid });
  } catch (error) {
    throw new InvalidSessionError(`the serializer's stringify failed: ${reasonOf(error)}`, {
      cause: error,
    });
  }
  if (typeof text !== 'string') {
    throw new InvalidSessionError(`the serializer's stringify must return a string, got ${text === null ? 'null' : typeof text}`);
  }
  return text;
}

function corruptRow(sid: string, problem: string, cause?: unknown): InvalidSessionError {
  return new InvalidSessionError(
    `the stored session ${JSON.stringify(sid)} ${problem} (onCorruptSession: 'delete' treats such rows as missing)`,
    { cause, sid },
  );
}

/** A stored value through the application's serializer: text as stored (a driver's parsed JSON, back to its text). */
async function deserialiseWith(serializer: Serializer, value: unknown, sid: string): Promise<SessionData> {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (Buffer.isBuffer(value)) text = value.toString();
  else if (value !== null && typeof value === 'object') text = JSON.stringify(value);
  else throw corruptRow(sid, `holds no text (it holds ${value === null || value === undefined ? 'null' : `a ${typeof value}`})`);
  let parsed: unknown;
  try {
    parsed = await serializer.parse(text, { sid });
  } catch (error) {
    throw corruptRow(sid, `cannot be read by the serializer: ${reasonOf(error)}`, error);
  }
  return checkParsed(parsed, sid);
}

function deserialise(value: unknown, sid: string): SessionData {
  let parsed: unknown = value;
  if (typeof value === 'string' || Buffer.isBuffer(value)) {
    try {
      parsed = JSON.parse(value.toString());
    } catch (error) {
      throw corruptRow(sid, 'is not valid JSON', error);
    }
  }
  return checkParsed(parsed, sid);
}

function checkParsed(parsed: unknown, sid: string): SessionData {
  const corrupt = (problem: string): InvalidSessionError => corruptRow(sid, problem);
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
  /** When a sweep of this store last deleted more than `sweepMaxShare` of the table (see `#guardSweep`). */
  #lastLargeSweep: number | undefined;
  #closing: Promise<void> | undefined;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #availability: Availability;
  readonly #statements: SessionStatements;
  readonly #touches: TouchThrottle;
  /** With `coalesceReads`: the reads of one event-loop turn, sent as one statement. */
  readonly #reads: ReadCoalescer | undefined;

  constructor(options: KnexStoreOptions | undefined, adapter: DialectAdapter) {
    super();
    this.options = resolveOptions(options);
    this.#adapter = adapter;
    this.#table = adapterTable(adapter, this.options);
    if (this.options.knex) {
      this.knex = this.options.knex;
      this.#ownsKnex = false;
    } else if (adapter.createDefaultKnex) {
      this.knex = adapter.createDefaultKnex();
      this.#ownsKnex = true;
    } else {
      throw new ConfigurationError('knex', `is required: pass the knex instance of your ${adapter.name} database`);
    }
    checkDialect(this.knex, adapter);
    this.#statements = new SessionStatements(adapter, this.#table, {
      enabled: this.options.fastPath,
      ownsKnex: this.#ownsKnex,
      bindExpiry: (knex, value) => this.#bound(knex, value),
    });
    this.#touches = new TouchThrottle(this.options.touchAfter);
    this.#reads = this.options.coalesceReads
      ? new ReadCoalescer(
          (sid) => this.#retry(() => this.#statements.get(this.knex, sid, this.#encodeExpiry(Date.now()))),
          (sids) => this.#retry(() => this.#statements.getMany(this.knex, sids, this.#encodeExpiry(Date.now()))),
        )
      : undefined;
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
   * The timer of the next background sweep, or `null` when none is scheduled (`cleanupInterval: 0`, a sweep running,
   * or after `close()`): connect-session-knex 5's handle, so that its `clearTimeout(store.nextDbCleanup)` still stops
   * the sweep.
   *
   * @deprecated Call `close()`, which also waits for the operations in flight.
   */
  get nextDbCleanup(): NodeJS.Timeout | null {
    return this.#sweepTimer ?? null;
  }

  /**
   * Settles when the table is known to exist (created if missing and allowed). A failed start-up is retried by the
   * next operation, so the store recovers once the database is back. Rejects with the start-up error (a
   * {@link DatabaseError} of operation `'ready'`, {@link SessionTableMissingError}, or {@link SessionTableShapeError} for an expiry column
   * that holds what expiryEncoding does not say, and with `createTable: false` for a table that lacks a column); after `close()`, a store that is not ready rejects
   * with {@link StoreClosedError}. Ignoring a rejection here is safe.
   */
  get ready(): Promise<void> {
    return this.#ensureReady();
  }

  /** The live session of `sid`, or `null` when there is none or it has expired. */
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null | undefined> {
    return settle(
      this.#run('get', async (knex, now) => {
        const key = this.#key(checkSid(sid));
        const row = this.#reads
          ? await this.#reads.read(key)
          : await this.#retry(() => this.#statements.get(knex, key, now));
        // The expiry column is the truth after a touch, which moves it and leaves the stored cookie as it was.
        return row.found ? withStoredExpiry(await this.#readSession(knex, row.value, key), row.expires) : null;
      }),
      callback,
    );
  }

  /** The session's expiry in ms, or `undefined` once its row is deleted because that expiry has already passed. */
  async #liveExpiry(knex: Knex, sid: string, session: SessionData, now: number): Promise<number | undefined> {
    const expires = expiryOf(session, now, this.options.ttl);
    if (expires > now) return expires;
    this.#touches.forget(sid);
    await this.#retry(() => this.#statements.remove(knex, this.#key(sid)));
    return undefined;
  }

  /** The id as stored: the sid itself, or its hash with the `hashSid` option. */
  #key(sid: string): string {
    const secret = this.options.hashSid;
    if (secret === false) return sid;
    return (secret === true ? createHash('sha256') : createHmac('sha256', secret)).update(sid, 'utf8').digest('hex');
  }

  /** The expiry of `ms` as the expiry column holds it: the dialect's date-time value, or epoch seconds or ms. */
  #encodeExpiry(ms: number): Knex.Value {
    switch (this.#table.expiryEncoding) {
      case 'epoch-seconds':
        return Math.floor(ms / 1000);
      case 'epoch-ms':
        return Math.floor(ms);
      default:
        return this.#adapter.encodeExpiry(ms, this.knex);
    }
  }

  /** The extra columns' values for `session`, each checked: text of at most 255 characters, or null. */
  #extraValues(session: SessionData): Array<string | null> {
    return this.options.columns.map(({ name, value }) => {
      let result: unknown;
      try {
        result = value(session);
      } catch (error) {
        throw new InvalidSessionError(`the columns.${name} function threw: ${(error as Error)?.message ?? error}`, {
          cause: error,
        });
      }
      if (result === null || result === undefined) return null;
      if (typeof result === 'number' && Number.isFinite(result)) return String(result);
      // A trailing space is refused as in a sid: some databases compare text ignoring it (PAD SPACE collations), so
      // 'ada ' would be found and deleted as 'ada' there.
      const textProblem = typeof result === 'string' ? storedTextProblem(result) : undefined;
      if (typeof result === 'string' && textProblem === undefined) return result;
      const problem =
        typeof result === 'string'
          ? `a string that ${textProblem}`
          : typeof result === 'number'
            ? `the number ${result}`
            : Array.isArray(result)
              ? 'an array'
              : typeof result === 'object'
                ? 'an object'
                : `a ${typeof result}`;
      throw new InvalidSessionError(`the columns.${name} function must return a string, a finite number or null, got ${problem}`);
    });
  }

  /** Insert or replace the session of `sid`. One whose expiry is already past is deleted instead. */
  override set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> {
    return settle(
      this.#run('set', async (knex) => {
        checkSid(sid);
        checkSession(session);
        const serializer = this.options.serializer;
        const key = this.#key(sid);
        const sess = serializer ? await serialiseWith(serializer, session, key) : serialise(session);
        const extra = this.#extraValues(session);
        const now = Date.now();
        const expires = await this.#liveExpiry(knex, sid, session, now);
        if (expires === undefined) return;
        const row: SessionRow = { sid: key, sess, expired: this.#encodeExpiry(expires), extra };
        await this.#retry(() => this.#statements.upsert(knex, row));
        this.#touches.wrote(sid, now);
        this.#emitLater('set', { sid: row.sid, expires: new Date(expires) } satisfies SetEvent);
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
        const expired = this.#encodeExpiry(expires);
        const changed = await this.#retry(() => this.#statements.touch(knex, this.#key(sid), expired, nowValue));
        if (changed > 0) this.#touches.wrote(sid, now);
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
      this.#run('destroy', async (knex) => {
        const t = this.#table;
        if (!Array.isArray(sid)) {
          const one = checkSid(sid);
          this.#touches.forget(one);
          const key = this.#key(one);
          const deleted = await this.#retry(() => this.#statements.remove(knex, key));
          // Only when nothing was deleted, so that a sid that merely looks like a hash costs nothing more.
          if (deleted === 0) await this.#refuseStoredIds(knex, [one]);
          this.#emitLater('destroy', { sids: [key], deleted } satisfies DestroyEvent);
          return deleted;
        }
        // An index loop, not map: map skips the holes of a sparse array, which would reach the database as undefined.
        const sids: string[] = [];
        for (let i = 0; i < sid.length; i += 1) {
          try {
            sids.push(checkSid(sid[i]));
          } catch (error) {
            throw new InvalidSessionError(`destroy's array at [${i}]: ${reasonOf(error)}`, { cause: error });
          }
        }
        // Before deleting anything: a mistaken array must not be half carried out.
        await this.#refuseStoredIds(knex, sids);
        for (const one of sids) this.#touches.forget(one);
        const keys = sids.map((one) => this.#key(one));
        let deleted = 0;
        for (let i = 0; i < keys.length; i += DESTROY_CHUNK_SIZE) {
          const chunk = keys.slice(i, i + DESTROY_CHUNK_SIZE);
          deleted += rowCount(await this.#retry(() => t.query(knex).whereIn(t.sidColumn, chunk).del()));
        }
        this.#emitLater('destroy', { sids: keys, deleted } satisfies DestroyEvent);
        return deleted;
      }),
      callback,
    );
  }

  /**
   * With `hashSid`, refuse the values among `sids` that are not session ids but stored ids a listing gave: 64 hex
   * characters naming a row as they are. Hashing them again would match nothing, and `destroy` would report success
   * while the session stays valid. A sid that looks like a hash but names no row passes (a `genid` may make such sids).
   */
  async #refuseStoredIds(knex: Knex, sids: readonly string[]): Promise<void> {
    if (this.options.hashSid === false) return;
    const candidates = sids.filter((one) => HASHED_ID.test(one));
    if (candidates.length === 0) return;
    const t = this.#table;
    const found = await t.query(knex).whereIn(t.sidColumn, candidates.slice(0, DESTROY_CHUNK_SIZE)).first(t.sidColumn);
    if (found === undefined) return;
    throw new InvalidSessionError(
      'destroy() takes the session id a cookie carries, but was given a stored id (the hash that ids() and findWhere ' +
        'give with hashSid), which it would hash again and never find: to delete by that id, use destroyWhere({ sid })',
    );
  }

  /**
   * Every live session, as an array: the shape express-session documents for `all` and connect-session-knex 5
   * returned. The sessions carry no ids; {@link KnexStore.allById} gives them keyed by id.
   */
  override all(callback?: Callback<SessionData[]>): Promise<SessionData[] | undefined> {
    return settle(
      this.#run('all', async (knex, now) => Object.values(await this.#liveSessions(knex, now))),
      callback,
    );
  }

  /**
   * Every live session keyed by its stored id (the sid, or its hash with `hashSid`): the shape of express-session's
   * MemoryStore `all`. Keys are own properties, so a sid such as `"__proto__"` is an ordinary key.
   */
  allById(callback?: Callback<Record<string, SessionData>>): Promise<Record<string, SessionData> | undefined> {
    return settle(
      this.#run('allById', (knex, now) => this.#liveSessions(knex, now)),
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
      this.#run('destroyWhere', async (knex) => {
        const where = this.#filter(filter);
        const deleted = rowCount(await this.#retry(() => this.#table.query(knex).where(where).del()));
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
      this.#run('findWhere', async (knex, now) => {
        const where = this.#filter(filter);
        const sessions = await this.#liveSessions(knex, now, (query) => query.where(where));
        return Object.keys(sessions).map((sid) => ({ sid, session: sessions[sid]! }));
      }),
      callback,
    );
  }

  /** The filter as column values, checked (see destroyWhere); `sid` becomes the sid column. */
  #filter(filter: unknown): Record<string, string> {
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) {
      throw new InvalidFilterError(`it must be an object of column names to values, got ${filter === null ? 'null' : Array.isArray(filter) ? 'an array' : typeof filter}`);
    }
    let entries: Array<[string, unknown]>;
    try {
      entries = Object.entries(filter as Record<string, unknown>);
    } catch (error) {
      // A getter or a proxy that throws: the filter's own fault, found before any statement.
      throw new InvalidFilterError(`reading it threw: ${reasonOf(error)}`);
    }
    if (entries.length === 0) {
      throw new InvalidFilterError('it names no column (an empty filter would select every session; use clear() for that)');
    }
    const declared = this.#table.extraColumns;
    const where: Array<[string, string]> = [];
    for (const [column, value] of entries) {
      if (column === STORED_ID_KEY) {
        // The id a listing gave: matched exactly as stored, never hashed again.
        if (typeof value !== 'string' || value.length === 0) {
          throw new InvalidFilterError(`the value of "sid" must be a non-empty string (an id from ids() or findWhere), got ${value === '' ? 'an empty string' : value === null ? 'null' : typeof value}`);
        }
        const problem = storedTextProblem(value);
        if (problem) throw new InvalidFilterError(`the value of "sid" ${problem}`);
        where.push([this.#table.sidColumn, value]);
        continue;
      }
      if (!declared.includes(column)) {
        throw new InvalidFilterError(
          declared.length === 0
            ? `"${column}" is no extra column: declare it in the columns option`
            : `"${column}" is no extra column (declared: ${declared.join(', ')})`,
        );
      }
      if (typeof value === 'number' && Number.isFinite(value)) {
        where.push([column, String(value)]);
      } else if (typeof value === 'string') {
        // Held to the rules of stored values (see #extraValues): anything else could match a row holding another value.
        const problem = storedTextProblem(value);
        if (problem) throw new InvalidFilterError(`the value of "${column}" ${problem}`);
        where.push([column, value]);
      } else {
        throw new InvalidFilterError(`the value of "${column}" must be a string or a finite number, got ${value === null ? 'null' : typeof value}`);
      }
    }
    // fromEntries defines own properties: a column named "__proto__" stays a column, never a prototype.
    return Object.fromEntries(where);
  }

  /** The number of live sessions. */
  override length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('length', async (knex, now) => {
        if (this.options.onCorruptSession === 'delete') return Object.keys(await this.#liveSessions(knex, now)).length;
        const t = this.#table;
        const row = await t.query(knex).count({ n: t.sidColumn }).where(t.expiredColumn, '>', this.#bound(knex, now)).first();
        return Number(row?.n ?? 0);
      }),
      callback,
    );
  }

  /** The stored ids of every live session (the hashes, with `hashSid`), which `destroyWhere({ sid })` accepts. */
  ids(callback?: Callback<string[]>): Promise<string[] | undefined> {
    return settle(
      this.#run('ids', async (knex, now) => {
        if (this.options.onCorruptSession === 'delete') return Object.keys(await this.#liveSessions(knex, now));
        const t = this.#table;
        const sids: unknown[] = await t.query(knex).where(t.expiredColumn, '>', this.#bound(knex, now)).pluck(t.sidColumn);
        return sids.map(String);
      }),
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
      this.#run('stats', (knex, now) => collectStats(knex, this.#adapter, this.#table, this.#bound(knex, now), chosen)),
      done,
    );
  }

  /** Delete every session, live or expired. Resolves the number of rows deleted. */
  override clear(callback?: Callback<number>): Promise<number | undefined> {
    return settle(
      this.#run('clear', async (knex) => rowCount(await this.#retry(() => this.#table.query(knex).del()))),
      callback,
    );
  }

  /**
   * Delete expired sessions now, in batches of {@link PRUNE_BATCH_SIZE}. Resolves the number deleted. The background
   * sweep calls this; a call while a prune is running joins it. Where the adapter has a sweep lock, only one store
   * on the table deletes at a time: a store that finds the lock held skips the sweep and resolves 0 (the `'prune'`
   * event, a {@link PruneEvent}, tells a skip from a sweep that found nothing). After `close()` it fails with
   * {@link StoreClosedError}, and a prune running when `close()` is called stops after its current batch. Before its
   * first batch the sweep guard looks for rows that are live on a second reading of their expiry (epoch seconds in an
   * `'epoch-ms'` column, say): finding one, it deletes nothing and fails with a {@link SweepGuardError}, which is also
   * emitted as `'error'` (see the README's "Sweep safety").
   */
  prune(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.#prune(false), callback);
  }

  /** The sweep; `background` when the store's timer runs it, which holds it to the `sweepMaxShare` rule too. */
  #prune(background: boolean): Promise<number> {
    // Only an open store's prune may be joined: after close() every call fails alike.
    if (this.#closing) return Promise.reject(new StoreClosedError('prune'));
    this.#pruning ??= this.#run('prune', (knex) => this.#sweep(knex, background)).finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
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
      // Retried as a statement is when it loses a conflict: on a multi-primary cluster another node's CREATE TABLE of the
      // same table can fail the catalog reads that follow with a deadlock. Every step of the bootstrap may run again.
      const ready = this.#retry(() => this.#bootstrap()).catch((error: unknown) => {
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

  /**
   * With createTable, create the table if it is missing (another process creating it first is success). Without, the
   * table must exist and have every column the store uses: checked once here, so that a table made by a migration
   * that missed a column fails at start-up and says which, instead of failing requests one by one. Either way, the
   * expiry column of a table that was there already is checked against expiryEncoding.
   */
  async #bootstrap(): Promise<void> {
    const t = this.#table;
    if (this.options.createTable) {
      // A table that was there already gains the extra columns of the columns option it lacks.
      if (await ensureSessionTable(this.knex, this.#adapter, t)) return;
      await addMissingColumns(this.knex, this.#adapter, t);
      // A table that was there already may hold its expiries otherwise than expiryEncoding says: never sweep it so.
      await checkExpiryColumn(this.knex, this.#adapter, t);
      return;
    }
    if (!(await this.#adapter.hasTable(this.knex, t))) throw new SessionTableMissingError(t.displayName);
    await checkTableShape(this.knex, this.#adapter, t);
  }

  /** Every live session keyed by sid; corrupt rows fail the read or, with onCorruptSession 'delete', are deleted. */
  async #liveSessions(
    knex: Knex,
    now: Knex.Value,
    narrow: (query: Knex.QueryBuilder) => Knex.QueryBuilder = (query) => query,
  ): Promise<Record<string, SessionData>> {
    const t = this.#table;
    const rows: Record<string, unknown>[] = await narrow(
      t.query(knex).select(t.sidColumn, t.sessColumn).where(t.expiredColumn, '>', this.#bound(knex, now)),
    );
    const sessions: Record<string, SessionData> = {};
    const corrupt: string[] = [];
    for (const row of rows) {
      const id = String(row[t.sidColumn]);
      const session = await this.#decode(row[t.sessColumn], id);
      if (!session) {
        corrupt.push(id);
        continue;
      }
      // defineProperty, so that a sid such as "__proto__" is an ordinary key and never a prototype.
      Object.defineProperty(sessions, id, { value: session, enumerable: true, writable: true, configurable: true });
    }
    for (let i = 0; i < corrupt.length; i += DESTROY_CHUNK_SIZE) {
      const chunk = corrupt.slice(i, i + DESTROY_CHUNK_SIZE);
      await this.#retry(() => t.query(knex).whereIn(t.sidColumn, chunk).del());
    }
    return sessions;
  }

  /** One stored session as `get` returns it: a corrupt row either fails the read or is deleted and reads as none. */
  async #readSession(knex: Knex, value: unknown, sid: string): Promise<SessionData | null> {
    const session = await this.#decode(value, sid);
    if (session) return session;
    // A set racing this read could be deleted with the corrupt row; that costs one session, as the corrupt row did.
    await this.#retry(() => this.#table.query(knex).where(this.#table.sidColumn, sid).del());
    return null;
  }

  /** The stored session, or `undefined` for a corrupt row when onCorruptSession is 'delete' (else it throws). */
  #decode(value: unknown, sid: string): SessionData | undefined | Promise<SessionData | undefined> {
    const corrupt = (error: unknown): undefined => {
      if (this.options.onCorruptSession === 'delete') return undefined;
      throw error;
    };
    const serializer = this.options.serializer;
    if (serializer) return deserialiseWith(serializer, value, sid).catch(corrupt);
    try {
      return deserialise(value, sid);
    } catch (error) {
      return corrupt(error);
    }
  }

  /**
   * One single statement (it commits on its own), run again when it lost a conflict with a concurrent transaction
   * (see `DialectAdapter.isRetryable`): a builder is a thenable, so `statement` builds it afresh for every round.
   */
  #retry<T>(statement: () => PromiseLike<T>): Promise<T> {
    const adapter = this.#adapter;
    if (!adapter.isRetryable) return Promise.resolve(statement());
    return retryConflicts(async () => statement(), (error) => adapter.isRetryable!(error));
  }

  /** An encoded expiry as it appears in a statement (see `DialectAdapter.bindExpiry`). */
  #bound(knex: Knex, value: Knex.Value): Knex.Value {
    return this.#table.expiryEncoding === 'timestamp' && this.#adapter.bindExpiry ? this.#adapter.bindExpiry(knex, value) : value;
  }

  /**
   * The sweep, each batch under the adapter's lock so that of several stores on one table only one deletes at a time;
   * a store that finds it held skips the sweep and resolves 0. A batch that loses a conflict with another store's
   * (where the lock does not reach across, as between the nodes of a multi-primary cluster) ends the sweep as skipped
   * too: that store is deleting the same rows. Emits `'prune'` with `{ deleted, skipped }` either way.
   */
  async #sweep(knex: Knex, background: boolean): Promise<number> {
    const started = performance.now();
    // The guard reads the table once, before the first batch; each batch then takes the sweep lock itself.
    await this.#guardSweep(knex, background);
    const { deleted, skipped } = await this.#deleteExpired(knex);
    const ms = Math.round(performance.now() - started);
    this.#emitLater('prune', { deleted, skipped, ms } satisfies PruneEvent);
    return deleted;
  }

  /**
   * Whether the database answers, for the availability events. With a pool of several connections, by opening a
   * connection of its own outside the pool and reading one row on it (within the pool's acquire timeout): a pool that is merely busy (every
   * connection taken, by slow queries or a burst of requests) is then no outage. A pool of one connection is an
   * embedded database's, where a second connection is no option: there, by asking for the table through the pool.
   * After an answer, a start-up that failed is retried at once, so that the table exists before requests return.
   */
  async #probe(): Promise<void> {
    const pool = (this.knex.client as { pool?: { max?: unknown; acquireTimeoutMillis?: unknown } }).pool;
    if (typeof pool?.max === 'number' && pool.max > 1) {
      const timeout = Number(pool.acquireTimeoutMillis);
      const t = this.#table;
      // A statement, not just a connect: a cluster node cut off from its cluster accepts connections but answers
      // every statement with an error the adapter classifies as unavailable. A missing table is an answer.
      await checkConnection(this.knex, Number.isFinite(timeout) && timeout > 0 ? timeout : 60_000, (connection) =>
        t.query(connection).select(t.sidColumn).limit(1),
      );
      void this.#ensureReady();
      return;
    }
    await this.#ensureReady();
    await this.#adapter.hasTable(this.knex, this.#table);
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

  /**
   * The sweep guard (the README's "Sweep safety"), before the first batch: no row the sweep would delete may be live
   * on a second reading of its expiry, and a background sweep may delete more than `sweepMaxShare` of the table only
   * when a sweep of this store did so within the last three cleanup intervals. On a sound table it costs one indexed
   * statement (none for `'timestamp'` on a typed engine) and two counts bounded by the live window.
   */
  async #guardSweep(knex: Knex, background: boolean): Promise<void> {
    const nowMs = Date.now();
    // Numbers are foreign to a date-time column only where the column keeps any type and the dialect's date-time is not one.
    const foreignNumbers =
      this.#adapter.dynamicColumnTypes === true && typeof this.#adapter.encodeExpiry(nowMs, knex) !== 'number';
    await checkSecondReading(knex, this.#table, foreignNumbers, nowMs);
    const maxShare = this.options.sweepMaxShare;
    const share = await measureShare(knex, this.#table, this.#bound(knex, this.#encodeExpiry(nowMs)), maxShare);
    if (!share.excessive) return;
    const recent = this.#lastLargeSweep !== undefined && nowMs - this.#lastLargeSweep <= 3 * this.options.cleanupInterval;
    if (background && !recent) throw shareError(this.#table, share, maxShare);
    this.#lastLargeSweep = nowMs;
  }

  /**
   * Delete expired rows batch by batch until a batch comes back short or the store is closing, resting between
   * batches as long as the adapter asks (its `sweepRestRatio`), so that a sweep of a million rows does not take the
   * server away from the requests running meanwhile. Each batch takes the adapter's sweep lock (see `sweepBatch`):
   * when another store holds it at the first batch, the sweep is skipped; at a later one, that store carries on.
   */
  async #deleteExpired(knex: Knex): Promise<{ deleted: number; skipped: boolean }> {
    const { sweepBatchSize: size, sweepRestRatio: ratio } = this.#adapter;
    const batchSize = typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : PRUNE_BATCH_SIZE;
    const restRatio = typeof ratio === 'number' && ratio > 0 ? ratio : 0;
    let total = this.options.onCorruptSession === 'delete' ? await this.#deleteWithoutExpiry(knex) : 0;
    for (let first = true; ; first = false) {
      const now = this.#bound(knex, this.#encodeExpiry(Date.now()));
      const started = performance.now();
      let batch: Awaited<ReturnType<typeof sweepBatch>>;
      try {
        batch = await sweepBatch(knex, this.#adapter, this.#table, now, batchSize);
      } catch (error) {
        // Another store's delete won a conflict with this one (its lock did not reach this store): it is sweeping.
        const adapter = this.#adapter;
        if (!adapter.isRetryable || !isConflict(error, (link) => adapter.isRetryable!(link))) throw error;
        return { deleted: total, skipped: true };
      }
      if ('locked' in batch) return { deleted: total, skipped: first };
      const { deleted } = batch;
      if (deleted > 0) total += deleted;
      this.#emitLater('prune-progress', { deleted: total } satisfies PruneProgressEvent);
      // Negated, so that a count that is no number (an adapter's bug) ends the loop instead of spinning forever.
      if (!(deleted >= batchSize) || this.#closing) return { deleted: total, skipped: false };
      if (restRatio > 0) {
        const rest = Math.min((performance.now() - started) * restRatio, MAX_SWEEP_REST_MS);
        await new Promise((resolve) => setTimeout(resolve, rest));
        if (this.#closing) return { deleted: total, skipped: false };
      }
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
        return await body(this.knex, this.#encodeExpiry(Date.now()));
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
        // Only to a listener: an 'error' event nobody listens to would crash the process.
        if (this.listenerCount('error') > 0) this.#emitLater('error', error);
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
      this.#prune(true).then(
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
