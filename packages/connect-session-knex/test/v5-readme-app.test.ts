import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { knex as createKnex, type Knex } from 'knex';
import request from 'supertest';
import type { Express } from 'express';
import { describeLive, mysqlConnection } from '@csk/conformance/scenarios/live';
import { expressContractCases, type ConformanceTarget, type SuiteContext } from '@csk/conformance';
import { ConnectSessionKnexStore } from 'connect-session-knex';

// The fixture is plain CommonJS, as connect-session-knex 5 applications are: it is required, not compiled.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const createApp = require('./fixtures/v5-readme-app.cjs') as (
  knex: Knex,
  tableName: string,
) => { app: Express; store: ConnectSessionKnexStore };

interface Engine {
  readonly label: string;
  readonly createKnex: () => Knex;
}

function cookieOf(response: request.Response): string {
  const lines = (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];
  const line = lines.find((one) => one.startsWith('connect.sid='));
  if (!line) throw new Error(`no session cookie (status ${response.status}): ${response.text}`);
  return line.split(';')[0]!;
}

/** The v5 README application, unchanged, on `engine`; then the express-session contract on a store built as v5's is. */
function describeV5App(engine: Engine): void {
  describe(`an application written for connect-session-knex 5, on ${engine.label}`, () => {
    const tableName = `csk_v5app_${process.pid}`;
    let db: Knex;
    let store: ConnectSessionKnexStore;
    let app: Express;

    beforeAll(async () => {
      db = engine.createKnex();
      await db.schema.dropTableIfExists(tableName);
      ({ app, store } = createApp(db, tableName));
      await store.ready;
    });

    afterAll(async () => {
      await store?.close();
      await db?.schema.dropTableIfExists(tableName);
      await db?.destroy();
    });

    it('counts views across requests, lists sessions with all() as an array, and logs out', async () => {
      const first = await request(app).get('/').expect(200, { views: 1 });
      const cookie = cookieOf(first);
      await request(app).get('/').set('Cookie', cookie).expect(200, { views: 2 });
      await request(app).get('/').expect(200, { views: 1 });

      await request(app).get('/admin/sessions').expect(200, { count: 2, views: [1, 2] });
      await request(app).get('/admin/sessions-cb').expect(200, { count: 2, live: 2 });

      await request(app).post('/logout').set('Cookie', cookie).expect(200, { ok: true });
      await request(app).get('/admin/sessions').expect(200, { count: 1, views: [1] });
    });

    it('a restarted application (a new store on the same table) keeps the sessions', async () => {
      const first = await request(app).get('/').expect(200);
      const restarted = createApp(db, tableName);
      try {
        await request(restarted.app).get('/').set('Cookie', cookieOf(first)).expect(200, { views: 2 });
      } finally {
        await restarted.store.close();
      }
    });
  });

  describe(`the express-session contract on ConnectSessionKnexStore built with v5's options, on ${engine.label}`, () => {
    let db: Knex | undefined;
    const target = {
      name: engine.label,
      createKnex: engine.createKnex,
      createStore: (options) => new ConnectSessionKnexStore(options),
    } as ConformanceTarget;
    const ctx: SuiteContext = {
      target,
      get knex(): Knex {
        if (!db) throw new Error('the knex is only available inside hooks and tests');
        return db;
      },
    };
    beforeAll(() => {
      db = engine.createKnex();
    });
    afterAll(async () => {
      await db?.destroy();
    });
    expressContractCases(ctx);
  });
}

let sqliteDir: string | undefined;
describeV5App({
  label: 'SQLite (a file, sqlite3)',
  createKnex: () => {
    sqliteDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'csk-v5app-'));
    return createKnex({ client: 'sqlite3', connection: { filename: path.join(sqliteDir, 'app.sqlite') }, useNullAsDefault: true });
  },
});
afterAll(() => {
  if (sqliteDir) fs.rmSync(sqliteDir, { recursive: true, force: true });
});

describeLive('CSK_PG_URL', 'PostgreSQL server (v5 README app)', (url) => {
  describeV5App({ label: 'PostgreSQL', createKnex: () => createKnex({ client: 'pg', connection: url }) });
});

describeLive('CSK_MYSQL_URL', 'MySQL/MariaDB server (v5 README app)', (url) => {
  describeV5App({
    label: 'MariaDB (mysql2)',
    createKnex: () => createKnex({ client: 'mysql2', connection: mysqlConnection(url) }),
  });
});
