import type { Knex } from 'knex';
import { rowCount } from './row-count.js';
import type { SessionTable } from './session-table.js';
import type { Retry } from './retry.js';

/** Sids per statement when deleting many at once (below every engine's bind-parameter limit). */
export const DELETE_CHUNK_SIZE = 500;

/** A live row as {@link BulkStatements.selectLive} reads it: its stored id and its stored session, undecoded. */
export interface StoredRow {
  readonly sid: string;
  readonly value: unknown;
}

/**
 * The statements on many rows at once, built with knex's query builder (those on one session, which may run natively,
 * are `SessionStatements`). "Now" comes already encoded and bound for the expiry column. The deletes that commit on
 * their own run through the store's {@link Retry}.
 */
export class BulkStatements {
  readonly #table: SessionTable;
  readonly #retry: Retry;

  constructor(table: SessionTable, retry: Retry) {
    this.#table = table;
    this.#retry = retry;
  }

  /** Delete the rows of `sids`, a chunk per statement. Resolves the number deleted. */
  async deleteSids(knex: Knex, sids: readonly string[]): Promise<number> {
    const t = this.#table;
    let deleted = 0;
    for (let i = 0; i < sids.length; i += DELETE_CHUNK_SIZE) {
      const chunk = sids.slice(i, i + DELETE_CHUNK_SIZE);
      deleted += rowCount(await this.#retry(() => t.query(knex).whereIn(t.sidColumn, chunk).del()));
    }
    return deleted;
  }

  /** Delete the row of one stored id, whatever it holds (a corrupt row, as `get` met it). */
  async deleteSid(knex: Knex, sid: string): Promise<void> {
    const t = this.#table;
    await this.#retry(() => t.query(knex).where(t.sidColumn, sid).del());
  }

  /** Delete every row whose columns hold `where`'s values. Resolves the number deleted. */
  async deleteWhere(knex: Knex, where: Record<string, string>): Promise<number> {
    return rowCount(await this.#retry(() => this.#table.query(knex).where(where).del()));
  }

  /** Delete every row. Resolves the number deleted. */
  async deleteAll(knex: Knex): Promise<number> {
    return rowCount(await this.#retry(() => this.#table.query(knex).del()));
  }

  /** Whether a row is stored under one of `sids` (the first {@link DELETE_CHUNK_SIZE} of them). */
  async anyStored(knex: Knex, sids: readonly string[]): Promise<boolean> {
    const t = this.#table;
    const found = await t.query(knex).whereIn(t.sidColumn, sids.slice(0, DELETE_CHUNK_SIZE)).first(t.sidColumn);
    return found !== undefined;
  }

  /** Every live row's stored id and session, narrowed to the rows whose columns hold `where`'s values when given. */
  async selectLive(knex: Knex, now: Knex.Value, where?: Record<string, string>): Promise<StoredRow[]> {
    const t = this.#table;
    const query = t.query(knex).select(t.sidColumn, t.sessColumn).where(t.expiredColumn, '>', now);
    const rows: Record<string, unknown>[] = await (where ? query.where(where) : query);
    return rows.map((row) => ({ sid: String(row[t.sidColumn]), value: row[t.sessColumn] }));
  }

  /** The number of live rows. */
  async countLive(knex: Knex, now: Knex.Value): Promise<number> {
    const t = this.#table;
    const row = await t.query(knex).count({ n: t.sidColumn }).where(t.expiredColumn, '>', now).first();
    return Number(row?.n ?? 0);
  }

  /** The stored id of every live row. */
  async liveSids(knex: Knex, now: Knex.Value): Promise<string[]> {
    const t = this.#table;
    const sids: unknown[] = await t.query(knex).where(t.expiredColumn, '>', now).pluck(t.sidColumn);
    return sids.map(String);
  }

  /**
   * Delete rows whose expiry is NULL, which only a table made by hand allows: such a row is never live (no comparison
   * with NULL holds) and no expiry ever prunes it. Batched; one indexed query when there is none; stops after a batch
   * once `stop()` says so.
   */
  async deleteWithoutExpiry(knex: Knex, stop: () => boolean): Promise<number> {
    const t = this.#table;
    let total = 0;
    for (;;) {
      const sids: string[] = await t.query(knex).whereNull(t.expiredColumn).limit(DELETE_CHUNK_SIZE).pluck(t.sidColumn);
      if (sids.length === 0) return total;
      // whereNull again, so that a row given an expiry since the select is live and stays.
      total += rowCount(await t.query(knex).whereIn(t.sidColumn, sids).whereNull(t.expiredColumn).del());
      if (sids.length < DELETE_CHUNK_SIZE || stop()) return total;
    }
  }
}
