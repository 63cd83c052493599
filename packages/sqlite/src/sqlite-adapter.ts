import path from 'node:path';
import createKnex, { type Knex } from 'knex';
import { BaseDialectAdapter, ConfigurationError } from '@csk/core';

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
  override readonly dialects = ['sqlite3'] as const;
  /** An attached database is SQLite's only "schema", and knex cannot create the expiry index in one. */
  override readonly supportsSchema = false;

  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString();
  }

  /** `connect-session-knex.sqlite` in the working directory, through `sqlite3`, in WAL mode. */
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
              connection.run!('PRAGMA busy_timeout = 5000', (busyError) => done(busyError, connection));
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
