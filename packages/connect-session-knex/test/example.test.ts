import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { killExample, startExample as start, stopExample as stop, type RunningExample } from './example-server.js';

function viewsOf(response: request.Response): number {
  const match = /id="views">(\d+)</.exec(response.text);
  if (!match) throw new Error(`no counter in the page:\n${response.text}`);
  return Number(match[1]);
}

function cookieOf(response: request.Response): string {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const cookie = lines.find((line) => line.startsWith('connect.sid='));
  if (!cookie) throw new Error(`the response set no session cookie (status ${response.status})`);
  return cookie.split(';')[0]!;
}

/** Log in as `name` from a fresh session; resolves the logged-in session's cookie. */
async function logIn(url: string, name: string): Promise<string> {
  const first = await request(url).get('/').expect(200);
  const login = await request(url)
    .post('/login')
    .set('Cookie', cookieOf(first))
    .type('form')
    .send({ username: name })
    .expect(303);
  return cookieOf(login);
}

describe('examples/basic', () => {
  let dir: string;
  let running: RunningExample | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-example-'));
  });
  afterEach(() => {
    killExample(running);
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

  it('logs in, logs out, and logs a user out everywhere, with the store events in the log', async () => {
    running = await start(dir);
    const url = running.url;
    const a = await logIn(url, 'ada');
    const b = await logIn(url, 'ada');
    const other = await logIn(url, 'grace');
    expect((await request(url).get('/').set('Cookie', a).expect(200)).text).toContain('<strong id="user">ada</strong>');

    // Log out ends this session only.
    const c = await logIn(url, 'ada');
    await request(url).post('/logout').set('Cookie', c).expect(303);
    expect((await request(url).get('/').set('Cookie', c).expect(200)).text).toContain('Not logged in');
    expect((await request(url).get('/').set('Cookie', b).expect(200)).text).toContain('id="user">ada<');

    // Log out everywhere from a ends b too, and leaves another user alone.
    await request(url).post('/logout-everywhere').set('Cookie', a).expect(303);
    for (const cookie of [a, b]) {
      const page = await request(url).get('/').set('Cookie', cookie).expect(200);
      expect(page.text).toContain('Not logged in');
      expect(viewsOf(page)).toBe(1);
    }
    expect((await request(url).get('/').set('Cookie', other).expect(200)).text).toContain('id="user">grace<');

    // A name is required, and is shown escaped.
    await request(url).post('/login').type('form').send({ username: '  ' }).expect(400);
    const markup = await logIn(url, '<b>x</b>');
    expect((await request(url).get('/').set('Cookie', markup).expect(200)).text).toContain('&lt;b&gt;x&lt;/b&gt;');

    expect(await stop(running)).toBe(0);
    // One timestamped line per event; session ids only shortened.
    expect(running.output).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z store: saved \S{6}… until /m);
    expect(running.output).toMatch(/store: destroyed 2 session\(s\) where {"userId":"ada"}/);
    expect(running.output).toMatch(/store: destroyed 1 session\(s\) \S{6}…/);
  });
});
