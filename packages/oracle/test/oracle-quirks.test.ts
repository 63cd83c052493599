import path from 'node:path';
import oracledb from 'oracledb';
import type { SessionData } from 'express-session';
import { ConfigurationError, OracleAdapter, OracleStore, type OracleStoreOptions } from '@csk/oracle';
import { everyOperation, sessionUntil, useRecordedStores } from '@csk/conformance/recorded/recording';
import {
  itRefusesAnotherDialect,
  itShowsInReadme,
  restoreTimeZoneAfterEach,
} from '@csk/conformance/recorded/package-checks';
import {
  bindProcessor,
  recordingOracle,
  type RecordingOracle,
  type Responder,
  type WireStatement,
} from './support/recording-oracle.js';
import { SQL, oracleDouble } from './support/oracle-double.js';

const HOUR = 3_600_000;
const session = (extra: Record<string, unknown> = {}): SessionData => sessionUntil(Date.now() + HOUR, extra, HOUR);

/** A database that has the table and accepts every statement, for checking SQL text only. */
const accepting: Responder = (statement) =>
  /^select/i.test(statement.sql) ? { rows: statement.sql.includes('TABLE_NAME') ? [{ TABLE_NAME: 'x' }] : [] } : { rowsAffected: 0 };

const createStore = (options: OracleStoreOptions): OracleStore => new OracleStore(options);
const open = useRecordedStores({ record: recordingOracle, createStore }, accepting);

const merges = (recording: RecordingOracle): WireStatement[] => recording.statements.filter((s) => s.sql.startsWith('MERGE'));
const oraError = (code: string, errorNum: number, text: string) =>
  Object.assign(new Error(`${code}: ${text}`), { errorNum, code });

describe('MERGE', () => {
  it('selects its source row from dual and has no trailing semicolon (node-oracledb sends one statement)', async () => {
    const { recording, store } = open();
    await store.set('a', session());
    const [merge] = merges(recording);
    expect(merge!.sql).toBe(SQL.merge);
    expect(merge!.sql).toContain(' FROM dual) "source"\n');
    expect(merge!.sql).not.toContain(';');
  });

  it('runs once more when a racing first write of the sid wins the insert (ORA-00001), and then succeeds', async () => {
    const double = oracleDouble();
    let raced = false;
    const { recording, store } = open({}, (statement) => {
      if (statement.sql === SQL.merge && !raced) {
        raced = true;
        throw oraError('ORA-00001', 1, 'unique constraint (APP.sessions_pkey) violated');
      }
      return double.respond(statement);
    });
    await expect(store.set('a', session({ n: 1 }))).resolves.toBeUndefined();
    expect(merges(recording)).toHaveLength(2);
    expect(merges(recording)[1]!.binds).toEqual(merges(recording)[0]!.binds);
    expect(double.rows.get('a')?.sess).toContain('"n":1');
  });

  it('recognises ORA-00001 by its message too (knex prefixes the SQL to it)', async () => {
    let failures = 0;
    const { recording, store } = open({}, (statement) => {
      if (statement.sql === SQL.merge && failures++ === 0) {
        throw new Error(`${statement.sql} - ORA-00001: unique constraint (APP.sessions_pkey) violated`);
      }
      return accepting(statement);
    });
    await store.set('a', session());
    expect(merges(recording)).toHaveLength(2);
  });

  it("retries a lost race like any conflict, a bounded number of times, and never another error", async () => {
    const always = open({}, (statement) => {
      if (statement.sql === SQL.merge) throw oraError('ORA-00001', 1, 'unique constraint violated');
      return accepting(statement);
    });
    await expect(always.store.set('a', session())).rejects.toMatchObject({ name: 'DatabaseError', operation: 'set' });
    // The store's conflict retries (eight), then the error.
    expect(merges(always.recording)).toHaveLength(9);

    const other = open({}, (statement) => {
      if (statement.sql === SQL.merge) throw oraError('ORA-01461', 1461, 'can bind a LONG value only for insert into a LONG column');
      return accepting(statement);
    });
    await expect(other.store.set('a', session())).rejects.toMatchObject({ message: expect.stringContaining('ORA-01461') });
    expect(merges(other.recording)).toHaveLength(1);
  });
});

describe('CLOB', () => {
  it('stores sess in a CLOB column, not the varchar2(4000) upstream used', () => {
    expect(SQL.createTable).toContain('"sess" clob not null');
  });

  it('binds a session far over 4000 bytes as a CLOB and reads it back whole', async () => {
    const double = oracleDouble();
    const { recording, store } = open({}, double.respond);
    const big = session({ blob: 'ü€'.repeat(50_000) });
    await store.set('big', big);
    expect(merges(recording)[0]!.binds[1]).toEqual({ type: 'DB_TYPE_CLOB', value: JSON.stringify(big) });
    await expect(store.get('big')).resolves.toEqual(JSON.parse(JSON.stringify(big)));
  });

  it('is bound explicitly because node-oracledb binds a plain string as VARCHAR, capped at 4000 bytes in SQL', async () => {
    const [plain] = await bindProcessor._processExecuteBinds(['x'.repeat(5000)]);
    expect(plain!.type.name).toBe('DB_TYPE_VARCHAR');
  });
});

describe('expiry values', () => {
  const adapter = new OracleAdapter();
  restoreTimeZoneAfterEach();

  it('are stored in timestamp(3) with time zone', () => {
    expect(SQL.createTable).toContain('"expired" timestamp(3) with time zone not null');
  });

  it('are bound as TIMESTAMP WITH TIME ZONE when the adapter has the knex, whatever the process time zone', async () => {
    const ms = Date.UTC(2026, 2, 8, 7, 0, 0, 1);
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata']) {
      process.env.TZ = zone;
      const { recording } = open();
      expect(adapter.encodeExpiry(ms, recording.knex)).toEqual({ val: new Date(ms), type: oracledb.DB_TYPE_TIMESTAMP_TZ });
    }
    expect(adapter.encodeExpiry(ms)).toEqual(new Date(ms));
  });

  it('are typed because node-oracledb binds a bare Date as a zone-less TIMESTAMP in local time', async () => {
    const [bare] = await bindProcessor._processExecuteBinds([new Date()]);
    expect(bare!.type.name).toBe('DB_TYPE_TIMESTAMP');
  });

  it('reach the prune as TIMESTAMP WITH TIME ZONE', async () => {
    const { recording, store } = open();
    await store.prune();
    const prune = recording.statements.find((s) => s.sql.startsWith('delete'))!;
    expect(prune.binds[0]!.type).toBe('DB_TYPE_TIMESTAMP_TZ');
  });
});

describe('names', () => {
  it('are double-quoted by knex in every statement, with embedded quotes doubled', async () => {
    const names = { schemaName: 'WE IRD', tableName: 'ses"sions; drop table x --', sidFieldName: 'the sid' };
    // No table yet, so that the DDL is among the statements checked.
    const { recording, store } = open(names, (statement) =>
      /^select/i.test(statement.sql) ? { rows: [] } : { rowsAffected: 0 },
    );
    await everyOperation(store, session);
    expect(recording.statements.length).toBeGreaterThan(10);
    for (const { sql } of recording.statements) {
      const outside = sql.replace(/"(?:[^"]|"")*"/g, '""');
      expect(outside).not.toMatch(/drop|IRD|the sid/);
    }
    expect(recording.statements.find((s) => s.sql.startsWith('MERGE'))!.sql).toContain(
      'MERGE INTO "WE IRD"."ses""sions; drop table x --" "target"',
    );
  });

  it('put the table in schemaName in every statement', async () => {
    const { recording, store } = open({ schemaName: 'APP' });
    await store.set('a', session());
    await store.get('a');
    await store.prune();
    await store.clear();
    for (const { sql } of recording.statements.slice(1)) {
      expect(sql.replace(/"APP"\."sessions"/g, '')).not.toContain('"sessions"');
    }
  });

  it('look a schema table up in ALL_TABLES, as knex (which reads USER_TABLES) cannot', async () => {
    const seen: WireStatement[] = [];
    const { recording, store } = open({ schemaName: 'APP' }, (statement) => {
      seen.push(statement);
      return statement.sql.includes('all_tables') ? { rows: [{ 1: 1 }] } : accepting(statement);
    });
    await store.ready;
    await expect(new OracleAdapter().catalog.hasTable(recording.knex, store.table)).resolves.toBe(true);
    expect(seen.at(-1)).toMatchObject({
      sql: 'select 1 from all_tables where owner = :1 and table_name = :2',
      values: ['APP', 'sessions'],
    });
  });
});

/** Core asks the adapter whether the table exists (knex's own check ignores the schema) and hands encodeExpiry its knex. */
describe('what core delegates to the adapter', () => {
  it('bootstraps a table in schemaName by looking it up in ALL_TABLES', async () => {
    const { recording, store } = open({ schemaName: 'APP' }, (statement) => {
      if (statement.sql.includes('all_tables')) return { rows: [{ 1: 1 }] };
      if (statement.sql.includes('USER_TABLES')) return { rows: [] };
      return accepting(statement);
    });
    await store.ready;
    expect(recording.statements[0]!.sql).toBe('select 1 from all_tables where owner = :1 and table_name = :2');
    expect(recording.statements.some((s) => s.sql.startsWith('create table'))).toBe(false);
  });

  it('binds "now" in the comparisons core builds as TIMESTAMP WITH TIME ZONE', async () => {
    const { recording, store } = open();
    await store.get('a');
    expect(recording.statements.at(-1)!.binds[1]!.type).toBe('DB_TYPE_TIMESTAMP_TZ');
  });
});

describe('the store', () => {
  itRefusesAnotherDialect(createStore);

  it('keeps sids case-sensitive: a varchar2 key under Oracle’s binary comparison, sized in characters', () => {
    expect(SQL.createTable).toContain('"sid" varchar2(255 char) not null');
  });
});

describe('the README', () => {
  itShowsInReadme(path.resolve(__dirname, '..'), [SQL.createTable, SQL.primaryKey, SQL.createIndex, SQL.merge]);
});

describe('conflicts', () => {
  it('retries a deadlock (ORA-00060), a serialization failure (ORA-08177), a lost insert race (ORA-00001), and no other error', () => {
    const adapter = new OracleAdapter();
    const coded = (code: string) => Object.assign(new Error(`${code}: …`), { code });
    expect(adapter.classifyError(coded('ORA-00060'))).toBe('conflict');
    expect(adapter.classifyError(coded('ORA-08177'))).toBe('conflict');
    expect(adapter.classifyError(coded('ORA-00001'))).toBe('conflict');
    expect(adapter.classifyError(coded('ORA-01461'))).toBeUndefined();
    expect(adapter.classifyError(coded('NJS-500'))).not.toBe('conflict');
    expect(adapter.classifyError(new Error('ORA-00060: deadlock detected while waiting for resource'))).toBe('conflict');
  });
});
