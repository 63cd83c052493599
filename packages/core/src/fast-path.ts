import type { Knex } from 'knex';
import { compile, placeholder, valuesOf, type CompiledStatement } from './compiled-statement.js';
import type { DialectAdapter } from './dialect-adapter.js';
import type { NativeExecutor, NativeExecutorContext } from './native-executor.js';
import type { SessionQueries } from './session-queries.js';
import type { SessionRow, SessionTable } from './session-table.js';
import { TurnLeases } from './turn-lease.js';

/** The four per-request statements compiled for one knex, and the executor that runs them. */
export interface Compiled {
  readonly knex: Knex;
  readonly executor: NativeExecutor;
  readonly get: CompiledStatement;
  readonly upsert: CompiledStatement;
  readonly touch: CompiledStatement;
  readonly destroy: CompiledStatement;
}

/** Returned by a run whose connection the executor refused: the caller then takes the knex path. */
export const REFUSED = Symbol('refused');

/**
 * Whether the statements run natively, and running them there. The decision is made once, on first use: the adapter
 * offers a {@link NativeExecutor} for the knex's driver, the client can lend connections from its pool, and knex
 * compiles each builder into one native statement. Otherwise, and after an executor refuses a connection, `compiled`
 * is `null` and the knex path serves every call.
 */
export class FastPath {
  readonly #adapter: DialectAdapter;
  readonly #table: SessionTable;
  readonly #queries: SessionQueries;
  readonly #context: NativeExecutorContext;
  /** `undefined`: not decided yet; `null`: the knex path for good. */
  #compiled: Compiled | null | undefined;
  #preparing: Promise<Compiled | null> | undefined;
  /** For an executor that shares connections: the connection the calls of one event-loop turn share (and keep). */
  #leases = new TurnLeases({ keep: false });
  /** The statements `runCompiled` ran, by key (`null`: knex compiled that one unexpectedly). */
  readonly #many = new Map<string, CompiledStatement | null>();

  constructor(
    adapter: DialectAdapter,
    table: SessionTable,
    queries: SessionQueries,
    options: { enabled: boolean; ownsKnex: boolean },
  ) {
    this.#adapter = adapter;
    this.#table = table;
    this.#queries = queries;
    this.#context = Object.freeze({ ownsKnex: options.ownsKnex });
    this.#compiled = options.enabled && adapter.nativeExecutor ? undefined : null;
  }

  /** The compiled statements; `null` on the knex path, `undefined` before the first call has decided. */
  get compiled(): Compiled | null | undefined {
    return this.#compiled;
  }

  /** Decide, once, whether the statements run natively; concurrent first calls share the decision. */
  prepare(knex: Knex): Promise<Compiled | null> {
    this.#preparing ??= this.#compileAll(knex).then(
      (compiled) => {
        // A close() while compiling has already settled on the knex path.
        if (this.#compiled === undefined) {
          this.#compiled = compiled;
          // An executor whose calls run synchronously drives a database in this process: a kept connection is safe.
          const executor = compiled?.executor;
          if (executor?.sharesConnection && executor.readNow && executor.writeNow) this.#leases = new TurnLeases({ keep: true });
        }
        this.#preparing = undefined;
        return this.#compiled;
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

  /**
   * Run `work` on a connection from the knex's pool and give the connection back, also when `work` fails. A
   * connection the executor refuses goes back unused, and the knex path takes over for good.
   */
  async run<T>(compiled: Compiled, work: (connection: unknown) => Promise<T>): Promise<T | typeof REFUSED> {
    const client = compiled.knex.client;
    if (compiled.executor.sharesConnection) {
      const lease = this.#leases.join(client);
      try {
        const connection = await lease.connection;
        if (compiled.executor.accepts && !compiled.executor.accepts(connection)) {
          this.#compiled = null;
          return REFUSED;
        }
        return await work(connection);
      } catch (error) {
        // The connection may be what failed: the pool checks it before it serves another call.
        lease.failed = true;
        throw error;
      } finally {
        lease.leave();
      }
    }
    const connection: unknown = await client.acquireConnection();
    try {
      if (compiled.executor.accepts && !compiled.executor.accepts(connection)) {
        this.#compiled = null;
        return REFUSED;
      }
      return await work(connection);
    } finally {
      await client.releaseConnection(connection);
    }
  }

  /**
   * The connection a synchronous call on `knex` may use now (a lease of this turn's already in hand, an executor with
   * `readNow` or `writeNow`), if any; a connection the executor would refuse is left for `run` to find.
   */
  connectionNow(knex: Knex, read: boolean): unknown {
    const compiled = this.#compiled;
    if (!compiled || compiled.knex !== knex || !compiled.executor.sharesConnection) return undefined;
    if (!(read ? compiled.executor.readNow : compiled.executor.writeNow)) return undefined;
    const connection = this.#leases.inHand(knex.client);
    const refused = connection !== undefined && compiled.executor.accepts && !compiled.executor.accepts(connection);
    return refused ? undefined : connection;
  }

  /**
   * Run `work` at once on the connection {@link FastPath.connectionNow} gave; when it throws, the connection goes
   * back to the pool, which checks it before it serves another call, and the error is rethrown.
   */
  runNow<T>(connection: unknown, work: (compiled: Compiled, connection: unknown) => T): T {
    try {
      return work(this.#compiled!, connection);
    } catch (error) {
      this.#leases.failedInHand();
      throw error;
    }
  }

  /**
   * Run a statement that `build` makes: compiled once per `key`, with `args` for its values (`build` is given
   * stand-ins for them). Resolves the result of `executor.read` or `write`, or `undefined` when the knex path must run
   * it.
   */
  async runCompiled(
    knex: Knex,
    kind: 'read' | 'write',
    key: string,
    args: readonly unknown[],
    build: (knex: Knex, args: readonly unknown[]) => Knex.QueryBuilder | Knex.Raw,
  ): Promise<unknown> {
    const compiled = this.#compiled === undefined ? await this.prepare(knex) : this.#compiled;
    if (!compiled || compiled.knex !== knex) return undefined;
    let statement = this.#many.get(key);
    if (statement === undefined) {
      const stand = args.map((_, i) => placeholder(i));
      statement = compile(key, build(knex, stand), args.length) ?? null;
      this.#many.set(key, statement);
    }
    const one = statement;
    if (!one) return undefined;
    const executor = compiled.executor;
    const result = await this.run<unknown>(compiled, (connection) =>
      kind === 'read' ? executor.read(connection, one, valuesOf(one, args)) : executor.write(connection, one, valuesOf(one, args)),
    );
    return result === REFUSED ? undefined : result;
  }

  /** Settle on the knex path and release the executor's resources (before a knex the store owns is destroyed). */
  async close(): Promise<void> {
    const compiled = this.#compiled ?? (await this.#preparing?.catch(() => null));
    this.#compiled = null;
    await this.#leases.close();
    await compiled?.executor.close?.();
  }

  async #compileAll(knex: Knex): Promise<Compiled | null> {
    const client = knex.client as Partial<Pick<Knex.Client, 'acquireConnection' | 'releaseConnection'>> | undefined;
    if (typeof client?.acquireConnection !== 'function' || typeof client.releaseConnection !== 'function') return null;
    const executor = await this.#adapter.nativeExecutor?.(knex, this.#context);
    if (!executor) return null;
    try {
      const [a, b, c] = [placeholder(0), placeholder(1), placeholder(2)];
      const extra = this.#table.extraColumns.map((_, i) => placeholder(3 + i));
      const row: SessionRow = { sid: a, sess: b, expired: c, extra };
      const q = this.#queries;
      const get = compile('get', q.select(knex, a, b), 2);
      const upsert = compile('upsert', q.upsert(knex, row), 3 + extra.length);
      const touch = compile('touch', q.update(knex, b, a, c), 3);
      const destroy = compile('destroy', q.delete(knex, a), 1);
      if (!get || !upsert || !touch || !destroy) return null;
      return { knex, executor, get, upsert, touch, destroy };
    } catch {
      // A builder knex cannot compile here would fail the same way every time: the knex path reports it per call.
      return null;
    }
  }
}
