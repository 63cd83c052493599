import type { Knex } from 'knex';
import { valuesOf } from './compiled-statement.js';
import type { DialectAdapter } from './dialect-adapter.js';
import { FastPath, REFUSED } from './fast-path.js';
import { rowCount } from './row-count.js';
import { EXPIRES, SessionQueries } from './session-queries.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { decodeExpiry } from './stored-expiry.js';

/** What reading one sid finds: its stored `sess` value and expiry (epoch ms), or `found: false`. */
export interface StoredRead {
  readonly found: boolean;
  readonly value?: unknown;
  /** `undefined` when the column holds no instant. */
  readonly expires?: number;
}

/**
 * The four statements every request sends (read a session, upsert it, extend its expiry, delete it), each defined
 * once as a knex builder (`SessionQueries`).
 *
 * The fast path: when the adapter offers a `NativeExecutor` for the knex's driver, each builder is compiled
 * once, on first use, into native SQL (`toSQL().toNative()`), and from then on runs through the executor on a
 * connection taken from the knex's own pool, with nothing rebuilt per call. Anything else (no executor, a client
 * without `acquireConnection`, a builder knex compiles unexpectedly, an executor refusing a connection, the option
 * `fastPath: false`) sends the same builders through knex, as before.
 */
export class SessionStatements {
  readonly #table: SessionTable;
  readonly #queries: SessionQueries;
  readonly #fast: FastPath;

  /**
   * `bindExpiry` turns an encoded expiry into what a statement holds (the adapter's cast, where it has one): every
   * expiry the statements bind goes through it, the compiled statements' stand-ins too.
   */
  constructor(
    adapter: DialectAdapter,
    table: SessionTable,
    options: { enabled: boolean; ownsKnex: boolean; bindExpiry?: (knex: Knex, value: Knex.Value) => Knex.Value },
  ) {
    this.#table = table;
    this.#queries = new SessionQueries(adapter, table, options.bindExpiry ?? ((_knex, value) => value));
    this.#fast = new FastPath(adapter, table, this.#queries, options);
  }

  /** Whether the statements currently run natively (for tests and diagnostics). */
  get native(): boolean {
    return Boolean(this.#fast.compiled);
  }

  /**
   * The stored `sess` value of a live session and its stored expiry in epoch ms (`undefined` when the column holds
   * no instant); `found: false` when there is none.
   */
  async get(knex: Knex, sid: string, now: Knex.Value): Promise<StoredRead> {
    const encoding = this.#table.expiryEncoding;
    const fast = this.#fast;
    const compiled = fast.compiled === undefined ? await fast.prepare(knex) : fast.compiled;
    if (compiled && compiled.knex === knex) {
      const rows = await fast.run(compiled, (connection) =>
        compiled.executor.read(connection, compiled.get, valuesOf(compiled.get, [sid, now])),
      );
      if (rows !== REFUSED) {
        const row = rows[0];
        return row ? { found: true, value: row[0], expires: decodeExpiry(row[1], encoding) } : { found: false };
      }
    }
    const rows: Record<string, unknown>[] = await this.#queries.select(knex, sid, now);
    const row = rows[0];
    return row
      ? { found: true, value: row[this.#table.sessColumn], expires: decodeExpiry(row[EXPIRES], encoding) }
      : { found: false };
  }

  /** Insert the row or replace the one of the same sid. */
  async upsert(knex: Knex, row: SessionRow): Promise<void> {
    const fast = this.#fast;
    const compiled = fast.compiled === undefined ? await fast.prepare(knex) : fast.compiled;
    if (compiled && compiled.knex === knex) {
      const args = [row.sid, row.sess, row.expired, ...row.extra];
      const done = await fast.run(compiled, (connection) =>
        compiled.executor.write(connection, compiled.upsert, valuesOf(compiled.upsert, args)),
      );
      if (done !== REFUSED) return;
    }
    await this.#queries.upsert(knex, row);
  }

  /** Set the expiry of a session that is still live at `now`; resolves the rows changed (0 or 1). */
  async touch(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): Promise<number> {
    const fast = this.#fast;
    const compiled = fast.compiled === undefined ? await fast.prepare(knex) : fast.compiled;
    if (compiled && compiled.knex === knex) {
      const changed = await fast.run(compiled, (connection) =>
        compiled.executor.write(connection, compiled.touch, valuesOf(compiled.touch, [expired, sid, now])),
      );
      if (changed !== REFUSED) return changed;
    }
    return rowCount(await this.#queries.update(knex, sid, expired, now));
  }

  /** Delete the session of `sid`; resolves the rows deleted. */
  async destroy(knex: Knex, sid: string): Promise<number> {
    const fast = this.#fast;
    const compiled = fast.compiled === undefined ? await fast.prepare(knex) : fast.compiled;
    if (compiled && compiled.knex === knex) {
      const deleted = await fast.run(compiled, (connection) =>
        compiled.executor.write(connection, compiled.destroy, valuesOf(compiled.destroy, [sid])),
      );
      if (deleted !== REFUSED) return deleted;
    }
    return rowCount(await this.#queries.delete(knex, sid));
  }

  /**
   * Whether a write on `knex` can run now, synchronously: on the fast path, with an executor that has `writeNow` and a
   * connection already in hand (a lease of this turn's, see `TurnLeases.inHand`).
   */
  canWriteNow(knex: Knex): boolean {
    return this.#fast.connectionNow(knex, false) !== undefined;
  }

  /** Whether a read on `knex` can run now, synchronously (see `canWriteNow`; the executor has `readNow`). */
  canReadNow(knex: Knex): boolean {
    return this.#fast.connectionNow(knex, true) !== undefined;
  }

  /** {@link SessionStatements.get} at once, on a connection in hand (see `canReadNow`); `undefined` when it cannot. */
  getNow(knex: Knex, sid: string, now: Knex.Value): StoredRead | undefined {
    const connection = this.#fast.connectionNow(knex, true);
    if (connection === undefined) return undefined;
    const row = this.#fast.runNow(connection, (c, on) => c.executor.readNow!(on, c.get, valuesOf(c.get, [sid, now]))[0]);
    return row ? { found: true, value: row[0], expires: decodeExpiry(row[1], this.#table.expiryEncoding) } : { found: false };
  }

  /** {@link SessionStatements.upsert} at once; `false`, having done nothing, when it cannot run now (see `canWriteNow`). */
  upsertNow(knex: Knex, row: SessionRow): boolean {
    const connection = this.#fast.connectionNow(knex, false);
    if (connection === undefined) return false;
    const args = [row.sid, row.sess, row.expired, ...row.extra];
    this.#fast.runNow(connection, (c, on) => c.executor.writeNow!(on, c.upsert, valuesOf(c.upsert, args)));
    return true;
  }

  /** {@link SessionStatements.touch} at once: the rows changed, or `undefined` when it cannot run now (see `canWriteNow`). */
  touchNow(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): number | undefined {
    const connection = this.#fast.connectionNow(knex, false);
    if (connection === undefined) return undefined;
    return this.#fast.runNow(connection, (c, on) => c.executor.writeNow!(on, c.touch, valuesOf(c.touch, [expired, sid, now])));
  }

  /** {@link SessionStatements.destroy} at once: the rows changed, or `undefined` when it cannot run now (see `canWriteNow`). */
  destroyNow(knex: Knex, sid: string): number | undefined {
    const connection = this.#fast.connectionNow(knex, false);
    if (connection === undefined) return undefined;
    return this.#fast.runNow(connection, (c, on) => c.executor.writeNow!(on, c.destroy, valuesOf(c.destroy, [sid])));
  }

  /**
   * Run a statement that `build` makes on the fast path (for `BatchedStatements`): compiled once per `key`, with `args`
   * for its values (`build` is given stand-ins for them); a `'read'` resolves its rows, a `'write'` the rows changed.
   * Resolves `undefined` when the knex path must run it.
   */
  runCompiled<K extends 'read' | 'write'>(
    knex: Knex,
    kind: K,
    key: string,
    args: readonly unknown[],
    build: (knex: Knex, args: readonly unknown[]) => Knex.QueryBuilder | Knex.Raw,
  ): Promise<(K extends 'read' ? ReadonlyArray<readonly unknown[]> : number) | undefined> {
    return this.#fast.runCompiled(knex, kind, key, args, build) as Promise<
      (K extends 'read' ? ReadonlyArray<readonly unknown[]> : number) | undefined
    >;
  }

  /** Release the executor's resources (before a knex the store owns is destroyed). */
  close(): Promise<void> {
    return this.#fast.close();
  }
}
