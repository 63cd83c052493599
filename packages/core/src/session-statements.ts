import type { Knex } from 'knex';
import { compile, placeholder, valuesOf, type CompiledStatement as Compiled } from './compiled-statement.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';
import { rowCount } from './row-count.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { decodeExpiry, selectExpiry } from './stored-expiry.js';
import { MAX_BATCH_SIZE } from './turn-batch.js';
import { TurnLeases } from './turn-lease.js';

/** The statements the store sends on every request, compiled. */
interface Native {
  readonly knex: Knex;
  readonly executor: NativeExecutor;
  readonly get: Compiled;
  readonly upsert: Compiled;
  readonly touch: Compiled;
  readonly destroy: Compiled;
}

/** What reading one sid finds: its stored `sess` value and expiry (epoch ms), or `found: false`. */
export interface StoredRead {
  readonly found: boolean;
  readonly value?: unknown;
  /** `undefined` when the column holds no instant. */
  readonly expires?: number;
}

/** The alias of the expiry a `get` reads beside the session: unlikely to be a column's name. */
const EXPIRES = 'csk_expires';

/** Returned by a native run whose connection the executor refused: the caller then takes the knex path. */
const REFUSED = Symbol('refused');

/**
 * The four statements every request sends (read a session, upsert it, extend its expiry, delete it), each defined
 * once as a knex builder.
 *
 * The fast path: when the adapter offers a {@link NativeExecutor} for the knex's driver, each builder is compiled
 * once, on first use, into native SQL (`toSQL().toNative()`), and from then on runs through the executor on a
 * connection taken from the knex's own pool, with nothing rebuilt per call. Anything else (no executor, a client
 * without `acquireConnection`, a builder knex compiles unexpectedly, an executor refusing a connection, the option
 * `fastPath: false`) sends the same builders through knex, as before.
 */
export class SessionStatements {
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #context: NativeExecutorContext;
  readonly #bindExpiry: (knex: Knex, value: Knex.Value) => Knex.Value;
  /** `undefined`: not tried yet; `null`: the knex path for good. */
  #native: Native | null | undefined;
  #preparing: Promise<Native | null> | undefined;
  /** For an executor that shares connections: the connection the calls of one event-loop turn share. */
  readonly #leases = new TurnLeases();
  /** The compiled statements on several sids, by kind and count (`null`: knex compiled that one unexpectedly). */
  readonly #many = new Map<string, Compiled | null>();

  /**
   * `bindExpiry` turns an encoded expiry into what a statement holds (the adapter's cast, where it has one): every
   * expiry the statements bind goes through it, the compiled statements' stand-ins too.
   */
  constructor(
    adapter: DialectAdapter,
    table: SessionTable,
    options: { enabled: boolean; ownsKnex: boolean; bindExpiry?: (knex: Knex, value: Knex.Value) => Knex.Value },
  ) {
    this.#adapter = adapter;
    this.#table = table;
    this.#bindExpiry = options.bindExpiry ?? ((_knex, value) => value);
    this.#context = Object.freeze({ ownsKnex: options.ownsKnex });
    this.#native = options.enabled && adapter.nativeExecutor ? undefined : null;
  }

  /** Whether the statements currently run natively (for tests and diagnostics). */
  get native(): boolean {
    return Boolean(this.#native);
  }

  /**
   * The stored `sess` value of a live session and its stored expiry in epoch ms (`undefined` when the column holds
   * no instant); `found: false` when there is none.
   */
  async get(knex: Knex, sid: string, now: Knex.Value): Promise<StoredRead> {
    const encoding = this.#table.expiryEncoding;
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (native && native.knex === knex) {
      const rows = await this.#run(native, (connection) =>
        native.executor.read(connection, native.get, valuesOf(native.get, [sid, now])),
      );
      if (rows !== REFUSED) {
        const row = rows[0];
        return row ? { found: true, value: row[0], expires: decodeExpiry(row[1], encoding) } : { found: false };
      }
    }
    const rows: Record<string, unknown>[] = await this.#select(knex, sid, now);
    const row = rows[0];
    return row
      ? { found: true, value: row[this.#table.sessColumn], expires: decodeExpiry(row[EXPIRES], encoding) }
      : { found: false };
  }

  /**
   * The stored `sess` values and expiries of the live sessions among `sids` (distinct), by sid: one statement for all of them,
   * compiled once per count of sids on the fast path.
   */
  async getMany(knex: Knex, sids: readonly string[], now: Knex.Value): Promise<Map<string, StoredRead>> {
    const encoding = this.#table.expiryEncoding;
    const found = new Map<string, StoredRead>();
    const padded = padTo(sids, statementSize(sids.length));
    const rows = await this.#runMany(knex, 'get', padded.length, [...padded, now], (db, args) =>
      this.#selectMany(db, args.slice(0, -1) as string[], args[args.length - 1] as Knex.Value),
    );
    if (rows) {
      for (const row of rows) found.set(String(row[0]), { found: true, value: row[1], expires: decodeExpiry(row[2], encoding) });
      return found;
    }
    const t = this.#table;
    const records: Record<string, unknown>[] = await this.#selectMany(knex, sids, now);
    for (const row of records) {
      found.set(String(row[t.sidColumn]), { found: true, value: row[t.sessColumn], expires: decodeExpiry(row[EXPIRES], encoding) });
    }
    return found;
  }

  /** Insert the row or replace the one of the same sid. */
  async upsert(knex: Knex, row: SessionRow): Promise<void> {
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (native && native.knex === knex) {
      const args = [row.sid, row.sess, row.expired, ...row.extra];
      const done = await this.#run(native, (connection) =>
        native.executor.write(connection, native.upsert, valuesOf(native.upsert, args)),
      );
      if (done !== REFUSED) return;
    }
    await this.#adapter.upsert(knex, this.#table, { ...row, expired: this.#bindExpiry(knex, row.expired) });
  }

  /** Whether {@link SessionStatements.upsertMany} can send several rows as one statement (the adapter's `upsertMany`). */
  get upsertsMany(): boolean {
    return typeof this.#adapter.upsertMany === 'function';
  }

  /**
   * `rows` (of distinct sids) cut into the chunks {@link SessionStatements.upsertMany} sends: each of one of the sizes
   * batched statements come in (a row may not appear twice in one upsert, so a batch is cut rather than padded), in
   * sid order, so that two batches sharing sids lock their rows in the same order and cannot deadlock.
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

  /** Insert the rows of one chunk (see {@link SessionStatements.chunks}), or replace the rows of their sids, in one statement. */
  async upsertMany(knex: Knex, rows: readonly SessionRow[]): Promise<void> {
    if (rows.length === 1) return this.upsert(knex, rows[0]!);
    const width = 3 + this.#table.extraColumns.length;
    const args = rows.flatMap((row) => [row.sid, row.sess, row.expired, ...row.extra]);
    const done = await this.#runMany(knex, 'upsert', rows.length, args, (db, values) => this.#upsertRows(db, values, width));
    if (done === undefined) await this.#upsertRows(knex, args, width);
  }

  /** The adapter's upsert of the rows whose values `values` holds, `width` to a row, expiries bound as the dialect binds them. */
  #upsertRows(knex: Knex, values: readonly unknown[], width: number): Knex.QueryBuilder | Knex.Raw {
    const rows: SessionRow[] = [];
    for (let at = 0; at < values.length; at += width) {
      const [sid, sess, expired, ...extra] = values.slice(at, at + width) as [string, string, Knex.Value, ...Knex.Value[]];
      rows.push({ sid, sess, expired: this.#bindExpiry(knex, expired), extra });
    }
    return this.#adapter.upsertMany!(knex, this.#table, rows);
  }

  /** Set the expiry of a session that is still live at `now`; resolves the rows changed (0 or 1). */
  async touch(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): Promise<number> {
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (native && native.knex === knex) {
      const changed = await this.#run(native, (connection) =>
        native.executor.write(connection, native.touch, valuesOf(native.touch, [expired, sid, now])),
      );
      if (changed !== REFUSED) return changed;
    }
    return rowCount(await this.#update(knex, sid, expired, now));
  }

  /**
   * Set the expiries of the sessions among `touches` (sid to expiry, sids distinct) that are still live at `now`, with
   * one statement; resolves the rows changed.
   */
  async touchMany(knex: Knex, touches: ReadonlyMap<string, Knex.Value>, now: Knex.Value): Promise<number> {
    const entries = [...touches];
    const padded = padTo(entries, statementSize(entries.length));
    const changed = await this.#runMany(knex, 'touch', padded.length, [...padded.flat(), now], (db, args) =>
      this.#updateMany(db, pairs(args.slice(0, -1)), args[args.length - 1] as Knex.Value),
    );
    return changed ?? rowCount(await this.#updateMany(knex, entries, now));
  }

  /** Delete the session of `sid`; resolves the rows deleted. */
  async destroy(knex: Knex, sid: string): Promise<number> {
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (native && native.knex === knex) {
      const deleted = await this.#run(native, (connection) =>
        native.executor.write(connection, native.destroy, valuesOf(native.destroy, [sid])),
      );
      if (deleted !== REFUSED) return deleted;
    }
    return rowCount(await this.#delete(knex, sid));
  }

  /**
   * Whether a write on `knex` can run now, synchronously: on the fast path, with an executor that has `writeNow` and a
   * connection already in hand (a lease of this turn's, see {@link TurnLeases.inHand}).
   */
  canWriteNow(knex: Knex): boolean {
    return this.#connectionNow(knex) !== undefined;
  }

  /** Whether a read on `knex` can run now, synchronously (see `canWriteNow`; the executor has `readNow`). */
  canReadNow(knex: Knex): boolean {
    return this.#connectionNow(knex, true) !== undefined;
  }

  /** {@link SessionStatements.get} at once, on a connection in hand (see `canReadNow`); `undefined` when it cannot. */
  getNow(knex: Knex, sid: string, now: Knex.Value): { found: boolean; value?: unknown; expires?: number } | undefined {
    const connection = this.#connectionNow(knex, true);
    if (connection === undefined) return undefined;
    const native = this.#native!;
    const row = native.executor.readNow!(connection, native.get, valuesOf(native.get, [sid, now]))[0];
    return row ? { found: true, value: row[0], expires: decodeExpiry(row[1], this.#table.expiryEncoding) } : { found: false };
  }

  /** {@link SessionStatements.upsert} at once; `false`, having done nothing, when it cannot run now (see `canWriteNow`). */
  upsertNow(knex: Knex, row: SessionRow): boolean {
    const connection = this.#connectionNow(knex);
    if (connection === undefined) return false;
    const native = this.#native!;
    native.executor.writeNow!(connection, native.upsert, valuesOf(native.upsert, [row.sid, row.sess, row.expired, ...row.extra]));
    return true;
  }

  /** {@link SessionStatements.touch} at once: the rows changed, or `undefined` when it cannot run now (see `canWriteNow`). */
  touchNow(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): number | undefined {
    const connection = this.#connectionNow(knex);
    if (connection === undefined) return undefined;
    const native = this.#native!;
    return native.executor.writeNow!(connection, native.touch, valuesOf(native.touch, [expired, sid, now]));
  }

  /** {@link SessionStatements.destroy} at once: the rows changed, or `undefined` when it cannot run now (see `canWriteNow`). */
  destroyNow(knex: Knex, sid: string): number | undefined {
    const connection = this.#connectionNow(knex);
    if (connection === undefined) return undefined;
    const native = this.#native!;
    return native.executor.writeNow!(connection, native.destroy, valuesOf(native.destroy, [sid]));
  }

  /** The connection a synchronous write may use now, if any (a refused one is left to the ordinary path to find). */
  #connectionNow(knex: Knex, read = false): unknown {
    const native = this.#native;
    if (!native || native.knex !== knex || !native.executor.sharesConnection) return undefined;
    if (!(read ? native.executor.readNow : native.executor.writeNow)) return undefined;
    const connection = this.#leases.inHand(knex.client);
    return connection === undefined || (native.executor.accepts && !native.executor.accepts(connection)) ? undefined : connection;
  }

  /** Release the executor's resources (before a knex the store owns is destroyed). */
  async close(): Promise<void> {
    const native = this.#native ?? (await this.#preparing?.catch(() => null));
    this.#native = null;
    await this.#leases.returned;
    await native?.executor.close?.();
  }

  #select(knex: Knex, sid: string, now: Knex.Value): Knex.QueryBuilder {
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

  #selectMany(knex: Knex, sids: readonly string[], now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    return t
      .query(knex)
      .select(t.sidColumn, t.sessColumn, selectExpiry(knex, this.#adapter, t, EXPIRES))
      .whereIn(t.sidColumn, sids as string[])
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now));
  }

  /** `UPDATE … SET expired = CASE sid WHEN … THEN … ELSE expired END`: the ELSE also gives the CASE the column's type. */
  #updateMany(knex: Knex, touches: ReadonlyArray<readonly [string, Knex.Value]>, now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    const cases = touches.map(() => 'when ? then ?').join(' ');
    const bindings = touches.flatMap(([sid, expired]) => [sid, this.#bindExpiry(knex, expired)]);
    return t
      .query(knex)
      .whereIn(
        t.sidColumn,
        touches.map(([sid]) => sid),
      )
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now))
      .update({ [t.expiredColumn]: knex.raw(`case ?? ${cases} else ?? end`, [t.sidColumn, ...bindings, t.expiredColumn]) });
  }

  #update(knex: Knex, sid: string, expired: Knex.Value, now: Knex.Value): Knex.QueryBuilder {
    const t = this.#table;
    return t
      .query(knex)
      .where(t.sidColumn, sid)
      .andWhere(t.expiredColumn, '>', this.#bindExpiry(knex, now))
      .update({ [t.expiredColumn]: this.#bindExpiry(knex, expired) });
  }

  #delete(knex: Knex, sid: string): Knex.QueryBuilder {
    const t = this.#table;
    return t.query(knex).where(t.sidColumn, sid).del();
  }

  /**
   * Run the statement on `count` sids that `build` makes, on the fast path: compiled once per kind and count, with
   * `args` for its values (`build` is given stand-ins for them). Resolves `undefined` when the knex path must run it.
   */
  async #runMany<K extends 'get' | 'touch' | 'upsert'>(
    knex: Knex,
    kind: K,
    count: number,
    args: readonly unknown[],
    build: (knex: Knex, args: readonly unknown[]) => Knex.QueryBuilder | Knex.Raw,
  ): Promise<(K extends 'get' ? ReadonlyArray<readonly unknown[]> : number) | undefined> {
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (!native || native.knex !== knex) return undefined;
    const key = `${kind}${count}`;
    let statement = this.#many.get(key);
    if (statement === undefined) {
      const stand = args.map((_, i) => placeholder(i));
      statement = compile(key, build(knex, stand), args.length) ?? null;
      this.#many.set(key, statement);
    }
    const compiled = statement;
    if (!compiled) return undefined;
    const executor = native.executor;
    const result = await this.#run<unknown>(native, (connection) =>
      kind === 'get'
        ? executor.read(connection, compiled, valuesOf(compiled, args))
        : executor.write(connection, compiled, valuesOf(compiled, args)),
    );
    return result === REFUSED ? undefined : (result as K extends 'get' ? ReadonlyArray<readonly unknown[]> : number);
  }

  /** Decide, once, whether the statements run natively; concurrent first calls share the decision. */
  #prepare(knex: Knex): Promise<Native | null> {
    this.#preparing ??= this.#compileAll(knex).then(
      (native) => {
        // A close() while compiling has already settled on the knex path.
        if (this.#native === undefined) this.#native = native;
        this.#preparing = undefined;
        return this.#native;
      },
      (error: unknown) => {
        // The adapter could not tell (its server did not answer): this call fails as any statement would; the next
        // one asks again.
        this.#preparing = undefined;
        throw error;
      },
    );
    return this.#preparing;
  }

  async #compileAll(knex: Knex): Promise<Native | null> {
    const client = knex.client as Partial<Pick<Knex.Client, 'acquireConnection' | 'releaseConnection'>> | undefined;
    if (typeof client?.acquireConnection !== 'function' || typeof client.releaseConnection !== 'function') return null;
    const executor = await this.#adapter.nativeExecutor?.(knex, this.#context);
    if (!executor) return null;
    try {
      const [a, b, c] = [placeholder(0), placeholder(1), placeholder(2)];
      const extra = this.#table.extraColumns.map((_, i) => placeholder(3 + i));
      const row: SessionRow = { sid: a, sess: b, expired: this.#bindExpiry(knex, c), extra };
      const get = compile('get', this.#select(knex, a, b), 2);
      const upsert = compile('upsert', this.#adapter.upsert(knex, this.#table, row), 3 + extra.length);
      const touch = compile('touch', this.#update(knex, b, a, c), 3);
      const destroy = compile('destroy', this.#delete(knex, a), 1);
      if (!get || !upsert || !touch || !destroy) return null;
      return { knex, executor, get, upsert, touch, destroy };
    } catch {
      // A builder knex cannot compile here would fail the same way every time: the knex path reports it per call.
      return null;
    }
  }

  /**
   * Run `work` on a connection from the knex's pool and give the connection back, also when `work` fails. A
   * connection the executor refuses goes back unused, and the knex path takes over for good.
   */
  async #run<T>(native: Native, work: (connection: unknown) => Promise<T>): Promise<T | typeof REFUSED> {
    const client = native.knex.client;
    if (native.executor.sharesConnection) {
      const lease = this.#leases.join(client);
      try {
        const connection = await lease.connection;
        if (native.executor.accepts && !native.executor.accepts(connection)) {
          this.#native = null;
          return REFUSED;
        }
        return await work(connection);
      } finally {
        lease.leave();
      }
    }
    const connection: unknown = await client.acquireConnection();
    try {
      if (native.executor.accepts && !native.executor.accepts(connection)) {
        this.#native = null;
        return REFUSED;
      }
      return await work(connection);
    } finally {
      await client.releaseConnection(connection);
    }
  }
}

/** `[a, b, c, d]` as `[[a, b], [c, d]]`. */
function pairs(flat: readonly unknown[]): Array<[string, Knex.Value]> {
  const out: Array<[string, Knex.Value]> = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as Knex.Value]);
  return out;
}

/**
 * The sizes the statements on several sids come in. A batch is padded up to the next one by repeating its last entry
 * (which changes nothing: `IN` matches a row once, and a repeated `WHEN` gives the same value), so that each kind has
 * a handful of statements to prepare per connection, not one per count: prepared statements cost memory on both
 * sides, and some servers cap their number (`max_prepared_stmt_count`).
 */
const STATEMENT_SIZES = [2, 4, 8, 16, 32, 64, MAX_BATCH_SIZE];

function statementSize(count: number): number {
  return STATEMENT_SIZES.find((size) => size >= count) ?? count;
}

function padTo<T>(items: readonly T[], size: number): readonly T[] {
  if (items.length >= size) return items;
  const out = items.slice();
  while (out.length < size) out.push(items[items.length - 1]!);
  return out;
}
