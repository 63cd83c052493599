import type { Knex } from 'knex';
import type { SessionData } from 'express-session';
import type { Serializer } from './serializer.js';

/** One day, the expiry of a session whose cookie sets none (as upstream and the peers do). */
export const DEFAULT_TTL_MS = 86_400_000;
/** How often expired rows are pruned by default. */
export const DEFAULT_CLEANUP_INTERVAL_MS = 60_000;
/** The share of the table above which a background prune stops (see the `pruneMaxShare` option). */
export const DEFAULT_PRUNE_MAX_SHARE = 0.5;
/**
 * The default `operationTimeout`: far above a healthy operation (milliseconds), above a cluster's failover (Galera
 * declares a node gone after about 5 s), and below the 30–60 s at which proxies and load balancers give up on a
 * request, so that a stalled connection fails requests with an error the application can answer instead of hanging.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;
/** The longest delay Node's timers accept. */
export const MAX_TIMER_MS = 2_147_483_647;

/** The options of every store class. Each is validated once, in the constructor. */
export interface KnexStoreOptions {
  /** The knex instance to use. Without it, a dialect package may open its own default database (see its README). */
  knex?: Knex;
  /**
   * The session table. Default `'sessions'`. A dotted `'schema.table'` (as connect-session-knex 5 passed it to knex)
   * means `schemaName: 'schema', tableName: 'table'`, with a one-time warning that `schemaName` says it more clearly.
   */
  tableName?: string;
  /** The schema holding the table (the database, on engines where the two are one). Default: the connection's own. */
  schemaName?: string;
  /** The primary-key column holding the session id. Default `'sid'`. */
  sidFieldName?: string;
  /** Create the table (and its index on the expiry column) when it is missing. Default `true`. */
  createTable?: boolean;
  /** Milliseconds between prunes of expired rows; each run waits 50–150 % of it. `0` disables the prune. Default 60000. */
  cleanupInterval?: number;
  /** Receives the errors of the background prune. Default: `console.error`. */
  onDbCleanupError?: (error: unknown) => void;
  /**
   * The largest share of the table's rows (above 0, up to 1) that one background prune may delete when no prune of
   * this store deleted such a share within the last three intervals: a larger one (after a clock jump, say)
   * stops before deleting anything and fails with a `PruneGuardError`. The share is counted only when 100 rows or
   * more are expired, and from at most 1,000 live rows. `1` turns this rule off (for sessions that live shorter than
   * `cleanupInterval`). `prune()` called by the application is not held to it. Default `0.5`.
   */
  pruneMaxShare?: number;
  /**
   * Lifetime in milliseconds of a session whose cookie has neither `expires` nor `maxAge`, or a function of the
   * session returning it. Default one day.
   */
  ttl?: number | ((session: SessionData) => number);
  /** Make `touch` a no-op: expiry then moves only when the session is saved. Default `false`. */
  disableTouch?: boolean;
  /**
   * Milliseconds within which a `touch` of a session sends no statement at all, counted from the last time this
   * process wrote that session's expiry (a `set`, or a `touch` that did write). The trade-off: the stored expiry can
   * lag the cookie's by up to `touchAfter` ms, so a session idle for its whole lifetime may end that much early. `set`
   * always writes. Memory is bounded (the last 50,000 sids written). `0` (the default) touches every time.
   */
  touchAfter?: number;
  /**
   * Send the statements of `get`, `set`, `touch` and `destroy` on the fast path where the dialect package knows your
   * driver: compiled once per store, run as prepared statements on connections taken from your knex's own pool,
   * without knex's per-query work. Those statements then raise no knex `'query'` events and skip knex's debug log and
   * `postProcessResponse`. Set `false` to send every statement through knex. Default `true`.
   */
  fastPath?: boolean;
  /**
   * Gather the `get`s, `touch`es and `set`s that arrive within one turn of the event loop (under load: the requests
   * a server parses together) and send each kind together (`WHERE sid IN (…)`; an `UPDATE` whose `CASE` gives each
   * sid its own expiry; a multi-row upsert where the dialect has one, else one per `set`), instead of one statement
   * and one pooled connection per call. Each call answers as it would alone (a corrupt or missing row fails or misses
   * only its own caller, a row the database refuses fails only its own `set`; of two calls on one sid in a turn, the
   * later's values are kept); a failed read or touch statement fails the calls it carried. The cost: a call waits for the end of the current turn (a `setImmediate`) before its statement leaves,
   * which on an idle server is microseconds. Default: `true` where every statement is a round trip to a server (the
   * adapter's `capabilities.remote`), `false` on an engine embedded in the process, which has no round trip to save.
   */
  coalesce?: boolean;
  /**
   * Milliseconds after which an operation the database has not answered fails with a `DatabaseError` (whose cause
   * has the code `CSK_OPERATION_TIMEOUT`), so that a request never waits on a connection that stalls (packets
   * dropped, not refused) until TCP gives up, minutes later. It also bounds the wait for a pooled connection. The
   * statement itself is not cancelled, so a write that timed out may still land. The prune is not bounded. Default
   * {@link DEFAULT_OPERATION_TIMEOUT_MS} (10 s); raise it for `all()`, `stats()` or `clear()` on tables of millions of
   * rows; `0` sets no limit.
   */
  operationTimeout?: number;
  /**
   * What reading a corrupt row does (a `sess` that is not a JSON object: invalid JSON, a number, an array, NULL).
   * `'error'` (the default) fails the read with an `InvalidSessionError` whose `sid` names the row, and leaves
   * the row alone. `'delete'` treats the row as missing and deletes it: `get` resolves `null`, and `all`, `ids` and
   * `length` skip it (so those two then read every live session, as `all` does). A row whose expiry is NULL (only a
   * table made by hand allows one) is never live either way; with `'delete'` the prune deletes it too.
   */
  onCorruptSession?: 'error' | 'delete';
  /**
   * Extra columns filled from the session on every write, keyed by column name: e.g.
   * `{ userId: (session) => session.passport?.user }`. Each holds text (a number is stored as its decimal string; `null`
   * or `undefined` as NULL) of at most 255 characters, and `createTable` creates it as an indexed, nullable
   * varchar(255). `destroyWhere` and `findWhere` select sessions by them.
   */
  columns?: Record<string, (session: SessionData & Record<string, any>) => string | number | null | undefined>;
  /** The column holding the serialised session. Default `'sess'`. */
  sessFieldName?: string;
  /** The column holding the expiry. Default `'expired'`. */
  expiredFieldName?: string;
  /**
   * How the expiry column holds the expiry: `'timestamp'` (the dialect's date-time type, the default),
   * `'epoch-seconds'` or `'epoch-ms'` (an integer column). Chosen to match a table another store made.
   */
  expiryEncoding?: ExpiryEncoding;
  /** How sessions are turned into the `sess` column's text and back. Default: JSON. */
  serializer?: Serializer;
  /**
   * Store a hash of each session id instead of the id: `true` for SHA-256, a secret (string or Buffer) for
   * HMAC-SHA-256. A leaked table or backup then holds no usable session id. `all`, `ids` and `findWhere` return the
   * stored hashes, which `destroyWhere({ sid })` accepts (and `destroy`, which hashes the cookie's sid, refuses).
   * Changing it makes every existing session unreadable. Default `false`.
   */
  hashSid?: boolean | string | Buffer;

  /** @deprecated since connect-session-knex 5: use `tableName`. */
  tablename?: string;
  /** @deprecated since connect-session-knex 5: use `sidFieldName`. */
  sidfieldname?: string;
  /** @deprecated since connect-session-knex 5: use `createTable`. */
  createtable?: boolean;
  /** @deprecated since connect-session-knex 5: use `cleanupInterval`. */
  clearInterval?: number;
  /** @deprecated since connect-session-knex 5: use `cleanupInterval: 0`. */
  disableDbCleanup?: boolean;
}

/** The options after defaults and validation. */
export interface ResolvedOptions {
  readonly knex: Knex | undefined;
  readonly tableName: string;
  readonly schemaName: string | undefined;
  readonly sidFieldName: string;
  readonly createTable: boolean;
  readonly cleanupInterval: number;
  readonly onDbCleanupError: (error: unknown) => void;
  readonly pruneMaxShare: number;
  readonly ttl: (session: SessionData) => number;
  readonly disableTouch: boolean;
  readonly touchAfter: number;
  readonly fastPath: boolean;
  /** `undefined`: the dialect's default (see `DialectCapabilities.remote`). */
  readonly coalesce: boolean | undefined;
  readonly operationTimeout: number;
  readonly onCorruptSession: 'error' | 'delete';
  readonly columns: ReadonlyArray<ExtraColumn>;
  readonly sessFieldName: string;
  readonly expiredFieldName: string;
  readonly expiryEncoding: ExpiryEncoding;
  /** The serializer, or `undefined` for the default JSON (which keeps the store's own fast JSON handling). */
  readonly serializer: Serializer | undefined;
  /** `false`, `true` (SHA-256) or the HMAC secret. */
  readonly hashSid: false | true | Buffer;
}

/** How an expiry column holds the expiry. */
export type ExpiryEncoding = 'timestamp' | 'epoch-seconds' | 'epoch-ms';
export const EXPIRY_ENCODINGS: readonly ExpiryEncoding[] = ['timestamp', 'epoch-seconds', 'epoch-ms'];

/** One of the `columns` option's extra columns. */
export interface ExtraColumn {
  readonly name: string;
  readonly value: (session: SessionData) => unknown;
}
