import { describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import session, { type SessionOptions } from 'express-session';
import request from 'supertest';
import type { KnexStore } from '@csk/core';
import { useScope } from '../scope.js';
import { cookiePair, roomForOneMoreApp } from './express.js';
import type { SuiteContext } from '../target.js';
import { HOUR, sleepPastTheSecond } from '../util.js';

const NAME = 'csk.contract';

type Data = { n?: number; note?: string };
const data = (req: Request): Data => req.session as unknown as Data;

/** An express 5 app over `store` with express-session's `options`, and a route for each Session method. */
function appOver(store: KnexStore, options: Partial<SessionOptions> = {}): Express {
  const app = express();
  roomForOneMoreApp(store);
  app.use(
    session({
      store,
      name: NAME,
      secret: 'contract-secret',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: HOUR },
      ...options,
    }),
  );
  app.get('/inc', (req, res) => {
    data(req).n = (data(req).n ?? 0) + 1;
    res.json({ n: data(req).n, sid: req.sessionID });
  });
  app.get('/read', (req, res) => res.json({ n: data(req).n ?? null, sid: req.sessionID }));
  app.get('/save', (req, res, next) => {
    data(req).note = 'saved';
    // The row is written before the response: the store is asked while the request is still open.
    req.session.save((error) => (error ? next(error) : store.get(req.sessionID).then((row) => res.json({ row }), next)));
  });
  app.get('/reload', (req, res, next) => {
    // Another process changes the session meanwhile; reload must bring its version in.
    const elsewhere = { ...JSON.parse(JSON.stringify(req.session)), note: 'elsewhere' };
    store.set(req.sessionID, elsewhere).then(
      () => req.session.reload((error) => (error ? next(error) : res.json({ note: data(req).note ?? null }))),
      next,
    );
  });
  app.get('/regenerate', (req, res, next) => {
    const n = data(req).n;
    req.session.regenerate((error) => {
      if (error) return next(error);
      data(req).n = n;
      res.json({ n, sid: req.sessionID });
    });
  });
  app.get('/unset', (req, res) => {
    (req as { session: unknown }).session = null;
    res.json({ ok: true });
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
    res.status(500).json({ error: error instanceof Error ? error.message : String(error) });
  };
  app.use(onError);
  return app;
}

/** The `name=value` pair of the session cookie a response set, if any. */
const cookieOf = (response: request.Response): string | undefined => cookiePair(response, NAME);

/** A session started with one change, and its cookie. */
async function started(app: Express): Promise<{ cookie: string; sid: string }> {
  const response = await request(app).get('/inc').expect(200);
  const cookie = cookieOf(response);
  if (!cookie) throw new Error('the first request set no session cookie');
  return { cookie, sid: response.body.sid as string };
}

/**
 * express-session's Store contract as an application meets it, through a real express 5 app: each Session method and
 * each middleware option that reaches the store (the basic round trips are in express.ts).
 */
export function expressContractCases(ctx: SuiteContext): void {
  describe('express-session contract through an express 5 app', () => {
    const scope = useScope(ctx, { label: 'esc' });

    it('touch resets the session expiration: the row and the next get carry the new cookie.expires', async () => {
      const app = appOver(scope.store);
      const { cookie, sid } = await started(app);
      const before = await scope.store.get(sid);
      await sleepPastTheSecond();
      await request(app).get('/read').set('Cookie', cookie).expect(200, { n: 1, sid });
      const row = await scope.readRow(sid);
      const after = await scope.store.get(sid);
      expect(Date.parse(String(after?.cookie.expires))).toBe(row?.expiresMs);
      expect(Date.parse(String(after?.cookie.expires))).toBeGreaterThan(Date.parse(String(before?.cookie.expires)));
      expect(after).toMatchObject({ n: 1 });
    });

    it('with disableTouch, a request that changes nothing leaves the expiry where it was', async () => {
      const app = appOver(scope.open({ disableTouch: true }));
      const { cookie, sid } = await started(app);
      const before = await scope.readRow(sid);
      await sleepPastTheSecond();
      await request(app).get('/read').set('Cookie', cookie).expect(200, { n: 1, sid });
      expect((await scope.readRow(sid))?.expiresMs).toBe(before?.expiresMs);
    });

    it('regenerate moves the data to a new id and deletes the old row', async () => {
      const app = appOver(scope.store);
      const { cookie, sid } = await started(app);
      const response = await request(app).get('/regenerate').set('Cookie', cookie).expect(200);
      expect(response.body.sid).not.toBe(sid);
      expect(await scope.readRow(sid)).toBeUndefined();
      await expect(scope.store.get(response.body.sid)).resolves.toMatchObject({ n: 1 });
    });

    it('reload reads the stored session again, and save writes it before the response', async () => {
      const app = appOver(scope.store);
      const { cookie, sid } = await started(app);
      await request(app).get('/reload').set('Cookie', cookie).expect(200, { note: 'elsewhere' });
      const saved = await request(app).get('/save').set('Cookie', cookie).expect(200);
      expect(saved.body.row).toMatchObject({ n: 1, note: 'saved' });
      expect((await scope.readRow(sid))?.sess).toMatchObject({ n: 1, note: 'saved' });
    });

    it('rolling: every response sets the cookie again and moves the expiry; without it, an unchanged one does not', async () => {
      const rolling = appOver(scope.store, { rolling: true });
      const { cookie, sid } = await started(rolling);
      const before = await scope.readRow(sid);
      await sleepPastTheSecond();
      const again = await request(rolling).get('/read').set('Cookie', cookie).expect(200);
      expect(cookieOf(again)).toBe(cookie);
      expect((await scope.readRow(sid))?.expiresMs).toBeGreaterThan(before?.expiresMs ?? Number.POSITIVE_INFINITY);
      const still = await request(appOver(scope.store)).get('/read').set('Cookie', cookie).expect(200);
      expect(cookieOf(still)).toBeUndefined();
    });

    it('resave: false writes a changed session and only touches an unchanged one', async () => {
      const app = appOver(scope.store);
      const { cookie, sid } = await started(app);
      await request(app).get('/inc').set('Cookie', cookie).expect(200, { n: 2, sid });
      expect((await scope.readRow(sid))?.sess).toMatchObject({ n: 2 });
      // The row is changed behind the app's back: an unchanged request must not write its own copy over it.
      await scope.store.set(sid, { ...(await scope.store.get(sid))!, note: 'kept' } as never);
      await request(app).get('/read').set('Cookie', cookie).expect(200, { n: 2, sid });
      expect((await scope.readRow(sid))?.sess).toMatchObject({ n: 2, note: 'kept' });
    });

    it('saveUninitialized: true stores a session no route changed', async () => {
      const response = await request(appOver(scope.store, { saveUninitialized: true })).get('/read').expect(200);
      expect(cookieOf(response)).toBeDefined();
      expect(await scope.readRow(response.body.sid)).toBeDefined();
    });

    it("unset: 'destroy' deletes the row when the route drops req.session; 'keep' leaves it", async () => {
      const destroying = appOver(scope.store, { unset: 'destroy' });
      const first = await started(destroying);
      await request(destroying).get('/unset').set('Cookie', first.cookie).expect(200);
      expect(await scope.readRow(first.sid)).toBeUndefined();
      const keeping = appOver(scope.store, { unset: 'keep' });
      const second = await started(keeping);
      await request(keeping).get('/unset').set('Cookie', second.cookie).expect(200);
      expect(await scope.readRow(second.sid)).toBeDefined();
    });

    it('length, all and clear see the sessions the app made; after clear a cookie starts afresh', async () => {
      await scope.empty();
      const app = appOver(scope.store);
      const a = await started(app);
      await started(app);
      await expect(scope.store.length()).resolves.toBe(2);
      const all = await scope.store.all();
      expect(all?.map((one) => (one as unknown as Data).n)).toEqual([1, 1]);
      await expect(scope.store.clear()).resolves.toBe(2);
      const after = await request(app).get('/inc').set('Cookie', a.cookie).expect(200);
      expect(after.body.n).toBe(1);
      expect(after.body.sid).not.toBe(a.sid);
    });

    it('concurrent requests on one session all succeed and leave one live row', async () => {
      const app = appOver(scope.store);
      const { cookie, sid } = await started(app);
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => request(app).get('/inc').set('Cookie', cookie)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
      expect(new Set(responses.map((response) => response.body.sid))).toEqual(new Set([sid]));
      // Last write wins, as with every express-session store: some increments may be lost, none may fail.
      const n = ((await scope.store.get(sid)) as unknown as Data | null)?.n ?? 0;
      expect(n).toBeGreaterThanOrEqual(2);
      expect(n).toBeLessThanOrEqual(9);
      expect((await scope.readRows()).filter((row) => row.sid === sid)).toHaveLength(1);
    });
  });
}
