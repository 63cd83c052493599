import { createHmac, randomBytes } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import knex, { type Knex } from 'knex';
import request from 'supertest';
import { ConnectSessionKnexStore, createEncryptedSerializer, type ConnectSessionKnexStoreOptions } from 'connect-session-knex';

// The README's "Encryption at rest" section, run as an application following it would run it.

/** The app's session fields (typed here, not by augmenting express-session for every test file). */
interface AppSession {
  views?: number;
  user?: string;
}
const fields = (req: express.Request): AppSession => req.session as unknown as AppSession;

const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
const ID_SECRET = randomBytes(32).toString('hex');

let db: Knex;
const stores: ConnectSessionKnexStore[] = [];

beforeEach(() => {
  db = knex({ client: 'sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true, pool: { min: 1, max: 1 } });
});
afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close()));
  await db.destroy();
});

function storeWith(keys: string[], extra: Partial<ConnectSessionKnexStoreOptions> = {}): ConnectSessionKnexStore {
  const store = new ConnectSessionKnexStore({
    knex: db,
    cleanupInterval: 0,
    serializer: createEncryptedSerializer({ keys }),
    hashSid: ID_SECRET,
    ...extra,
  });
  stores.push(store);
  return store;
}

/** The README's app, with a login route that starts a fresh session for the user. */
function appWith(store: ConnectSessionKnexStore): express.Express {
  const app = express();
  app.use(session({ store, secret: 'cookie-secret', resave: false, saveUninitialized: false }));
  app.get('/', (req, res) => {
    const session = fields(req);
    session.views = (session.views ?? 0) + 1;
    res.json({ views: session.views, user: session.user ?? null, sid: req.sessionID });
  });
  app.post('/login/:user', (req, res, next) => {
    req.session.regenerate((error) => {
      if (error) return next(error);
      fields(req).user = req.params.user;
      res.json({ sid: req.sessionID });
    });
  });
  return app;
}

async function rawTable(): Promise<string> {
  return JSON.stringify(await db('sessions').select());
}

it('keeps a counter through an encrypted store with hashed ids, and the table holds neither', async () => {
  const agent = request.agent(appWith(storeWith([A])));
  await agent.get('/').expect(200, /"views":1/);
  const { body } = await agent.get('/').expect(200);
  expect(body.views).toBe(2);
  const raw = await rawTable();
  expect(raw).not.toContain(body.sid);
  expect(raw).not.toContain('views');
});

it('rotates keys as the README says, re-encrypting the rows still under the old key', async () => {
  const keyIds = async (): Promise<string[]> =>
    ((await db('sessions').select('sess')) as Array<{ sess: string }>).map((row) => JSON.parse(row.sess).k as string);
  const first = await request(appWith(storeWith([A]))).get('/').expect(200, /"views":1/);
  const active = cookieOf(first);
  const [underA] = await keyIds();

  // Step 1: [A, B] reads and still writes with A. Step 2: [B, A] writes with B.
  await request(appWith(storeWith([A, B]))).get('/').set('Cookie', active).expect(200, /"views":2/);
  expect(await keyIds()).toEqual([underA]);
  await request(appWith(storeWith([B, A]))).get('/').set('Cookie', active).expect(200, /"views":3/);
  const [underB] = await keyIds();
  expect(underB).not.toBe(underA);

  // A session last written under A (kept alive by touch, say) stays under A, and [B] alone cannot read it.
  const idle = cookieOf(await request(appWith(storeWith([A]))).get('/').expect(200, /"views":1/));
  expect((await keyIds()).sort()).toEqual([underA, underB].sort());
  await request(appWith(storeWith([B]))).get('/').set('Cookie', idle).expect(500);

  // Step 3: the README's re-encryption script, then keys [B] alone read everything.
  const newKey = B;
  const oldKey = A;
  const serializer = createEncryptedSerializer({ keys: [newKey, oldKey], allowPlaintext: true });
  for (const { sid, sess } of (await db('sessions').select('sid', 'sess')) as Array<{ sid: string; sess: unknown }>) {
    const text = typeof sess === 'string' ? sess : JSON.stringify(sess);
    await db('sessions')
      .where({ sid })
      .update({ sess: await serializer.stringify(await serializer.parse(text, { sid }), { sid }) });
  }
  expect(await keyIds()).toEqual([underB, underB]);
  const after = appWith(storeWith([B]));
  await request(after).get('/').set('Cookie', active).expect(200, /"views":4/);
  await request(after).get('/').set('Cookie', idle).expect(200, /"views":2/);
});

/** Log in a victim and an attacker, then copy the victim's row's ciphertext over the attacker's own row. */
async function copyVictimCiphertext(app: express.Express): Promise<{ attacker: string; attackerSid: string }> {
  await request(app).post('/login/victim').expect(200);
  const login = await request(app).post('/login/attacker').expect(200);
  // The attacker can write to the table but holds no key.
  const own = createHmac('sha256', ID_SECRET).update(login.body.sid as string, 'utf8').digest('hex');
  const rows = (await db('sessions').select('sid', 'sess')) as Array<{ sid: string; sess: string }>;
  await db('sessions').where({ sid: own }).update({ sess: rows.find((row) => row.sid !== own)!.sess });
  return { attacker: cookieOf(login), attackerSid: login.body.sid as string };
}

it("refuses a victim's ciphertext copied into the attacker's row: it is bound to the victim's stored id", async () => {
  const { attacker } = await copyVictimCiphertext(appWith(storeWith([A])));
  // The copied row fails to decrypt: an error, never the victim's session.
  const served = await request(appWith(storeWith([A]))).get('/').set('Cookie', attacker).expect(500);
  expect(served.text).not.toContain('victim');
});

it("with onCorruptSession: 'delete', the copied row reads as no session and the attacker starts afresh", async () => {
  const app = appWith(storeWith([A], { onCorruptSession: 'delete' }));
  const { attacker, attackerSid } = await copyVictimCiphertext(app);
  const { body } = await request(app).get('/').set('Cookie', attacker).expect(200);
  expect(body).toMatchObject({ user: null, views: 1 });
  expect(body.sid).not.toBe(attackerSid);
});

function cookieOf(response: request.Response): string {
  const setCookie = response.headers['set-cookie'] as unknown as string[] | undefined;
  const cookie = setCookie?.find((line) => line.startsWith('connect.sid='));
  if (!cookie) throw new Error('the response set no session cookie');
  return cookie.split(';')[0]!;
}
