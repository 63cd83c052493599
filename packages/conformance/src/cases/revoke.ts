import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import express, { type ErrorRequestHandler, type Express } from 'express';
import session from 'express-session';
import request from 'supertest';
import type { KnexStore, KnexStoreOptions } from '@csk/core';
import { useScope } from '../scope.js';
import type { SuiteContext } from '../target.js';
import { HOUR, errorName, liveSession, withCallback } from '../util.js';

const COLUMNS: NonNullable<KnexStoreOptions['columns']> = {
  userId: (session) => (session as { user?: string }).user ?? null,
};

const HASH_SETTINGS: Array<[string, KnexStoreOptions['hashSid']]> = [
  ['without hashSid', false],
  ['with hashSid: true', true],
  ['with hashSid: a secret', 'revoke secret'],
];

type Device = { user?: string; device?: string };

/**
 * A "your devices" page over the store: log in from a named device, list the user's sessions, sign one out by the id
 * the listing gave (only among the user's own sessions), and say who a cookie belongs to.
 */
function devicesApp(store: KnexStore): Express {
  const app = express();
  app.use(session({ store, name: 'csk.sid', secret: 'revoke-secret', resave: false, saveUninitialized: false, cookie: { maxAge: HOUR } }));
  app.post('/login/:user/:device', (req, res, next) => {
    req.session.regenerate((error: unknown) => {
      if (error) return next(error);
      Object.assign(req.session as unknown as Device, { user: req.params.user, device: req.params.device });
      res.json({ ok: true });
    });
  });
  app.get('/me', (req, res) => {
    res.json({ user: (req.session as unknown as Device).user ?? null });
  });
  app.get('/devices', async (req, res, next) => {
    try {
      const found = await store.findWhere({ userId: (req.session as unknown as Device).user ?? '' });
      res.json((found ?? []).map(({ sid, session: data }) => ({ id: sid, device: (data as unknown as Device).device })));
    } catch (error) {
      next(error);
    }
  });
  app.post('/devices/:id/sign-out', async (req, res, next) => {
    try {
      const user = (req.session as unknown as Device).user ?? '';
      res.json({ deleted: await store.destroyWhere({ sid: req.params.id, userId: user }) });
    } catch (error) {
      next(error);
    }
  });
  const onError: ErrorRequestHandler = (error: unknown, _req, res, next) => {
    if (res.headersSent) return next(error);
    res.status(500).json({ error: error instanceof Error ? error.name : 'error' });
  };
  app.use(onError);
  return app;
}

/**
 * Revoking a session by the id a listing gave (`findWhere`, `ids`), with and without `hashSid`: the listings give
 * stored ids, which `destroyWhere({ sid })` accepts (scoped by the other columns of the filter); with `hashSid`,
 * `destroy()` takes a cookie's sid, and a listed id given to it fails instead of deleting nothing quietly.
 */
export function revokeCases(ctx: SuiteContext): void {
  describe.each(HASH_SETTINGS)('revoking listed sessions %s', (_title, hashSid) => {
    const scope = useScope(ctx, { label: 'revoke', storeOptions: { hashSid, columns: COLUMNS } });

    it('findWhere gives each session an id that destroyWhere({ sid }) deletes, and only that session', async () => {
      const ada = scope.sid('ada');
      const [laptop, phone, tablet] = [scope.sid('laptop'), scope.sid('phone'), scope.sid('tablet')];
      await scope.store.set(laptop, liveSession({ user: ada, device: 'laptop' }));
      await scope.store.set(phone, liveSession({ user: ada, device: 'phone' }));
      await scope.store.set(tablet, liveSession({ user: ada, device: 'tablet' }));
      const found = (await scope.store.findWhere({ userId: ada })) ?? [];
      expect(found).toHaveLength(3);
      const listed = found.find((entry) => (entry.session as unknown as Device).device === 'phone')!;
      await expect(scope.store.destroyWhere({ sid: listed.sid, userId: ada })).resolves.toBe(1);
      await expect(scope.store.get(phone)).resolves.toBeNull();
      await expect(scope.store.get(laptop)).resolves.toMatchObject({ device: 'laptop' });
      await expect(scope.store.get(tablet)).resolves.toMatchObject({ device: 'tablet' });
    });

    it("destroyWhere({ sid, userId }) never deletes another user's session, whatever id it is given", async () => {
      const [ada, bob] = [scope.sid('ada'), scope.sid('bob')];
      const bobs = scope.sid('bobs');
      await scope.store.set(bobs, liveSession({ user: bob }));
      const [listed] = (await scope.store.findWhere({ userId: bob })) ?? [];
      await expect(scope.store.destroyWhere({ sid: listed!.sid, userId: ada })).resolves.toBe(0);
      await expect(scope.store.get(bobs)).resolves.toMatchObject({ user: bob });
    });

    it('ids gives ids that destroyWhere({ sid }) and findWhere({ sid }) accept', async () => {
      await scope.empty();
      const sid = scope.sid('listed');
      await scope.store.set(sid, liveSession({ user: 'ids' }));
      const [id] = (await scope.store.ids()) ?? [];
      expect((await scope.store.findWhere({ sid: id! }))?.map((entry) => entry.session)).toEqual([
        expect.objectContaining({ user: 'ids' }),
      ]);
      await expect(scope.store.destroyWhere({ sid: id! })).resolves.toBe(1);
      await expect(scope.store.get(sid)).resolves.toBeNull();
    });

    it('an id in a filter is held to the rules of sids: InvalidFilterError, and nothing deleted', async () => {
      const sid = scope.sid('kept');
      await scope.store.set(sid, liveSession({ user: 'kept' }));
      for (const bad of ['', 'x'.repeat(256), 'a\0b', '\ud800', 'kept ', 7] as unknown[]) {
        const outcome = await withCallback<number>((done) => scope.store.destroyWhere({ sid: bad as string }, done));
        expect(errorName(outcome.error)).toBe('InvalidFilterError');
      }
      await expect(scope.store.get(sid)).resolves.toMatchObject({ user: 'kept' });
    });

    it('a sign-out-this-device page over HTTP: the signed-out cookie loads no session, the others still do', async () => {
      const app = devicesApp(scope.store);
      const ada = scope.sid('ada');
      const agents = new Map(['laptop', 'phone', 'tablet'].map((device) => [device, request.agent(app)]));
      for (const [device, agent] of agents) await agent.post(`/login/${ada}/${device}`).expect(200);
      const bob = request.agent(app);
      const bobName = scope.sid('bob');
      await bob.post(`/login/${bobName}/desktop`).expect(200);

      const laptop = agents.get('laptop')!;
      const listed = (await laptop.get('/devices').expect(200)).body as Array<{ id: string; device: string }>;
      expect(listed.map((entry) => entry.device).sort()).toEqual(['laptop', 'phone', 'tablet']);
      const phone = listed.find((entry) => entry.device === 'phone')!;
      await laptop.post(`/devices/${encodeURIComponent(phone.id)}/sign-out`).expect(200, { deleted: 1 });

      await agents.get('phone')!.get('/me').expect(200, { user: null });
      await agents.get('tablet')!.get('/me').expect(200, { user: ada });
      await laptop.get('/me').expect(200, { user: ada });

      // Another user's id, posted to ada's page, signs nobody out.
      const [bobsDevice] = (await bob.get('/devices').expect(200)).body as Array<{ id: string }>;
      await laptop.post(`/devices/${encodeURIComponent(bobsDevice!.id)}/sign-out`).expect(200, { deleted: 0 });
      await bob.get('/me').expect(200, { user: bobName });
    });
  });

  describe.each(HASH_SETTINGS.filter(([, hashSid]) => hashSid !== false))('destroy() %s', (_title, hashSid) => {
    const scope = useScope(ctx, { label: 'revokeid', storeOptions: { hashSid, columns: COLUMNS } });

    it('of an id a listing gave fails with InvalidSessionError pointing to destroyWhere({ sid }), and deletes nothing', async () => {
      const sid = scope.sid('listed');
      await scope.store.set(sid, liveSession({ user: 'confused' }));
      const [listed] = (await scope.store.findWhere({ userId: 'confused' })) ?? [];
      for (const argument of [listed!.sid, [listed!.sid]]) {
        const outcome = await withCallback<number>((done) => scope.store.destroy(argument, done));
        expect(outcome).toMatchObject({ calls: 1, promise: 'resolved' });
        expect(errorName(outcome.error)).toBe('InvalidSessionError');
        expect((outcome.error as Error).message).toMatch(/destroyWhere\(\{ sid \}\)/);
      }
      await expect(scope.store.get(sid)).resolves.toMatchObject({ user: 'confused' });
    });

    it('of a cookie sid made of 64 hex characters destroys that session, as any sid', async () => {
      const sid = randomBytes(32).toString('hex');
      await scope.store.set(sid, liveSession({ user: 'hex' }));
      await expect(scope.store.destroy(sid)).resolves.toBe(1);
      await expect(scope.store.get(sid)).resolves.toBeNull();
      await expect(scope.store.destroy(randomBytes(32).toString('hex'))).resolves.toBe(0);
    });
  });
}
