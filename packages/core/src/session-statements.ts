import type { Knex } from 'knex';
import { compile, placeholder, valuesOf, type CompiledStatement as Compiled } from './compiled-statement.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';
import { rowCount } from './row-count.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { decodeExpiry, selectExpiry } from './stored-expiry.js';
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
export const EXPIRES = 'csk_expires';

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
  /** The statements `runCompiled` ran, by key (`null`: knex compiled that one unexpectedly). */
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
  getNow(knex: Knex, sid: string, now: Knex.Value): StoredRead | undefined {
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
   * Run a statement that `build` makes on the fast path (for `BatchedStatements`): compiled once per `key`, with `args`
   * for its values (`build` is given stand-ins for them); a `'read'` resolves its rows, a `'write'` the rows changed.
   * Resolves `undefined` when the knex path must run it.
   */
  async runCompiled<K extends 'read' | 'write'>(
    knex: Knex,
    kind: K,
    key: string,
    args: readonly unknown[],
    build: (knex: Knex, args: readonly unknown[]) => Knex.QueryBuilder | Knex.Raw,
  ): Promise<(K extends 'read' ? ReadonlyArray<readonly unknown[]> : number) | undefined> {
    const native = this.#native === undefined ? await this.#prepare(knex) : this.#native;
    if (!native || native.knex !== knex) return undefined;
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
      kind === 'read'
        ? executor.read(connection, compiled, valuesOf(compiled, args))
        : executor.write(connection, compiled, valuesOf(compiled, args)),
    );
    return result === REFUSED ? undefined : (result as K extends 'read' ? ReadonlyArray<readonly unknown[]> : number);
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
