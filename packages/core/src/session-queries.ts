import type { Knex } from 'knex';
import type { DialectAdapter } from './dialect-adapter.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { selectExpiry } from './stored-expiry.js';

/** The alias of the expiry a read selects beside the session: unlikely to be a column's name. */
export const EXPIRES = 'csk_expires';

/**
 * The knex builders of the four statements a request sends about one session. The knex path sends them as built; the
 * fast path compiles each once, with stand-ins for its values (see `SessionStatements`). Every expiry they bind goes
 * through `bindExpiry`: the adapter's cast, where it has one.
 */
export class SessionQueries {
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #bindExpiry: (knex: Knex, value: Knex.Value) => Knex.Value;

  constructor(adapter: DialectAdapter, table: SessionTable, bindExpiry: (knex: Knex, value: Knex.Value) => Knex.Value) {
    this.#adapter = adapter;
    this.#table = table;
    this.#bindExpiry = bindExpiry;
  }

  /** The `sess` value of `sid` and its expiry (as {@link EXPIRES}), when the session is live at `now`. */
  select(knex: Knex, sid: string, now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    // The key finds one row at most. The limit is written into the SQL, not bound: a bound LIMIT made an embedded
    // engine prepare the statement again on every call.
    return t
      .query(knex)
      .select(t.sessColumn, selectExpiry(knex, this.#adapter, t, EXPIRES))
      .where(t.sidColumn, sid)
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now))
      .limit(1, { skipBinding: true });
  }

  /** Insert `row`, or replace the row of its sid: the adapter's atomic upsert. */
  upsert(knex: Knex, row: SessionRow): Knex.QueryBuilder | Knex.Raw {
    return this.#adapter.upsert(knex, this.#table, { ...row, expired: this.#bindExpiry(knex, row.expired) });
  }

  /**
   * Set the expiry of `sid` to `expired`, when the session is live at `now` and its row holds another expiry: a row
   * that already holds it (a touch within the second of the last write, see `storedExpiry`) is not written at all.
   */
  update(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    return t
      .query(knex)
      .where(t.sidColumn, sid)
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now))
      .andWhere(t.expiredColumn, '<>', this.#bindExpiry(knex, expired))
      .update({ [t.expiredColumn]: this.#bindExpiry(knex, expired) });
  }

  /** Delete the row of `sid`. */
  delete(knex: Knex, sid: string): Knex.QueryBuilder {
    const t = this.#table;
    return t.query(knex).where(t.sidColumn, sid).del();
  }
}
