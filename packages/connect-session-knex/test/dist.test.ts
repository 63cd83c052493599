import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// The built package, loaded by real Node in child processes: jest's module mapping points workspace imports at the
// TypeScript sources, so only a child process sees what a user's require() or import sees. Needs `tsup` in core,
// sqlite and this package first (turbo runs build before test).
const PACKAGE_DIR = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures');
const DIST_FILES = ['index.cjs', 'index.js', 'index.d.ts', 'index.d.cts'];
const run = promisify(execFile);

let dir: string;
beforeAll(() => {
  const missing = DIST_FILES.filter((file) => !fs.existsSync(path.join(PACKAGE_DIR, 'dist', file)));
  if (missing.length > 0) {
    const files = missing.map((file) => `dist/${file}`).join(', ');
    throw new Error(`${files} missing: run \`npx tsup\` in core, sqlite, then connect-session-knex`);
  }
});
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-dist-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run a fixture with `dir` as the working directory; a process that does not exit fails the test. */
async function runFixture(fixture: string): Promise<unknown> {
  const { stdout } = await run(process.execPath, [path.join(FIXTURES, fixture)], { cwd: dir, timeout: 20_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('the built package', () => {
  it.each([
    ['dist-smoke.cjs', 'cjs', 'dist/index.cjs'],
    ['dist-smoke.mjs', 'esm', 'dist/index.js'],
  ])('%s: loads %s from %s, runs the default store, and exits after close()', async (fixture, format, entry) => {
    const result = (await runFixture(fixture)) as Record<string, unknown>;
    expect(result).toMatchObject({
      format,
      session: { views: 1 },
      all: [{ views: 1 }],
      length: 1,
      adapter: 'SqliteAdapter',
      exports: ['ConnectSessionKnexStore', 'SqliteAdapter', 'createSessionTable', 'UnsupportedDialectError'],
      errorChain: true,
    });
    expect(String(result.entry)).toMatch(new RegExp(`${entry.replace('.', '\\.')}$`));
    expect(fs.existsSync(path.join(dir, 'connect-session-knex.sqlite'))).toBe(true);
  });

  it('bundles the adapters: an adapter from its own package still serves the store, and errors share one class', async () => {
    expect(await runFixture('dist-adapter-copy.mjs')).toEqual({
      sameClass: false,
      session: { cookie: { expires: expect.any(String) }, views: 2 },
      adapter: true,
      errorIsShared: true,
    });
  });

  it('serves an express 5 app end to end, and the process exits once the server and the store are closed', async () => {
    expect(await runFixture('express-exit.cjs')).toEqual({ views: [1, 2] });
  });

  it('ships type declarations for both formats', () => {
    for (const file of ['index.d.ts', 'index.d.cts']) {
      const types = fs.readFileSync(path.join(PACKAGE_DIR, 'dist', file), 'utf8');
      expect(types).toMatch(/declare class ConnectSessionKnexStore extends KnexStore/);
      expect(types).toMatch(/declare class UnsupportedDialectError extends ConnectSessionKnexError/);
      // Named exports only: core's machinery stays out of this package's API.
      expect(types).not.toMatch(/export \* from/);
      expect(types).toMatch(/export \{[^}]*\bDatabaseError\b[^}]*\} from '@csk\/core'/);
    }
  });
});
