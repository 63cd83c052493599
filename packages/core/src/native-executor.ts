/**
 * The fast path's contract: what a dialect adapter's `nativeExecutor` returns, and what `SessionStatements` runs on it.
 */

/** One statement compiled once per store: the dialect's native SQL, with identifiers already quoted by knex. */
export interface NativeStatement {
  /** A name unique to this SQL text (`csk_<kind>_<hash>`), for drivers that prepare statements by name. */
  readonly name: string;
  /** The native SQL text, placeholders in the driver's own form (`$1` or `?`). */
  readonly sql: string;
}

/**
 * Runs native statements on raw driver connections taken from the application's knex pool. A dialect adapter returns
 * one from `nativeExecutor` for the drivers it knows; the store acquires a connection, calls one method, and releases
 * the connection whatever happens. The values arrive in the statement's binding order, as the store encoded them.
 */
export interface NativeExecutor {
  /**
   * Whether `connection` is a connection this executor can drive. When it is not, the store gives it back and sends
   * every statement through knex from then on. Default: every connection is.
   */
  accepts?(connection: unknown): boolean;
  /**
   * Whether one connection may carry several of the store's statements at once because the driver runs them one
   * after another, in the order they were sent (an in-process driver that runs each call synchronously, or one that
   * queues a connection's statements in order): a `get` sent right after a `set` must see it. The store then sends
   * every call made within one turn of the event loop on one connection from the pool, and gives it back once that
   * turn is over and the calls have finished, instead of taking a connection from the pool for each call. With
   * `readNow` and `writeNow` too (a database in this process), the store keeps that connection between turns while
   * no one else asks the pool for one, and gives it back the moment someone does, or the pool is destroyed, or the
   * store closes. Default `false`.
   */
  readonly sharesConnection?: boolean;
  /** Run a statement that reads; resolve its rows, each as the array of its column values in select order. */
  read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<ReadonlyArray<readonly unknown[]>>;
  /** Run a statement that writes; resolve the number of rows it changed. */
  write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number>;
  /**
   * For a driver whose calls run synchronously: run a statement that writes at once and return the number of rows it
   * changed, throwing its error. With it (and `sharesConnection`), a write made while the store already holds a
   * connection finishes before the call returns, and its callback is queued at once: express-session then sends the
   * response in one write instead of two (it splits a response whose store callback comes later).
   */
  writeNow?(connection: unknown, statement: NativeStatement, values: readonly unknown[]): number;
  /** As `writeNow`, for `read`: a read made while the store holds a connection then skips the waiting too. */
  readNow?(connection: unknown, statement: NativeStatement, values: readonly unknown[]): ReadonlyArray<readonly unknown[]>;
  /** Release what the executor holds (cached statements), before the store destroys a knex it owns. */
  close?(): Promise<void>;
}

/** What an adapter is told when asked for an executor. */
export interface NativeExecutorContext {
  /**
   * Whether the store created this knex and will destroy it (so that the executor may hold per-connection resources,
   * such as prepared statements, that must be released before the connections close).
   */
  readonly ownsKnex: boolean;
}
