import { OracleStore } from '@csk/oracle';
import { sessionUntil, useRecordedStores } from '@csk/conformance/recorded/recording';
import { clob, recordingOracle, type Responder } from './support/recording-oracle.js';

// The conformance cases of the columns option, custom column names and epoch expiries (packages/conformance/src/cases/
// columns.ts) need a live Oracle Database (the docker-compose matrix). Offline, these check what the store sends for
// them to a recorded Oracle, and how it reads the replies.

const HOUR = 3_600_000;
const open = useRecordedStores({ record: recordingOracle, createStore: (options) => new OracleStore(options) });

const OPTIONS = {
  sessFieldName: 'data',
  expiredFieldName: 'expires',
  expiryEncoding: 'epoch-ms',
  columns: {
    userId: (session: object) => (session as { user?: string }).user,
    tenant: (session: object) => (session as { tenant?: number }).tenant,
  },
} as const;

/** Answers the statements of a store on a missing `sessions` table: a select from `reads`, a delete of `deleted`. */
function database(reads: Array<{ sid: string; data: string }> = [], deleted = 0): Responder {
  return (statement) => {
    if (statement.sql.startsWith('select "sid", "data" from')) {
      return { rows: reads.map((row) => ({ sid: row.sid, data: clob(row.data) })) };
    }
    if (statement.sql.startsWith('select TABLE_NAME')) return { rows: [] };
    if (statement.sql.startsWith('delete')) return { rowsAffected: deleted };
    return { rowsAffected: 1 };
  };
}

describe('OracleStore with extra columns, custom names and epoch-ms expiries, against a recorded Oracle', () => {
  it('creates the extra columns as varchar2(255 char) NULL, each indexed, and the expiry as a number', async () => {
    const { recording, store } = open(OPTIONS, database());
    await store.ready;
    expect(recording.statements.map((statement) => statement.sql).slice(1)).toEqual([
      'create table "sessions" ("sid" varchar2(255 char) not null, "data" clob not null, "expires" number(20, 0) not null, ' +
        '"userId" varchar2(255 char) null, "tenant" varchar2(255 char) null)',
      'alter table "sessions" add constraint "sessions_pkey" primary key ("sid")',
      'create index "sessions_expires_index" on "sessions" ("expires")',
      'create index "sessions_userid_index" on "sessions" ("userId")',
      'create index "sessions_tenant_index" on "sessions" ("tenant")',
    ]);
  });

  it('set merges the extra columns (a number as its text, none as NULL) and the expiry in epoch ms', async () => {
    const { recording, store } = open(OPTIONS, database());
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    const data = sessionUntil(expires, { user: 'ada', tenant: 7 });
    await store.set('a', data);
    const merge = recording.statements[recording.statements.length - 1]!;
    expect(merge.sql).toContain('USING (SELECT :1 AS "sid", :2 AS "data", :3 AS "expires", :4 AS "userId", :5 AS "tenant" FROM dual)');
    expect(merge.sql).toContain('"target"."userId" = "source"."userId", "target"."tenant" = "source"."tenant"');
    expect(merge.values).toEqual(['a', JSON.stringify(data), expires, 'ada', '7']);

    await store.set('b', sessionUntil(expires, {}));
    // node-oracledb carries a NULL bind as a typed bind with no value.
    const nulls = recording.statements[recording.statements.length - 1]!.binds.slice(3);
    expect(nulls).toEqual([{ type: 'DB_TYPE_VARCHAR' }, { type: 'DB_TYPE_VARCHAR' }]);
    expect(nulls.map((bind) => bind.value)).toEqual([undefined, undefined]);
  });

  it('findWhere selects the live rows of the filter and decodes them; destroyWhere deletes by it and resolves the count', async () => {
    const session = sessionUntil(Date.now() + HOUR, { user: 'ada' });
    const { recording, store } = open(OPTIONS, database([{ sid: 'a', data: JSON.stringify(session) }], 3));
    await store.ready;
    const before = Date.now();
    await expect(store.findWhere({ userId: 'ada' })).resolves.toEqual([{ sid: 'a', session }]);
    const select = recording.statements[recording.statements.length - 1]!;
    expect(select.sql).toBe('select "sid", "data" from "sessions" where "expires" > :1 and "userId" = :2');
    expect(Number(select.values[0])).toBeGreaterThanOrEqual(before);
    expect(select.values[1]).toBe('ada');

    await expect(store.destroyWhere({ userId: 'ada', tenant: 7 })).resolves.toBe(3);
    const remove = recording.statements[recording.statements.length - 1]!;
    expect(remove.sql).toBe('delete from "sessions" where "userId" = :1 and "tenant" = :2');
    expect(remove.values).toEqual(['ada', '7']);
  });

  it('a bad filter sends nothing', async () => {
    const { recording, store } = open(OPTIONS, database());
    await store.ready;
    const sent = recording.statements.length;
    await expect(store.destroyWhere({})).rejects.toMatchObject({ name: 'InvalidFilterError' });
    await expect(store.destroyWhere({ nope: 'x' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
    await expect(store.findWhere({ userId: 'ada ' })).rejects.toMatchObject({ name: 'InvalidFilterError' });
    expect(recording.statements).toHaveLength(sent);
  });

  it('epoch-seconds binds whole seconds, in set and in the comparisons', async () => {
    const { recording, store } = open({ ...OPTIONS, expiryEncoding: 'epoch-seconds' }, database());
    const expires = Date.UTC(2031, 0, 2, 3, 4, 5, 678);
    await store.set('a', sessionUntil(expires));
    expect(recording.statements[1]!.sql).toContain('"expires" number(20, 0) not null');
    expect(recording.statements[recording.statements.length - 1]!.values[2]).toBe(Math.floor(expires / 1000));
    await store.findWhere({ userId: 'ada' });
    const now = Number(recording.statements[recording.statements.length - 1]!.values[0]);
    expect(Math.abs(now - Date.now() / 1000)).toBeLessThan(5);
  });
});
