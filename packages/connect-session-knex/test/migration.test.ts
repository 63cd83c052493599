import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { randomId } from '@csk/conformance/util';
import {
  ConfigurationError,
  ConnectSessionKnexStore,
  createSessionTable,
  SessionTableShapeError,
  sessionTableMigration,
} from 'connect-session-knex';

// The ready-made migration, run by knex's own migrator from a migrations folder, as an application would run it.

const HOUR = 3_600_000;

/** A migrations folder holding `files` (name → source), removed after the test. */
function migrationsDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-migrations-'));
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  dirs.push(dir);
  return dir;
}
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The migration file the README shows. */
const sessionsMigration = (options: object): string =>
  `module.exports = require('connect-session-knex').sessionTableMigration(${JSON.stringify(options)});\n`;

function migrationCases(name: string, config: () => Knex.Config): void {
  describe(name, () => {
    let db: Knex;
    const tables: string[] = [];
    beforeAll(() => {
      db = createKnex(config());
    });
    afterAll(async () => {
      for (const table of tables) await db.schema.dropTableIfExists(table);
      await db.destroy();
    });

    const tableName = (label: string): string => {
      const table = `csk_mig_${label}_${randomId()}`;
      tables.push(table);
      return table;
    };

    it('latest creates the table a createTable: false store then uses, and rollback drops it', async () => {
      const table = tableName('up');
      const migrations = {
        directory: migrationsDir({ '20260101000000_sessions.cjs': sessionsMigration({ tableName: table }) }),
        tableName: `${table}_knex`,
        loadExtensions: ['.cjs'],
      };
      tables.push(`${table}_knex`, `${table}_knex_lock`);
      const [, applied] = await db.migrate.latest(migrations);
      expect(applied).toEqual(['20260101000000_sessions.cjs']);
      expect(Object.keys(await db(table).columnInfo()).sort()).toEqual(['expired', 'sess', 'sid']);

      const store = new ConnectSessionKnexStore({ knex: db, tableName: table, createTable: false, cleanupInterval: 0 });
      try {
        const session = { cookie: { expires: new Date(Date.now() + HOUR).toISOString() }, n: 1 };
        await store.set('after-migration', session as never);
        expect(await store.get('after-migration')).toEqual(session);
      } finally {
        await store.close();
      }

      // Run again: nothing left to apply.
      const [, again] = await db.migrate.latest(migrations);
      expect(again).toEqual([]);
      await db.migrate.rollback(migrations);
      expect(await db.schema.hasTable(table)).toBe(false);
    });

    it('leaves a table that exists already as it is, rows included', async () => {
      const table = tableName('keep');
      await createSessionTable(db, { tableName: table });
      await db(table).insert({ sid: 'kept', sess: '{}', expired: new Date(Date.now() + HOUR) });
      const migration = sessionTableMigration({ tableName: table });
      await db.transaction((trx) => migration.up(trx));
      expect(await db(table).pluck('sid')).toEqual(['kept']);
    });

    it('creates the extra columns, so that a store declaring them starts', async () => {
      const table = tableName('cols');
      await sessionTableMigration({ tableName: table, columns: { userId: () => undefined } }).up(db);
      expect(Object.keys(await db(table).columnInfo()).sort()).toEqual(['expired', 'sess', 'sid', 'userId']);
      const without = new ConnectSessionKnexStore({
        knex: db,
        tableName: table,
        createTable: false,
        cleanupInterval: 0,
        columns: { userId: () => 'u', tenant: () => 't' },
      });
      try {
        await expect(without.ready).rejects.toBeInstanceOf(SessionTableShapeError);
        await expect(without.ready).rejects.toMatchObject({ missing: ['tenant'] });
      } finally {
        await without.close();
      }
    });
  });
}

describe('sessionTableMigration', () => {
  it('refuses bad options when the migration file is loaded, before any database is touched', () => {
    expect(() => sessionTableMigration({ tableName: 'a.b.c' })).toThrow(ConfigurationError);
    expect(() => sessionTableMigration({ jsonb: true, adapter: {} as never })).toThrow(ConfigurationError);
  });

  it('refuses jsonb for a knex that is not PostgreSQL', async () => {
    const db = createKnex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    try {
      await expect(sessionTableMigration({ jsonb: true }).up(db)).rejects.toMatchObject({ option: 'jsonb' });
      expect(await db.schema.hasTable('sessions')).toBe(false);
    } finally {
      await db.destroy();
    }
  });
});

const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-migrations-db-'));
dirs.push(sqliteDir);
migrationCases('SQLite (sqlite3, file)', () => ({
  client: 'sqlite3',
  connection: { filename: path.join(sqliteDir, 'app.sqlite') },
  useNullAsDefault: true,
}));

describeLive('CSK_PG_URL', 'PostgreSQL server (knex migrations)', (url) => {
  migrationCases('PostgreSQL', () => ({ client: 'pg', connection: url, pool: { min: 0, max: 4 } }));
});

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server (knex migrations)', (url) => {
  migrationCases('MariaDB', () => ({
    client: 'mysql2',
    connection: { ...mysqlConnection(url), timezone: 'Z' },
    pool: { min: 0, max: 4 },
  }));
});
