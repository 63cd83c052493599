import { clob, type Reply, type Responder, type WireStatement } from './recording-oracle.js';

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
  get: 'select * from (select "sess" from "sessions" where "sid" = :1 and "expired" > :2) where rownum <= :3',
  touch: 'update "sessions" set "expired" = :1 where "sid" = :2 and "expired" > :3',
  destroy: 'delete from "sessions" where "sid" = :1',
  all: 'select "sid", "sess" from "sessions" where "expired" > :1',
  length: 'select * from (select count("sid") "n" from "sessions" where "expired" > :1) where rownum <= :2',
  ids: 'select "sid" from "sessions" where "expired" > :1',
  clear: 'delete from "sessions"',
  prune:
    'delete from "sessions" where "sid" in (select * from (select "sid" from "sessions" where "expired" <= :1) where rownum <= :2)',
} as const;

/** A stored row: the session text and the expiry in epoch milliseconds. */
export interface DoubleRow {
  sess: string;
  expires: number;
}

/** destroy() of several sids: one placeholder per sid. */
const DESTROY_MANY = /^delete from "sessions" where "sid" in \(:1(, :\d+)*\)$/;

/** A timestamp bind as a Date (what Oracle compares), whichever of the two Date bind types it came as. */
function instant(value: unknown): number {
  if (!(value instanceof Date)) throw new Error(`expected a Date bind, got ${String(value)}`);
  return value.getTime();
}

/**
 * A stand-in for Oracle holding one `sessions` table, which understands exactly the statements above and refuses any
 * other. Session text comes back as CLOB streams, as thin mode returns them, for knex's own LOB code to read.
 */
export function oracleDouble(): { respond: Responder; rows: Map<string, DoubleRow> } {
  const rows = new Map<string, DoubleRow>();
  let exists = false;
  const live = (now: unknown) => [...rows].filter(([, row]) => row.expires > instant(now));
  const affected = (n: number): Reply => ({ rowsAffected: n });

  const respond = ({ sql, values: v }: WireStatement): Reply | undefined => {
    switch (sql) {
      case SQL.hasTable:
        return { rows: exists ? [{ TABLE_NAME: v[0] }] : [] };
      case SQL.createTable:
        if (exists) throw Object.assign(new Error('ORA-00955: name is already used by an existing object'), { errorNum: 955 });
        exists = true;
        return affected(0);
      case SQL.primaryKey:
      case SQL.createIndex:
        return affected(0);
      case SQL.merge:
        rows.set(String(v[0]), { sess: String(v[1]), expires: instant(v[2]) });
        return affected(1);
      case SQL.get: {
        const row = rows.get(String(v[0]));
        return { rows: row && row.expires > instant(v[1]) ? [{ sess: clob(row.sess) }].slice(0, Number(v[2])) : [] };
      }
      case SQL.touch: {
        const row = rows.get(String(v[1]));
        if (!row || row.expires <= instant(v[2])) return affected(0);
        row.expires = instant(v[0]);
        return affected(1);
      }
      case SQL.destroy:
        return affected(rows.delete(String(v[0])) ? 1 : 0);
      case SQL.all:
        return { rows: live(v[0]).map(([sid, row]) => ({ sid, sess: clob(row.sess) })) };
      case SQL.length:
        return { rows: [{ n: live(v[0]).length }] };
      case SQL.ids:
        return { rows: live(v[0]).map(([sid]) => ({ sid })) };
      case SQL.clear: {
        const n = rows.size;
        rows.clear();
        return affected(n);
      }
      case SQL.prune: {
        const expired = [...rows].filter(([, row]) => row.expires <= instant(v[0])).slice(0, Number(v[1]));
        for (const [sid] of expired) rows.delete(sid);
        return affected(expired.length);
      }
      default:
        if (DESTROY_MANY.test(sql)) return affected(v.filter((sid) => rows.delete(String(sid))).length);
        throw new Error(`the double does not know this statement: ${sql}`);
    }
  };
  return { respond, rows };
}
