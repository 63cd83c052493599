import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { DatabaseError, KnexStore, SessionTableMissingError } from '../src/index.js';
import { insertRow, readRows, sessionWith, useFixtures, viaCallback } from './support/fixtures.js';
import { RecordingAdapter } from './support/recording-adapter.js';
import { defineSessionTable } from '../src/table-setup.js';

const fixtures = useFixtures();
const session = sessionWith({ maxAge: 3_600_000 }, { user: 'ada' });

/** The same knex, except that its first `hasTable` fails with `error`. */
function withFailingHasTable(knex: Knex, error: Error): Knex {
  let failed = false;
  return new Proxy(knex, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'schema' || failed) return value;
      const schema = value as Knex.SchemaBuilder;
      return Object.assign(schema, {
        hasTable: () => {
          failed = true;
          return Promise.reject(error);
        },
      });
    },
  });
}

it('creates a missing table with the columns the adapter defines', async () => {
  const { store, knex, adapter } = fixtures.store({ tableName: 'custom', sidFieldName: 'id' });
  await store.ready;
  expect(adapter.callsOf('defineTable').map((call) => call.table)).toEqual(['custom']);
  const columns: { name: string; type: string }[] = await knex.raw('PRAGMA table_info(??)', ['custom']);
  expect(columns.map(({ name, type }) => [name, type.toLowerCase()])).toEqual([
    ['id', 'varchar(255)'],
    ['sess', 'text'],
    ['expired', 'bigint'],
  ]);
});

it('keeps an existing table and its rows', async () => {
  const first = fixtures.store();
  await first.store.set('a', session);
  const second = fixtures.store({ knex: first.knex });
  expect(await second.store.get('a')).toEqual(session);
  expect(second.adapter.callsOf('defineTable')).toEqual([]);
});

describe('createTable: false', () => {
  it('reports a missing table through callbacks and ready, naming it', async () => {
    const { store } = fixtures.store({ createTable: false, schemaName: 'main', tableName: 'absent' });
    const { error } = await viaCallback((cb) => store.get('a', cb));
    expect(error).toBeInstanceOf(SessionTableMissingError);
    expect((error as Error).message).toContain('main.absent');
    await expect(store.ready).rejects.toThrow(SessionTableMissingError);
  });

  it('works once the table appears', async () => {
    const { store, knex } = fixtures.store({ createTable: false });
    await expect(store.set('a', session)).rejects.toThrow(SessionTableMissingError);
    const adapter = new RecordingAdapter();
    await store.table.schema(knex).createTable('sessions', (table) => defineSessionTable(table, adapter, store.table));
    await store.set('a', session);
    expect(await store.get('a')).toEqual(session);
  });
});

describe('a failed bootstrap is retried by the next call', () => {
  it('after hasTable fails', async () => {
    const cause = new Error('connection reset');
    const base = fixtures.knex();
    const store = new KnexStore({ knex: withFailingHasTable(base, cause), cleanupInterval: 0 }, new RecordingAdapter());
    const failure = await store.ready.catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(DatabaseError);
    expect(failure).toMatchObject({ operation: 'ready', cause });
    await store.set('a', session);
    expect(await store.get('a')).toEqual(session);
    await store.close();
  });

  it('after creating the table fails', async () => {
    const adapter = new RecordingAdapter().before('defineTable', () => {
      throw new Error('no space left');
    });
    const fixture = fixtures.store({}, adapter);
    const { error } = await viaCallback((cb) => fixture.store.set('a', session, cb));
    expect(error).toMatchObject({ operation: 'ready', message: expect.stringContaining('no space left') });
    await fixture.store.set('a', session);
    expect((await readRows(fixture)).map((row) => row.sid)).toEqual(['a']);
  });
});

describe('several processes booting at once', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-core-bootstrap-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('all 8 stores on one empty database become ready and share the table', async () => {
    const file = path.join(dir, 'shared.sqlite');
    const stores = Array.from({ length: 8 }, () => fixtures.store({ knex: fixtures.knex(file) }));
    await Promise.all(stores.map(({ store }) => store.ready));
    // The premise: more than one store found no table and tried to create it, so the losers had to recover.
    expect(stores.filter(({ adapter }) => adapter.callsOf('defineTable').length > 0).length).toBeGreaterThan(1);
    await Promise.all(stores.map(({ store }, i) => store.set(`s${i}`, session)));
    for (const { store } of stores) expect(await store.length()).toBe(8);
    await insertRow(stores[0]!, 'direct', Date.now() + 1000);
    expect(await stores[7]!.store.get('direct')).toEqual({});
  });
});
