import path from 'node:path';
import createKnex, { type Knex } from 'knex';
import {
  BaseDialectAdapter,
  ConfigurationError,
  PORTABLE_CAPABILITIES,
  PORTABLE_CATALOG,
  type NativeExecutor,
  type NativeExecutorContext,
  type SessionRow,
  type SessionTable,
  type TableCatalog,
} from '@csk/core';
import { BetterSqliteExecutor, Sqlite3Executor } from './sqlite-executors.js';

/** The database file opened in the working directory when no knex is given (upstream's default). */
export const DEFAULT_SQLITE_FILENAME = 'connect-session-knex.sqlite';

type SqliteConnection = { run?: (sql: string, done: (error: Error | null) => void) => void; pragma?: (sql: string) => unknown };

/**
 * SQLite through knex's `sqlite3` and `better-sqlite3` clients. Expiry is ISO-8601 UTC text with milliseconds
 * (`2026-01-31T12:00:00.000Z`), the form upstream connect-session-knex wrote: it sorts as it compares, so the
 * index on `expired` serves the plain `expired > ?` comparison with no function around the column.
 */
export class SqliteAdapter extends BaseDialectAdapter {
  override readonly name = 'sqlite';
  override readonly capabilities = {
    ...PORTABLE_CAPABILITIES,
    dialects: ['sqlite3'],
    /** In the process: a statement costs no round trip, so gathering calls into one would only delay them. */
    remote: false,
    /** An attached database is SQLite's only "schema", and knex cannot create the expiry index in one. */
    schemas: false,
    /** A column keeps any value whatever its declared type: the expiry checks read the stored values' types instead. */
    dynamicColumnTypes: true,
  } as const;
  override readonly catalog: TableCatalog = {
    ...PORTABLE_CATALOG,
    /**
     * Asked with the name as written. knex's own `hasTable` on SQLite deletes every backtick from the name before
     * comparing, so a table whose name holds one would be created once and never found again.
     */
    hasTable: async (knex, table) => {
      const rows: unknown[] = await knex.select('name').from('sqlite_master').where({ type: 'table', name: table.tableName });
      return rows.length > 0;
    },
    /**
     * As `pragma_table_info` lists them, with the name bound as a value: knex's `columnInfo()` on SQLite splices the
     * name into its PRAGMA between backticks, which a name holding one would break.
     */
    columnNames: async (knex, table) => {
      const rows: Array<{ name: unknown }> = await knex.select('name').from(knex.raw('pragma_table_info(?)', [table.tableName]));
      return rows.map((row) => String(row.name));
    },
    /** Bytes, not characters: `length()` of text counts characters. */
    sizeOf: (knex, column) => knex.raw('length(cast(?? as blob))', [column]),
  };

  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString();
  }

  /** The portable `INSERT … ON CONFLICT (sid) DO UPDATE`, which SQLite takes with several rows. */
  override upsertMany(knex: Knex, table: SessionTable, rows: readonly SessionRow[]): Knex.QueryBuilder {
    return this.insertOrMerge(knex, table, rows);
  }

  /**
   * Statements prepared once per connection on better-sqlite3; on sqlite3, prepared once and kept when the store owns
   * the knex (it then finalizes them before closing), else sent as compiled SQL. Other clients stay on knex.
   */
  override nativeExecutor(knex: Knex, context: NativeExecutorContext): NativeExecutor | undefined {
    const driver = (knex.client as { driverName?: unknown }).driverName;
    if (driver === 'better-sqlite3') return new BetterSqliteExecutor();
    if (driver === 'sqlite3') return new Sqlite3Executor({ cacheStatements: context.ownsKnex });
    return undefined;
  }

  /**
   * `connect-session-knex.sqlite` in the working directory, through `sqlite3`, in WAL mode with `synchronous =
   * NORMAL`: a commit then waits for no disk flush (the WAL is flushed at checkpoints), which a crash of the
   * process cannot undo and a power cut can (the last commits, never the file's integrity).
   */
  override createDefaultKnex(): Knex {
    const filename = path.resolve(DEFAULT_SQLITE_FILENAME);
    try {
      return createKnex({
        client: 'sqlite3',
        connection: { filename },
        useNullAsDefault: true,
        pool: {
          afterCreate(connection: SqliteConnection, done: (error: Error | null, connection: SqliteConnection) => void) {
            // WAL lets readers proceed during a write; the busy timeout makes a second process wait, not fail.
            connection.run!('PRAGMA journal_mode = WAL', (error) => {
              if (error) return done(error, connection);
              connection.run!('PRAGMA synchronous = NORMAL', (syncError) => {
                if (syncError) return done(syncError, connection);
                connection.run!('PRAGMA busy_timeout = 5000', (busyError) => done(busyError, connection));
              });
            });
          },
        },
      });
    } catch (error) {
      throw new ConfigurationError(
        'knex',
        `was not given, and the default SQLite database (${filename}) needs the sqlite3 driver: ` +
          'install it (npm install sqlite3) or pass your own knex instance',
        { cause: error },
      );
    }
  }
}
