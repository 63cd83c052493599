import { OracleStore } from '@csk/oracle';
import { describeRecordedColumns } from '@csk/conformance/recorded/recorded-columns';
import { clob, recordingOracle } from './support/recording-oracle.js';

// The conformance cases of the columns option, custom column names and epoch expiries (packages/conformance/src/cases/
// columns.ts) need a live Oracle Database (the docker-compose matrix). Offline, these check what the store sends for
// them to a recorded Oracle, and how it reads the replies.

describeRecordedColumns({
  name: 'OracleStore with extra columns, custom names and epoch-ms expiries, against a recorded Oracle',
  record: recordingOracle,
  createStore: (options) => new OracleStore(options),
  respond: (reads = [], deleted = 0) => (statement) => {
    if (statement.sql.startsWith('select "sid", "data" from')) {
      return { rows: reads.map((row) => ({ sid: row.sid, data: clob(row.data) })) };
    }
    if (statement.sql.startsWith('select TABLE_NAME')) return { rows: [] };
    if (statement.sql.startsWith('delete')) return { rowsAffected: deleted };
    return { rowsAffected: 1 };
  },
  createTable: {
    extraColumns: 'varchar2(255 char) NULL',
    expiry: 'a number',
    statements: [
      'create table "sessions" ("sid" varchar2(255 char) not null, "data" clob not null, "expires" number(20, 0) not null, ' +
        '"userId" varchar2(255 char) null, "tenant" varchar2(255 char) null)',
      'alter table "sessions" add constraint "sessions_pkey" primary key ("sid")',
      'create index "sessions_expires_index" on "sessions" ("expires")',
      'create index "sessions_userid_index" on "sessions" ("userId")',
      'create index "sessions_tenant_index" on "sessions" ("tenant")',
    ],
  },
  expiryColumnDdl: '"expires" number(20, 0) not null',
  mergeContains: [
    'USING (SELECT :1 AS "sid", :2 AS "data", :3 AS "expires", :4 AS "userId", :5 AS "tenant" FROM dual)',
    '"target"."userId" = "source"."userId", "target"."tenant" = "source"."tenant"',
  ],
  findWhereSql: 'select "sid", "data" from "sessions" where "expires" > :1 and "userId" = :2',
  destroyWhereSql: 'delete from "sessions" where "userId" = :1 and "tenant" = :2',
  values: (statement) => [...statement.values],
  expectNullExtraColumns(merge) {
    // node-oracledb carries a NULL bind as a typed bind with no value.
    const nulls = merge.binds.slice(3);
    expect(nulls).toEqual([{ type: 'DB_TYPE_VARCHAR' }, { type: 'DB_TYPE_VARCHAR' }]);
    expect(nulls.map((bind) => bind.value)).toEqual([undefined, undefined]);
  },
});
