import { OracleStore, SessionTableShapeError } from '@csk/oracle';
import { recordingOracle, type Reply, type WireStatement } from './support/recording-oracle.js';

// What a createTable: false store and stats() send to Oracle, on the recorded driver (no server here).

/** A database whose session table exists with these columns; every other statement gets no rows. */
function database(columns: string[], other: (statement: WireStatement) => Reply | undefined = () => undefined) {
  return recordingOracle((statement) => {
    if (/USER_TABLES|all_tables/.test(statement.sql)) return { rows: [{ TABLE_NAME: 'sessions' }] };
    if (statement.sql.includes('"ALL_TAB_COLUMNS"')) return { rows: columns.map((name) => ({ name })) };
    return other(statement);
  });
}

const stores: OracleStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) {
    await store.close();
    await store.knex.destroy();
  }
});
function open(recording: ReturnType<typeof database>, options: object = {}): OracleStore {
  const store = new OracleStore({ knex: recording.knex, createTable: false, cleanupInterval: 0, ...options });
  stores.push(store);
  return store;
}

const columnsQuery = (recording: ReturnType<typeof database>): WireStatement =>
  recording.statements.find((s) => s.sql.includes('ALL_TAB_COLUMNS'))!;

it("reads the table's columns for the current schema, every name bound", async () => {
  const recording = database(['sid', 'sess', 'expired']);
  await open(recording).ready;
  expect(columnsQuery(recording).sql).toBe(
    `select "COLUMN_NAME" "name", "DATA_TYPE" "type" from "ALL_TAB_COLUMNS" where "OWNER" = sys_context('USERENV', 'CURRENT_SCHEMA') and "TABLE_NAME" = :1`,
  );
  expect(columnsQuery(recording).values).toEqual(['sessions']);
});

it("names the schema as the table's owner, and reports the columns a table lacks", async () => {
  const recording = database(['sid', 'sess']);
  const failure = await open(recording, { schemaName: 'APP' }).ready.catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(SessionTableShapeError);
  expect(failure).toMatchObject({ table: 'APP.sessions', missing: ['expired'] });
  expect(columnsQuery(recording).sql).toContain('where "OWNER" = :1 and "TABLE_NAME" = :2');
  expect(columnsQuery(recording).values).toEqual(['APP', 'sessions']);
});

it('stats measures the CLOB with dbms_lob.getlength', async () => {
  const recording = database(['sid', 'sess', 'expired'], (statement) =>
    statement.sql.includes('csk_size') ? { rows: [{ csk_sid: 'big', csk_size: 4321 }] } : undefined,
  );
  const stats = await open(recording).stats();
  expect(stats).toMatchObject({ largest: { sid: 'big', bytes: 4321 } });
  expect(recording.statements.find((s) => s.sql.includes('csk_size'))!.sql).toContain(
    'dbms_lob.getlength("sess") as "csk_size" from "sessions" where "sess" is not null order by "csk_size" desc',
  );
});
