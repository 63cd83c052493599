import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { randomId } from '@csk/conformance/util';
import { selectAdapter } from 'connect-session-knex';

// The built `connect-session-knex` command, run by real Node as a user runs it (`npx tsup` in core, the dialect
// packages and this package first; turbo builds before it tests).

const PACKAGE_DIR = path.resolve(__dirname, '..');
const CLI = path.join(PACKAGE_DIR, 'dist', 'cli.cjs');
const VERSION = (JSON.parse(fs.readFileSync(path.join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
const HOUR = 3_600_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let workDir: string;
beforeAll(() => {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsup\` in core, the dialect packages and here`);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-cli-'));
});
afterAll(() => {
  fs.rmSync(workDir, { recursive: true, force: true });
});

/** Run the CLI to its exit (a process that does not exit fails the test by its timeout). */
function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: options.cwd ?? workDir, env: { ...process.env, NODE_ENV: '', ...options.env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** The JSON a `--json` run printed. */
function json(run: Run): Record<string, unknown> {
  expect(run).toMatchObject({ code: 0 });
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A failed run's message: one line on stderr, and no stack. */
function failure(run: Run, code: number): string {
  expect(run.code).toBe(code);
  expect(run.stdout).toBe('');
  const [first = ''] = run.stderr.split('\n');
  expect(first).toMatch(/^connect-session-knex: /);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  return first;
}

/** One database the CLI is run against, with a knex of the tests' own to set up and inspect tables. */
interface CliTarget {
  /** The `--url` value. */
  readonly url: string;
  /** The tests' knex config for the same database. */
  readonly config: Knex.Config;
}

/** The commands on one database: create-table, stats and prune, as text and as JSON, by --url and by knexfile. */
function commandCases(name: string, target: () => CliTarget): void {
  describe(name, () => {
    let db: Knex;
    let url: string;
    const tables: string[] = [];
    beforeAll(() => {
      db = createKnex(target().config);
      url = target().url;
    });
    afterAll(async () => {
      for (const table of tables) await db.schema.dropTableIfExists(table);
      await db.destroy();
    });
    const newTable = (label: string): string => {
      const table = `csk_cli_${label}_${randomId()}`;
      tables.push(table);
      return table;
    };

    /** Write rows straight into the table, each expiring at `expires` (ms), encoded as the store encodes it. */
    async function put(table: string, rows: Array<{ sid: string; sess?: object; expires: number }>): Promise<void> {
      const adapter = selectAdapter(db);
      const values = rows.map((row) => ({
        sid: row.sid,
        sess: JSON.stringify(row.sess ?? {}),
        expired: adapter.encodeExpiry(row.expires, db),
      }));
      for (let i = 0; i < values.length; i += 200) await db(table).insert(values.slice(i, i + 200));
    }

    it('create-table creates the table and its extra columns, then finds it', async () => {
      const table = newTable('create');
      const created = await cli(['create-table', '--url', url, '--table', table, '--column', 'userId']);
      expect(created).toMatchObject({ code: 0, stdout: `Created the session table ${table}.\n` });
      expect(Object.keys(await db(table).columnInfo()).sort()).toEqual(['expired', 'sess', 'sid', 'userId']);

      expect(json(await cli(['create-table', '--url', url, '--table', table, '--json']))).toEqual({ table, created: false });
      const again = await cli(['create-table', '--url', url, '--table', table]);
      expect(again.stdout).toContain('exists already and has every column the store needs');
    });

    it('create-table on a table that lacks a column fails, naming it', async () => {
      const table = newTable('partial');
      await db.schema.createTable(table, (t) => {
        t.string('sid', 255).primary();
        t.text('sess');
      });
      const message = failure(await cli(['create-table', '--url', url, '--table', table]), 1);
      expect(message).toContain(`the session table ${table} lacks the column "expired"`);
    });

    it('stats reports the counts, the earliest expiries and the largest session in bytes', async () => {
      const table = newTable('stats');
      await cli(['create-table', '--url', url, '--table', table]);
      const now = Date.now();
      await put(table, [
        { sid: 'live-soon', expires: now + HOUR },
        { sid: 'live-late', expires: now + 3 * HOUR },
        { sid: 'gone-first', expires: now - 3 * HOUR },
        { sid: 'gone-later', expires: now - HOUR },
        // Two bytes per "é": a count of characters would be off.
        { sid: 'big', sess: { text: 'é'.repeat(3000) }, expires: now + 2 * HOUR },
      ]);

      // Session ids are credentials: none by default.
      const stats = json(await cli(['stats', '--url', url, '--table', table, '--json']));
      expect(stats).toEqual({
        table,
        live: 3,
        expired: 2,
        oldestLive: { expires: new Date(now + HOUR).toISOString() },
        oldest: { expires: new Date(now - 3 * HOUR).toISOString() },
        largest: { bytes: Buffer.byteLength(JSON.stringify({ text: 'é'.repeat(3000) })) },
      });

      const text = await cli(['stats', '--url', url, '--table', table]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^live {9}3$/m);
      expect(text.stdout).toMatch(/^expired {6}2$/m);
      expect(text.stdout).toMatch(/^oldest live {2}expires \S+ \(in .+\)$/m);
      expect(text.stdout).toMatch(/^oldest {7}expires \S+ \(.+ ago\)$/m);
      expect(text.stdout).toMatch(/^largest {6}[\d,]+ bytes$/m);
      for (const sid of ['live-soon', 'gone-first', 'big']) expect(text.stdout).not.toContain(sid);

      // On request, and shortened: at most 8 characters and never more than half of the id.
      const shown = json(await cli(['stats', '--url', url, '--table', table, '--json', '--show-ids']));
      expect(shown).toMatchObject({ oldestLive: { sid: 'live…' }, oldest: { sid: 'gone-…' }, largest: { sid: 'b…' } });
      const shownText = (await cli(['stats', '--url', url, '--table', table, '--show-ids'])).stdout;
      expect(shownText).toMatch(/^oldest live {2}live…, expires /m);
      expect(shownText).not.toContain('live-soon');
    });

    it('prune deletes every expired row in batches, reporting progress, and keeps the live ones', async () => {
      const table = newTable('prune');
      await cli(['create-table', '--url', url, '--table', table]);
      const now = Date.now();
      const expired = Array.from({ length: 2500 }, (_, i) => ({ sid: `old-${i}`, expires: now - HOUR - i }));
      await put(table, [...expired, { sid: 'live-1', expires: now + HOUR }, { sid: 'live-2', expires: now + HOUR }]);

      const run = await cli(['prune', '--url', url, '--table', table, '--yes']);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^Deleted 2,500 expired sessions from ${table} in \\S+ m?s\\.\\n$`));
      // Not a terminal: plain lines, the last at 100 %.
      const lines = run.stderr.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(1);
      expect(lines[lines.length - 1]).toBe('pruned 2,500 of 2,500 expired sessions (100 %)');
      expect((await db(table).pluck('sid')).sort()).toEqual(['live-1', 'live-2']);

      expect(json(await cli(['prune', '--url', url, '--table', table, '--json', '-y']))).toMatchObject({
        table,
        expiredBefore: 0,
        deleted: 0,
        skipped: false,
      });
    });

    it('prune --dry-run counts what prune would delete and deletes nothing; without a terminal, prune needs --yes', async () => {
      const table = newTable('dry');
      await cli(['create-table', '--url', url, '--table', table]);
      const now = Date.now();
      await put(table, [
        { sid: 'old-1', expires: now - 3 * HOUR },
        { sid: 'old-2', expires: now - HOUR },
        { sid: 'live', expires: now + HOUR },
      ]);
      const dry = await cli(['prune', '--url', url, '--table', table, '--dry-run']);
      expect(dry).toMatchObject({ code: 0, stderr: '' });
      expect(dry.stdout).toBe(
        `Dry run: prune would delete 2 expired sessions from ${table} (expiring from ` +
          `${new Date(now - 3 * HOUR).toISOString()} to ${new Date(now - HOUR).toISOString()}); 1 live stay.\n`,
      );
      expect(json(await cli(['prune', '--url', url, '--table', table, '--dry-run', '--json']))).toEqual({
        table,
        dryRun: true,
        expired: 2,
        live: 1,
        oldestExpired: new Date(now - 3 * HOUR).toISOString(),
        newestExpired: new Date(now - HOUR).toISOString(),
      });
      const unattended = await cli(['prune', '--url', url, '--table', table]);
      expect(failure(unattended, 2)).toContain('pass --yes to run it without a terminal, or --dry-run');
      expect((await db(table).pluck('sid')).sort()).toEqual(['live', 'old-1', 'old-2']);
    });

    it("refuses a table whose expiry column the options misread, says which --expiry-encoding fits, and deletes nothing", async () => {
      // The case: a table in epoch milliseconds, and the CLI's default encoding (timestamp).
      const table = newTable('epoch');
      await cli(['create-table', '--url', url, '--table', table, '--expiry-encoding', 'epoch-ms']);
      const now = Date.now();
      await db(table).insert([1, 2, 3].map((i) => ({ sid: `live-${i}`, sess: '{}', expired: now + i * HOUR })));
      for (const command of [['stats'], ['prune', '--yes'], ['prune', '--dry-run'], ['create-table']]) {
        const message = failure(await cli([...command, '--url', url, '--table', table]), 1);
        expect(message).toContain(`the session table ${table} has the column "expired" holding`);
        expect(message).toContain('run again with --expiry-encoding epoch-ms');
      }
      expect(await db(table).pluck('sid')).toHaveLength(3);
      const secs = await cli(['prune', '--url', url, '--table', table, '--yes', '--expiry-encoding', 'epoch-seconds']);
      expect(failure(secs, 1)).toContain('run again with --expiry-encoding epoch-ms');
      expect(await db(table).pluck('sid')).toHaveLength(3);
      expect(json(await cli(['prune', '--url', url, '--table', table, '--yes', '--json', '--expiry-encoding', 'epoch-ms']))).toMatchObject({
        deleted: 0,
      });
      // Seven runs of the command: a deadline for a loaded machine, not a measure of speed.
    }, 120_000);

    it('a missing table fails stats and prune with one line, and --debug adds the stack', async () => {
      const table = newTable('absent');
      for (const command of [['stats'], ['prune', '--yes']]) {
        const message = failure(await cli([...command, '--url', url, '--table', table]), 1);
        expect(message).toContain(`the session table ${table} does not exist`);
      }
      const debug = await cli(['stats', '--url', url, '--table', table, '--debug']);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/SessionTableMissingError/);
      expect(debug.stderr).toMatch(/^\s+at /m);
    });

    it('reads the database from a knexfile, by environment', async () => {
      const table = newTable('knexfile');
      const dir = fs.mkdtempSync(path.join(workDir, 'knexfile-'));
      const knexfile = path.join(dir, 'knexfile.cjs');
      const config = { ...target().config, pool: { min: 0, max: 2 } };
      fs.writeFileSync(
        knexfile,
        `module.exports = { development: { client: 'nowhere' }, production: ${JSON.stringify(config)} };\n`,
      );
      const run = await cli(['create-table', '--knexfile', knexfile, '--env', 'production', '--table', table, '--json']);
      expect(json(run)).toEqual({ table, created: true });
      expect(await db.schema.hasTable(table)).toBe(true);
      const env = await cli(['stats', '--knexfile', knexfile, '--table', table, '--json'], { env: { NODE_ENV: 'production' } });
      expect(json(env)).toMatchObject({ live: 0, expired: 0 });
    });
  });
}

const sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-cli-db-'));
afterAll(() => fs.rmSync(sqliteDir, { recursive: true, force: true }));
const sqliteFile = path.join(sqliteDir, 'app.sqlite');

commandCases('SQLite file (--url sqlite:///…)', () => ({
  url: `sqlite://${sqliteFile}`,
  config: { client: 'sqlite3', connection: { filename: sqliteFile }, useNullAsDefault: true },
}));

describeLive('CSK_PG_URL', 'PostgreSQL server (the CLI)', (url) => {
  commandCases('PostgreSQL (--url postgres://…)', () => ({ url, config: { client: 'pg', connection: url } }));
});

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server (the CLI)', (url) => {
  commandCases('MariaDB (--url mysql://…)', () => ({
    url,
    config: { client: 'mysql2', connection: { ...mysqlConnection(url), timezone: 'Z' } },
  }));
});

describe('the command line itself', () => {
  it('--help prints the usage and --version the version, with status 0', async () => {
    const help = await cli(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: connect-session-knex <command>/);
    for (const command of ['create-table', 'prune', 'stats']) expect(help.stdout).toContain(command);
    expect(await cli(['--version'])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: '' });
    expect((await cli(['stats', '-h'])).code).toBe(0);
  });

  it.each([
    [[], 'no command given'],
    [['vacuum', '--url', 'x.sqlite'], 'unknown command "vacuum"'],
    [['stats', '--url'], "Option '--url <value>' argument missing"],
    [['stats', '--nope'], "Unknown option '--nope'"],
    [['stats', 'extra', '--url', 'x.sqlite'], 'unexpected argument "extra"'],
    [['stats'], 'give the database as --url <url> or --knexfile <path>'],
    [['stats', '--url', 'x.sqlite', '--knexfile', 'k.js'], 'give --url or --knexfile, not both'],
    [['stats', '--url', 'x.sqlite', '--table', 'a.b.c'], '--table "a.b.c" is ambiguous'],
    [['stats', '--url', 'x.sqlite', '--table', 'a.b', '--schema', 'a'], '--table "a.b" names a schema, and so does schemaName'],
    [['stats', '--url', 'x.sqlite', '--expiry-encoding', 'days'], '--expiry-encoding'],
    [['stats', '--url', 'x.sqlite', '--jsonb'], '--jsonb applies to create-table only'],
    [['stats', '--url', 'redis://127.0.0.1/0'], 'unsupported scheme "redis://"'],
    [['stats', '--url', 'postgres://['], 'is not a valid URL'],
    [['stats', '--url', 'postgres://ada:50%zz@127.0.0.1/db'], 'malformed %-escape in its password'],
    [['stats', '--url', 'mysql://ad%e9:pw@127.0.0.1/db'], 'malformed %-escape in its user name'],
    [['stats', '--url', 'postgres://ada:pw@127.0.0.1/d%b'], 'malformed %-escape in its path'],
    [['stats', '--url', 'x.sqlite', '--dry-run'], '--dry-run applies to prune only'],
    [['stats', '--url', 'x.sqlite', '--yes'], '--yes applies to prune only'],
    [['prune', '--url', 'x.sqlite', '--show-ids'], '--show-ids applies to stats only'],
  ])('%j is a usage error: status 2 and the usage', async (args, message) => {
    const run = await cli(args);
    expect(failure(run, 2)).toContain(message);
    expect(run.stderr).toContain('Usage: connect-session-knex <command>');
  });

  it.each([
    ['a "/"', 'postgres://ada:se/cr3t@127.0.0.1:1/db', 'se/cr3t'],
    ['":" and "/"', 'mysql://ada:s:e/cr3t@127.0.0.1:1/db', 's:e/cr3t'],
    ['"@" and "/"', 'mysql://ada:s@e:x/cr3t@127.0.0.1:1/db', 's@e:x/cr3t'],
    ['no host after it', 'postgres://ada:cr3t-x', 'cr3t-x'],
  ])('an unparsable --url whose password holds %s is a usage error that never prints the password', async (_, url, password) => {
    const run = await cli(['stats', '--url', url]);
    expect(failure(run, 2)).toContain('is not a valid URL');
    expect(run.stderr).not.toContain(password);
    expect(run.stderr).not.toContain(password.slice(-4));
  });

  it('a server that does not answer is a one-line failure with status 1', async () => {
    const message = failure(await cli(['stats', '--url', 'postgres://nobody:secret@127.0.0.1:1/none']), 1);
    expect(message).toMatch(/ECONNREFUSED/);
    expect(message).not.toContain('secret');
  });

  it('refuses a SQLite file that does not exist, except for create-table', async () => {
    const file = path.join(workDir, 'new.sqlite');
    expect(failure(await cli(['stats', '--url', file]), 1)).toContain(`the SQLite file ${file} does not exist`);
    expect(fs.existsSync(file)).toBe(false);
    expect((await cli(['create-table', '--url', file])).code).toBe(0);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('reads ES-module, async and JSON knexfiles, relative paths from their folder', async () => {
    const dir = fs.mkdtempSync(path.join(workDir, 'knexfiles-'));
    const config = { client: 'sqlite3', connection: { filename: './relative.sqlite' }, useNullAsDefault: true };
    fs.writeFileSync(path.join(dir, 'knexfile.mjs'), `export default async () => (${JSON.stringify({ staging: config })});\n`);
    fs.writeFileSync(path.join(dir, 'knexfile.json'), JSON.stringify(config));
    const created = await cli(['create-table', '--knexfile', path.join(dir, 'knexfile.mjs'), '--env', 'staging', '--json']);
    expect(json(created)).toEqual({ table: 'sessions', created: true });
    expect(fs.existsSync(path.join(dir, 'relative.sqlite'))).toBe(true);
    expect(json(await cli(['stats', '--knexfile', path.join(dir, 'knexfile.json'), '--json']))).toMatchObject({ live: 0 });

    const missing = failure(await cli(['stats', '--knexfile', path.join(dir, 'knexfile.mjs')]), 1);
    expect(missing).toContain('has no "development" environment (it has staging): pass --env');
    expect(failure(await cli(['stats', '--knexfile', path.join(dir, 'none.js')]), 2)).toContain('does not exist');
  });

  // `script` gives the child a terminal, where prune draws its bar on stderr instead of printing lines.
  const hasScript = spawnSync('script', ['--version']).status === 0;
  (hasScript ? it : it.skip)('on a terminal, prune draws a progress bar in place', async () => {
    const file = path.join(workDir, 'tty.sqlite');
    expect((await cli(['create-table', '--url', file])).code).toBe(0);
    const db = createKnex({ client: 'sqlite3', connection: { filename: file }, useNullAsDefault: true });
    try {
      const rows = Array.from({ length: 1500 }, (_, i) => ({
        sid: `old-${i}`,
        sess: '{}',
        expired: new Date(Date.now() - HOUR).toISOString(),
      }));
      for (let i = 0; i < rows.length; i += 200) await db('sessions').insert(rows.slice(i, i + 200));
    } finally {
      await db.destroy();
    }
    const command = (...args: string[]) =>
      [process.execPath, CLI, 'prune', '--url', file, ...args].map((part) => `'${part}'`).join(' ');
    const onTerminal = (args: string[], input: string) =>
      spawnSync('script', ['-qec', command(...args), '/dev/null'], { cwd: workDir, encoding: 'utf8', input, timeout: 60_000 });

    // It asks first; anything but yes deletes nothing.
    const declined = onTerminal([], 'n\n');
    expect(declined.stdout).toMatch(/Delete 1,500 expired sessions from sessions \(expiring from \S+ to \S+\)\? \[y\/N\]/);
    expect(declined.stdout).toContain('nothing was deleted (not confirmed)');
    expect(declined.status).toBe(1);

    const run = onTerminal([], 'y\n');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/\r\[#+-*\] +\d+ % [\d,]+\/1,500 · /);
    expect(run.stdout).toContain('Deleted 1,500 expired sessions from sessions in');
    expect(run.stdout).not.toContain('pruned ');
    // --yes asks nothing.
    expect(onTerminal(['--yes'], '').stdout).not.toContain('[y/N]');
  });
});
