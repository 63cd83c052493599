import { sessionDouble, type SessionDouble } from '@csk/conformance/recorded/session-double';
import type { Reply } from './recording-sql-server.js';

/** The prune lock's statement as tedious sends it (the resource is its one parameter), and how a batch ends. */
export const PRUNE_LOCK_SQL = {
  get:
    'DECLARE @result int;\n' +
    "EXEC @result = sp_getapplock @Resource = @p0, @LockMode = 'Exclusive', @LockOwner = 'Transaction', " +
    '@LockTimeout = 0;\n' +
    'SELECT @result AS [result];',
  commit: 'COMMIT TRANSACTION',
  rollback: 'ROLLBACK TRANSACTION',
} as const;

/** The exact statements the store sends for the default table `sessions` (placeholders as tedious sends them). */
export const SQL = {
  hasTable: 'SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_NAME = @p0',
  createTable:
    'CREATE TABLE [sessions] ([sid] nvarchar(255) collate Latin1_General_100_BIN2 not null, [sess] nvarchar(max) not null, ' +
    '[expired] datetime2(3) not null, CONSTRAINT [sessions_pkey] PRIMARY KEY ([sid]))',
  createIndex: 'CREATE INDEX [sessions_expired_index] ON [sessions] ([expired])',
  merge:
    'MERGE INTO [sessions] WITH (HOLDLOCK) AS [target]\n' +
    'USING (VALUES (@p0, @p1, CAST(@p2 AS datetime2(3)))) AS [source] ([sid], [sess], [expired])\n' +
    'ON [target].[sid] = [source].[sid]\n' +
    'WHEN MATCHED THEN UPDATE SET [sess] = [source].[sess], [expired] = [source].[expired]\n' +
    'WHEN NOT MATCHED THEN INSERT ([sid], [sess], [expired]) VALUES ([source].[sid], [source].[sess], [source].[expired]);',
  get: 'select top (1) [sess], [expired] as [csk_expires] from [sessions] where [sid] = @p0 and [expired] > @p1',
  touch:
    'update [sessions] set [expired] = @p0 where [sid] = @p1 and [expired] > @p2 and [expired] <> @p3;select @@rowcount',
  destroy: 'delete from [sessions] where [sid] = @p0;select @@rowcount',
  all: 'select [sid], [sess] from [sessions] where [expired] > @p0',
  length: 'select top (@p0) count([sid]) as [n] from [sessions] where [expired] > @p1',
  ids: 'select [sid] from [sessions] where [expired] > @p0',
  clear: 'delete from [sessions];select @@rowcount',
  prune:
    'delete from [sessions] where [sid] in (select top (@p0) [sid] from [sessions] where [expired] <= @p1);select @@rowcount',
} as const;

/** A datetime2(3) parameter as the store binds it: ISO 8601 text without a zone, read as UTC (what SQL Server does). */
function instant(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/.test(value)) {
    throw new Error(`expected ISO 8601 datetime2(3) text, got ${String(value)}`);
  }
  return Date.parse(`${value}Z`);
}

/** The start-up check's lookup of the table's declared column types. */
export const COLUMN_TYPES_SQL =
  'select [COLUMN_NAME] as [name], [DATA_TYPE] as [type] from [INFORMATION_SCHEMA].[COLUMNS] where [TABLE_SCHEMA] = schema_name() and [TABLE_NAME] = @p0';

/**
 * A stand-in for SQL Server holding one `sessions` table, which understands exactly the statements above and refuses
 * any other. Counts come back as the one unnamed column of `select @@rowcount`, for knex's own mssql response code.
 */
export function sqlServerDouble(): SessionDouble<Reply> {
  const double = sessionDouble<Reply>({
    sql: SQL,
    ddl: [SQL.createIndex],
    destroyMany: /^delete from \[sessions\] where \[sid\] in \(@p0(, @p\d+)*\);select @@rowcount$/,
    limitFirst: true,
    instant,
    text: (sess) => sess,
    changed: (n) => ({ rows: [{ '': n }] }),
    executed: () => undefined,
    alreadyExists: () => new Error("There is already an object named 'sessions' in the database."),
  });
  // One store alone: the prune lock is always free (sp_getapplock's status 0, granted).
  const respond = (statement: Parameters<SessionDouble<Reply>['respond']>[0]) => {
    if (statement.sql === PRUNE_LOCK_SQL.get) return { rows: [{ result: 0 }] };
    // The start-up check of the expiry column's declared type (core's expiry-column.ts): the type the store creates.
    if (statement.sql === COLUMN_TYPES_SQL) {
      return { rows: [{ name: 'sid', type: 'nvarchar' }, { name: 'sess', type: 'nvarchar' }, { name: 'expired', type: 'datetime2' }] };
    }
    // The prune guard's bounded counts (core's prune-guard.ts): a table this small never trips its share rule.
    if (statement.sql.endsWith(' as [csk_window]')) return { rows: [{ n: 0 }] };
    return double.respond(statement);
  };
  return { respond, rows: double.rows };
}
