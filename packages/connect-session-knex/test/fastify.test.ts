import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { knex as createKnex, type Knex } from 'knex';
import request from 'supertest';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { ConnectSessionKnexStore, StoreClosedError } from 'connect-session-knex';

// @fastify/session drives a store through set(sid, session, cb), get(sid, cb) and destroy(sid, cb) only, and hands
// set its own Session object (a class instance whose cookie is a Cookie with an `expires` getter). These tests run
// the real plugin on fastify 5 against each live database this machine has, over HTTP. (Not through fastify.inject:
// its light-my-request loads the ESM-only `cookie` package with require(), which jest's module loader cannot do.)

declare module 'fastify' {
  interface Session {
    views?: number;
    user?: string;
  }
}

const SECRET = 'a-fastify-test-secret-of-32-chars-or-more';
const COOKIE = 'sessionId';
// The plugin hands `set` its own Session object: the column is read from that. (The option is typed with
// express-session's SessionData, which has no `user`.)
const COLUMNS = { userId: (session: object) => (session as { user?: string }).user ?? null };

interface Target {
  readonly label: string;
  readonly createKnex: () => Knex;
  readonly cleanup?: () => void;
}

function appWith(store: ConnectSessionKnexStore): FastifyInstance {
  const app = Fastify();
  void app.register(fastifyCookie);
  // secure: false, because inject speaks plain HTTP and the plugin does not save a secure cookie's session over it.
  void app.register(fastifySession, {
    store,
    secret: SECRET,
    cookieName: COOKIE,
    saveUninitialized: false,
    cookie: { secure: false, maxAge: 3_600_000 },
  });
  app.get('/count', async (request) => {
    request.session.views = (request.session.views ?? 0) + 1;
    return { views: request.session.views, sid: request.session.sessionId };
  });
  app.post('/login', async (request) => {
    const views = request.session.views;
    // A new id on login, so that an id fixed before the login is worth nothing after it.
    await request.session.regenerate();
    request.session.views = views;
    request.session.user = 'ada';
    return { sid: request.session.sessionId, views };
  });
  app.post('/logout', async (request) => {
    await request.session.destroy();
    return { ok: true };
  });
  return app;
}

function sessionCookie(response: request.Response): string | undefined {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  return lines.find((line) => line.startsWith(`${COOKIE}=`))?.split(';')[0];
}

/** The session cookie the response set, as a request's Cookie header carries it. */
function cookieOf(response: request.Response): string {
  const cookie = sessionCookie(response);
  if (!cookie) throw new Error(`the response set no session cookie (status ${response.status}): ${response.text}`);
  return cookie;
}

interface Count {
  views: number;
  sid: string;
}

function describeFastify(target: Target): void {
  describe(`@fastify/session on ${target.label}`, () => {
    // Its own table, so that runs sharing a server (other packages' suites, other checkouts) never meet.
    const tableName = `csk_fastify_${process.pid}`;
    let db: Knex;
    let store: ConnectSessionKnexStore;
    let app: FastifyInstance;

    /** Start a fastify app on `s` and hand back a supertest client of its server. */
    async function serve(s: ConnectSessionKnexStore): Promise<[FastifyInstance, () => ReturnType<typeof request>]> {
      const instance = appWith(s);
      await instance.ready();
      return [instance, () => request(instance.server)];
    }
    let http: () => ReturnType<typeof request>;

    beforeAll(async () => {
      db = target.createKnex();
      await db.schema.dropTableIfExists(tableName);
      store = new ConnectSessionKnexStore({ knex: db, tableName, cleanupInterval: 0, columns: COLUMNS });
      await store.ready;
      [app, http] = await serve(store);
    });

    afterAll(async () => {
      await app?.close();
      await store?.close();
      await db?.schema.dropTableIfExists(tableName);
      await db?.destroy();
      target.cleanup?.();
    });

    it('keeps a counter across requests', async () => {
      const first = await http().get('/count').expect(200);
      expect(first.body).toMatchObject({ views: 1 });
      const cookie = cookieOf(first);
      const { sid } = first.body as Count;
      expect(await store.get(sid)).toMatchObject({ views: 1 });

      expect((await http().get('/count').set('Cookie', cookie).expect(200)).body).toEqual({ views: 2, sid });
      expect((await http().get('/count').set('Cookie', cookie).expect(200)).body).toEqual({ views: 3, sid });
      // The row holds what the plugin saved, cookie included, and the plugin reads it back as its own.
      const stored = await store.get(sid);
      expect(stored).toMatchObject({ views: 3, cookie: { originalMaxAge: 3_600_000 } });
      expect(new Date(stored!.cookie.expires as unknown as string).getTime()).toBeGreaterThan(Date.now());
    });

    it('regenerates the session on login: the old id is gone, the new one carries the data', async () => {
      const first = await http().get('/count').expect(200);
      const oldSid = (first.body as Count).sid;
      const login = await http().post('/login').set('Cookie', cookieOf(first)).expect(200);
      const newSid = (login.body as Count).sid;
      expect(newSid).not.toBe(oldSid);
      expect(await store.get(oldSid)).toBeNull();
      expect(await store.get(newSid)).toMatchObject({ views: 1, user: 'ada' });

      const next = await http().get('/count').set('Cookie', cookieOf(login)).expect(200);
      expect(next.body).toEqual({ views: 2, sid: newSid });
      // The old cookie no longer finds a session: it starts a new one.
      const stale = (await http().get('/count').set('Cookie', cookieOf(first)).expect(200)).body as Count;
      expect(stale.views).toBe(1);
      expect(stale.sid).not.toBe(oldSid);
    });

    it('destroys the session on logout', async () => {
      const first = await http().get('/count').expect(200);
      const cookie = cookieOf(first);
      const { sid } = first.body as Count;
      await http().post('/logout').set('Cookie', cookie).expect(200);
      expect(await store.get(sid)).toBeNull();
      const after = (await http().get('/count').set('Cookie', cookie).expect(200)).body as Count;
      expect(after.views).toBe(1);
      expect(after.sid).not.toBe(sid);
    });

    it("ends a user's every session with destroyWhere, through the column filled from the plugin's sessions", async () => {
      const logIn = async (): Promise<string> =>
        cookieOf(await http().post('/login').set('Cookie', cookieOf(await http().get('/count').expect(200))).expect(200));
      const a = await logIn();
      const b = await logIn();
      const anonymous = cookieOf(await http().get('/count').expect(200));
      expect((await store.findWhere({ userId: 'ada' }))?.length).toBeGreaterThanOrEqual(2);

      expect(await store.destroyWhere({ userId: 'ada' })).toBeGreaterThanOrEqual(2);
      for (const cookie of [a, b]) {
        expect(((await http().get('/count').set('Cookie', cookie).expect(200)).body as Count).views).toBe(1);
      }
      expect(((await http().get('/count').set('Cookie', anonymous).expect(200)).body as Count).views).toBe(2);
    });

    it('serves an expired session as none, and the prune deletes its row', async () => {
      const first = await http().get('/count').expect(200);
      const cookie = cookieOf(first);
      const { sid } = first.body as Count;
      // Move the row's expiry into the past instead of waiting for it.
      const t = store.table;
      await t
        .query(db)
        .where(t.sidColumn, sid)
        .update({ [t.expiredColumn]: store.adapter.encodeExpiry(Date.now() - 60_000, db) });

      expect(await store.get(sid)).toBeNull();
      const after = (await http().get('/count').set('Cookie', cookie).expect(200)).body as Count;
      expect(after.views).toBe(1);
      expect(after.sid).not.toBe(sid);

      expect(await store.prune()).toBeGreaterThanOrEqual(1);
      expect(await t.query(db).where(t.sidColumn, sid).first()).toBeUndefined();
    });

    it('answers a closed store with a 500, on the read and on the save', async () => {
      const closed = new ConnectSessionKnexStore({ knex: db, tableName, cleanupInterval: 0, columns: COLUMNS });
      await closed.ready;
      const [broken, brokenHttp] = await serve(closed);
      try {
        const first = await http().get('/count').expect(200);
        await closed.close();
        await expect(closed.get('anything')).rejects.toBeInstanceOf(StoreClosedError);

        // With a cookie, the plugin's get fails before the handler runs.
        const read = await brokenHttp().get('/count').set('Cookie', cookieOf(first)).expect(500);
        expect((read.body as { message: string }).message).toMatch(/called after close\(\)/);
        // Without one, the handler runs and the save in onSend fails: no cookie for a session that was not saved.
        const save = await brokenHttp().get('/count').expect(500);
        expect(sessionCookie(save)).toBeUndefined();
        // The app on the open store and the same table is untouched.
        const again = await http().get('/count').set('Cookie', cookieOf(first)).expect(200);
        expect((again.body as Count).views).toBe(2);
      } finally {
        await broken.close();
        await closed.close();
      }
    });

    it('answers a database that is gone with a 500 too', async () => {
      // A knex of its own, destroyed under the store: the driver fails every statement.
      const doomed = target.createKnex();
      const store2 = new ConnectSessionKnexStore({ knex: doomed, tableName, cleanupInterval: 0, columns: COLUMNS });
      await store2.ready;
      const [broken, brokenHttp] = await serve(store2);
      try {
        const first = await brokenHttp().get('/count').expect(200);
        await doomed.destroy();
        const read = await brokenHttp().get('/count').set('Cookie', cookieOf(first)).expect(500);
        expect((read.body as { message: string }).message).toMatch(/get failed/);
        const save = await brokenHttp().get('/count').expect(500);
        expect((save.body as { message: string }).message).toMatch(/set failed/);
      } finally {
        await broken.close();
        await store2.close();
      }
    });
  });
}

let sqliteDir: string | undefined;
describeFastify({
  label: 'SQLite (a file, sqlite3)',
  createKnex: () => {
    sqliteDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'csk-fastify-'));
    return createKnex({
      client: 'sqlite3',
      connection: { filename: path.join(sqliteDir, 'sessions.sqlite') },
      useNullAsDefault: true,
    });
  },
  cleanup: () => {
    if (sqliteDir) fs.rmSync(sqliteDir, { recursive: true, force: true });
  },
});

describeLive('CSK_PG_URL', 'PostgreSQL server (@fastify/session)', (url) => {
  describeFastify({ label: 'PostgreSQL', createKnex: () => createKnex({ client: 'pg', connection: url }) });
});

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server (@fastify/session)', (url) => {
  describeFastify({
    label: 'MariaDB (mysql2)',
    createKnex: () => createKnex({ client: 'mysql2', connection: mysqlConnection(url) }),
  });
});
