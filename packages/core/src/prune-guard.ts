import type { Knex } from 'knex';
import type { SessionTable } from './session-table.js';
import { PruneGuardError } from './errors.js';
import { MAX_EXPIRY_MS } from './expiry.js';
import { encodingOf, MAX_EXPIRY_SECONDS } from './expiry-column.js';

/** The fewest expired rows for which the share rule applies: below it, a prune always runs. */
export const PRUNE_GUARD_MIN_ROWS = 100;
/** The live rows the share rule counts at most: a table with more live rows than this never trips it. */
export const PRUNE_GUARD_LIVE_WINDOW = 1000;

/**
 * The ranges `(low, high]` of raw expiry values that the prune deletes now (they are expired as `encoding` reads
 * them) although another reading makes them live: integers of epoch seconds in an `'epoch-ms'` column (every one
 * sorts before now in milliseconds), and with `foreignNumbers` (an engine whose columns keep any type, where the
 * dialect's date-time is text), numbers in a `'timestamp'` column, which sort before any date-time text there. No other encoding can be so misread: in `'epoch-seconds'` a value in
 * milliseconds sorts after now, and a date-time column holds only date-times.
 */
export function misreadRanges(
  encoding: SessionTable['expiryEncoding'],
  foreignNumbers: boolean,
  nowMs: number,
): Array<[low: number, high: number]> {
  const liveSeconds: [number, number] = [Math.floor(nowMs / 1000), MAX_EXPIRY_SECONDS];
  if (encoding === 'epoch-ms') return [liveSeconds];
  if (encoding === 'timestamp' && foreignNumbers) return [liveSeconds, [Math.floor(nowMs), MAX_EXPIRY_MS]];
  return [];
}

/**
 * The first rule of the prune guard, run before a prune's first batch: no row the prune would delete may be live on a
 * second reading of its expiry (see {@link misreadRanges}). One indexed statement that finds nothing on a sound table,
 * and none at all for the encodings that cannot be misread.
 *
 * @throws {PruneGuardError} (reason `'second-reading'`) naming such a value.
 */
export async function checkSecondReading(
  knex: Knex,
  table: SessionTable,
  foreignNumbers: boolean,
  nowMs: number,
): Promise<void> {
  const ranges = misreadRanges(table.expiryEncoding, foreignNumbers, nowMs);
  if (ranges.length === 0) return;
  const column = table.expiredColumn;
  const row = (await table
    .query(knex)
    .select({ value: column })
    .where((query) => {
      for (const [low, high] of ranges) query.orWhere((range) => range.where(column, '>', low).andWhere(column, '<=', high));
    })
    .first()) as { value?: unknown } | undefined;
  // Only a number is misread: on an engine that compares text with a number as text, date-time text can match too.
  const reading = encodingOf(row?.value);
  if (reading !== 'epoch-seconds' && reading !== 'epoch-ms') return;
  const value = Number(row!.value);
  const live = new Date(reading === 'epoch-seconds' ? value * 1000 : value).toISOString();
  throw new PruneGuardError(
    table.displayName,
    'second-reading',
    `it would delete the expiry ${value} in column ${JSON.stringify(column)}, expired as expiryEncoding ` +
      `'${table.expiryEncoding}' reads it but live until ${live} read as ${reading === 'epoch-seconds' ? 'epoch seconds' : 'epoch milliseconds'}: ` +
      'check expiryEncoding, and whether another application writes this table in another encoding',
  );
}

/** What the share rule counted: expired rows (at most `cap`) and live rows (at most {@link PRUNE_GUARD_LIVE_WINDOW}). */
export interface PruneShare {
  readonly expired: number;
  readonly live: number;
  /** Whether the expired rows would be more than `maxShare` of the table (when at least {@link PRUNE_GUARD_MIN_ROWS}). */
  readonly excessive: boolean;
}

/**
 * Count, from the expiry index, up to {@link PRUNE_GUARD_LIVE_WINDOW} live rows and just enough expired ones to tell
 * whether the expired rows are more than `maxShare` of the table: two bounded statements, whatever the table's size.
 * `now` is "now" as the store binds it.
 */
export async function measureShare(knex: Knex, table: SessionTable, now: Knex.Value, maxShare: number): Promise<PruneShare> {
  if (!(maxShare < 1)) return { expired: 0, live: 0, excessive: false };
  const column = table.expiredColumn;
  const count = async (operator: '>' | '<=', cap: number): Promise<number> => {
    const window = table.query(knex).select(column).where(column, operator, now).limit(cap).as('csk_window');
    const row = (await knex.count({ n: '*' }).from(window).first()) as { n?: unknown } | undefined;
    return Number(row?.n ?? 0);
  };
  // More expired rows than this are more than maxShare of any table with fewer live rows than the window.
  const enough = Math.max(PRUNE_GUARD_MIN_ROWS, Math.ceil((PRUNE_GUARD_LIVE_WINDOW * maxShare) / (1 - maxShare)) + 1);
  const expired = await count('<=', enough);
  if (expired < PRUNE_GUARD_MIN_ROWS) return { expired, live: 0, excessive: false };
  const live = await count('>', PRUNE_GUARD_LIVE_WINDOW);
  const excessive = live < PRUNE_GUARD_LIVE_WINDOW && expired > ((expired + live) * maxShare);
  return { expired, live, excessive };
}

/** The error of a prune the share rule stopped. */
export function shareError(table: SessionTable, share: PruneShare, maxShare: number): PruneGuardError {
  const count = (n: number): string => n.toLocaleString('en-US');
  return new PruneGuardError(
    table.displayName,
    'share',
    `it would delete ${count(share.expired)} expired rows or more while ${count(share.live)} are live, more than ` +
      `pruneMaxShare (${maxShare}) of the table, and no prune of this store did so recently. If the rows really ` +
      'expired (the table was not pruned for a while), call store.prune() or run `connect-session-knex prune` once; ' +
      "if not, check the server's clock and expiryEncoding",
  );
}
