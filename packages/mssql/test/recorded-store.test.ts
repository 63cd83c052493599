import { PRUNE_BATCH_SIZE } from '@csk/core';
import { MssqlStore } from '@csk/mssql';
import { describeRecordedStore } from '@csk/conformance/recorded/recorded-store';
import { sessionUntil } from '@csk/conformance/recorded/recording';
import { recordingSqlServer } from './support/recording-sql-server.js';
import { COLUMN_TYPES_SQL, SQL, sqlServerDouble } from './support/sql-server-double.js';

const HOUR = 3_600_000;

/** What the store binds for an instant: datetime2(3) text in UTC. */
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 23);

describeRecordedStore({
  name: 'MssqlStore end to end against a recorded SQL Server',
  record: recordingSqlServer,
  createStore: (options) => new MssqlStore(options),
  double: sqlServerDouble,
  sql: SQL,
  bound: iso,
  expectGetValues(get, now) {
    expect(get.values[0]).toBe('a');
    expect(Date.parse(`${String(get.values[1])}Z`)).toBeGreaterThanOrEqual(now);
    expect(get.parameters.map((p) => p.declaration)).toEqual(['nvarchar(1)', 'nvarchar(23)']);
  },
  expectPruneValues(prune) {
    expect(prune.values[0]).toBe(PRUNE_BATCH_SIZE);
    expect(prune.parameters.map((p) => p.declaration)).toEqual(['int', 'nvarchar(23)']);
  },
  cases(fx) {
    it('bootstraps with one lookup, CREATE TABLE and CREATE INDEX, then finds the table the next time', async () => {
      expect(fx.sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.createIndex]);
      expect(fx.recording.statements[0]!.parameters).toEqual([{ name: 'p0', declaration: 'nvarchar(8)', value: 'sessions' }]);

      const second = new MssqlStore({ knex: fx.recording.knex, cleanupInterval: 0 });
      await second.ready;
      await second.close();
      // A table it did not create: the expiry column's declared type is checked against expiryEncoding.
      expect(fx.sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.createIndex, SQL.hasTable, COLUMN_TYPES_SQL]);
    });

    it('set sends one MERGE with sid, sess and expiry as nvarchar parameters', async () => {
      const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
      const data = sessionUntil(expires, { user: 'ada', note: 'ünïcödé ✓' });
      await fx.store.set('Sid-A', data);

      const merge = fx.last();
      expect(merge.sql).toBe(SQL.merge);
      // Years away: rounded up to the whole second.
      expect(merge.values).toEqual(['Sid-A', JSON.stringify(data), '2031-01-02T03:04:06.000']);
      expect(merge.parameters.map((p) => p.declaration)).toEqual([
        'nvarchar(5)',
        `nvarchar(${JSON.stringify(data).length})`,
        'nvarchar(23)',
      ]);
      expect(fx.double.rows.get('Sid-A')).toEqual({ sess: JSON.stringify(data), expires: expires - 678 + 1000 });
    });

    it('surfaces a server error as a DatabaseError naming the operation', async () => {
      const { store } = fx.open({}, (statement) => {
        if (statement.sql.startsWith('MERGE')) throw new Error('Transaction (Process ID 53) was deadlocked');
        return statement.sql === SQL.hasTable ? { rows: [{ TABLE_NAME: 'sessions' }] } : undefined;
      });
      await expect(store.set('a', sessionUntil(Date.now() + HOUR))).rejects.toMatchObject({
        name: 'DatabaseError',
        operation: 'set',
        message: expect.stringContaining('deadlocked'),
      });
    });
  },
});
