import type { NativeExecutor, NativeStatement } from '@csk/core';

/** The part of a better-sqlite3 `Database` the executor uses. */
interface BetterDatabase {
  prepare(sql: string): BetterStatement;
  readonly open: boolean;
}

interface BetterStatement {
  readonly reader: boolean;
  raw(toggle: boolean): BetterStatement;
  all(...values: unknown[]): unknown[][];
  get(...values: unknown[]): unknown[] | undefined;
  run(...values: unknown[]): { changes: number };
}

/** The part of a node-sqlite3 `Database` the executor uses. */
interface Sqlite3Database {
  all(sql: string, values: readonly unknown[], done: (error: Error | null, rows: object[]) => void): unknown;
  run(sql: string, values: readonly unknown[], done: (this: { changes?: number }, error: Error | null) => void): unknown;
  prepare(sql: string, done: (error: Error | null) => void): Sqlite3Statement;
}

interface Sqlite3Statement {
  all(values: readonly unknown[], done: (error: Error | null, rows: object[]) => void): unknown;
  run(values: readonly unknown[], done: (this: { changes?: number }, error: Error | null) => void): unknown;
  finalize(done: (error?: Error | null) => void): unknown;
}

/**
 * Values as knex's SQLite clients bind them: a Date as its epoch milliseconds, a boolean as 0 or 1. The store binds
 * text and numbers, so `values` usually comes back as it is, without a copy per call; neither driver changes the
 * array it is given, and the store makes a new one for every statement.
 */
function bindable(values: readonly unknown[]): readonly unknown[] {
  for (const value of values) {
    if (value instanceof Date || typeof value === 'boolean') {
      return values.map((one) => (one instanceof Date ? one.valueOf() : typeof one === 'boolean' ? Number(one) : one));
    }
  }
  return values;
}

/** Whether a statement reads one row at most: its SQL ends in a literal `LIMIT 1` (the store's read of one sid). */
const ONE_ROW = /\blimit 1\s*$/i;

/** A statement prepared on one connection, and whether it reads one row at most. */
interface Prepared {
  readonly statement: BetterStatement;
  readonly oneRow: boolean;
}

/**
 * The fast path on better-sqlite3: each statement is prepared once per connection (knex prepares it again on every
 * query) and run synchronously, so the calls of one event-loop turn can share one pooled connection. better-sqlite3
 * finalizes its statements itself when the connection closes, so the cache is safe on an application's own knex too.
 */
export class BetterSqliteExecutor implements NativeExecutor {
  readonly sharesConnection = true;
  readonly #statements = new WeakMap<object, Map<string, Prepared>>();

  accepts(connection: unknown): boolean {
    return typeof (connection as Partial<BetterDatabase> | null)?.prepare === 'function';
  }

  async read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    return this.readNow(connection, statement, values);
  }

  readNow(connection: unknown, statement: NativeStatement, values: readonly unknown[]): unknown[][] {
    const prepared = this.#prepared(connection as BetterDatabase, statement.sql);
    // get() stops at the first row; all() of the same statement costs half as much again (it steps on and builds a list).
    if (!prepared.oneRow) return prepared.statement.all(...bindable(values));
    const row = prepared.statement.get(...bindable(values));
    return row === undefined ? [] : [row];
  }

  async write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    return this.writeNow(connection, statement, values);
  }

  writeNow(connection: unknown, statement: NativeStatement, values: readonly unknown[]): number {
    return this.#prepared(connection as BetterDatabase, statement.sql).statement.run(...bindable(values)).changes;
  }

  #prepared(db: BetterDatabase, sql: string): Prepared {
    let cache = this.#statements.get(db);
    if (!cache) {
      cache = new Map();
      this.#statements.set(db, cache);
    }
    let prepared = cache.get(sql);
    if (!prepared) {
      const statement = db.prepare(sql);
      if (statement.reader) statement.raw(true);
      prepared = { statement, oneRow: statement.reader && ONE_ROW.test(sql) };
      cache.set(sql, prepared);
    }
    return prepared;
  }
}

/**
 * The fast path on node-sqlite3. On a knex the store owns, each statement is prepared once per connection and kept,
 * and `close()` finalizes them all before the store destroys the knex (node-sqlite3 refuses to close a database with
 * statements still open). On an application's knex nothing is kept, since the application closes its connections
 * whenever it likes: the compiled SQL is sent as is, which still skips knex's own work per call.
 */
export class Sqlite3Executor implements NativeExecutor {
  // Not sharesConnection: node-sqlite3 may run two statements sent to one database in either order, and a get sent
  // right after a set must see it. Each call takes the connection from the pool, in order, as knex does.
  readonly #cache: boolean;
  readonly #statements = new Map<Sqlite3Database, Map<string, Promise<Sqlite3Statement>>>();

  constructor(options: { cacheStatements: boolean }) {
    this.#cache = options.cacheStatements;
  }

  accepts(connection: unknown): boolean {
    const candidate = connection as Partial<Sqlite3Database> | null;
    return typeof candidate?.all === 'function' && typeof candidate.run === 'function' && typeof candidate.prepare === 'function';
  }

  async read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    const db = connection as Sqlite3Database;
    const bound = bindable(values);
    const rows = await new Promise<object[]>((resolve, reject) => {
      const done = (error: Error | null, result: object[]): void => (error ? reject(error) : resolve(result));
      if (!this.#cache) db.all(statement.sql, bound, done);
      else this.#prepared(db, statement.sql).then((prepared) => prepared.all(bound, done), reject);
    });
    return rows.map((row) => Object.values(row));
  }

  async write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    const db = connection as Sqlite3Database;
    const bound = bindable(values);
    return new Promise<number>((resolve, reject) => {
      const done = function (this: { changes?: number }, error: Error | null): void {
        if (error) reject(error);
        else resolve(Number(this?.changes ?? 0));
      };
      if (!this.#cache) db.run(statement.sql, bound, done);
      else this.#prepared(db, statement.sql).then((prepared) => prepared.run(bound, done), reject);
    });
  }

  /** Finalize every statement kept, so that the connections can close. */
  async close(): Promise<void> {
    const pending = [...this.#statements.values()].flatMap((cache) => [...cache.values()]);
    this.#statements.clear();
    await Promise.allSettled(
      pending.map(async (prepared) => {
        const statement = await prepared;
        await new Promise<void>((resolve) => statement.finalize(() => resolve()));
      }),
    );
  }

  #prepared(db: Sqlite3Database, sql: string): Promise<Sqlite3Statement> {
    let cache = this.#statements.get(db);
    if (!cache) {
      cache = new Map();
      this.#statements.set(db, cache);
    }
    let prepared = cache.get(sql);
    if (!prepared) {
      prepared = new Promise<Sqlite3Statement>((resolve, reject) => {
        // With a callback, a statement that fails to prepare reports it there rather than as an 'error' event.
        const statement = db.prepare(sql, (error) => (error ? reject(error) : resolve(statement)));
      });
      // A statement that could not be prepared (its table was missing) is prepared again next time.
      prepared.catch(() => cache!.delete(sql));
      cache.set(sql, prepared);
    }
    return prepared;
  }
}
