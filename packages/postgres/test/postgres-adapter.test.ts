import type { SessionData } from 'express-session';
import { recordingKnex, type RecordedQuery } from '@csk/conformance/scenarios/recording-knex';
import { ConfigurationError, PostgresAdapter, PostgresStore, type PostgresStoreOptions } from '@csk/postgres';

const EXPIRES = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const session = (ms: number, data: Record<string, unknown> = {}): SessionData =>
  ({ cookie: { originalMaxAge: 1000, expires: new Date(ms), httpOnly: true, path: '/' }, ...data }) as unknown as SessionData;

/** Every store operation once, against a knex of `client` with no database behind it; resolves the SQL it received. */
async function statementsOf(client: string, options: Omit<PostgresStoreOptions, 'knex'> = {}): Promise<RecordedQuery[]> {
  // The prune lock is free: one store alone.
  const { knex, queries } = recordingKnex(client, (query) =>
    query.sql.startsWith('select pg_try_advisory_xact_lock') ? [{ locked: true }] : query.sql.startsWith('select') ? [] : 1,
  );
  const store = new PostgresStore({ cleanupInterval: 0, ...options, knex });
  try {
    await store.ready;
    await store.set('a', session(EXPIRES, { n: 1 }));
    await store.get('a');
    await store.touch('a', session(EXPIRES + 1));
    await store.destroy('a');
    await store.prune();
    return queries;
  } finally {
    await store.close();
    await knex.destroy();
  }
}

describe('PostgresAdapter', () => {
  it('encodes expiry as ISO-8601 UTC text with milliseconds, whatever the process time zone', () => {
    expect(new PostgresAdapter().encodeExpiry(EXPIRES)).toBe('2030-01-02T03:04:05.678Z');
  });

  it.each(['pg', 'postgres', 'postgresql', 'cockroachdb'])('serves the %s client (dialect postgresql)', (client: string) => {
    const { knex } = recordingKnex(client);
    expect(new PostgresAdapter().capabilities.dialects).toContain((knex.client as { dialect: string }).dialect);
    void knex.destroy();
  });

  it('serves pgnative too (its Client class reports the postgresql dialect; pg-native itself is not installed here)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- knex ships no types for its dialect modules
    const Client = require('knex/lib/dialects/pgnative') as { prototype: { dialect: string; driverName: string } };
    expect(new PostgresAdapter().capabilities.dialects).toContain(Client.prototype.dialect);
  });

  it('refuses a knex of another dialect', () => {
    const { knex } = recordingKnex('mysql2');
    expect(() => new PostgresStore({ knex })).toThrow(ConfigurationError);
    void knex.destroy();
  });

  it('refuses a name PostgreSQL would truncate (over 63 bytes), in any option, before it can land on another name', () => {
    const { knex } = recordingKnex('pg');
    const long = `user_${'\u00e9'.repeat(30)}`; // 65 bytes, 35 characters
    expect(() => new PostgresStore({ knex, cleanupInterval: 0, columns: { [long]: () => null } })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', option: `columns.${long}` }),
    );
    expect(() => new PostgresStore({ knex, cleanupInterval: 0, tableName: 's'.repeat(64) })).toThrow(
      expect.objectContaining({ option: 'tableName' }),
    );
    void knex.destroy();
  });
});

describe('PostgresStore options', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('takes jsonb itself, so the core never warns of it as unknown', () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { knex } = recordingKnex('pg');
    const store = new PostgresStore({ knex, jsonb: true, cleanupInterval: 0 });
    expect((store.adapter as PostgresAdapter).jsonb).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    void store.close().then(() => knex.destroy());
  });

  it('refuses a jsonb that is not a boolean', () => {
    const { knex } = recordingKnex('pg');
    expect(() => new PostgresStore({ knex, jsonb: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', option: 'jsonb' }),
    );
    void knex.destroy();
  });

  it('lets the core refuse options that are not an object', () => {
    expect(() => new PostgresStore('sessions' as unknown as PostgresStoreOptions)).toThrow(
      expect.objectContaining({ name: 'ConfigurationError', option: 'options' }),
    );
  });
});

describe.each(['pg', 'cockroachdb'])('the SQL the %s client sends', (client: string) => {
  it('creates upstream\'s table (json, timestamptz, indexed expiry) in the schema, every identifier quoted', async () => {
    const [hasTable, create, index] = await statementsOf(client, { schemaName: 'app', tableName: 'Sessions' });
    expect(hasTable!.bindings).toEqual(['Sessions', 'app']);
    expect(create!.sql).toBe(
      'create table "app"."Sessions" ("sid" varchar(255) not null, "sess" json not null, ' +
        '"expired" timestamptz not null, constraint "Sessions_pkey" primary key ("sid"))',
    );
    expect(index!.sql).toBe('create index "sessions_expired_index" on "app"."Sessions" ("expired")');
  });

  it('creates sess as jsonb with jsonb: true', async () => {
    const [, create] = await statementsOf(client, { jsonb: true });
    expect(create!.sql).toContain('"sess" jsonb not null');
  });

  it('upserts atomically with INSERT … ON CONFLICT (sid) DO UPDATE, binding ISO-8601 UTC expiries as timestamptz', async () => {
    const queries = await statementsOf(client, { sidFieldName: 'session id' });
    const upsert = queries.find((query) => query.sql.startsWith('insert'));
    expect(upsert).toEqual({
      sql:
        'insert into "sessions" ("expired", "sess", "session id") values ($1::timestamptz, $2, $3) on conflict ("session id") ' +
        'do update set "sess" = excluded."sess", "expired" = excluded."expired"',
      // Years away: rounded up to the whole second.
      bindings: ['2030-01-02T03:04:06.000Z', expect.stringContaining('"n":1'), 'a'],
    });
  });

  it('reads, touches and prunes with "now" bound from Node, never the database clock', async () => {
    const queries = await statementsOf(client);
    const sql = queries.map((query) => query.sql);
    // Cast in the statement, so that a zone-less timestamp column (connect-pg-simple's) converts in the session's
    // TimeZone as that store's to_timestamp() does.
    expect(sql).toContain(
      'select "sess", extract(epoch from "expired"::timestamptz) * 1000 as "csk_expires" from "sessions" ' +
        'where "sid" = $1 and "expired" > $2::timestamptz limit 1',
    );
    // A row that already holds the expiry is left unwritten.
    expect(sql).toContain(
      'update "sessions" set "expired" = $1::timestamptz where "sid" = $2 and "expired" > $3::timestamptz ' +
        'and "expired" <> $4::timestamptz',
    );
    expect(sql).toContain(
      'delete from "sessions" where "sid" in (select "sid" from "sessions" where "expired" <= $1::timestamptz limit $2)',
    );
    const touch = queries.find((query) => query.sql.startsWith('update'))!;
    expect(touch.bindings[0]).toBe('2030-01-02T03:04:06.000Z');
    expect(touch.bindings[3]).toBe('2030-01-02T03:04:06.000Z');
    expect(String(touch.bindings[2])).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(sql.join('\n')).not.toMatch(/now\(\)|current_timestamp/i);
  });
});

describe('the prune lock', () => {
  /** The statements of two prunes, on a recording knex whose advisory-lock call is answered by `lock`. */
  async function twoPrunes(lock: () => unknown[]): Promise<string[]> {
    const { knex, queries } = recordingKnex('pg', (query) =>
      query.sql.startsWith('select pg_try_advisory_xact_lock') ? lock() : query.sql.startsWith('select') ? [] : 0,
    );
    const store = new PostgresStore({ cleanupInterval: 0, knex });
    try {
      await store.ready;
      queries.length = 0;
      await store.prune();
      await store.prune();
      // Without the prune guard's count, which reads the table before the first batch.
      return queries.map((query) => query.sql).filter((sql) => !sql.includes('"csk_window"'));
    } finally {
      await store.close();
      await knex.destroy();
    }
  }

  it("takes a transaction-level advisory lock in each batch's transaction, first in a savepoint", async () => {
    const lock = 'select pg_try_advisory_xact_lock($1::bigint) as "locked"';
    const batch =
      'delete from "sessions" where "sid" in (select "sid" from "sessions" where "expired" <= $1::timestamptz limit $2)';
    expect(await twoPrunes(() => [{ locked: true }])).toEqual([
      'BEGIN;',
      expect.stringMatching(/^SAVEPOINT /),
      lock,
      expect.stringMatching(/^RELEASE SAVEPOINT /),
      batch,
      'COMMIT;',
      // Known to work from then on: no savepoint.
      'BEGIN;',
      lock,
      batch,
      'COMMIT;',
    ]);
  });

  it('prunes unguarded on a server without advisory locks (CockroachDB), and stops asking', async () => {
    const missing = () => {
      throw Object.assign(new Error('unknown function: pg_try_advisory_xact_lock()'), { code: '42883' });
    };
    const sql = await twoPrunes(missing);
    expect(sql.filter((s) => s.includes('pg_try_advisory_xact_lock'))).toHaveLength(1);
    expect(sql.filter((s) => s.startsWith('ROLLBACK TO SAVEPOINT'))).toHaveLength(1);
    expect(sql.filter((s) => s.startsWith('delete'))).toHaveLength(2);
  });

  it('skips the prune when another store holds the lock', async () => {
    const sql = await twoPrunes(() => [{ locked: false }]);
    expect(sql.filter((s) => s.startsWith('delete'))).toEqual([]);
  });
});
