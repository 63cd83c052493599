import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import { rowCount } from './row-count.js';
import { EXPIRES } from './session-queries.js';
import type { SessionStatements, StoredRead } from './session-statements.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { decodeExpiry, selectExpiry } from './stored-expiry.js';
import { MAX_BATCH_SIZE } from './turn-batch.js';

/**
 * The sizes the statements on several sids come in. A read or touch batch is padded up to the next one by repeating
 * its last entry (which changes nothing: `IN` matches a row once, and a repeated `WHEN` gives the same value); an
 * upsert batch, whose rows may not repeat, is cut into them. Each kind then has a handful of statements to prepare
 * per connection, not one per count: prepared statements cost memory on both sides, and some servers cap their number
 * (`max_prepared_stmt_count`).
 */
const STATEMENT_SIZES = [2, 4, 8, 16, 32, 64, MAX_BATCH_SIZE];

/**
 * The statements of the `coalesce` option's batches: a read, a touch or an upsert of several sids in one statement,
 * on the fast path of {@link SessionStatements} (compiled once per size) or, where that is off, through knex.
 */
export class BatchedStatements {
  readonly #statements: SessionStatements;
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #bindExpiry: (knex: Knex, value: Knex.Value) => Knex.Value;

  constructor(
    statements: SessionStatements,
    adapter: DialectAdapter,
    table: SessionTable,
    bindExpiry: (knex: Knex, value: Knex.Value) => Knex.Value,
  ) {
    this.#statements = statements;
    this.#adapter = adapter;
    this.#table = table;
    this.#bindExpiry = bindExpiry;
  }

  /** The stored `sess` values and expiries of the live sessions among `sids` (distinct), by sid. */
  async getMany(knex: Knex, sids: readonly string[], now: Knex.Value): Promise<Map<string, StoredRead>> {
    const encoding = this.#table.expiryEncoding;
    const found = new Map<string, StoredRead>();
    const padded = padTo(sids, statementSize(sids.length));
    const rows = await this.#statements.runCompiled(knex, 'read', `get${padded.length}`, [...padded, now], (db, args) =>
      this.#select(db, args.slice(0, -1) as string[], args[args.length - 1] as Knex.Value),
    );
    if (rows) {
      for (const row of rows) found.set(String(row[0]), { found: true, value: row[1], expires: decodeExpiry(row[2], encoding) });
      return found;
    }
    const t = this.#table;
    const records: Record<string, unknown>[] = await this.#select(knex, sids, now);
    for (const row of records) {
      found.set(String(row[t.sidColumn]), { found: true, value: row[t.sessColumn], expires: decodeExpiry(row[EXPIRES], encoding) });
    }
    return found;
  }

  /**
   * Set the expiries of the sessions among `touches` (sid to expiry, sids distinct) that are still live at `now`;
   * resolves the rows changed.
   */
  async touchMany(knex: Knex, touches: ReadonlyMap<string, Knex.Value>, now: Knex.Value): Promise<number> {
    const entries = [...touches];
    const padded = padTo(entries, statementSize(entries.length));
    const changed = await this.#statements.runCompiled(knex, 'write', `touch${padded.length}`, [...padded.flat(), now], (db, args) =>
      this.#update(db, pairs(args.slice(0, -1)), args[args.length - 1] as Knex.Value),
    );
    return changed ?? rowCount(await this.#update(knex, entries, now));
  }

  /** Whether the adapter upserts several rows in one statement (its `upsertMany`): else each `set` goes alone. */
  get upsertsMany(): boolean {
    return typeof this.#adapter.upsertMany === 'function';
  }

  /**
   * `rows` (of distinct sids) cut into the chunks {@link BatchedStatements.upsertMany} sends, in sid order, so that two
   * batches sharing sids lock their rows in the same order and cannot deadlock.
   */
  chunks(rows: readonly SessionRow[]): SessionRow[][] {
    const sorted = rows.slice().sort((a, b) => (a.sid < b.sid ? -1 : a.sid > b.sid ? 1 : 0));
    const chunks: SessionRow[][] = [];
    for (let at = 0; at < sorted.length; ) {
      const left = sorted.length - at;
      const size = STATEMENT_SIZES.reduce((best, one) => (one <= left ? one : best), 1);
      chunks.push(sorted.slice(at, at + size));
      at += size;
    }
    return chunks;
  }

  /** Insert the rows of one chunk (see {@link BatchedStatements.chunks}), or replace the rows of their sids. */
  async upsertMany(knex: Knex, rows: readonly SessionRow[]): Promise<void> {
    if (rows.length === 1) return this.#statements.upsert(knex, rows[0]!);
    const width = 3 + this.#table.extraColumns.length;
    const args = rows.flatMap((row) => [row.sid, row.sess, row.expired, ...row.extra]);
    const done = await this.#statements.runCompiled(knex, 'write', `upsert${rows.length}`, args, (db, values) =>
      this.#upsert(db, values, width),
    );
    if (done === undefined) await this.#upsert(knex, args, width);
  }

  #select(knex: Knex, sids: readonly string[], now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    return t
      .query(knex)
      .select(t.sidColumn, t.sessColumn, selectExpiry(knex, this.#adapter, t, EXPIRES))
      .whereIn(t.sidColumn, sids as string[])
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now));
  }

  /**
   * `UPDATE … SET expired = CASE sid WHEN … THEN … ELSE expired END`, the ELSE also giving the CASE the column's type,
   * on the live rows whose expiry the CASE changes (as `SessionQueries.update`, rows that hold it are not written).
   */
  #update(knex: Knex, touches: ReadonlyArray<readonly [string, Knex.Value]>, now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    const cases = touches.map(() => 'when ? then ?').join(' ');
    const bindings = touches.flatMap(([sid, expired]) => [sid, this.#bindExpiry(knex, expired)]);
    const moved = (): Knex.Raw => knex.raw(`case ?? ${cases} else ?? end`, [t.sidColumn, ...bindings, t.expiredColumn]);
    return t
      .query(knex)
      .whereIn(
        t.sidColumn,
        touches.map(([sid]) => sid),
      )
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now))
      .andWhere(t.expiredColumn, '<>', moved())
      .update({ [t.expiredColumn]: moved() });
  }

  /** The adapter's upsert of the rows whose values `values` holds, `width` to a row, expiries bound as the dialect binds them. */
  #upsert(knex: Knex, values: readonly unknown[], width: number): Knex.QueryBuilder | Knex.Raw {
    const rows: SessionRow[] = [];
    for (let at = 0; at < values.length; at += width) {
      const [sid, sess, expired, ...extra] = values.slice(at, at + width) as [string, string, Knex.Value, ...Knex.Value[]];
      rows.push({ sid, sess, expired: this.#bindExpiry(knex, expired), extra });
    }
    return this.#adapter.upsertMany!(knex, this.#table, rows);
  }
}

/** `[a, b, c, d]` as `[[a, b], [c, d]]`. */
function pairs(flat: readonly unknown[]): Array<[string, Knex.Value]> {
  const out: Array<[string, Knex.Value]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as Knex.Value]);
  return out;
}

function statementSize(count: number): number {
  return STATEMENT_SIZES.find((size) => size >= count) ?? count;
}

function padTo<T>(items: readonly T[], size: number): readonly T[] {
  if (items.length >= size) return items;
  const out = items.slice();
  while (out.length < size) out.push(items[items.length - 1]!);
  return out;
}
