import type { Knex } from 'knex';
import {
  BaseDialectAdapter,
  catalogView,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  rowColumns,
  type ColumnTypes,
  type ErrorKind,
  type NativeExecutor,
  type SessionRow,
  type SessionTable,
  type PruneLock,
  type TableCatalog,
} from '@csk/core';
import { Mysql2Executor, MysqljsExecutor, WSREP_NOT_READY_CODE } from './mysql-executor.js';

/**
 * Codes of a connection that broke or could not be made, as the mysql, mysql2 and mariadb drivers report them (most
 * also set `fatal`): the server went away, shut down, killed the connection or refused a new one.
 */
const CONNECTION_CODES = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_CON_COUNT_ERROR',
  'CR_SERVER_GONE_ERROR',
  'CR_SERVER_LOST',
  'ER_SOCKET_UNEXPECTED_CLOSE',
  'ER_GET_CONNECTION_TIMEOUT',
  WSREP_NOT_READY_CODE,
]);

/**
 * Error 1047 (`ER_UNKNOWN_COM_ERROR`), as a MariaDB Galera node answers every statement while it is outside the
 * cluster's primary component ("WSREP has not yet prepared node for application use"): it accepts connections but
 * serves nothing, so the store counts it as out of reach until the node rejoins.
 */
const NODE_NOT_READY = 1047;

/**
 * A statement rolled back because it lost to a concurrent one, which may run again unchanged: 1213 (deadlock, and a
 * Galera node's certification conflict, SQLSTATE 40001) and 1205 (lock wait timeout).
 */
const CONFLICT_ERRNOS = new Set([1205, 1213]);

/**
 * The name of a table's prune lock, computed by the server: GET_LOCK names are server-wide, so the name includes the
 * database (the connection's own when no schema is set), hashed to stay within the 64 characters MySQL allows. The
 * 'csk-sweep:' prefix is the word of earlier builds, kept byte for byte so that their stores and these exclude each
 * other.
 */
const PRUNE_LOCK_NAME = "concat('csk-sweep:', sha1(concat(coalesce(?, database()), '.', ?)))";

/** What the store needs to know about the server, read once per knex instance from `SELECT VERSION()`. */
export interface MysqlServerInfo {
  readonly flavour: 'mysql' | 'mariadb';
  /** The version as the server reports it, e.g. `8.4.3` or `10.11.9-MariaDB`. */
  readonly version: string;
  /**
   * Whether the upsert names the new row with a row alias (`INSERT … AS new ON DUPLICATE KEY UPDATE sess = new.sess`):
   * MySQL 8.0.19 and later, where `VALUES()` in that clause is deprecated (8.0.20). MariaDB has no row alias and
   * keeps `VALUES()`.
   */
  readonly rowAlias: boolean;
  /**
   * Whether the server is a node of a MariaDB Galera cluster (`wsrep_on`). A node applies the other nodes' writes
   * asynchronously, so by default a read may not yet see a write just committed through another node; the fast
   * path's reads then wait for the node to catch up (`SET STATEMENT wsrep_sync_wait = 1 FOR …`).
   */
  readonly galera?: boolean;
}

/** Read the flavour and version out of `SELECT VERSION()`. */
export function parseServerVersion(version: string): MysqlServerInfo {
  const flavour = /mariadb/i.test(version) ? 'mariadb' : 'mysql';
  const [major = 0, minor = 0, patch = 0] = (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version) ?? []).slice(1).map(Number);
  const rowAlias = flavour === 'mysql' && (major > 8 || (major === 8 && (minor > 0 || patch >= 19)));
  return { flavour, version, rowAlias };
}


/**
 * MySQL and MariaDB through knex's `mysql`, `mysql2` and `mariadb` clients (all report the `mysql` dialect).
 *
 * The table: `sid varchar(255)` with the binary collation `utf8mb4_bin`, so that `ABC` and `abc` are two sessions
 * (1020 bytes of key, inside InnoDB's 3072-byte limit); `sess longtext` (4 GB, no 64 KB TEXT cap; the stored text is
 * exactly what was serialised, on both flavours); `expired datetime(3)` holding UTC.
 */
export class MysqlAdapter extends BaseDialectAdapter {
  override readonly name = 'mysql';
  override readonly capabilities = {
    ...PORTABLE_CAPABILITIES,
    dialects: ['mysql'],
    /** MySQL and MariaDB refuse a table or column name of more than 64 characters. */
    maxIdentifierLength: { length: 64, unit: 'characters' },
    /** MySQL and MariaDB refuse LIMIT in an IN subquery, but take it on the DELETE itself. */
    deleteLimit: 'statement',
    /**
     * Half the default batch, and a rest as long as each batch took. InnoDB's work for a DELETE (the rows, both
     * indexes, the undo and redo logs, then purging the delete-marked rows in the background) competes with the
     * application's queries for the server's CPU and log: a million rows deleted back to back in batches of 1000
     * raised their p99 up to five times on a busy 2-core host. Row locks were not the cause (InnoDB counted next to no
     * row-lock waits during such a prune), so a cheaper DELETE or another isolation level would not help; leaving the
     * server time does.
     */
    pruneBatchSize: 500,
    pruneRestRatio: 1,
  } as const;
  override readonly columns: ColumnTypes = {
    table: (builder) => builder.charset('utf8mb4'),
    /** Binary, so that `ABC` and `abc` are two sessions. */
    sid: (builder, column) => builder.string(column, 255).collate('utf8mb4_bin'),
    sess: (builder, column) => builder.text(column, 'longtext'),
    timestamp: (builder, column) => builder.datetime(column, { precision: 3 }),
    /** Binary, like the sid: the default collation would let `findWhere({ userId: 'ada' })` match 'ADA' and 'adá'. */
    extra: (builder, column) => builder.string(column, 255).collate('utf8mb4_bin'),
  };
  override readonly catalog: TableCatalog = {
    ...PORTABLE_CATALOG,
    /** From information_schema, in the table's schema: knex's `columnInfo()` looks only in the configured database. */
    ...catalogView({
      view: 'information_schema.columns',
      name: 'column_name',
      type: 'data_type',
      schema: 'table_schema',
      table: 'table_name',
      currentSchema: 'database()',
    }),
    /** The stored UTC text as it is: the drivers would read a DATETIME in the process's time zone by default. */
    readExpiry: (knex, column) => knex.raw('cast(?? as char)', [column]),
  };
  /**
   * `GET_LOCK(name, 0)`, which never waits, on the batch's transaction's connection. The lock belongs to the
   * connection, not to the transaction, so it is given back before the transaction ends and no pooled connection keeps
   * it. A server-wide lock: it does not hold across the nodes of a Galera cluster, where the prunes' delete conflicts
   * are what keeps one prune at a time.
   */
  override readonly pruneLock: PruneLock = {
    take: async (trx, table) => {
      const row: { locked?: unknown } | undefined = await trx
        .select(trx.raw(`get_lock(${PRUNE_LOCK_NAME}, 0) as ??`, [table.schemaName ?? null, table.tableName, 'locked']))
        .first();
      return Number(row?.locked) === 1;
    },
    release: async (trx, table) => {
      await trx.raw(`do release_lock(${PRUNE_LOCK_NAME})`, [table.schemaName ?? null, table.tableName]);
    },
  };
  readonly #servers = new WeakMap<Knex, Promise<MysqlServerInfo>>();
  /** The servers already known, for {@link MysqlAdapter.upsert}, which cannot wait for one. */
  readonly #known = new WeakMap<Knex, MysqlServerInfo>();

  /**
   * UTC as `YYYY-MM-DD HH:MM:SS.mmm` text. DATETIME stores it as written, with no conversion through the session's
   * `time_zone`, and text bypasses the drivers' own `timezone` handling of Date objects. A second-precision DATETIME
   * written by connect-session-knex 5 holds the same UTC text without the milliseconds, and compares correctly.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
  }

  /**
   * The upsert for the server behind `knex`: with a row alias on MySQL 8.0.19 and later, with `VALUES()` on MariaDB
   * and older MySQL. A server not asked yet gets `VALUES()`, which every version runs (MySQL 8.0.20+ only warns that
   * it is deprecated), and is asked in the background (see {@link MysqlAdapter.server}) for the next upserts.
   */
  override upsert(knex: Knex, table: SessionTable, row: SessionRow): Knex.QueryBuilder | Knex.Raw {
    return this.upsertMany(knex, table, [row]);
  }

  /** {@link MysqlAdapter.upsert} with several rows, which both forms take. */
  override upsertMany(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder | Knex.Raw {
    const known = this.#known.get(knex);
    if (!known) this.server(knex).catch(() => undefined);
    if (!known?.rowAlias) return this.insertOrMerge(knex, table, rows);
    // A row alias may not repeat the table's name.
    const alias = table.tableName.toLowerCase() === 'new' ? 'new_row' : 'new';
    const name = table.schemaName ? `${table.schemaName}.${table.tableName}` : table.tableName;
    const columns = rows.map((row) => rowColumns(table, row));
    const list = (part: string): string => columns[0]!.map(() => part).join(', ');
    const updated = columns[0]!.slice(1);
    return knex.raw(
      `insert into ?? (${list('??')}) values ${rows.map(() => `(${list('?')})`).join(', ')} as ?? on duplicate key update ${updated.map(() => '?? = ??.??').join(', ')}`,
      [
        name,
        ...columns[0]!.map(([column]) => column),
        ...columns.flatMap((row) => row.map(([, value]) => value)),
        alias,
        ...updated.flatMap(([column]) => [column, alias, column]),
      ],
    );
  }

  /**
   * Prepared statements through mysql2's `execute`, or the compiled SQL through mysql's `query`; other drivers stay
   * on knex. Asked before the store's first statement, whatever the driver: the server is asked what it is first, so
   * that every upsert, compiled or not, is the one it takes.
   */
  override async nativeExecutor(knex: Knex): Promise<NativeExecutor | undefined> {
    const { galera = false } = await this.server(knex);
    const driver = (knex.client as { driverName?: unknown }).driverName;
    if (driver !== 'mysql2' && driver !== 'mysql') return undefined;
    return driver === 'mysql2' ? new Mysql2Executor({ syncWait: galera }) : new MysqljsExecutor({ syncWait: galera });
  }

  /**
   * Unreachable: the common errors, every error the drivers mark `fatal` (the connection is unusable after it), their
   * connection codes, and a Galera node outside the primary component. A conflict: deadlocks and Galera certification
   * conflicts (1213, SQLSTATE 40001) and lock wait timeouts (1205).
   */
  override classifyError(error: unknown): ErrorKind {
    const { code, fatal, errno, sqlState } = (error ?? {}) as { code?: unknown; fatal?: unknown; errno?: unknown; sqlState?: unknown };
    if ((typeof errno === 'number' && CONFLICT_ERRNOS.has(errno)) || sqlState === '40001') return 'conflict';
    if (fatal === true || (typeof code === 'string' && CONNECTION_CODES.has(code)) || errno === NODE_NOT_READY) {
      return 'unreachable';
    }
    return super.classifyError(error);
  }

  /** The server behind `knex`, asked once and remembered (a failed attempt is asked again next time). */
  server(knex: Knex): Promise<MysqlServerInfo> {
    let server = this.#servers.get(knex);
    if (!server) {
      server = (async () => {
        const row: { version?: unknown } | undefined = await knex.select(knex.raw('version() as ??', ['version'])).first();
        const parsed = parseServerVersion(String(row?.version ?? ''));
        // Asked from the catalog, which has no row for a server built without Galera (where @@wsrep_on is an error).
        const wsrep: { value?: unknown } | undefined =
          parsed.flavour === 'mariadb'
            ? await knex
                .select({ value: 'variable_value' })
                .from('information_schema.global_variables')
                .where('variable_name', 'WSREP_ON')
                .first()
            : undefined;
        const info: MysqlServerInfo = { ...parsed, galera: String(wsrep?.value ?? '').toUpperCase() === 'ON' };
        this.#known.set(knex, info);
        return info;
      })();
      server.catch(() => this.#servers.delete(knex));
      this.#servers.set(knex, server);
    }
    return server;
  }
}
