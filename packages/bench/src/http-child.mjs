// One contender behind a real express 5 app with express-session, in a process of its own, driven over IPC:
// `setup` builds the store and starts the server on a free loopback port, `close` stops both and reports the RSS.
//   GET /login/:n  logs user n in (the session is created and saved)
//   GET /read      reads the user from the session and changes nothing: express-session ends it with store.touch
//   GET /write     changes the session on every request: express-session ends it with store.set
//   GET /new       for a visitor with no cookie: a new session is created and saved
import express from 'express';
import session from 'express-session';
import { DAY_MS } from './config.mjs';
import { contender } from './contenders.mjs';

let opened;
let server;
/** Requests whose store work has not finished: `close` waits for them before it closes the store. */
let inFlight = 0;
let drained = () => {};

/**
 * Count a request until its response is ended. Installed before express-session, whose own `res.end` wraps this one
 * and calls it only once its `set` or `touch` has finished, so a request counts until the store is done with it.
 */
function counted(req, res, next) {
  inFlight += 1;
  const end = res.end;
  res.end = function (...args) {
    res.end = end;
    inFlight -= 1;
    if (inFlight === 0) drained();
    return end.apply(this, args);
  };
  next();
}

/** Resolves once no request is in flight, or after `ms` (a request the load generator left hanging). */
function settled(ms) {
  if (inFlight === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    drained = () => {
      clearTimeout(timer);
      resolve();
    };
  });
}

function app(store) {
  const application = express();
  application.disable('x-powered-by');
  application.use(counted);
  application.use(
    session({
      store,
      secret: 'bench secret, not for production',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: DAY_MS, httpOnly: true, sameSite: 'lax' },
    }),
  );
  application.get('/login/:n', (req, res) => {
    const n = Number(req.params.n);
    req.session.user = { id: n, name: `user ${n}`, email: `user${n}@example.test`, roles: ['reader', 'writer'] };
    res.json({ ok: true });
  });
  application.get('/read', (req, res) => {
    if (!req.session.user) return res.status(401).json({ ok: false });
    res.json({ name: req.session.user.name });
  });
  application.get('/write', (req, res) => {
    if (!req.session.user) return res.status(401).json({ ok: false });
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ visits: req.session.visits });
  });
  application.get('/new', (req, res) => {
    req.session.visits = 1;
    res.json({ visits: 1 });
  });
  return application;
}

process.on('message', async (message) => {
  try {
    if (message.type === 'setup') {
      opened = await contender(message.id).create({ id: message.id, touchAfter: message.touchAfter });
      // express-session stops using a store that emits 'disconnect': a bench run must notice, not measure 401s.
      opened.store.on?.('disconnect', () => console.error(`[${message.id}] store emitted 'disconnect'`));
      await new Promise((resolve) => {
        server = app(opened.store).listen(0, '127.0.0.1', resolve);
      });
      process.send({ type: 'ready', port: server.address().port });
    } else if (message.type === 'usage') {
      // CPU time this process has used (µs), for the CPU cost per request of a trial.
      const { user, system } = process.cpuUsage();
      process.send({ type: 'usage', cpuUs: user + system });
    } else if (message.type === 'close') {
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
      // Handlers still running on the closed sockets would otherwise reach a store (or pool) already closed.
      await settled(5000);
      await opened.close();
      process.send({ type: 'closed', maxRssKb: process.resourceUsage().maxRSS });
      process.disconnect();
    }
  } catch (error) {
    process.send({ type: 'error', error: String(error?.stack ?? error) });
  }
});
