import { PRUNE_BATCH_SIZE } from '@csk/core';
import { OracleStore } from '@csk/oracle';
import { describeRecordedStore } from '@csk/conformance/recorded/recorded-store';
import { sessionUntil } from '@csk/conformance/recorded/recording';
import { recordingOracle } from './support/recording-oracle.js';
import { SQL, oracleDouble } from './support/oracle-double.js';

/**
 * The comparisons core builds bind "now" as encodeExpiry makes it: TIMESTAMP WITH TIME ZONE when core hands the
 * adapter its knex, else node-oracledb's default for a Date (a zone-less TIMESTAMP). Either way, a Date.
 */
const NOW_TYPES = ['DB_TYPE_TIMESTAMP_TZ', 'DB_TYPE_TIMESTAMP'];

describeRecordedStore({
  name: 'OracleStore end to end against a recorded Oracle Database',
  record: recordingOracle,
  createStore: (options) => new OracleStore(options),
  double: oracleDouble,
  sql: SQL,
  bound: (ms) => new Date(ms),
  expectGetValues(get, now) {
    expect(get.binds[0]).toEqual({ type: 'DB_TYPE_VARCHAR', value: 'a' });
    expect(NOW_TYPES).toContain(get.binds[1]!.type);
    expect((get.values[1] as Date).getTime()).toBeGreaterThanOrEqual(now);
  },
  expectPruneValues(prune) {
    expect(prune.binds.map((b) => b.type)).toEqual(['DB_TYPE_TIMESTAMP_TZ', 'DB_TYPE_NUMBER']);
    expect(prune.values[1]).toBe(PRUNE_BATCH_SIZE);
  },
  cases(fx) {
    it('bootstraps with one lookup, CREATE TABLE, the primary key and the index, then finds the table and checks its expiry type', async () => {
      expect(fx.sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.primaryKey, SQL.createIndex]);
      expect(fx.recording.statements[0]!.binds).toEqual([{ type: 'DB_TYPE_VARCHAR', value: 'sessions' }]);

      const second = new OracleStore({ knex: fx.recording.knex, cleanupInterval: 0 });
      await second.ready;
      await second.close();
      // A table it did not create: the expiry column's declared type is checked against expiryEncoding.
      expect(fx.sent()).toEqual([SQL.hasTable, SQL.createTable, SQL.primaryKey, SQL.createIndex, SQL.hasTable, SQL.columnTypes]);
    });

    it('set sends one MERGE binding sess as a CLOB and the expiry as TIMESTAMP WITH TIME ZONE, and commits it', async () => {
      const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
      const data = sessionUntil(expires, { user: 'ada', note: 'ünïcödé ✓' });
      const commits = fx.recording.commits();
      await fx.store.set('Sid-A', data);

      const merge = fx.last();
      expect(merge.sql).toBe(SQL.merge);
      expect(merge.binds).toEqual([
        { type: 'DB_TYPE_VARCHAR', value: 'Sid-A' },
        { type: 'DB_TYPE_CLOB', value: JSON.stringify(data) },
        // Years away: rounded up to the whole second.
        { type: 'DB_TYPE_TIMESTAMP_TZ', value: new Date(expires - 678 + 1000) },
      ]);
      expect(fx.recording.commits()).toBe(commits + 1);
      expect(fx.double.rows.get('Sid-A')).toEqual({ sess: JSON.stringify(data), expires: expires - 678 + 1000 });
    });
  },
});
