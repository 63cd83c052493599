import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { knex, type Knex } from 'knex';
import type { SessionData } from 'express-session';
import {
  ConfigurationError,
  DEFAULT_SQLITE_FILENAME,
  SqliteAdapter,
  SqliteStore,
  type SqliteStoreOptions,
} from '@csk/sqlite';

const packageDir = path.resolve(__dirname, '..');
const distModule = path.join(packageDir, 'dist', 'index.cjs');
const HOUR = 3_600_000;
const ISO_UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function sessionUntil(ms: number, data: Record<string, unknown> = {}): SessionData {
  return {
    cookie: { originalMaxAge: ms - Date.now(), expires: new Date(ms), httpOnly: true, path: '/' },
    ...data,
  } as unknown as SessionData;
}

describe.each(['sqlite3', 'better-sqlite3'] as const)('SqliteStore on %s', (client) => {
  let db: Knex;
  const stores: SqliteStore[] = [];
  const open = (options: SqliteStoreOptions): SqliteStore => {
    const store = new SqliteStore({ cleanupInterval: 0, ...options, knex: db });
    stores.push(store);
    return store;
  };

  beforeAll(() => {
    db = knex({ client, connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await db.destroy();
  });

  it('stores the expiry as ISO-8601 UTC text with milliseconds and Z', async () => {
    const store = open({ tableName: 'iso' });
    const at = Date.UTC(2031, 6, 8, 9, 10, 11, 12);
    await store.set('iso-sid', sessionUntil(at));
    const row = await db
      .table('iso')
      .select('expired', db.raw('typeof(??) as type', ['expired']))
      .where('sid', 'iso-sid')
      .first();
    // Years away: the store rounds it up to the whole second, and the text keeps its milliseconds field.
    expect(row).toEqual({ expired: '2031-07-08T09:10:12.000Z', type: 'text' });
    expect(new SqliteAdapter().encodeExpiry(at)).toBe('2031-07-08T09:10:11.012Z');
    expect(String(new SqliteAdapter().encodeExpiry(Date.now()))).toMatch(ISO_UTC_MS);
  });

  it('reads, touches and destroys rows written by connect-session-knex 5', async () => {
    // The table and rows as upstream 5 made them: json sess text, expired as ISO text, written by INSERT OR REPLACE.
    await db.schema.createTable('sessions_v5', (table) => {
      table.string('sid').primary();
      table.json('sess').notNullable();
      table.timestamp('expired').notNullable().index();
    });
    const liveAt = Date.now() + HOUR;
    const legacy = {
      cookie: { originalMaxAge: HOUR, expires: new Date(liveAt).toISOString(), httpOnly: true, path: '/' },
      user: 'ada',
    };
    const insert = 'INSERT OR REPLACE INTO ?? (??, ??, ??) VALUES (?, ?, ?)';
    const columns = ['sessions_v5', 'sid', 'expired', 'sess'];
    await db.raw(insert, [...columns, 'v5-live', new Date(liveAt).toISOString(), JSON.stringify(legacy)]);
    await db.raw(insert, [
      ...columns,
      'v5-old',
      new Date(Date.now() - HOUR).toISOString(),
      JSON.stringify({ ...legacy, user: 'old' }),
    ]);

    const store = open({ tableName: 'sessions_v5', createTable: false });
    await expect(store.get('v5-live')).resolves.toEqual(legacy);
    await expect(store.get('v5-old')).resolves.toBeNull();
    await expect(store.length()).resolves.toBe(1);
    expect(Object.keys((await store.allById()) ?? {})).toEqual(['v5-live']);

    const later = Date.now() + 3 * HOUR;
    await store.touch('v5-live', sessionUntil(later));
    expect(await db.table('sessions_v5').where('sid', 'v5-live').first()).toMatchObject({
      expired: new Date(Math.ceil(later / 1000) * 1000).toISOString(),
      sess: JSON.stringify(legacy),
    });

    await expect(store.prune()).resolves.toBe(1);
    await store.destroy('v5-live');
    expect(await db.table('sessions_v5').count({ n: '*' }).first()).toEqual({ n: 0 });
  });

  it('finds live sessions through the sid key or the expired index, with no function around the column', async () => {
    // On knex, so that its 'query' events show every statement: the fast path compiles these same builders.
    const store = open({ tableName: 'plan', fastPath: false });
    await store.ready;
    await db.table('plan').insert(
      Array.from({ length: 200 }, (_, i) => ({
        sid: `p${i}`,
        sess: '{}',
        expired: new Date(Date.now() + (i - 100) * 60_000).toISOString(),
      })),
    );
    const queries: Array<{ sql: string; bindings: readonly unknown[] }> = [];
    const record = (query: { sql: string; bindings?: readonly unknown[] }): void => {
      queries.push({ sql: query.sql, bindings: query.bindings ?? [] });
    };
    db.on('query', record);
    try {
      await store.get('p150');
      await store.touch('p150', sessionUntil(Date.now() + HOUR));
      await store.all();
      await store.length();
      await store.ids();
      await store.prune();
    } finally {
      db.off('query', record);
    }

    const onExpiry = queries.filter((query) => query.sql.includes('`expired`') && !/^insert/i.test(query.sql));
    expect(onExpiry.length).toBeGreaterThanOrEqual(6);
    for (const query of onExpiry) {
      expect(query.sql).not.toMatch(/datetime\(|julianday\(|strftime\(|unixepoch\(/i);
      expect(query.sql).toMatch(/`expired` (>|>=|<|<=) \?/);
      const plan = (await db.raw(`EXPLAIN QUERY PLAN ${query.sql}`, query.bindings as Knex.RawBinding[])) as Array<{
        detail: string;
      }>;
      const details = plan.map((step) => step.detail);
      // Every access to the table is a SEARCH through an index (the sid key or the expired index), never a full SCAN.
      // The prune guard's count reads its subquery whole: at most the subquery's LIMIT of rows, found by the index.
      expect({ sql: query.sql, scans: details.filter((detail) => /^SCAN (?!csk_window$)/.test(detail)) }).toEqual({
        sql: query.sql,
        scans: [],
      });
      expect({
        sql: query.sql,
        indexed: details.some((detail) => /^SEARCH .* USING (COVERING )?INDEX/.test(detail)),
      }).toEqual({
        sql: query.sql,
        indexed: true,
      });
    }
  });

  it('refuses a knex of another dialect with ConfigurationError', async () => {
    for (const other of ['pg', 'mysql2', 'mssql'] as const) {
      const foreign = knex({ client: other });
      try {
        let error: unknown;
        try {
          new SqliteStore({ knex: foreign, cleanupInterval: 0 });
        } catch (caught) {
          error = caught;
        }
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error).toMatchObject({ option: 'knex' });
      } finally {
        await foreign.destroy();
      }
    }
  });
});

describe('SqliteStore with no knex', () => {
  const cwd = mkdtempSync(path.join(tmpdir(), 'csk-sqlite-default-'));

  afterAll(() => {
    rmSync(cwd, { recursive: true, force: true });
  });

  it('opens connect-session-knex.sqlite in the working directory in WAL mode; close() destroys that knex', async () => {
    const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, [path.join(__dirname, 'fixtures', 'default-knex.cjs'), distModule], {
          cwd,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
        // Exiting at all is part of the check: a knex left open would keep the process alive.
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the child did not exit within 20 s (knex left open?)\n${out}\n${err}`));
        }, 20_000);
        child.on('error', reject);
        child.on('close', (exitCode) => {
          clearTimeout(timer);
          resolve({ stdout: out, stderr: err, code: exitCode });
        });
      },
    );
    const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
    expect({ line: line !== undefined, stderr }).toEqual({ line: true, stderr: expect.any(String) });
    const result = JSON.parse(line!.slice('RESULT '.length)) as Record<string, unknown>;
    expect(result).toMatchObject({ filename: DEFAULT_SQLITE_FILENAME, session: { n: 1 }, journalMode: 'wal' });
    expect(String(result.afterClose)).toMatch(/^refused/);
    expect(code).toBe(0);

    const file = path.join(cwd, DEFAULT_SQLITE_FILENAME);
    expect(DEFAULT_SQLITE_FILENAME).toBe('connect-session-knex.sqlite');
    expect(existsSync(file)).toBe(true);
    const check = knex({ client: 'sqlite3', connection: { filename: file }, useNullAsDefault: true });
    try {
      expect(await check.raw('PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      expect(await check.table('sessions').pluck('sid')).toEqual(['default-sid']);
    } finally {
      await check.destroy();
    }
  }, 40_000);
});
