import { MssqlStore, SessionTableShapeError } from '@csk/mssql';
import { recordingSqlServer, type WireStatement } from './support/recording-sql-server.js';
import { SQL } from './support/sql-server-double.js';

// What a createTable: false store and stats() send to SQL Server, on the recorded driver (no server here).

/** One catalog read serves both the column names and the expiry's declared type. */
const COLUMNS =
  'select [COLUMN_NAME] as [name], [DATA_TYPE] as [type] from [INFORMATION_SCHEMA].[COLUMNS] where [TABLE_SCHEMA] = schema_name() and [TABLE_NAME] = @p0';
const COLUMN_TYPES = COLUMNS;

/** A database whose session table exists with these columns; every other statement gets no rows. */
function database(columns: string[], other: (statement: WireStatement) => { rows?: Array<Record<string, unknown>> } | undefined = () => undefined) {
  return recordingSqlServer((statement) => {
    if (statement.sql.includes('INFORMATION_SCHEMA.TABLES')) return { rows: [{ TABLE_NAME: 'sessions' }] };
    if (statement.sql.includes('INFORMATION_SCHEMA].[COLUMNS]')) {
      return { rows: columns.map((name) => ({ name, type: name === 'expired' ? 'datetime2' : 'nvarchar' })) };
    }
    return other(statement);
  });
}

const stores: MssqlStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) {
    await store.close();
    await store.knex.destroy();
  }
});
function open(recording: ReturnType<typeof database>, options: object = {}): MssqlStore {
  const store = new MssqlStore({ knex: recording.knex, createTable: false, cleanupInterval: 0, ...options });
  stores.push(store);
  return store;
}

it("reads the table's columns and the expiry's type from INFORMATION_SCHEMA in the user's default schema, the name bound", async () => {
  const recording = database(['sid', 'sess', 'expired']);
  await open(recording).ready;
  // A date-time expiry column is what the default expiryEncoding wants: no stored value needs reading.
  expect(recording.statements.map((s) => s.sql)).toEqual([SQL.hasTable, COLUMNS, COLUMN_TYPES]);
  expect(recording.statements[1]!.values).toEqual(['sessions']);
  expect(recording.statements[2]!.values).toEqual(['sessions']);
});

it('refuses an integer expiry column with the default expiryEncoding', async () => {
  const recording = recordingSqlServer((statement) => {
    if (statement.sql.includes('INFORMATION_SCHEMA.TABLES')) return { rows: [{ TABLE_NAME: 'sessions' }] };
    if (statement.sql.includes('INFORMATION_SCHEMA].[COLUMNS]')) {
      return { rows: ['sid', 'sess', 'expired'].map((name) => ({ name, type: name === 'expired' ? 'bigint' : 'nvarchar' })) };
    }
    if (statement.sql.includes('order by [expired]')) return { rows: [{ value: '1796462302266' }] };
    return undefined;
  });
  const failure = await open(recording).ready.catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SessionTableShapeError);
  expect(failure).toMatchObject({ missing: [], mismatch: { column: 'expired', option: 'expiryEncoding', suggested: 'epoch-ms' } });
});

it('names the schema when one is set, and reports the columns a table lacks', async () => {
  const recording = database(['sid', 'sess']);
  const store = open(recording, { schemaName: 'app', columns: { userId: () => 'u' } });
  const failure = await store.ready.catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SessionTableShapeError);
  expect(failure).toMatchObject({ table: 'app.sessions', missing: ['expired', 'userId'] });
  const columns = recording.statements.find((s) => s.sql.includes('[COLUMNS]'))!;
  expect(columns.sql).toContain('where [TABLE_SCHEMA] = @p0 and [TABLE_NAME] = @p1');
  expect(columns.values).toEqual(['app', 'sessions']);
});

it('stats measures sessions with datalength and reads the expiries tedious returns', async () => {
  const expires = new Date(Date.UTC(2031, 0, 2, 3, 4, 5, 678));
  const recording = database(['sid', 'sess', 'expired'], (statement) => {
    if (statement.sql.includes('count([sid])')) return { rows: [{ n: 2 }] };
    if (statement.sql.includes('csk_expires')) return { rows: [{ csk_sid: 'a', csk_expires: expires }] };
    if (statement.sql.includes('csk_size')) return { rows: [{ csk_sid: 'big', csk_size: 1234 }] };
    return undefined;
  });
  const stats = await open(recording).stats();
  expect(stats).toEqual({
    live: 2,
    expired: 2,
    oldestLive: { sid: 'a', expires },
    oldest: { sid: 'a', expires },
    largest: { sid: 'big', bytes: 1234 },
  });
  const largest = recording.statements.find((s) => s.sql.includes('csk_size'))!;
  expect(largest.sql).toBe(
    'select top (@p0) [sid] as [csk_sid], datalength([sess]) as [csk_size] from [sessions] where [sess] is not null order by [csk_size] desc',
  );
});
