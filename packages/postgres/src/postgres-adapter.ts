import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import {
  BaseDialectAdapter,
  ConfigurationError,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  PORTABLE_COLUMNS,
  type ColumnTypes,
  type ErrorKind,
  type NativeExecutor,
  type SessionRow,
  type SessionTable,
  type PruneLock,
  type TableCatalog,
} from '@csk/core';
import { PgExecutor } from './pg-executor.js';

/** The options only a PostgreSQL store takes. */
export interface PostgresAdapterOptions {
  /**
   * Create the `sess` column as `jsonb` rather than `json` (upstream's type, the default). It only shapes a table the
   * store creates: an existing table works with either type.
   */
  jsonb?: boolean;
}

/**
 * SQLSTATEs of a server that cannot serve: class 08 (connection exception), and a server shutting down (57P01),
 * crashed (57P02) or still starting (57P03).
 */
const CONNECTION_SQLSTATE = /^(08|57P0[123]$)/;
/** The messages of node-postgres' own errors (they have no code) for a connection that is gone. */
const LOST_CONNECTION = /^Connection terminated\b|^Client (has encountered a connection error|was closed) and is not queryable$/;
/** A statement rolled back because it lost to a concurrent one: serialization_failure and deadlock_detected. */
const CONFLICT_SQLSTATES = new Set(['40001', '40P01']);

/** SQLSTATEs of a server without advisory locks (undefined function, feature not supported): CockroachDB's kind. */
const NO_ADVISORY_LOCKS = new Set(['42883', '0A000']);

/**
 * The advisory-lock key of a table's prune: 64 bits of a SHA-256 of its schema and name, as a signed bigint in text
 * (what `pg_try_advisory_lock` is given, and what `pg_locks` shows as `classid` and `objid`, for monitoring).
 * A table named without a schema gets one key whatever the search_path: two such tables in one database then share
 * it, and at worst one prune waits for the other's next turn.
 */
export function pruneLockKey(table: { readonly schemaName?: string | undefined; readonly tableName: string }): string {
  // The hash input keeps the word of earlier builds byte for byte: stores of the previous build must keep the same key.
  const name = `connect-session-knex sweep\0${table.schemaName ?? ''}\0${table.tableName}`;
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * PostgreSQL through knex's `pg`, `pgnative` and `cockroachdb` clients, and any Client class that extends knex's
 * PostgreSQL client (PGlite's `knex-pglite`): all report the `postgresql` dialect. The table is upstream's
 * (`sid varchar(255)` primary key, `sess json`, `expired timestamptz` indexed), and the base adapter's
 * `INSERT … ON CONFLICT (sid) DO UPDATE` is already the atomic upsert PostgreSQL and CockroachDB want.
 */
export class PostgresAdapter extends BaseDialectAdapter {
  override readonly name = 'postgresql';
  override readonly capabilities = {
    ...PORTABLE_CAPABILITIES,
    dialects: ['postgresql'],
    /** PostgreSQL truncates a longer name to 63 bytes (NAMEDATALEN - 1) with only a notice. */
    maxIdentifierLength: { length: 63, unit: 'bytes' },
    /** CREATE TABLE is transactional: createSessionTable in a transaction runs it under a savepoint. */
    transactionalDdl: true,
  } as const;
  /** Whether a table this adapter creates stores sessions as `jsonb`. */
  readonly jsonb: boolean;
  override readonly columns: ColumnTypes;
  override readonly catalog: TableCatalog = {
    ...PORTABLE_CATALOG,
    /** Bytes of the session's text (`json` and `jsonb` have no length of their own). */
    sizeOf: (knex, column) => knex.raw('octet_length(??::text)', [column]),
    /**
     * Epoch milliseconds computed by the server, so that a zone-less `timestamp` column is read in the session's
     * TimeZone, as `bindExpiry` writes it, rather than in the process's by the driver.
     */
    readExpiry: (knex, column) => knex.raw('extract(epoch from ??::timestamptz) * 1000', [column]),
  };
  override readonly pruneLock: PruneLock = { take: (trx, table) => this.#takePruneLock(trx, table) };
  /** Whether the server has advisory locks; unknown until the first prune asks. */
  #advisoryLocks: boolean | undefined;

  constructor(options: PostgresAdapterOptions = {}) {
    super();
    if (options.jsonb !== undefined && typeof options.jsonb !== 'boolean') {
      throw new ConfigurationError('jsonb', `must be a boolean, got ${typeof options.jsonb}`);
    }
    this.jsonb = options.jsonb ?? false;
    this.columns = {
      ...PORTABLE_COLUMNS,
      sess: (builder, column) => (this.jsonb ? builder.jsonb(column) : builder.json(column)),
      timestamp: (builder, column) => builder.timestamp(column, { useTz: true }),
    };
  }

  /**
   * ISO-8601 UTC text (`2026-01-31T12:00:00.000Z`), which the server reads as an absolute instant whatever its
   * `TimeZone` setting, and which reaches every client (pg, pg-native, PGlite, CockroachDB) as the same text, with no
   * driver's date serialiser in the way. Upstream bound the same strings.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString();
  }

  /**
   * Cast to `timestamptz` in the statement, so that the instant converts to a zone-less `timestamp` column (the type
   * connect-pg-simple's table uses) in the session's TimeZone, as that store's `to_timestamp()` does; a `timestamptz`
   * column takes it as it is.
   */
  override bindExpiry(knex: Knex, value: Knex.Value): Knex.Value {
    return knex.raw('?::timestamptz', [value]);
  }

  /** The portable `INSERT … ON CONFLICT (sid) DO UPDATE`, which PostgreSQL takes with several rows. */
  override upsertMany(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder {
    return this.insertOrMerge(knex, table, rows);
  }

  /** Named (prepared) statements on node-postgres connections; other drivers (pg-native, PGlite) stay on knex. */
  override nativeExecutor(knex: Knex): NativeExecutor | undefined {
    return (knex.client as { driverName?: unknown }).driverName === 'pg' ? new PgExecutor() : undefined;
  }

  /**
   * Unreachable: the common errors, the server's connection SQLSTATEs, and node-postgres's own error for a socket that
   * ended under it. A conflict: serialization failures (40001) and deadlocks (40P01).
   */
  override classifyError(error: unknown): ErrorKind {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && CONFLICT_SQLSTATES.has(code)) return 'conflict';
    if (typeof code === 'string' && CONNECTION_SQLSTATE.test(code)) return 'unreachable';
    // node-postgres raises these with no code: "Connection terminated unexpectedly" (and "… due to connection
    // timeout"), and for a query sent on a client whose connection already broke or ended, "Client has encountered a
    // connection error and is not queryable" or "Client was closed and is not queryable".
    if (error instanceof Error && typeof message === 'string' && LOST_CONNECTION.test(message)) {
      return 'unreachable';
    }
    return super.classifyError(error);
  }

  /**
   * A transaction-level advisory lock (`pg_try_advisory_xact_lock`, which never waits), which the server releases
   * when the batch's transaction ends: on the one server connection that transaction ran on, so it also holds behind
   * PgBouncer in transaction mode, where a session-level lock and its unlock may reach different server connections.
   * A server without advisory locks (CockroachDB's kind) prunes unguarded: the first attempt runs in a savepoint, so
   * that its error leaves the batch's transaction usable, and the answer is remembered.
   */
  async #takePruneLock(trx: Knex.Transaction, table: SessionTable): Promise<boolean> {
    if (this.#advisoryLocks === false) return true;
    const take = async (knex: Knex): Promise<boolean> => {
      const rows: Array<{ locked?: unknown }> = await knex.select(
        knex.raw('pg_try_advisory_xact_lock(?::bigint) as ??', [pruneLockKey(table), 'locked']),
      );
      return rows[0]?.locked === true;
    };
    if (this.#advisoryLocks) return take(trx);
    try {
      const locked = await trx.transaction(take);
      this.#advisoryLocks = true;
      return locked;
    } catch (error) {
      if (!NO_ADVISORY_LOCKS.has(String((error as { code?: unknown })?.code))) throw error;
      this.#advisoryLocks = false;
      return true;
    }
  }
}
