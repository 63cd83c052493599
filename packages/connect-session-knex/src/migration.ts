import type { Knex } from 'knex';
import { resolveOptions, resolveSessionTable, type SessionTable } from '@csk/core';
import { createSessionTable, splitTableOptions, type ConnectSessionKnexTableOptions } from './session-table.js';

/** The `up` and `down` of a knex migration. */
export interface SessionTableMigration {
  /** Create the session table (a no-op when it exists). */
  up(knex: Knex): Promise<void>;
  /** Drop the session table (a no-op when it does not exist). */
  down(knex: Knex): Promise<void>;
}

/**
 * A knex migration that creates the session table, for a migrations directory:
 *
 * ```js
 * // migrations/20260101000000_sessions.cjs
 * module.exports = require('connect-session-knex').sessionTableMigration({ tableName: 'sessions' });
 * ```
 *
 * or, as an ES module, `export const { up, down } = sessionTableMigration({ tableName: 'sessions' });`. The options
 * are checked when the file is loaded, so a typo fails `knex migrate:latest` before it touches the database. `up`
 * leaves an existing table as it is; `down` drops the table.
 */
export function sessionTableMigration(options?: ConnectSessionKnexTableOptions): SessionTableMigration {
  const [rest] = splitTableOptions(options);
  resolveOptions(rest);
  const table = (knex: Knex): SessionTable => {
    const [core, pick] = splitTableOptions(options);
    return resolveSessionTable(knex, pick(knex), core);
  };
  return Object.freeze({
    async up(knex: Knex): Promise<void> {
      await createSessionTable(knex, options);
    },
    async down(knex: Knex): Promise<void> {
      const t = table(knex);
      await t.schema(knex).dropTableIfExists(t.tableName);
    },
  });
}
