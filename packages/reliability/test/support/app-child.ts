/**
 * The application under test, in a process of its own: express 5 and express-session with the store, as a
 * production app would run them. It counts its unhandled rejections and uncaught exceptions (with a handler, so that
 * the count can be reported rather than the process lost), forwards the store's events to the test, and exits by
 * itself once told to close.
 */
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { knex as createKnex } from 'knex';
import { PostgresStore } from '@csk/postgres';
import { MysqlStore } from '@csk/mysql';
import type { AppConfig, AppMessage, AppReport, TestMessage } from './protocol.js';

const config = JSON.parse(process.env.CSK_RELIABILITY_APP ?? '{}') as AppConfig;
const report: AppReport = {
  unhandledRejections: [],
  uncaughtExceptions: [],
  events: [],
  errors: {},
  storeCalls: 0,
  slowestStoreCallMs: 0,
};

const describe = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : `non-error: ${String(error)}`;
process.on('unhandledRejection', (reason) => report.unhandledRejections.push(describe(reason)));
process.on('uncaughtException', (error) => report.uncaughtExceptions.push(describe(error)));

const send = (message: AppMessage): void => {
  if (process.connected) process.send!(message);
};

const db = createKnex({
  client: config.client,
  connection: config.connection,
  pool: { min: 0, max: config.poolMax },
  acquireConnectionTimeout: config.acquireConnectionTimeout,
});
const storeOptions = {
  knex: db,
  tableName: config.tableName,
  operationTimeout: config.operationTimeout,
  // Prune errors during an outage are expected: count them with the rest rather than print each.
  onDbCleanupError: (error: unknown) => {
    const key = `prune: ${describe(error)}`;
    report.errors[key] = (report.errors[key] ?? 0) + 1;
  },
};
const store = config.client === 'pg' ? new PostgresStore(storeOptions) : new MysqlStore(storeOptions);
for (const name of ['connect', 'disconnect']) {
  store.on(name, () => {
    const event = { name, at: Date.now() };
    report.events.push(event);
    send({ type: 'event', event });
  });
}

// Time every call express-session makes, from the call to its callback: "no hang" is a bound on each of them.
for (const method of ['get', 'set', 'touch', 'destroy'] as const) {
  const original = (store[method] as (...args: unknown[]) => unknown).bind(store);
  Object.defineProperty(store, method, {
    value: (...args: unknown[]) => {
      const callback = args[args.length - 1];
      if (typeof callback === 'function') {
        const started = Date.now();
        args[args.length - 1] = (...results: unknown[]) => {
          report.storeCalls += 1;
          report.slowestStoreCallMs = Math.max(report.slowestStoreCallMs, Date.now() - started);
          (callback as (...results: unknown[]) => void)(...results);
        };
      }
      return original(...args);
    },
  });
}

const app = express();
app.use(
  session({
    store,
    secret: 'reliability',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000 },
  }),
);

// One visit: the counter goes up and is saved before the answer, so that a 200 means "written and acknowledged".
app.get('/visit', (req: Request, res: Response) => {
  if (!req.session) {
    // express-session runs without a session while the store has emitted 'disconnect'.
    res.status(503).json({ error: 'no session: the store is disconnected' });
    return;
  }
  const n = ((req.session as { n?: number }).n ?? 0) + 1;
  (req.session as { n?: number }).n = n;
  req.session.save((error) => {
    if (error) {
      res.status(503).json({ error: describe(error) });
      return;
    }
    res.json({ n, sid: req.sessionID });
  });
});

app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
  const key = describe(error);
  report.errors[key] = (report.errors[key] ?? 0) + 1;
  if (res.headersSent) return;
  res.status(500).json({ error: key });
});

const server = app.listen(0, '127.0.0.1', () => {
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
});

process.on('message', (message: TestMessage) => {
  if (message.type === 'report') send({ type: 'report', report });
  if (message.type === 'close') {
    server.closeAllConnections();
    server.close();
    void store
      .close()
      .catch((error: unknown) => report.errors[`close: ${describe(error)}`] = 1)
      .then(() => db.destroy())
      .then(() => {
        send({ type: 'closed' });
        process.disconnect();
      });
  }
});
