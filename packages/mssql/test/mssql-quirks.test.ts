import path from 'node:path';
import type { SessionData } from 'express-session';
import type { Knex } from 'knex';
import { ConfigurationError, MssqlAdapter, MssqlStore, type MssqlStoreOptions } from '@csk/mssql';
import { everyOperation, sessionUntil, useRecordedStores } from '@csk/conformance/recorded/recording';
import {
  itRefusesAnotherDialect,
  itShowsInReadme,
  restoreTimeZoneAfterEach,
} from '@csk/conformance/recorded/package-checks';
import { recordingSqlServer, type Responder } from './support/recording-sql-server.js';
import { SQL, sqlServerDouble } from './support/sql-server-double.js';

const HOUR = 3_600_000;
const session = (extra: Record<string, unknown> = {}): SessionData => sessionUntil(Date.now() + HOUR, extra, HOUR);

/** A server that has no table yet and accepts every statement, for checking SQL text only. */
const accepting: Responder = (statement) => (statement.sql.includes('@@rowcount') ? { rows: [{ '': 0 }] } : undefined);

const createStore = (options: MssqlStoreOptions): MssqlStore => new MssqlStore(options);
const open = useRecordedStores({ record: recordingSqlServer, createStore }, accepting);

describe('MERGE', () => {
  it('puts HOLDLOCK on the target and ends with the semicolon SQL Server requires of MERGE', async () => {
    const { recording, store } = open();
    await store.set('a', session());
    const merge = recording.statements.find((s) => s.sql.startsWith('MERGE'))!;
    expect(merge.sql).toMatch(/^MERGE INTO \[sessions\] WITH \(HOLDLOCK\) AS \[target\]\n/);
    expect(merge.sql.endsWith(');')).toBe(true);
    // One statement: the only semicolon is the terminator.
    expect(merge.sql.indexOf(';')).toBe(merge.sql.length - 1);
  });

  it('sends values only as parameters, never in the statement text', async () => {
    const { recording, store } = open();
    const hostile = "x'); DROP TABLE [users]; --";
    await store.set(hostile, session({ note: hostile }));
    const merge = recording.statements.find((s) => s.sql.startsWith('MERGE'))!;
    expect(merge.sql).toBe(SQL.merge);
    expect(merge.values[0]).toBe(hostile);
    expect(String(merge.values[1])).toContain(hostile);
  });

  it('binds a session over 4000 characters as nvarchar(max), into an nvarchar(max) column', async () => {
    const double = sqlServerDouble();
    const { recording, store } = open({}, double.respond);
    const big = session({ blob: 'ü'.repeat(100_000) });
    await store.set('big', big);
    const merge = recording.statements.find((s) => s.sql === SQL.merge)!;
    expect(merge.parameters[1]!.declaration).toBe('nvarchar(max)');
    expect(SQL.createTable).toContain('[sess] nvarchar(max) not null');
    await expect(store.get('big')).resolves.toEqual(JSON.parse(JSON.stringify(big)));
  });
});

describe('expiry values', () => {
  const adapter = new MssqlAdapter();
  restoreTimeZoneAfterEach();

  it('are ISO 8601 text with a T, milliseconds and no zone, in UTC whatever the process time zone', () => {
    // Around a daylight-saving change in New York, and at a date a dmy DATEFORMAT would misread.
    const instants = [Date.UTC(2026, 2, 8, 6, 59, 59, 999), Date.UTC(2026, 2, 8, 7, 0, 0, 1), Date.UTC(2031, 11, 3, 23, 5, 7, 450)];
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      process.env.TZ = zone;
      expect(instants.map((ms) => adapter.encodeExpiry(ms))).toEqual([
        '2026-03-08T06:59:59.999',
        '2026-03-08T07:00:00.001',
        '2031-12-03T23:05:07.450',
      ]);
    }
  });

  it('reach the server as nvarchar text unchanged by the tedious useUTC option', async () => {
    for (const useUTC of [true, false]) {
      const connection = { server: 'x', options: { useUTC } } as Knex.MsSqlConnectionConfig;
      const { recording, store } = open({}, accepting, { connection });
      await store.set('a', { cookie: { expires: '2031-12-03T23:05:07.450Z' } } as unknown as SessionData);
      const merge = recording.statements.find((s) => s.sql.startsWith('MERGE'))!;
      // The store rounds an expiry years away up to the whole second; the text reaches the server as it was bound.
      const expiry = { name: 'p2', declaration: 'nvarchar(23)', value: '2031-12-03T23:05:08.000' };
      expect(merge.parameters[2]).toEqual(expiry);
    }
  });

  it('are text because knex would bind a Date as legacy datetime (1/300 s steps)', async () => {
    const { recording } = open();
    await recording.knex.raw('select ?', [new Date(Date.UTC(2031, 0, 1, 0, 0, 0, 1))]);
    expect(recording.statements.at(-1)!.parameters[0]!.declaration).toBe('datetime');
  });

  it('are stored in datetime2(3), which keeps every millisecond', () => {
    expect(SQL.createTable).toContain('[expired] datetime2(3) not null');
    expect(SQL.merge).toContain('CAST(@p2 AS datetime2(3))');
  });
});

describe('names', () => {
  it('are bracketed by knex in every statement, hostile ones included', async () => {
    const names = { schemaName: 'we ird', tableName: "ses'sions; DROP TABLE users --", sidFieldName: 'the "sid"' };
    const { recording, store } = open(names);
    await everyOperation(store, session);
    expect(recording.statements.length).toBeGreaterThan(10);
    for (const { sql } of recording.statements) {
      // What is left after removing every bracketed name is the store's own SQL: no name leaks out of its brackets.
      const outside = sql.replace(/\[[^\]]*\]/g, '[]');
      expect(outside).not.toMatch(/DROP|ird|"sid"|ses'sions/);
    }
    const create = recording.statements.find((s) => s.sql.startsWith('CREATE TABLE'))!;
    expect(create.sql).toContain(`CREATE TABLE [we ird].[ses'sions; DROP TABLE users --] ([the "sid"] nvarchar(255)`);
    expect(recording.statements[0]!.values).toEqual([names.tableName, names.schemaName]);
  });

  it('with "[" or "]" are refused at construction, every name of the table: knex deletes brackets when quoting', () => {
    const bracketed: Array<[option: string, options: Record<string, unknown>]> = [
      ['tableName', { tableName: 'a]b' }],
      ['schemaName', { schemaName: 'a]b' }],
      ['sidFieldName', { sidFieldName: 'a]b' }],
      ['sessFieldName', { sessFieldName: '[sess]' }],
      ['expiredFieldName', { expiredFieldName: 'exp[ired' }],
      // Without the check, both would be the column [userId]: one value written over the other.
      ['columns.[userId]', { columns: { userId: () => 'a', '[userId]': () => 'b' } }],
    ];
    for (const [option, options] of bracketed) {
      let refused: unknown;
      try {
        open(options);
      } catch (error) {
        refused = error;
      }
      expect(refused).toBeInstanceOf(ConfigurationError);
      expect(refused).toMatchObject({ option });
    }
  });

  it('put the table in schemaName in every statement, and look it up in that schema', async () => {
    const { recording, store } = open({ schemaName: 'app' });
    await everyOperation(store, session);
    expect(recording.statements[0]!.sql).toBe(
      'SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = @p0 AND TABLE_SCHEMA = @p1',
    );
    for (const { sql } of recording.statements.slice(1)) expect(sql.replace(/\[app\]\.\[sessions\]/g, '')).not.toContain('[sessions]');
  });
});

describe('the store', () => {
  itRefusesAnotherDialect(createStore);

  it('creates a case-sensitive sid: a binary collation', () => {
    expect(SQL.createTable).toContain('[sid] nvarchar(255) collate Latin1_General_100_BIN2 not null');
  });
});

describe('the README', () => {
  itShowsInReadme(path.resolve(__dirname, '..'), [SQL.createTable, SQL.createIndex, SQL.merge]);
});
