import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { DEFAULT_SQLITE_FILENAME } from '@csk/sqlite';
import { ConnectSessionKnexStore } from 'connect-session-knex';

declare module 'express-session' {
  interface SessionData {
    views?: number;
  }
}

/** Build the store with no options at all, as upstream's README did, with `dir` as the working directory. */
function storeIn(dir: string): ConnectSessionKnexStore {
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    return new ConnectSessionKnexStore();
  } finally {
    process.chdir(cwd);
  }
}

function appWith(store: ConnectSessionKnexStore): express.Express {
  const app = express();
  app.use(
    session({ store, secret: 'express-test', resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }),
  );
  app.get('/count', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    res.json({ views: req.session.views, sid: req.sessionID });
  });
  app.get('/peek', (req, res) => {
    res.json({ views: req.session.views ?? 0, sid: req.sessionID });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  app.post('/regenerate', (req, res, next) => {
    const views = req.session.views;
    req.session.regenerate((error) => {
      if (error) return next(error);
      req.session.views = views;
      res.json({ views, sid: req.sessionID });
    });
  });
  return app;
}

function cookieOf(response: request.Response): string {
  const setCookie = response.headers['set-cookie'] as unknown as string[] | undefined;
  const cookie = setCookie?.find((line) => line.startsWith('connect.sid='));
  if (!cookie) throw new Error('the response set no session cookie');
  return cookie.split(';')[0]!;
}

describe('express-session on new ConnectSessionKnexStore() with no options', () => {
  let dir: string;
  let store: ConnectSessionKnexStore;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'csk-express-'));
    store = storeIn(dir);
  });

  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('opens connect-session-knex.sqlite in the working directory, in WAL mode', async () => {
    await store.ready;
    expect(fs.existsSync(path.join(dir, DEFAULT_SQLITE_FILENAME))).toBe(true);
    const [mode] = (await store.knex.raw('PRAGMA journal_mode')) as { journal_mode: string }[];
    expect(mode?.journal_mode).toBe('wal');
  });

  it('keeps a counter across requests and across a restart of the store', async () => {
    const app = appWith(store);
    const first = await request(app).get('/count').expect(200);
    expect(first.body.views).toBe(1);
    const cookie = cookieOf(first);
    const second = await request(app).get('/count').set('Cookie', cookie).expect(200);
    expect(second.body).toEqual({ views: 2, sid: first.body.sid });

    // "Restart": close the store (which destroys the knex it opened) and open the same file again.
    await store.close();
    store = storeIn(dir);
    const third = await request(appWith(store)).get('/count').set('Cookie', cookie).expect(200);
    expect(third.body).toEqual({ views: 3, sid: first.body.sid });
    expect(await store.get(first.body.sid)).toMatchObject({ views: 3 });
  });

  it('saves nothing for a session that was never modified (saveUninitialized: false)', async () => {
    const before = await store.length();
    const response = await request(appWith(store)).get('/peek').expect(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(await store.get(response.body.sid)).toBeNull();
    expect(await store.length()).toBe(before);
  });

  it('ends a session on destroy, and the next request starts a fresh one', async () => {
    const app = appWith(store);
    const login = await request(app).get('/count').expect(200);
    const cookie = cookieOf(login);
    await request(app).post('/logout').set('Cookie', cookie).expect(200);
    expect(await store.get(login.body.sid)).toBeNull();
    const after = await request(app).get('/count').set('Cookie', cookie).expect(200);
    expect(after.body.views).toBe(1);
    expect(after.body.sid).not.toBe(login.body.sid);
  });

  it('moves the data to a new id on regenerate and deletes the old row', async () => {
    const app = appWith(store);
    const login = await request(app).get('/count').expect(200);
    const regenerated = await request(app).post('/regenerate').set('Cookie', cookieOf(login)).expect(200);
    expect(regenerated.body.sid).not.toBe(login.body.sid);
    expect(await store.get(login.body.sid)).toBeNull();
    expect(await store.get(regenerated.body.sid)).toMatchObject({ views: 1 });
    const next = await request(app).get('/count').set('Cookie', cookieOf(regenerated)).expect(200);
    expect(next.body).toEqual({ views: 2, sid: regenerated.body.sid });
  });

  it('starts a fresh session for a cookie whose session is unknown', async () => {
    const app = appWith(store);
    const login = await request(app).get('/count').expect(200);
    await store.destroy(login.body.sid);
    const after = await request(app).get('/count').set('Cookie', cookieOf(login)).expect(200);
    expect(after.body.views).toBe(1);
  });

  it('lists live sessions as an array with all(), and keyed by sid with allById()', async () => {
    const login = await request(appWith(store)).get('/count').expect(200);
    const all = await store.all();
    expect(Array.isArray(all)).toBe(true);
    expect(all).toContainEqual(expect.objectContaining({ views: 1 }));
    const byId = await store.allById();
    expect(byId?.[login.body.sid]).toMatchObject({ views: 1 });
  });
});
