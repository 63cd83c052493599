import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { MAX_EXPIRY_MS } from './expiry.js';

/**
 * The expiry column selected as `alias`, in a form {@link decodeExpiry} reads: a date-time column through the
 * adapter's `catalog.readExpiry`, an integer one as it is.
 */
export function selectExpiry(knex: Knex, adapter: DialectAdapter, table: SessionTable, alias: string): Knex.Raw {
  const column = table.expiredColumn;
  return table.expiryEncoding === 'timestamp'
    ? knex.raw('? as ??', [adapter.catalog.readExpiry(knex, column), alias])
    : knex.raw('?? as ??', [column, alias]);
}

/**
 * The expiry column's values as a store writes and compares them: a time in ms encoded as the column holds it (the
 * dialect's date-time value, or epoch seconds or ms), and an encoded value as it appears in a statement (see
 * `DialectAdapter.bindExpiry`).
 */
export class StoredExpiry {
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #knex: Knex;

  /** `knex` is the store's: the one `DialectAdapter.encodeExpiry` is given. */
  constructor(adapter: DialectAdapter, table: SessionTable, knex: Knex) {
    this.#adapter = adapter;
    this.#table = table;
    this.#knex = knex;
  }

  /** `ms` as the expiry column holds it. */
  encode(ms: number): Knex.Value {
    switch (this.#table.expiryEncoding) {
      case 'epoch-seconds':
        return Math.floor(ms / 1000);
      case 'epoch-ms':
        return Math.floor(ms);
      default:
        return this.#adapter.encodeExpiry(ms, this.#knex);
    }
  }

  /** An encoded expiry as it appears in a statement run on `knex`. */
  bind(knex: Knex, value: Knex.Value): Knex.Value {
    return this.#table.expiryEncoding === 'timestamp' && this.#adapter.bindExpiry ? this.#adapter.bindExpiry(knex, value) : value;
  }
}

/**
 * An expiry as read back, in epoch milliseconds: a `Date`, a number (epoch seconds or milliseconds as the encoding
 * says; a 'timestamp' column read as a number is milliseconds), or text: digits as a number, else a date-time, read as
 * UTC when it names no zone (the stores write UTC). `undefined` for anything else.
 */
export function decodeExpiry(value: unknown, encoding: SessionTable['expiryEncoding']): number | undefined {
  const scale = encoding === 'epoch-seconds' ? 1000 : 1;
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number' || typeof value === 'bigint') ms = Number(value) * scale;
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) ms = Number(value) * scale;
  else if (typeof value === 'string') {
    const text = value.trim().replace(' ', 'T');
    ms = Date.parse(/(Z|[+-]\d\d(:?\d\d)?)$/i.test(text) ? text : `${text}Z`);
  } else return undefined;
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/**
 * The session with `cookie.expires` as its row's expiry column holds it (`storedMs`), so that a session read after a
 * `touch` (which moves only the column) carries the expiry it really has. A cookie without `expires` (a browser-session
 * cookie) is left so. So is one the column already agrees with: equal, or within the same second where the column
 * holds a whole second (the store's own rounding of a far expiry, see `storedExpiry`, or a column that keeps only
 * seconds: epoch seconds, a DATETIME without fraction), where the cookie's own milliseconds are kept.
 */
export function withStoredExpiry<T>(session: T, storedMs: number | undefined): T {
  if (session === null || typeof session !== 'object') return session;
  const cookie = (session as { cookie?: unknown }).cookie as { expires?: unknown } | null | undefined;
  if (storedMs === undefined || cookie === null || typeof cookie !== 'object' || !cookie.expires) return session;
  const own = new Date(cookie.expires as string).getTime();
  if (!Number.isFinite(own)) return session;
  const kept = Math.min(own, MAX_EXPIRY_MS);
  if (storedMs === kept || (storedMs % 1000 === 0 && Math.abs(kept - storedMs) < 1000)) return session;
  cookie.expires = cookie.expires instanceof Date ? new Date(storedMs) : new Date(storedMs).toISOString();
  return session;
}
