import type { NativeExecutor, NativeStatement } from '@csk/core';

type Done = (error: Error | null, result?: unknown) => void;

/** The part of a mysql2 connection the executor uses. */
interface Mysql2Connection {
  execute(options: { sql: string; rowsAsArray?: boolean }, values: readonly unknown[], done: Done): unknown;
}

/** The part of a mysql (mysqljs) connection the executor uses. */
interface MysqljsConnection {
  query(options: { sql: string; values: readonly unknown[] }, done: Done): unknown;
}

/** What the executors are told about the server. */
export interface MysqlExecutorOptions {
  /**
   * Make each read wait until the node has applied every write the cluster committed before it (a Galera node's
   * `wsrep_sync_wait = 1`), set on that statement alone with MariaDB's `SET STATEMENT … FOR`: nothing is left on the
   * pooled connection for the application's own queries.
   */
  readonly syncWait?: boolean;
}

const SYNC_WAIT = 'set statement wsrep_sync_wait = 1 for ';

function rowsOf(result: unknown): unknown[][] {
  if (!Array.isArray(result)) return [];
  return result.map((row: unknown) => (Array.isArray(row) ? row : Object.values(row as object)));
}

function affectedRows(result: unknown): number {
  const count = Number((result as { affectedRows?: unknown } | null)?.affectedRows);
  return Number.isFinite(count) ? count : 0;
}

/**
 * The fast path on mysql2 (knex's `mysql2` client): `connection.execute`, which prepares each statement once per
 * connection (mysql2 keeps the prepared statements in a cache of its own) and then sends only the values, over the
 * binary protocol.
 */
export class Mysql2Executor implements NativeExecutor {
  readonly #readPrefix: string;

  constructor({ syncWait = false }: MysqlExecutorOptions = {}) {
    this.#readPrefix = syncWait ? SYNC_WAIT : '';
  }

  accepts(connection: unknown): boolean {
    return typeof (connection as Partial<Mysql2Connection> | null)?.execute === 'function';
  }

  read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    const read = this.#readPrefix ? { ...statement, sql: this.#readPrefix + statement.sql } : statement;
    return this.#execute(connection as Mysql2Connection, read, values, true).then(rowsOf);
  }

  write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    return this.#execute(connection as Mysql2Connection, statement, values, false).then(affectedRows);
  }

  #execute(connection: Mysql2Connection, statement: NativeStatement, values: readonly unknown[], rowsAsArray: boolean) {
    // mysql2 binds a JS number as a DOUBLE, which MySQL 8.0.22+ refuses for LIMIT ("Incorrect arguments to
    // mysqld_stmt_execute"); as text it is accepted everywhere. Every other value the store binds is text already.
    const bound = values.map((value) => (typeof value === 'number' && Number.isInteger(value) ? String(value) : value));
    return new Promise<unknown>((resolve, reject) => {
      connection.execute({ sql: statement.sql, rowsAsArray }, bound, (error, result) =>
        error ? reject(error) : resolve(result),
      );
    });
  }
}

/**
 * The fast path on mysql (knex's `mysql` client), which has no prepared statements: the compiled SQL goes out with
 * its values through `connection.query`, skipping only knex's own work per call.
 */
export class MysqljsExecutor implements NativeExecutor {
  readonly #readPrefix: string;

  constructor({ syncWait = false }: MysqlExecutorOptions = {}) {
    this.#readPrefix = syncWait ? SYNC_WAIT : '';
  }

  accepts(connection: unknown): boolean {
    return typeof (connection as Partial<MysqljsConnection> | null)?.query === 'function';
  }

  read(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<unknown[][]> {
    const read = this.#readPrefix ? { ...statement, sql: this.#readPrefix + statement.sql } : statement;
    return this.#query(connection as MysqljsConnection, read, values).then(rowsOf);
  }

  write(connection: unknown, statement: NativeStatement, values: readonly unknown[]): Promise<number> {
    return this.#query(connection as MysqljsConnection, statement, values).then(affectedRows);
  }

  #query(connection: MysqljsConnection, statement: NativeStatement, values: readonly unknown[]) {
    return new Promise<unknown>((resolve, reject) => {
      connection.query({ sql: statement.sql, values }, (error, result) => (error ? reject(error) : resolve(result)));
    });
  }
}
