import type { SessionData } from 'express-session';
import { recordingKnex, type RecordedQuery } from '@csk/conformance/scenarios/recording-knex';
import { ConfigurationError, MysqlAdapter, MysqlStore } from '@csk/mysql';
import { parseServerVersion } from '../src/mysql-adapter.js';
import type { KnexStoreOptions } from '@csk/core';

const EXPIRES = Date.UTC(2030, 0, 2, 3, 4, 5, 678);
const session = (ms: number, data: Record<string, unknown> = {}): SessionData =>
  ({ cookie: { originalMaxAge: 1000, expires: new Date(ms), httpOnly: true, path: '/' }, ...data }) as unknown as SessionData;

/** A store on a knex of `client` with no server behind it, one that reports `version`; and the SQL it received. */
function recordingStore(client: string, version: string, options: Omit<KnexStoreOptions, 'knex'> = {}) {
  let versionFailures = 0;
  const recording = recordingKnex(client, (query) => {
    if (query.sql.includes('version()')) {
      if (version === 'fail-once' && versionFailures++ === 0) throw new Error('connection lost');
      return [{ version: version === 'fail-once' ? '8.4.3' : version }];
    }
    // The prune lock is free: one store alone.
    if (query.sql.startsWith('select get_lock(')) return [{ locked: 1 }];
    return query.sql.startsWith('select') ? [] : 1;
  });
  const store = new MysqlStore({ cleanupInterval: 0, ...options, knex: recording.knex });
  const close = async (): Promise<void> => {
    await store.close();
    await recording.knex.destroy();
  };
  return { store, queries: recording.queries, close };
}

const upserts = (queries: RecordedQuery[]): RecordedQuery[] => queries.filter((query) => query.sql.startsWith('insert'));

/** The upserts one `set` of sid 'a' (expiring at EXPIRES, carrying `data`) sends on a server reporting `version`. */
async function upsertsOfOneSet(
  client: string,
  version: string,
  options: Omit<KnexStoreOptions, 'knex'> = {},
  data: Record<string, unknown> = {},
): Promise<RecordedQuery[]> {
  const { store, queries, close } = recordingStore(client, version, options);
  await store.set('a', session(EXPIRES, data));
  await close();
  return upserts(queries);
}

describe('parseServerVersion', () => {
  it.each([
    ['8.4.3', 'mysql', true],
    ['9.1.0', 'mysql', true],
    ['8.0.19', 'mysql', true],
    ['8.0.36-0ubuntu0.22.04.1', 'mysql', true],
    ['8.0.18', 'mysql', false],
    ['5.7.44-log', 'mysql', false],
    ['10.11.19-MariaDB-0+deb12u1', 'mariadb', false],
    ['11.4.2-MariaDB', 'mariadb', false],
    ['5.5.5-10.6.16-MariaDB', 'mariadb', false],
    ['', 'mysql', false],
  ])('%s is %s, row alias %s', (version, flavour, rowAlias) => {
    expect(parseServerVersion(version)).toEqual({ version, flavour, rowAlias });
  });
});

describe('MysqlAdapter', () => {
  it('encodes expiry as UTC DATETIME text with milliseconds, whatever the process time zone', () => {
    expect(new MysqlAdapter().encodeExpiry(EXPIRES)).toBe('2030-01-02 03:04:05.678');
  });

  it.each(['mysql', 'mysql2', 'mariadb'])('serves the %s client (dialect mysql)', async (client: string) => {
    const { knex } = recordingKnex(client);
    expect(new MysqlAdapter().capabilities.dialects).toContain((knex.client as { dialect: string }).dialect);
    await knex.destroy();
  });

  it('refuses a knex of another dialect', async () => {
    const { knex } = recordingKnex('pg');
    expect(() => new MysqlStore({ knex })).toThrow(ConfigurationError);
    await knex.destroy();
  });
});

describe.each(['mysql2', 'mysql', 'mariadb'])('the SQL the %s client sends', (client: string) => {
  it('creates a utf8mb4 table: binary-collated sid, longtext sess, datetime(3) expired, indexed', async () => {
    const { store, queries, close } = recordingStore(client, '8.4.3', { schemaName: 'app', tableName: 'Sessions' });
    await store.ready;
    await close();
    expect(queries.map((query) => query.sql).slice(1)).toEqual([
      "create table `app`.`Sessions` (`sid` varchar(255) not null collate 'utf8mb4_bin', `sess` longtext not null, " +
        '`expired` datetime(3) not null, primary key (`sid`)) default character set utf8mb4',
      'alter table `app`.`Sessions` add index `sessions_expired_index`(`expired`)',
    ]);
  });

  it('on MySQL 8.0.19 and later, upserts with a row alias (no deprecated VALUES())', async () => {
    const sent = await upsertsOfOneSet(client, '8.4.3', { schemaName: 'app', sidFieldName: 'session id' }, { n: 1 });
    expect(sent).toEqual([
      {
        sql:
          'insert into `app`.`sessions` (`session id`, `sess`, `expired`) values (?, ?, ?) as `new` ' +
          'on duplicate key update `sess` = `new`.`sess`, `expired` = `new`.`expired`',
        // Years away: rounded up to the whole second.
        bindings: ['a', expect.stringContaining('"n":1'), '2030-01-02 03:04:06.000'],
      },
    ]);
  });

  it('quotes hostile names in the row-alias statement through knex', async () => {
    const [upsert] = await upsertsOfOneSet(client, '8.4.3', { tableName: 'we`ird; --', sidFieldName: 's"id' });
    expect(upsert!.sql).toBe(
      'insert into `we``ird; --` (`s"id`, `sess`, `expired`) values (?, ?, ?) as `new` ' +
        'on duplicate key update `sess` = `new`.`sess`, `expired` = `new`.`expired`',
    );
  });

  it('names the row alias otherwise when the table itself is called new', async () => {
    const [upsert] = await upsertsOfOneSet(client, '8.4.3', { tableName: 'NEW' });
    expect(upsert!.sql).toContain('values (?, ?, ?) as `new_row` on duplicate key update `sess` = `new_row`.`sess`');
  });

  it.each(['10.11.19-MariaDB-0+deb12u1', '8.0.18', '5.7.44-log'])('on %s, upserts with VALUES()', async (version: string) => {
    const [upsert] = await upsertsOfOneSet(client, version);
    expect(upsert!.sql).toBe(
      'insert into `sessions` (`expired`, `sess`, `sid`) values (?, ?, ?) ' +
        'on duplicate key update `sess` = values(`sess`), `expired` = values(`expired`)',
    );
  });

  it('asks the server version once per store, and again only after a failure', async () => {
    const { store, queries, close } = recordingStore(client, 'fail-once');
    await expect(store.set('a', session(EXPIRES))).rejects.toMatchObject({ name: 'DatabaseError' });
    await Promise.all(['b', 'c', 'd'].map((sid) => store.set(sid, session(EXPIRES))));
    await store.set('e', session(EXPIRES));
    await close();
    expect(queries.filter((query) => query.sql.includes('version()'))).toHaveLength(2);
    // The parallel sets may share an upsert (coalesce): every sid bound, in whichever statement.
    const sids = upserts(queries).flatMap((query) => query.bindings.filter((value) => /^[a-e]$/.test(String(value))));
    expect(sids.sort()).toEqual(['b', 'c', 'd', 'e']);
    expect(upserts(queries).every((query) => query.sql.includes(' as `new` '))).toBe(true);
  });

  it('prunes with DELETE … WHERE expired <= ? LIMIT n (MySQL refuses LIMIT in an IN subquery)', async () => {
    const { store, queries, close } = recordingStore(client, '8.4.3');
    await store.prune();
    await close();
    const prune = queries.find((query) => query.sql.startsWith('delete'))!;
    expect(prune.sql).toBe('delete from `sessions` where `expired` <= ? limit ?');
    expect(prune.bindings).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/), 500]);
  });
});
