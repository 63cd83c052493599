import { MssqlStore } from '@csk/mssql';
import { sessionUntil, useRecordedStores } from '@csk/conformance/recorded/recording';
import { recordingSqlServer, type Responder } from './support/recording-sql-server.js';

// The conformance cases of the columns option, custom column names and epoch expiries (packages/conformance/src/cases/
// columns.ts) need a live SQL Server (the docker-compose matrix). Offline, these check what the store sends for them
// to a recorded SQL Server, and how it reads the replies.

const HOUR = 3_600_000;
const open = useRecordedStores({ record: recordingSqlServer, createStore: (options) => new MssqlStore(options) });

const OPTIONS = {
  sessFieldName: 'data',
  expiredFieldName: 'expires',
  expiryEncoding: 'epoch-ms',
  columns: {
    userId: (session: object) => (session as { user?: string }).user,
    tenant: (session: object) => (session as { tenant?: number }).tenant,
  },
} as const;

/** Answers the statements of a store on a missing `sessions` table: a select from `reads`, a count of `deleted`. */
function server(reads: Array<Record<string, unknown>> = [], deleted = 0): Responder {
  return (statement) => {
    if (statement.sql.startsWith('select [sid], [data] from')) return { rows: reads };
    if (statement.sql.endsWith('select @@rowcount')) return { rows: [{ '': deleted }] };
    return undefined;
  };
}

describe('MssqlStore with extra columns, custom names and epoch-ms expiries, against a recorded SQL Server', () => {
  it('creates the extra columns as binary-collated nvarchar(255) NULL, each indexed, and the expiry as bigint', async () => {
    const { recording, store } = open(OPTIONS, server());
    await store.ready;
    expect(recording.statements.map((statement) => statement.sql).slice(1)).toEqual([
      'CREATE TABLE [sessions] ([sid] nvarchar(255) collate Latin1_General_100_BIN2 not null, [data] nvarchar(max) not null, ' +
        '[expires] bigint not null, [userId] nvarchar(255) collate Latin1_General_100_BIN2 null, ' +
        '[tenant] nvarchar(255) collate Latin1_General_100_BIN2 null, CONSTRAINT [sessions_pkey] PRIMARY KEY ([sid]))',
      'CREATE INDEX [sessions_expires_index] ON [sessions] ([expires])',
      'CREATE INDEX [sessions_userid_index] ON [sessions] ([userId])',
      'CREATE INDEX [sessions_tenant_index] ON [sessions] ([tenant])',
    ]);
  });

  it('set merges the extra columns (a number as its text, none as NULL) and the expiry in epoch ms', async () => {
    const { recording, store } = open(OPTIONS, server());
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    const data = sessionUntil(expires, { user: 'ada', tenant: 7 });
    await store.set('a', data);
    const merge = recording.statements[recording.statements.length - 1]!;
    expect(merge.sql).toContain('USING (VALUES (@p0, @p1, @p2, @p3, @p4)) AS [source] ([sid], [data], [expires], [userId], [tenant])');
    expect(merge.sql).toContain('[userId] = [source].[userId], [tenant] = [source].[tenant]');
    expect(merge.values.map((value) => (typeof value === 'bigint' ? Number(value) : value))).toEqual([
      'a',
      JSON.stringify(data),
      expires,
      'ada',
      '7',
    ]);

    await store.set('b', sessionUntil(expires, {}));
    const second = recording.statements[recording.statements.length - 1]!;
    expect(second.values.slice(3)).toEqual([null, null]);
  });

  it('findWhere selects the live rows of the filter and decodes them; destroyWhere deletes by it and resolves the count', async () => {
    const session = sessionUntil(Date.now() + HOUR, { user: 'ada' });
    const { recording, store } = open(OPTIONS, server([{ sid: 'a', data: JSON.stringify(session) }], 3));
    await store.ready;
    const before = Date.now();
    await expect(store.findWhere({ userId: 'ada' })).resolves.toEqual([{ sid: 'a', session }]);
    const select = recording.statements[recording.statements.length - 1]!;
    expect(select.sql).toBe('select [sid], [data] from [sessions] where [expires] > @p0 and [userId] = @p1');
    expect(Number(select.values[0])).toBeGreaterThanOrEqual(before);
    expect(select.values[1]).toBe('ada');

    await expect(store.destroyWhere({ userId: 'ada', tenant: 7 })).resolves.toBe(3);
    const remove = recording.statements[recording.statements.length - 1]!;
    expect(remove.sql).toBe('delete from [sessions] where [userId] = @p0 and [tenant] = @p1;select @@rowcount');
    expect(remove.values).toEqual(['ada', '7']);
  });

  it('a bad filter sends nothing', async () => {
    const { recording, store } = open(OPTIONS, server());
    await store.ready;
    const sent = recording.statements.length;
    await expect(store.destroyWhere({})).rejects.toMatchObject({ name: 'InvalidFilterError' });
    await expect(store.destroyWhere({ nope: 'x' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
    await expect(store.findWhere({ userId: 'ada ' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
    expect(recording.statements).toHaveLength(sent);
  });

  it('epoch-seconds binds whole seconds, in set and in the comparisons', async () => {
    const { recording, store } = open({ ...OPTIONS, expiryEncoding: 'epoch-seconds' }, server());
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    await store.set('a', sessionUntil(expires));
    expect(recording.statements[1]!.sql).toContain('[expires] bigint not null');
    const merge = recording.statements[recording.statements.length - 1]!;
    expect(Number(merge.values[2])).toBe(Math.floor(expires / 1000));
    await store.findWhere({ userId: 'ada' });
    const now = Number(recording.statements[recording.statements.length - 1]!.values[0]);
    expect(Math.abs(now - Date.now() / 1000)).toBeLessThan(5);
  });
});
