import { describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import type { KnexStore } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, sleepPastTheSecond } from '../util.js';

const COOKIE_NAME = 'csk.sid';

type Counted = { count?: number };

/**
 * Raise `store`'s listener limit by one before an app is built over it: each express-session middleware adds a connect
 * and a disconnect listener to its store, and the express cases build one app per case over the suite's store, which
 * would otherwise make Node warn of a leak.
 */
export function roomForOneMoreApp(store: KnexStore): void {
  store.setMaxListeners(store.getMaxListeners() + 1);
}

/** A small express 5 app over the store: a counter, a read-only route, and a logout. */
function buildApp(store: KnexStore): Express {
  const app = express();
  roomForOneMoreApp(store);
  app.use(
    session({
      store,
      name: COOKIE_NAME,
      secret: 'conformance-secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: HOUR },
    }),
  );
  app.get('/count', (req, res) => {
    const data = req.session as unknown as Counted;
    data.count = (data.count ?? 0) + 1;
    res.json({ count: data.count, sid: req.sessionID });
  });
  app.get('/peek', (req, res) => {
    res.json({ count: (req.session as unknown as Counted).count ?? null, sid: req.sessionID });
  });
  app.post('/logout', (req, res, next) => {
    req.session.destroy((error: unknown) => (error ? next(error) : res.json({ ok: true })));
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    res.status(500).json({ error: error instanceof Error ? error.name : 'error' });
  };
  app.use(onError);
  return app;
}

/** The `name=value` pair of the cookie called `name` that a response set, if any. */
export function cookiePair(response: request.Response, name: string): string | undefined {
  const header = response.headers['set-cookie'] as unknown;
  const cookies = Array.isArray(header) ? (header as string[]) : typeof header === 'string' ? [header] : [];
  return cookies.find((cookie) => cookie.startsWith(`${name}=`))?.split(';')[0];
}

/** The `name=value` pair of the session cookie a response set, if any. */
const sessionCookie = (response: request.Response): string | undefined => cookiePair(response, COOKIE_NAME);

/** The store behind a real express 5 + express-session app, over HTTP. */
export function expressCases(ctx: SuiteContext): void {
  describe('express 5 app over HTTP', () => {
    const scope = useScope(ctx, { label: 'http' });
    let cookie = '';
    let sid = '';

    it('saves nothing for a request that does not touch the session (saveUninitialized: false)', async () => {
      const app = buildApp(scope.store);
      const response = await request(app).get('/peek').expect(200);
      expect(response.body).toMatchObject({ count: null });
      expect(sessionCookie(response)).toBeUndefined();
      expect(await scope.readRows()).toEqual([]);
    });

    it('a counter route stores the session, and the cookie carries it across requests', async () => {
      const app = buildApp(scope.store);
      const first = await request(app).get('/count').expect(200);
      expect(first.body.count).toBe(1);
      cookie = sessionCookie(first) ?? '';
      sid = first.body.sid as string;
      expect(cookie).not.toBe('');
      expect((await scope.readRow(sid))?.sess).toMatchObject({ count: 1 });

      const second = await request(app).get('/count').set('Cookie', cookie).expect(200);
      expect(second.body).toEqual({ count: 2, sid });
      expect((await scope.readRow(sid))?.sess).toMatchObject({ count: 2 });
    });

    it('a second store instance on the same table (a restart) still sees the session', async () => {
      const restarted = buildApp(scope.open());
      const response = await request(restarted).get('/count').set('Cookie', cookie).expect(200);
      expect(response.body).toEqual({ count: 3, sid });
      expect((await scope.readRow(sid))?.sess).toMatchObject({ count: 3 });
    });

    it('a request that changes nothing ends in touch, and the expiry moves', async () => {
      const app = buildApp(scope.store);
      const before = await scope.readRow(sid);
      // Long enough for now + maxAge to move to the next second the store writes.
      await sleepPastTheSecond();
      const response = await request(app).get('/peek').set('Cookie', cookie).expect(200);
      expect(response.body).toEqual({ count: 3, sid });
      const after = await scope.readRow(sid);
      expect(after?.expiresMs).toBeGreaterThan(before?.expiresMs ?? Number.POSITIVE_INFINITY);
      expect(after?.sess).toEqual(before?.sess);
    });

    it('a logout route destroys the row', async () => {
      const app = buildApp(scope.open());
      await request(app).post('/logout').set('Cookie', cookie).expect(200, { ok: true });
      expect(await scope.readRow(sid)).toBeUndefined();
      const response = await request(app).get('/peek').set('Cookie', cookie).expect(200);
      expect(response.body.count).toBeNull();
    });

    it('answers 500 instead of hanging when the table is dropped, and recovers when it is re-created', async () => {
      const app = buildApp(scope.store);
      const start = await request(app).get('/count').expect(200);
      const current = sessionCookie(start) ?? '';
      expect(current).not.toBe('');

      await scope.knex.schema.dropTable(scope.tableName);
      await request(app).get('/peek').set('Cookie', current).expect(500);
      await request(app).get('/count').set('Cookie', current).expect(500);

      // The table comes back (a store with createTable: true creates it); the same store serves again.
      await scope.open().ready;
      const fresh = await request(app).get('/count').set('Cookie', current).expect(200);
      expect(fresh.body.count).toBe(1);
      const freshSid = fresh.body.sid as string;
      expect((await scope.readRow(freshSid))?.sess).toMatchObject({ count: 1 });
    });
  });
}
