import { MssqlStore } from '@csk/mssql';
import { describeRecordedColumns } from '@csk/conformance/recorded/recorded-columns';
import { recordingSqlServer } from './support/recording-sql-server.js';

// The conformance cases of the columns option, custom column names and epoch expiries (packages/conformance/src/cases/
// columns.ts) need a live SQL Server (the docker-compose matrix). Offline, these check what the store sends for them
// to a recorded SQL Server, and how it reads the replies.

describeRecordedColumns({
  name: 'MssqlStore with extra columns, custom names and epoch-ms expiries, against a recorded SQL Server',
  record: recordingSqlServer,
  createStore: (options) => new MssqlStore(options),
  respond: (reads = [], deleted = 0) => (statement) => {
    if (statement.sql.startsWith('select [sid], [data] from')) return { rows: [...reads] };
    if (statement.sql.endsWith('select @@rowcount')) return { rows: [{ '': deleted }] };
    return undefined;
  },
  createTable: {
    extraColumns: 'binary-collated nvarchar(255) NULL',
    expiry: 'bigint',
    statements: [
      'CREATE TABLE [sessions] ([sid] nvarchar(255) collate Latin1_General_100_BIN2 not null, [data] nvarchar(max) not null, ' +
        '[expires] bigint not null, [userId] nvarchar(255) collate Latin1_General_100_BIN2 null, ' +
        '[tenant] nvarchar(255) collate Latin1_General_100_BIN2 null, CONSTRAINT [sessions_pkey] PRIMARY KEY ([sid]))',
      'CREATE INDEX [sessions_expires_index] ON [sessions] ([expires])',
      'CREATE INDEX [sessions_userid_index] ON [sessions] ([userId])',
      'CREATE INDEX [sessions_tenant_index] ON [sessions] ([tenant])',
    ],
  },
  expiryColumnDdl: '[expires] bigint not null',
  mergeContains: [
    'USING (VALUES (@p0, @p1, @p2, @p3, @p4)) AS [source] ([sid], [data], [expires], [userId], [tenant])',
    '[userId] = [source].[userId], [tenant] = [source].[tenant]',
  ],
  findWhereSql: 'select [sid], [data] from [sessions] where [expires] > @p0 and [userId] = @p1',
  destroyWhereSql: 'delete from [sessions] where [userId] = @p0 and [tenant] = @p1;select @@rowcount',
  // An epoch expiry compares as its number, should it reach the driver as a bigint.
  values: (statement) => statement.values.map((value) => (typeof value === 'bigint' ? Number(value) : value)),
  expectNullExtraColumns(merge) {
    expect(merge.values.slice(3)).toEqual([null, null]);
  },
});
