import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import {
  PORTABLE_CAPABILITIES,
  checkTableShape,
  ConfigurationError,
  createSessionTable,
  DatabaseError,
  resolveSessionTable,
  SessionTableMissingError,
  SessionTableShapeError,
} from '../src/index.js';
import { sessionWith, useFixtures, viaCallback } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';

const fixtures = useFixtures();
const session = sessionWith({ maxAge: 3_600_000 }, { user: 'ada' });

async function columnsOf(knex: Knex, table: string): Promise<string[]> {
  const rows: Array<{ name: string }> = await knex.raw('select name from pragma_table_info(?)', [table]);
  return rows.map((row) => row.name);
}

/** A hand-made table with exactly these text columns, the first one its primary key. */
async function handMade(knex: Knex, table: string, columns: string[]): Promise<void> {
  await knex.schema.createTable(table, (builder) => {
    columns.forEach((column, i) => (i === 0 ? builder.text(column).primary() : builder.text(column)));
  });
}

describe('createSessionTable', () => {
  it('creates the table a store with the same options expects, then finds it (true, then false)', async () => {
    const knex = fixtures.knex();
    const options = {
      tableName: 'app_sessions',
      sidFieldName: 'id',
      sessFieldName: 'data',
      expiredFieldName: 'expires_at',
      columns: { userId: (s: object) => (s as { user?: string }).user },
    };
    await expect(createSessionTable(knex, new RecordingAdapter(), options)).resolves.toBe(true);
    expect(await columnsOf(knex, 'app_sessions')).toEqual(['id', 'data', 'expires_at', 'userId']);
    await expect(createSessionTable(knex, new RecordingAdapter(), options)).resolves.toBe(false);

    const { store } = fixtures.store({ knex, ...options, createTable: false } as never);
    await store.set('a', session);
    expect(await store.get('a')).toEqual(session);
    expect(await knex('app_sessions').pluck('userId')).toEqual(['ada']);
  });

  it('works inside a transaction, as a knex migration runs it', async () => {
    const knex = fixtures.knex();
    await knex.transaction((trx) => createSessionTable(trx, new RecordingAdapter()));
    expect(await columnsOf(knex, 'sessions')).toEqual(['sid', 'sess', 'expired']);
  });

  it('8 calls at once on one empty database all resolve, and exactly one table exists', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-create-table-'));
    try {
      const file = path.join(dir, 'shared.sqlite');
      const knexes = Array.from({ length: 8 }, () => fixtures.knex(file));
      const results = await Promise.all(knexes.map((knex) => createSessionTable(knex, new RecordingAdapter())));
      expect(results.filter(Boolean).length).toBeGreaterThanOrEqual(1);
      expect(await columnsOf(knexes[0]!, 'sessions')).toEqual(['sid', 'sess', 'expired']);
      await Promise.all(knexes.map((knex) => knex.destroy()));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses bad options before sending any statement', async () => {
    const knex = fixtures.knex();
    const queries: string[] = [];
    knex.on('query', (query: { sql: string }) => queries.push(query.sql));
    await expect(createSessionTable(knex, new RecordingAdapter(), { tableName: 'a.b.c' })).rejects.toMatchObject({
      name: 'ConfigurationError',
      option: 'tableName',
    });
    await expect(createSessionTable(knex, new RecordingAdapter(), 'sessions' as never)).rejects.toBeInstanceOf(
      ConfigurationError,
    );
    const noSchema = Object.assign(new RecordingAdapter(), { capabilities: { ...PORTABLE_CAPABILITIES, schemas: false } });
    await expect(createSessionTable(knex, noSchema, { schemaName: 'other' })).rejects.toMatchObject({
      option: 'schemaName',
    });
    await expect(
      createSessionTable(knex, new RecordingAdapter({ dialects: ['elsewhere'] })),
    ).rejects.toMatchObject({ option: 'knex', message: expect.stringContaining('sqlite3') });
    expect(queries).toEqual([]);
  });

  it('reports a failure of the database as a DatabaseError naming the operation', async () => {
    const adapter = new RecordingAdapter().before('defineTable', () => {
      throw new Error('permission denied for schema public');
    });
    const failure = await createSessionTable(fixtures.knex(), adapter).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseError);
    expect(failure).toMatchObject({
      operation: 'createSessionTable',
      message: expect.stringContaining('permission denied'),
    });
  });
});

describe('checkTableShape', () => {
  it('resolves for a complete table, and names every missing column otherwise', async () => {
    const knex = fixtures.knex();
    const adapter = new RecordingAdapter();
    await handMade(knex, 'partial', ['sid', 'payload']);
    const table = resolveSessionTable(knex, adapter, { tableName: 'partial', columns: { tenant: () => 't' } });
    const failure = (await checkTableShape(knex, adapter, table).catch((error: unknown) => error)) as SessionTableShapeError;
    expect(failure).toBeInstanceOf(SessionTableShapeError);
    expect(failure.table).toBe('partial');
    expect(failure.missing).toEqual(['sess', 'expired', 'tenant']);
    expect(failure.message).toContain('"sess", "expired", "tenant"');
    expect(failure.message).toContain('"sid", "payload"');
    expect(failure.message).toContain('createSessionTable');

    await createSessionTable(knex, adapter, { tableName: 'complete' });
    await expect(checkTableShape(knex, adapter, resolveSessionTable(knex, adapter, { tableName: 'complete' }))).resolves.toBeUndefined();
  });

  it('lists every column for a table that does not exist', async () => {
    const knex = fixtures.knex();
    const adapter = new RecordingAdapter();
    const table = resolveSessionTable(knex, adapter, { tableName: 'nowhere' });
    await expect(checkTableShape(knex, adapter, table)).rejects.toMatchObject({ missing: ['sid', 'sess', 'expired'] });
  });
});

describe('a createTable: false store checks the shape at start-up', () => {
  it('fails ready and every operation with SessionTableShapeError, and recovers once the column is added', async () => {
    const knex = fixtures.knex();
    await handMade(knex, 'sessions', ['sid', 'sess']);
    const { store } = fixtures.store({ knex, createTable: false });
    await expect(store.ready).rejects.toMatchObject({ name: 'SessionTableShapeError', missing: ['expired'] });
    const { error } = await viaCallback((cb) => store.get('a', cb));
    expect(error).toBeInstanceOf(SessionTableShapeError);
    expect((error as Error).message).toContain('"expired"');

    await knex.schema.alterTable('sessions', (table) => {
      table.bigInteger('expired');
    });
    await store.set('a', session);
    expect(await store.get('a')).toEqual(session);
  });

  it("names the extra columns of the columns option that the table lacks", async () => {
    const knex = fixtures.knex();
    await createSessionTable(knex, new RecordingAdapter());
    const { store } = fixtures.store({ knex, createTable: false, columns: { userId: () => 'u', tenant: () => 't' } });
    await expect(store.ready).rejects.toMatchObject({ missing: ['userId', 'tenant'] });
  });

  it('accepts column names that differ only in case (the engines that match them so)', async () => {
    const knex = fixtures.knex();
    await handMade(knex, 'sessions', ['SID', 'Sess', 'EXPIRED']);
    const { store } = fixtures.store({ knex, createTable: false });
    await expect(store.ready).resolves.toBeUndefined();
  });

  it('still reports a missing table as SessionTableMissingError', async () => {
    const { store } = fixtures.store({ createTable: false });
    await expect(store.ready).rejects.toBeInstanceOf(SessionTableMissingError);
  });
});
