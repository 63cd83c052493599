import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionTable } from './session-table.js';
import { SessionTableShapeError } from './errors.js';
import { MAX_EXPIRY_MS } from './expiry.js';
import type { ExpiryEncoding } from './options.js';

/** The largest expiry in epoch seconds: a larger integer can only be epoch milliseconds. */
export const MAX_EXPIRY_SECONDS = Math.floor(MAX_EXPIRY_MS / 1000);
/** The smallest integer read as an expiry in epoch seconds (1973): smaller ones are no expiry either way. */
const MIN_EXPIRY_SECONDS = 100_000_000;

/** What a declared column type holds, by the words every SQL engine uses in its type names. */
function kindOf(type: string): 'date-time' | 'number' | 'other' {
  if (/date|time/i.test(type)) return 'date-time';
  if (/int|numeric|decimal|number|float|double|real/i.test(type)) return 'number';
  return 'other';
}

/**
 * The encoding a stored expiry value shows, or `undefined` when it shows none: a `Date` or date-time text is a
 * timestamp; an integer (or its digits, as drivers return a bigint) up to {@link MAX_EXPIRY_SECONDS} is epoch seconds,
 * and a larger one up to {@link MAX_EXPIRY_MS} epoch milliseconds. Those ranges cannot overlap: the latest expiry in
 * seconds is 1978-01-12 in milliseconds, before any session a store writes today.
 */
export function encodingOf(value: unknown): ExpiryEncoding | undefined {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? 'timestamp' : undefined;
  let number: number;
  if (typeof value === 'number' || typeof value === 'bigint') number = Number(value);
  else if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) number = Number(value);
  else if (typeof value === 'string') return Number.isFinite(Date.parse(value.trim().replace(' ', 'T'))) ? 'timestamp' : undefined;
  else return undefined;
  if (number >= MIN_EXPIRY_SECONDS && number <= MAX_EXPIRY_SECONDS) return 'epoch-seconds';
  if (number > MAX_EXPIRY_SECONDS && number <= MAX_EXPIRY_MS) return 'epoch-ms';
  return undefined;
}

/** A stored value as people read it in messages: the value, and for a number the instant each encoding makes of it. */
function describeValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  const encoding = encodingOf(value);
  if (encoding === 'epoch-seconds') return `${String(value)} (${new Date(Number(value) * 1000).toISOString()} in epoch seconds)`;
  if (encoding === 'epoch-ms') return `${String(value)} (${new Date(Number(value)).toISOString()} in epoch milliseconds)`;
  return JSON.stringify(String(value));
}

const WHAT: Record<ExpiryEncoding, string> = {
  timestamp: 'date-times',
  'epoch-seconds': 'epoch seconds',
  'epoch-ms': 'epoch milliseconds',
};

/**
 * The earliest and latest values of the expiry column, as the driver returns them (so that on an engine whose
 * columns keep any type, a number and text come back as such): each a separate statement, which every engine answers
 * from the expiry index.
 */
async function extremes(knex: Knex, table: SessionTable): Promise<unknown[]> {
  const end = async (direction: 'asc' | 'desc'): Promise<unknown> => {
    const row = (await table
      .query(knex)
      .select({ value: table.expiredColumn })
      .whereNotNull(table.expiredColumn)
      .orderBy(table.expiredColumn, direction)
      .first()) as { value?: unknown } | undefined;
    return row?.value;
  };
  return [await end('asc'), await end('desc')].filter((value) => value !== undefined && value !== null);
}

/**
 * What the expiry column holds with the configured encoding: for the epoch encodings an integer of that unit; for
 * `'timestamp'` the dialect's own date-time value, which for an adapter whose `encodeExpiry` gives a number is an
 * integer too (of a unit shown by that number, where it shows one).
 */
function expected(knex: Knex, adapter: DialectAdapter, encoding: ExpiryEncoding): { kind: 'date-time' | 'number'; reading: ExpiryEncoding | undefined } {
  if (encoding !== 'timestamp') return { kind: 'number', reading: encoding };
  const sample = adapter.encodeExpiry(Date.now(), knex);
  if (typeof sample === 'number' || typeof sample === 'bigint') return { kind: 'number', reading: encodingOf(sample) };
  return { kind: 'date-time', reading: 'timestamp' };
}

/**
 * Check that the expiry column holds what `expiryEncoding` says, so that live sessions are never read as expired (and
 * swept): where the engine enforces declared types, a date-time column for date-times and an integer column for
 * integers; and whatever the engine, that neither the earliest nor the latest stored value shows another encoding (a
 * date-time, or an integer of another epoch unit). An empty table, or values that show no encoding, pass. Up to three
 * indexed statements, at start-up only.
 *
 * @throws {SessionTableShapeError} with a `mismatch` naming the column, what it holds and, when the values tell, the
 *   `expiryEncoding` that fits.
 */
export async function checkExpiryColumn(knex: Knex, adapter: DialectAdapter, table: SessionTable): Promise<void> {
  const encoding = table.expiryEncoding;
  const column = table.expiredColumn;
  const want = expected(knex, adapter, encoding);
  const declared = adapter.capabilities.dynamicColumnTypes ? undefined : await adapter.catalog.columnType(knex, table, column);
  const kind = declared === undefined ? 'other' : kindOf(declared);
  const refuse = (found: string, suggested?: ExpiryEncoding): never => {
    throw new SessionTableShapeError(table.displayName, {
      column,
      found,
      option: 'expiryEncoding',
      ...(suggested !== undefined && { suggested }),
    });
  };
  if (kind === 'date-time' && want.kind === 'number') {
    refuse(`date-times (its type is ${declared}), but expiryEncoding is '${encoding}'`, 'timestamp');
  }
  if (kind === 'date-time') return;
  const values = await extremes(knex, table);
  const shown = values.map(encodingOf);
  if (kind === 'number' && want.kind === 'date-time') {
    const unit = shown.find((found) => found !== undefined && found !== 'timestamp');
    const sample = values.length > 0 ? `, latest ${describeValue(values[values.length - 1])}` : '';
    refuse(`integers (its type is ${declared}${sample}), but expiryEncoding is '${encoding}'`, unit);
  }
  const other = shown.findIndex((found) => found !== undefined && found !== want.reading);
  if (other === -1) return;
  const found = shown[other]!;
  // Values of two encodings at once: say so, and suggest neither.
  const mixed = shown.some((candidate) => candidate === want.reading);
  refuse(
    `${WHAT[found]} (${other === 0 ? 'earliest' : 'latest'} ${describeValue(values[other])}${mixed ? ', beside values in the configured encoding' : ''}), ` +
      `but expiryEncoding is '${encoding}'`,
    mixed ? undefined : found,
  );
}
