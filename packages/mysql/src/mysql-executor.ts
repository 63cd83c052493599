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

/**
 * The `code` of the error a fast-path read raises on a Galera node that is outside the cluster's primary component.
 * Such a node answers a read that waits for the cluster with 1205 (lock wait timeout), which would read as a conflict
 * to retry; the executor asks the node whether it is ready (`wsrep_ready`) and, when it is not, raises this instead,
 * which the adapter counts as unavailability, as the 1047 the node answers to everything else.
 */
export const WSREP_NOT_READY_CODE = 'CSK_WSREP_NOT_READY';

/** What a read that waited for the cluster failed with: `error`, or the node's unreadiness when that was the reason. */
async function syncWaitFailure(error: unknown, status: () => Promise<unknown>): Promise<unknown> {
  if ((error as { errno?: unknown } | null)?.errno !== 1205) return error;
  let ready: string;
  try {
    const rows = (await status()) as Array<Record<string, unknown>> | undefined;
    ready = String(Object.values(rows?.[0] ?? {})[1] ?? '').toUpperCase();
  } catch {
    return error;
  }
  if (ready === 'ON') return error;
  const message = (error as Error).message;
  return Object.assign(new Error(`the Galera node is not ready (wsrep_ready ${ready || 'unknown'}): ${message}`), {
    code: WSREP_NOT_READY_CODE,
  });
}

const READY_STATUS = "show status like 'wsrep\\_ready'";

/** A text query on a mysql or mysql2 connection (both take `query({ sql, values }, done)`). */
function query(connection: MysqljsConnection, sql: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection.query({ sql, values: [] }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

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
    if (!this.#readPrefix) return this.#execute(connection as Mysql2Connection, statement, values, true).then(rowsOf);
    const read = { ...statement, sql: this.#readPrefix + statement.sql };
    const raw = connection as Mysql2Connection & MysqljsConnection;
    return this.#execute(raw, read, values, true).then(rowsOf, async (error: unknown) => {
      throw await syncWaitFailure(error, () => query(raw, READY_STATUS));
    });
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
    if (!this.#readPrefix) return this.#query(connection as MysqljsConnection, statement, values).then(rowsOf);
    const read = { ...statement, sql: this.#readPrefix + statement.sql };
    const raw = connection as MysqljsConnection;
    return this.#query(raw, read, values).then(rowsOf, async (error: unknown) => {
      throw await syncWaitFailure(error, () => query(raw, READY_STATUS));
    });
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
