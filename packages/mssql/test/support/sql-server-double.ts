import type { Reply, Responder, WireStatement } from './recording-sql-server.js';

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
  get: 'select top (@p0) [sess] from [sessions] where [sid] = @p1 and [expired] > @p2',
  touch: 'update [sessions] set [expired] = @p0 where [sid] = @p1 and [expired] > @p2;select @@rowcount',
  destroy: 'delete from [sessions] where [sid] = @p0;select @@rowcount',
  all: 'select [sid], [sess] from [sessions] where [expired] > @p0',
  length: 'select top (@p0) count([sid]) as [n] from [sessions] where [expired] > @p1',
  ids: 'select [sid] from [sessions] where [expired] > @p0',
  clear: 'delete from [sessions];select @@rowcount',
  prune:
    'delete from [sessions] where [sid] in (select top (@p0) [sid] from [sessions] where [expired] <= @p1);select @@rowcount',
} as const;

/** A stored row: the session text and the expiry in epoch milliseconds. */
export interface DoubleRow {
  sess: string;
  expires: number;
}

/** A datetime2(3) parameter as the store binds it: ISO 8601 text without a zone, read as UTC (what SQL Server does). */
function instant(value: unknown): number {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/.test(value)) {
    throw new Error(`expected ISO 8601 datetime2(3) text, got ${String(value)}`);
  }
  return Date.parse(`${value}Z`);
}

/** destroy() of several sids: one placeholder per sid. */
const DESTROY_MANY = /^delete from \[sessions\] where \[sid\] in \(@p0(, @p\d+)*\);select @@rowcount$/;

const count = (n: number): Reply => ({ rows: [{ '': n }] });

/**
 * A stand-in for SQL Server holding one `sessions` table, which understands exactly the statements above and refuses
 * any other. With the recording connection it lets a real store run end to end: what it answers is decoded by knex's
 * own mssql response code.
 */
export function sqlServerDouble(): { respond: Responder; rows: Map<string, DoubleRow>; exists: () => boolean } {
  const rows = new Map<string, DoubleRow>();
  let exists = false;
  const live = (now: unknown) => [...rows].filter(([, row]) => row.expires > instant(now));

  const respond = ({ sql, values: v }: WireStatement): Reply | undefined => {
    switch (sql) {
      case SQL.hasTable:
        return { rows: exists ? [{ TABLE_NAME: v[0] }] : [] };
      case SQL.createTable:
        if (exists) throw new Error("There is already an object named 'sessions' in the database.");
        exists = true;
        return undefined;
      case SQL.createIndex:
        return undefined;
      case SQL.merge:
        rows.set(String(v[0]), { sess: String(v[1]), expires: instant(v[2]) });
        return undefined;
      case SQL.get: {
        const row = rows.get(String(v[1]));
        return { rows: row && row.expires > instant(v[2]) ? [{ sess: row.sess }].slice(0, Number(v[0])) : [] };
      }
      case SQL.touch: {
        const row = rows.get(String(v[1]));
        if (!row || row.expires <= instant(v[2])) return count(0);
        row.expires = instant(v[0]);
        return count(1);
      }
      case SQL.destroy:
        return count(rows.delete(String(v[0])) ? 1 : 0);
      case SQL.all:
        return { rows: live(v[0]).map(([sid, row]) => ({ sid, sess: row.sess })) };
      case SQL.length:
        return { rows: [{ n: live(v[1]).length }] };
      case SQL.ids:
        return { rows: live(v[0]).map(([sid]) => ({ sid })) };
      case SQL.clear: {
        const n = rows.size;
        rows.clear();
        return count(n);
      }
      case SQL.prune: {
        const expired = [...rows].filter(([, row]) => row.expires <= instant(v[1])).slice(0, Number(v[0]));
        for (const [sid] of expired) rows.delete(sid);
        return count(expired.length);
      }
      default:
        if (DESTROY_MANY.test(sql)) return count(v.filter((sid) => rows.delete(String(sid))).length);
        throw new Error(`the double does not know this statement: ${sql}`);
    }
  };
  return { respond, rows, exists: () => exists };
}
