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

function app(store) {
  const application = express();
  application.disable('x-powered-by');
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
      await opened.close();
      process.send({ type: 'closed', maxRssKb: process.resourceUsage().maxRSS });
      process.disconnect();
    }
  } catch (error) {
    process.send({ type: 'error', error: String(error?.stack ?? error) });
  }
});
