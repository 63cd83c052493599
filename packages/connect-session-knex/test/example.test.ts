import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';

// examples/basic/server.js as `pnpm example` runs it, but with PORT=0 and a temporary working directory (where its
// connect-session-knex.sqlite lands). It imports connect-session-knex's dist: build core, sqlite and this package
// first.
const SERVER = path.resolve(__dirname, '../../../examples/basic/server.js');

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  output: string;
}

function start(cwd: string): Promise<Running> {
  const child = spawn(process.execPath, [SERVER], { cwd, env: { ...process.env, PORT: '0' } });
  const running = { child, url: '', output: '' };
  return new Promise((resolve, reject) => {
    const collect = (chunk: Buffer): void => {
      running.output += chunk.toString();
      const match = /Listening on (http:\/\/localhost:\d+)/.exec(running.output);
      if (match && !running.url) resolve(Object.assign(running, { url: match[1]!.replace('localhost', '127.0.0.1') }));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => {
      reject(new Error(`the example exited with code ${code} before listening:\n${running.output}`));
    });
  });
}

/** Send SIGTERM and resolve the exit code: the example must shut down by itself, not be killed. */
function stop(running: Running): Promise<number | null> {
  return new Promise((resolve) => {
    running.child.once('exit', (code) => resolve(code));
    running.child.kill('SIGTERM');
  });
}

function viewsOf(response: request.Response): number {
  const match = /id="views">(\d+)</.exec(response.text);
  if (!match) throw new Error(`no counter in the page:\n${response.text}`);
  return Number(match[1]);
}

describe('examples/basic', () => {
  let dir: string;
  let running: Running | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-example-'));
  });
  afterEach(() => {
    if (running && running.child.exitCode === null) running.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the visit counter across a restart, and shuts down cleanly on SIGTERM', async () => {
    running = await start(dir);
    const first = await request(running.url).get('/').expect(200);
    expect(viewsOf(first)).toBe(1);
    const cookie = (first.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    expect(viewsOf(await request(running.url).get('/').set('Cookie', cookie).expect(200))).toBe(2);
    expect(await stop(running)).toBe(0);
    expect(running.output).toContain('Session store closed');
    expect(fs.existsSync(path.join(dir, 'connect-session-knex.sqlite'))).toBe(true);

    running = await start(dir);
    expect(viewsOf(await request(running.url).get('/').set('Cookie', cookie).expect(200))).toBe(3);
    expect(await stop(running)).toBe(0);
  });

  it('starts a new session after a reset', async () => {
    running = await start(dir);
    const first = await request(running.url).get('/').expect(200);
    const cookie = (first.headers['set-cookie'] as unknown as string[])[0]!.split(';')[0]!;
    await request(running.url).post('/reset').set('Cookie', cookie).expect(303);
    expect(viewsOf(await request(running.url).get('/').set('Cookie', cookie).expect(200))).toBe(1);
    expect(await stop(running)).toBe(0);
  });
});
