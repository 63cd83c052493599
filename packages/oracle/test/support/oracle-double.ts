import { sessionDouble, type SessionDouble } from '@csk/conformance/recorded/session-double';
import { clob, type Reply } from './recording-oracle.js';

/** The exact statements the store sends for the default table `sessions` (placeholders as knex sends them). */
export const SQL = {
  hasTable: 'select TABLE_NAME from USER_TABLES where TABLE_NAME = :1',
  createTable:
    'create table "sessions" ("sid" varchar2(255 char) not null, "sess" clob not null, ' +
    '"expired" timestamp(3) with time zone not null)',
  primaryKey: 'alter table "sessions" add constraint "sessions_pkey" primary key ("sid")',
  createIndex: 'create index "sessions_expired_index" on "sessions" ("expired")',
  merge:
    'MERGE INTO "sessions" "target"\n' +
    'USING (SELECT :1 AS "sid", :2 AS "sess", :3 AS "expired" FROM dual) "source"\n' +
    'ON ("target"."sid" = "source"."sid")\n' +
    'WHEN MATCHED THEN UPDATE SET "target"."sess" = "source"."sess", "target"."expired" = "source"."expired"\n' +
    'WHEN NOT MATCHED THEN INSERT ("sid", "sess", "expired") VALUES ("source"."sid", "source"."sess", "source"."expired")',
  get: 'select * from (select "sess", "expired" as "csk_expires" from "sessions" where "sid" = :1 and "expired" > :2) where rownum <= 1',
  touch: 'update "sessions" set "expired" = :1 where "sid" = :2 and "expired" > :3 and "expired" <> :4',
  destroy: 'delete from "sessions" where "sid" = :1',
  all: 'select "sid", "sess" from "sessions" where "expired" > :1',
  length: 'select * from (select count("sid") "n" from "sessions" where "expired" > :1) where rownum <= :2',
  ids: 'select "sid" from "sessions" where "expired" > :1',
  clear: 'delete from "sessions"',
  columnTypes:
    'select "COLUMN_NAME" "name", "DATA_TYPE" "type" from "ALL_TAB_COLUMNS" ' +
    'where "OWNER" = sys_context(\'USERENV\', \'CURRENT_SCHEMA\') and "TABLE_NAME" = :1',
  prune:
    'delete from "sessions" where "sid" in (select * from (select "sid" from "sessions" where "expired" <= :1) where rownum <= :2)',
} as const;

/** A timestamp bind as a Date (what Oracle compares), whichever of the two Date bind types it came as. */
function instant(value: unknown): number {
  if (!(value instanceof Date)) throw new Error(`expected a Date bind, got ${String(value)}`);
  return value.getTime();
}

/**
 * A stand-in for Oracle holding one `sessions` table, which understands exactly the statements above and refuses any
 * other. Session text comes back as CLOB streams, as thin mode returns them, for knex's own LOB code to read; counts
 * as the rows affected.
 */
export function oracleDouble(): SessionDouble<Reply> {
  const affected = (n: number): Reply => ({ rowsAffected: n });
  const double = sessionDouble<Reply>({
    sql: SQL,
    ddl: [SQL.primaryKey, SQL.createIndex],
    destroyMany: /^delete from "sessions" where "sid" in \(:1(, :\d+)*\)$/,
    limitFirst: false,
    instant,
    text: clob,
    changed: affected,
    executed: affected,
    alreadyExists: () => Object.assign(new Error('ORA-00955: name is already used by an existing object'), { errorNum: 955 }),
  });
  const respond = (statement: Parameters<SessionDouble<Reply>['respond']>[0]) => {
    // The start-up check of the expiry column's declared type (core's expiry-column.ts): the type the store creates.
    if (statement.sql === SQL.columnTypes) {
      return { rows: [{ name: 'sid', type: 'VARCHAR2' }, { name: 'sess', type: 'CLOB' }, { name: 'expired', type: 'TIMESTAMP(3) WITH TIME ZONE' }] };
    }
    // The prune guard's bounded counts (core's prune-guard.ts): a table this small never trips its share rule.
    if (statement.sql.endsWith(' "csk_window") where rownum <= :3')) return { rows: [{ n: 0 }] };
    return double.respond(statement);
  };
  return { respond, rows: double.rows };
}
