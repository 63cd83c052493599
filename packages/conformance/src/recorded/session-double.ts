import type { RecordedStatement } from './recording.js';

/** The statements a store sends for the default table `sessions`, exactly as its dialect compiles them. */
export interface SessionStatements {
  readonly hasTable: string;
  readonly createTable: string;
  readonly merge: string;
  readonly get: string;
  readonly touch: string;
  readonly destroy: string;
  readonly all: string;
  readonly length: string;
  readonly ids: string;
  readonly clear: string;
  readonly prune: string;
}

/** A stored row: the session text and the expiry in epoch milliseconds. */
export interface DoubleRow {
  sess: string;
  expires: number;
}

/** A reply carrying result rows (column name to value), which every recording driver takes. */
export interface RowsReply {
  readonly rows: ReadonlyArray<Record<string, unknown>>;
}

/** What differs between the databases a {@link sessionDouble} stands in for; `R` is the driver's reply type. */
export interface DoubleDialect<R> {
  readonly sql: SessionStatements;
  /** The bootstrap's other DDL (the index, a separate primary key): accepted, with nothing to do. */
  readonly ddl: readonly string[];
  /** destroy() of several sids: one placeholder per sid. */
  readonly destroyMany: RegExp;
  /** Whether the row limit of length and prune is their first value (SQL Server's `top`) or their last. */
  readonly limitFirst: boolean;
  /** A bound expiry or "now" in epoch milliseconds, as the database reads it; throws for a value of another form. */
  instant(value: unknown): number;
  /** The session text as the driver hands it back in a row. */
  text(sess: string): unknown;
  /** The reply to DML that changed `n` rows, which the store reads its count from. */
  changed(n: number): R;
  /** The reply to DDL or a MERGE that changed `n` rows, which the store reads nothing from. */
  executed(n: number): R | undefined;
  /** What CREATE TABLE fails with when the table exists. */
  alreadyExists(): Error;
}

/** A stand-in database: its answer to each statement, and its rows to look at or plant. */
export interface SessionDouble<R> {
  respond(statement: RecordedStatement): RowsReply | R | undefined;
  readonly rows: Map<string, DoubleRow>;
}

/**
 * A stand-in for a database holding one `sessions` table, which understands exactly the statements of `dialect` and
 * refuses any other. With a recording driver it lets a real store run end to end: what it answers is decoded by
 * knex's own response code for that driver.
 */
export function sessionDouble<R>(dialect: DoubleDialect<R>): SessionDouble<R> {
  const { sql: SQL, instant, text, changed, executed } = dialect;
  const rows = new Map<string, DoubleRow>();
  let exists = false;
  const live = (now: unknown) => [...rows].filter(([, row]) => row.expires > instant(now));
  /** The row limit of a statement's values, and the other values in order. */
  const limited = (v: readonly unknown[]): [limit: number, rest: readonly unknown[]] =>
    dialect.limitFirst ? [Number(v[0]), v.slice(1)] : [Number(v[v.length - 1]), v.slice(0, -1)];

  const respond = ({ sql, values: v }: RecordedStatement): RowsReply | R | undefined => {
    switch (sql) {
      case SQL.hasTable:
        return { rows: exists ? [{ TABLE_NAME: v[0] }] : [] };
      case SQL.createTable:
        if (exists) throw dialect.alreadyExists();
        exists = true;
        return executed(0);
      case SQL.merge:
        rows.set(String(v[0]), { sess: String(v[1]), expires: instant(v[2]) });
        return executed(1);
      case SQL.get: {
        // The get's limit (one row) is written into its SQL, not bound.
        const [sid, now] = v;
        const row = rows.get(String(sid));
        return { rows: row && row.expires > instant(now) ? [{ sess: text(row.sess), csk_expires: new Date(row.expires) }] : [] };
      }
      case SQL.touch: {
        // Values: the new expiry, the sid, now, and the new expiry again (a row already holding it is not written).
        const row = rows.get(String(v[1]));
        if (!row || row.expires <= instant(v[2]) || row.expires === instant(v[3])) return changed(0);
        row.expires = instant(v[0]);
        return changed(1);
      }
      case SQL.destroy:
        return changed(rows.delete(String(v[0])) ? 1 : 0);
      case SQL.all:
        return { rows: live(v[0]).map(([sid, row]) => ({ sid, sess: text(row.sess) })) };
      case SQL.length:
        return { rows: [{ n: live(limited(v)[1][0]).length }] };
      case SQL.ids:
        return { rows: live(v[0]).map(([sid]) => ({ sid })) };
      case SQL.clear: {
        const n = rows.size;
        rows.clear();
        return changed(n);
      }
      case SQL.prune: {
        const [limit, [now]] = limited(v);
        const expired = [...rows].filter(([, row]) => row.expires <= instant(now)).slice(0, limit);
        for (const [sid] of expired) rows.delete(sid);
        return changed(expired.length);
      }
      default:
        if (dialect.ddl.includes(sql)) return executed(0);
        if (dialect.destroyMany.test(sql)) return changed(v.filter((sid) => rows.delete(String(sid))).length);
        throw new Error(`the double does not know this statement: ${sql}`);
    }
  };
  return { respond, rows };
}
