import type { Knex } from 'knex';
import type { SessionData } from 'express-session';
import { ConfigurationError } from './errors.js';
import { JSON_SERIALIZER, type Serializer } from './serializer.js';

/** One day, the expiry of a session whose cookie sets none (as upstream and the peers do). */
export const DEFAULT_TTL_MS = 86_400_000;
/** How often expired rows are swept by default. */
export const DEFAULT_CLEANUP_INTERVAL_MS = 60_000;
/** The share of the table above which a background sweep stops (see the `sweepMaxShare` option). */
export const DEFAULT_SWEEP_MAX_SHARE = 0.5;
/**
 * The default `operationTimeout`: far above a healthy operation (milliseconds), above a cluster's failover (Galera
 * declares a node gone after about 5 s), and below the 30–60 s at which proxies and load balancers give up on a
 * request, so that a stalled connection fails requests with an error the application can answer instead of hanging.
 */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;
/** The longest delay Node's timers accept. */
const MAX_TIMER_MS = 2_147_483_647;
/** Half of a UTF-16 surrogate pair standing alone: no database encodes it, so each would store another character. */
export const LONE_SURROGATE = /\p{Cs}/u;

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
  /** Milliseconds between sweeps of expired rows; each run waits 50–150 % of it. `0` disables the sweep. Default 60000. */
  cleanupInterval?: number;
  /** Receives the errors of the background sweep. Default: `console.error`. */
  onDbCleanupError?: (error: unknown) => void;
  /**
   * The largest share of the table's rows (above 0, up to 1) that one background sweep may delete when no sweep of
   * this store deleted such a share within the last three cleanup intervals: a larger one (after a clock jump, say)
   * stops before deleting anything and fails with a `SweepGuardError`. The share is counted only when 100 rows or
   * more are expired, and from at most 1,000 live rows. `1` turns this rule off (for sessions that live shorter than
   * `cleanupInterval`). `prune()` called by the application is not held to it. Default `0.5`.
   */
  sweepMaxShare?: number;
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
   * Gather the `get`s that arrive within one turn of the event loop (under load: the requests a server parses
   * together) and read their sessions with one statement (`WHERE sid IN (…)`), instead of one statement and one pooled
   * connection each. Each `get` answers as it would alone (a corrupt or missing row fails or misses only its own
   * caller); a failed statement fails the `get`s it carried. The cost: a `get` waits for the end of the current turn
   * (a `setImmediate`) before its statement leaves. Default `false`.
   */
  coalesceReads?: boolean;
  /**
   * Milliseconds after which an operation the database has not answered fails with a `DatabaseError` (whose cause
   * has the code `CSK_OPERATION_TIMEOUT`), so that a request never waits on a connection that stalls (packets
   * dropped, not refused) until TCP gives up, minutes later. It also bounds the wait for a pooled connection. The
   * statement itself is not cancelled, so a write that timed out may still land. The sweep is not bounded. Default
   * {@link DEFAULT_OPERATION_TIMEOUT_MS} (10 s); raise it for `all()`, `stats()` or `clear()` on tables of millions of
   * rows; `0` sets no limit.
   */
  operationTimeout?: number;
  /**
   * What reading a corrupt row does (a `sess` that is not a JSON object: invalid JSON, a number, an array, NULL).
   * `'error'` (the default) fails the read with an `InvalidSessionError` whose `sid` names the row, and leaves
   * the row alone. `'delete'` treats the row as missing and deletes it: `get` resolves `null`, and `all`, `ids` and
   * `length` skip it (so those two then read every live session, as `all` does). A row whose expiry is NULL (only a
   * table made by hand allows one) is never live either way; with `'delete'` the sweep deletes it too.
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
  readonly sweepMaxShare: number;
  readonly ttl: (session: SessionData) => number;
  readonly disableTouch: boolean;
  readonly touchAfter: number;
  readonly fastPath: boolean;
  readonly coalesceReads: boolean;
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
const EXPIRY_ENCODINGS: readonly ExpiryEncoding[] = ['timestamp', 'epoch-seconds', 'epoch-ms'];

/** One of the `columns` option's extra columns. */
export interface ExtraColumn {
  readonly name: string;
  readonly value: (session: SessionData) => unknown;
}

const KNOWN_KEYS = new Set([
  'knex',
  'tableName',
  'schemaName',
  'sidFieldName',
  'createTable',
  'cleanupInterval',
  'onDbCleanupError',
  'sweepMaxShare',
  'ttl',
  'disableTouch',
  'touchAfter',
  'fastPath',
  'coalesceReads',
  'operationTimeout',
  'onCorruptSession',
  'columns',
  'sessFieldName',
  'expiredFieldName',
  'expiryEncoding',
  'serializer',
  'hashSid',
]);

/** Upstream's v3/v4 spellings, each mapped onto the current option. */
type LegacyKey = { current: keyof KnexStoreOptions; convert?: (key: string, value: unknown) => unknown };
const LEGACY_KEYS: Record<string, LegacyKey> = {
  tablename: { current: 'tableName' },
  sidfieldname: { current: 'sidFieldName' },
  createtable: { current: 'createTable' },
  clearInterval: { current: 'cleanupInterval' },
  disableDbCleanup: { current: 'cleanupInterval', convert: (key, value) => (boolean(key, value, false) ? 0 : undefined) },
};

const warned = new Set<string>();

function warnOnce(code: string, message: string, type = 'Warning'): void {
  if (warned.has(code)) return;
  warned.add(code);
  process.emitWarning(`[connect-session-knex] ${message}`, { type, code });
}

/** True when `value` quacks like a knex instance: a function with a `schema` builder and a `client`. */
export function isKnex(value: unknown): value is Knex {
  const candidate = value as { schema?: { hasTable?: unknown }; client?: unknown } | null;
  return (
    typeof value === 'function' && typeof candidate?.schema?.hasTable === 'function' && typeof candidate.client === 'object'
  );
}

function identifier(option: string, value: unknown, fallback: string | undefined): string | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigurationError(option, `must be a non-empty string, got ${describe(value)}`);
  }
  if (value.includes('\0')) throw new ConfigurationError(option, 'must not contain a NUL character');
  if (value.includes('.')) {
    throw new ConfigurationError(option, `must not contain "." (knex would read "${value}" as schema.table)`);
  }
  if (value.length > 128) throw new ConfigurationError(option, 'must be at most 128 characters');
  // knex quotes every identifier, but reads some text in one before quoting it; each such name is refused here
  // rather than reach SQL as something other than what was written.
  if (value.trim() !== value) {
    throw new ConfigurationError(option, 'must not begin or end with whitespace (knex trims identifiers)');
  }
  if (value.includes('?')) {
    throw new ConfigurationError(option, 'must not contain "?" (knex would read it as a bind parameter, even quoted)');
  }
  if (/ as /i.test(value)) {
    throw new ConfigurationError(option, 'must not contain " as " (knex would read it as an alias)');
  }
  if (value === '*') throw new ConfigurationError(option, 'must not be "*" (knex leaves it unquoted)');
  if (LONE_SURROGATE.test(value)) {
    throw new ConfigurationError(option, 'must be well-formed Unicode (it holds a lone surrogate)');
  }
  return value;
}

/**
 * The table and schema names. A `tableName` of the form `schema.table` is read as knex (and so connect-session-knex
 * 5) read it, warning once; a form that could mean two things is refused with what to write instead.
 */
function tableAndSchema(
  option: string,
  tableName: unknown,
  schemaName: unknown,
): { tableName: string; schemaName: string | undefined } {
  if (typeof tableName !== 'string' || !tableName.includes('.')) {
    return {
      tableName: identifier(option, tableName, 'sessions')!,
      schemaName: identifier('schemaName', schemaName, undefined),
    };
  }
  const parts = tableName.split('.');
  const spelled = (schema: string, table: string) => `schemaName: ${JSON.stringify(schema)}, ${option}: ${JSON.stringify(table)}`;
  if (schemaName !== undefined) {
    throw new ConfigurationError(
      option,
      `"${tableName}" names a schema, and so does schemaName: pass the schema once, as ${spelled(String(schemaName), parts.at(-1)!)}`,
    );
  }
  if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
    throw new ConfigurationError(
      option,
      `"${tableName}" is ambiguous (only "schema.table" is read as a schema and a table): pass the schema as schemaName and the table name alone as ${option}`,
    );
  }
  const [schema, table] = parts as [string, string];
  const resolved = { tableName: identifier(option, table, undefined)!, schemaName: identifier('schemaName', schema, undefined)! };
  warnOnce(
    'CSK_DOTTED_TABLE_NAME',
    `${option} "${tableName}" is read as ${spelled(schema, table)}; writing it so is clearer`,
  );
  return resolved;
}

function boolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigurationError(option, `must be a boolean, got ${describe(value)}`);
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? (Array.isArray(value) ? 'an array' : 'an object') : `a ${typeof value}`;
}

/** The options under their current names, and for each the key the caller actually wrote (for error messages). */
interface Normalised {
  readonly options: Record<string, unknown>;
  readonly spelling: (key: string) => string;
}

/** Apply the legacy spellings, warning once for each; a legacy key that contradicts its current one is an error. */
function normalise(input: Record<string, unknown>): Normalised {
  const options: Record<string, unknown> = {};
  const written = new Map<string, string>();
  for (const [key, value] of Object.entries(input)) {
    if (value === undefined || LEGACY_KEYS[key]) continue;
    options[key] = value;
  }
  for (const [legacy, { current, convert }] of Object.entries(LEGACY_KEYS)) {
    if (input[legacy] === undefined) continue;
    warnOnce(
      `CSK_DEP_${legacy.toUpperCase()}`,
      `option "${legacy}" is deprecated: use ${legacy === 'disableDbCleanup' ? '"cleanupInterval: 0"' : `"${current}"`}`,
      'DeprecationWarning',
    );
    const value = convert ? convert(legacy, input[legacy]) : input[legacy];
    if (value === undefined) continue;
    if (options[current] !== undefined && options[current] !== value) {
      throw new ConfigurationError(legacy, `(deprecated) contradicts "${current}": pass only "${current}"`);
    }
    if (options[current] === undefined) written.set(current, legacy);
    options[current] = value;
  }
  return { options, spelling: (key) => written.get(key) ?? key };
}

/** Validate the constructor's argument and fill in the defaults. Throws {@link ConfigurationError}. */
export function resolveOptions(input: unknown): ResolvedOptions {
  if (input === undefined || input === null) input = {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new ConfigurationError('options', `must be an object, got ${describe(input)}`);
  }
  const { options, spelling } = normalise(input as Record<string, unknown>);

  for (const key of Object.keys(options)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (options.knex === undefined && isKnex(options[key])) {
      // The classic typo ({ db: knex }): say where the instance should go rather than fall back to a default database.
      throw new ConfigurationError('knex', `is missing, but "${key}" holds a knex instance: pass it as "knex"`);
    }
    warnOnce(`CSK_UNKNOWN_OPTION_${key}`, `unknown option "${key}" is ignored`);
  }

  if (options.knex !== undefined && !isKnex(options.knex)) {
    throw new ConfigurationError('knex', `must be a knex instance (the result of knex(config)), got ${describe(options.knex)}`);
  }

  const cleanupInterval = options.cleanupInterval === undefined ? DEFAULT_CLEANUP_INTERVAL_MS : options.cleanupInterval;
  if (typeof cleanupInterval !== 'number' || Number.isNaN(cleanupInterval) || cleanupInterval > MAX_TIMER_MS) {
    throw new ConfigurationError(
      spelling('cleanupInterval'),
      `must be a number of milliseconds up to ${MAX_TIMER_MS} (0 disables the sweep), got ${describe(cleanupInterval)}`,
    );
  }

  const onDbCleanupError = options.onDbCleanupError === undefined ? logCleanupError : options.onDbCleanupError;
  if (typeof onDbCleanupError !== 'function') {
    throw new ConfigurationError('onDbCleanupError', `must be a function, got ${describe(onDbCleanupError)}`);
  }

  const sidFieldName = identifier(spelling('sidFieldName'), options.sidFieldName, 'sid')!;
  const sessFieldName = identifier('sessFieldName', options.sessFieldName, 'sess')!;
  const expiredFieldName = identifier('expiredFieldName', options.expiredFieldName, 'expired')!;
  const columns = extraColumns(options.columns);
  const seen = new Map<string, string>();
  for (const [option, name] of [
    [spelling('sidFieldName'), sidFieldName],
    ['sessFieldName', sessFieldName],
    ['expiredFieldName', expiredFieldName],
    ...columns.map((column): [string, string] => [`columns.${column.name}`, column.name]),
  ] as Array<[string, string]>) {
    // Engines differ in whether column names are case-sensitive: names equal but for case are refused everywhere.
    const other = seen.get(name.toLowerCase());
    if (other) throw new ConfigurationError(option, `names the same column as ${other} ("${name}")`);
    seen.set(name.toLowerCase(), option);
  }

  return Object.freeze({
    knex: options.knex as Knex | undefined,
    ...tableAndSchema(spelling('tableName'), options.tableName, options.schemaName),
    sidFieldName,
    createTable: boolean(spelling('createTable'), options.createTable, true),
    cleanupInterval: Math.max(0, cleanupInterval),
    onDbCleanupError: onDbCleanupError as (error: unknown) => void,
    sweepMaxShare: sweepMaxShare(options.sweepMaxShare),
    ttl: resolveTtl(options.ttl),
    disableTouch: boolean('disableTouch', options.disableTouch, false),
    touchAfter: touchAfter(options.touchAfter),
    fastPath: boolean('fastPath', options.fastPath, true),
    coalesceReads: boolean('coalesceReads', options.coalesceReads, false),
    operationTimeout: operationTimeout(options.operationTimeout),
    onCorruptSession: corruptSessionPolicy(options.onCorruptSession),
    columns,
    sessFieldName,
    expiredFieldName,
    expiryEncoding: expiryEncoding(options.expiryEncoding),
    serializer: serializer(options.serializer),
    hashSid: hashSid(options.hashSid),
  });
}

function extraColumns(value: unknown): ExtraColumn[] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigurationError('columns', `must be an object of column names to functions of the session, got ${describe(value)}`);
  }
  return Object.entries(value as Record<string, unknown>).map(([name, fn]) => {
    identifier(`columns.${name}`, name, undefined);
    if (name === 'sid') {
      // A filter's "sid" names the stored id (see destroyWhere): a column of that name would make filters ambiguous.
      throw new ConfigurationError('columns.sid', 'is reserved: a filter\'s "sid" names the session by its stored id; name the column otherwise');
    }
    if (typeof fn !== 'function') {
      throw new ConfigurationError(`columns.${name}`, `must be a function of the session, got ${describe(fn)}`);
    }
    return Object.freeze({ name, value: fn as (session: SessionData) => unknown });
  });
}

function expiryEncoding(value: unknown): ExpiryEncoding {
  if (value === undefined) return 'timestamp';
  if (!EXPIRY_ENCODINGS.includes(value as ExpiryEncoding)) {
    throw new ConfigurationError(
      'expiryEncoding',
      `must be one of ${EXPIRY_ENCODINGS.map((e) => `'${e}'`).join(', ')}, got ${describe(value)}`,
    );
  }
  return value as ExpiryEncoding;
}

function serializer(value: unknown): Serializer | undefined {
  if (value === undefined || value === JSON_SERIALIZER) return undefined;
  const candidate = value as Partial<Serializer> | null;
  if (typeof candidate?.stringify !== 'function' || typeof candidate.parse !== 'function') {
    throw new ConfigurationError('serializer', `must be an object with stringify and parse functions, got ${describe(value)}`);
  }
  return candidate as Serializer;
}

function hashSid(value: unknown): false | true | Buffer {
  if (value === undefined || value === false) return false;
  if (value === true) return true;
  if (typeof value === 'string' && value.length > 0) return Buffer.from(value, 'utf8');
  if (Buffer.isBuffer(value) && value.length > 0) return Buffer.from(value);
  throw new ConfigurationError(
    'hashSid',
    `must be true (SHA-256), a non-empty secret string or Buffer (HMAC-SHA-256), or false, got ${describe(value)}`,
  );
}

function corruptSessionPolicy(value: unknown): 'error' | 'delete' {
  if (value === undefined) return 'error';
  if (value !== 'error' && value !== 'delete') {
    throw new ConfigurationError('onCorruptSession', `must be 'error' or 'delete', got ${describe(value)}`);
  }
  return value;
}

function sweepMaxShare(value: unknown): number {
  if (value === undefined) return DEFAULT_SWEEP_MAX_SHARE;
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    throw new ConfigurationError('sweepMaxShare', `must be a share above 0 and up to 1 (1: no limit), got ${describe(value)}`);
  }
  return value;
}

function touchAfter(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(
      'touchAfter',
      `must be a number of milliseconds, 0 (touch every time) or more, got ${describe(value)}`,
    );
  }
  return value;
}

function operationTimeout(value: unknown): number {
  if (value === undefined) return DEFAULT_OPERATION_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new ConfigurationError(
      'operationTimeout',
      `must be a number of milliseconds from 0 (no limit) to ${MAX_TIMER_MS}, got ${describe(value)}`,
    );
  }
  return value;
}

function logCleanupError(error: unknown): void {
  console.error(error);
}

function resolveTtl(ttl: unknown): (session: SessionData) => number {
  if (ttl === undefined) return () => DEFAULT_TTL_MS;
  if (typeof ttl === 'function') return ttl as (session: SessionData) => number;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
    throw new ConfigurationError('ttl', `must be a positive number of milliseconds or a function of the session, got ${describe(ttl)}`);
  }
  return () => ttl;
}
