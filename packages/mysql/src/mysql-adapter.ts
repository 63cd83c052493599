import type { Knex } from 'knex';
import { BaseDialectAdapter, type SessionRow, type SessionTable } from '@csk/core';

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
  override readonly dialects = ['mysql'] as const;
  readonly #servers = new WeakMap<Knex, Promise<MysqlServerInfo>>();

  override defineTable(table: Knex.CreateTableBuilder, names: SessionTable): void {
    table.charset('utf8mb4');
    table.string(names.sidColumn, 255).collate('utf8mb4_bin').notNullable().primary();
    table.text(names.sessColumn, 'longtext').notNullable();
    table.datetime(names.expiredColumn, { precision: 3 }).notNullable().index();
  }

  /**
   * UTC as `YYYY-MM-DD HH:MM:SS.mmm` text. DATETIME stores it as written, with no conversion through the session's
   * `time_zone`, and text bypasses the drivers' own `timezone` handling of Date objects. A second-precision DATETIME
   * written by connect-session-knex 5 holds the same UTC text without the milliseconds, and compares correctly.
   */
  override encodeExpiry(ms: number): Knex.Value {
    return new Date(ms).toISOString().slice(0, 23).replace('T', ' ');
  }

  override async upsert(knex: Knex, table: SessionTable, row: SessionRow): Promise<void> {
    if (!(await this.server(knex)).rowAlias) return super.upsert(knex, table, row);
    // A row alias may not repeat the table's name.
    const alias = table.tableName.toLowerCase() === 'new' ? 'new_row' : 'new';
    const name = table.schemaName ? `${table.schemaName}.${table.tableName}` : table.tableName;
    const { sidColumn: sid, sessColumn: sess, expiredColumn: expired } = table;
    await knex.raw('insert into ?? (??, ??, ??) values (?, ?, ?) as ?? on duplicate key update ?? = ??.??, ?? = ??.??', [
      name, sid, sess, expired, row.sid, row.sess, row.expired, alias, sess, alias, sess, expired, alias, expired,
    ]);
  }

  /** MySQL and MariaDB refuse LIMIT in an IN subquery, but take it on the DELETE itself. */
  override async deleteExpired(knex: Knex, table: SessionTable, now: Knex.Value, limit: number): Promise<number> {
    return Number(await table.query(knex).where(table.expiredColumn, '<=', now).limit(limit).del());
  }

  /** The server behind `knex`, asked once and remembered (a failed attempt is asked again next time). */
  server(knex: Knex): Promise<MysqlServerInfo> {
    let server = this.#servers.get(knex);
    if (!server) {
      server = knex
        .select(knex.raw('version() as ??', ['version']))
        .first()
        .then((row: { version?: unknown } | undefined) => parseServerVersion(String(row?.version ?? '')));
      server.catch(() => this.#servers.delete(knex));
      this.#servers.set(knex, server);
    }
    return server;
  }
}
