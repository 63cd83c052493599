import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { decodeExpiry, selectExpiry } from './stored-expiry.js';

/** One session row named by its stored id (the hash, with `hashSid`) and its expiry. */
export interface SessionExpiry {
  readonly sid: string;
  /** The stored expiry, or `null` when the column holds something that reads as no instant. */
  readonly expires: Date | null;
}

/** What `KnexStore.stats()` resolves: a snapshot of the session table. */
export interface SessionStats {
  /** Rows whose expiry is still ahead. */
  readonly live: number;
  /** Rows whose expiry has passed, which the next prune deletes. */
  readonly expired: number;
  /** The live session that expires first, or `null` when none is live. */
  readonly oldestLive: SessionExpiry | null;
  /** The row whose expiry is the earliest, live or expired, or `null` for an empty table. */
  readonly oldest: SessionExpiry | null;
  /**
   * The row whose stored session is the largest, with its size in bytes as the database measures the column (see
   * `TableCatalog.sizeOf`); `null` for an empty table, and `undefined` when `stats({ largest: false })` skipped it.
   */
  readonly largest?: { readonly sid: string; readonly bytes: number } | null;
  /**
   * The expired row whose expiry is the latest, the last the next prune would delete (with {@link SessionStats.oldest},
   * the range it deletes when `expired` is not 0); present only with `stats({ newestExpired: true })`.
   */
  readonly newestExpired?: SessionExpiry | null;
}

/** Options of `KnexStore.stats()`. */
export interface StatsOptions {
  /**
   * Find the largest session: a read of every row's session column, where the rest is answered from the expiry
   * index. `false` skips it on a table too large to scan. Default `true`.
   */
  readonly largest?: boolean;
  /** Also find the latest expiry among the expired rows (one more indexed statement). Default `false`. */
  readonly newestExpired?: boolean;
}

/** Aliases unlikely to be a column's name, so that no selected column shadows another. */
const SID = 'csk_sid';
const EXPIRES = 'csk_expires';
const SIZE = 'csk_size';

/**
 * The statistics of `table`: live and expired counts, the earliest expiries, and (unless skipped) the largest session.
 * `now` is "now" as the store binds it in comparisons (encoded, and wrapped as the adapter's `bindExpiry` says).
 */
export async function collectStats(
  knex: Knex,
  adapter: DialectAdapter,
  table: SessionTable,
  now: Knex.Value,
  options?: StatsOptions | null,
): Promise<SessionStats> {
  const t = table;
  const count = async (operator: '>' | '<='): Promise<number> => {
    const row = await t.query(knex).count({ n: t.sidColumn }).where(t.expiredColumn, operator, now).first();
    return Number(row?.n ?? 0);
  };
  const earliest = async (
    narrow: (query: Knex.QueryBuilder) => Knex.QueryBuilder,
    direction: 'asc' | 'desc' = 'asc',
  ): Promise<SessionExpiry | null> => {
    const query = t
      .query(knex)
      .select(knex.raw('?? as ??', [t.sidColumn, SID]), selectExpiry(knex, adapter, t, EXPIRES)).whereNotNull(t.expiredColumn);
    const row = (await narrow(query).orderBy(t.expiredColumn, direction).first()) as Record<string, unknown> | undefined;
    if (!row) return null;
    const ms = decodeExpiry(row[EXPIRES], t.expiryEncoding);
    return { sid: String(row[SID]), expires: ms === undefined ? null : new Date(ms) };
  };
  // One after the other: a pool of one connection (an embedded database's) serves one statement at a time anyway.
  const live = await count('>');
  const expired = await count('<=');
  const oldestLive = await earliest((query) => query.where(t.expiredColumn, '>', now));
  const oldest = await earliest((query) => query);
  const newest = options?.newestExpired
    ? { newestExpired: await earliest((query) => query.where(t.expiredColumn, '<=', now), 'desc') }
    : {};
  if (options?.largest === false) return { live, expired, oldestLive, oldest, ...newest };
  const size = adapter.catalog.sizeOf(knex, t.sessColumn);
  const row = (await t
    .query(knex)
    .select(knex.raw('?? as ??', [t.sidColumn, SID]), knex.raw('? as ??', [size, SIZE]))
    .whereNotNull(t.sessColumn)
    .orderBy(SIZE, 'desc')
    .first()) as Record<string, unknown> | undefined;
  const largest = row ? { sid: String(row[SID]), bytes: Number(row[SIZE]) } : null;
  return { live, expired, oldestLive, oldest, largest, ...newest };
}
