// A visit counter and a demo login on express 5 and express-session, stored by connect-session-knex. With no knex
// passed, sessions go to connect-session-knex.sqlite in the working directory, so both survive a restart.
//
//   pnpm example            (from the repository root: builds the packages, then runs this)
//   PORT=8080 node server.js
import express from 'express';
import session from 'express-session';
import { ConnectSessionKnexStore } from 'connect-session-knex';

const port = Number(process.env.PORT ?? 3000);
const store = new ConnectSessionKnexStore({
  // A userId column filled from each session on every write, so that destroyWhere can find all of a user's sessions.
  columns: { userId: (s) => s.user ?? null },
});

// The store's events, one timestamped line each. A session id is a bearer credential: log only its first characters.
const log = (...parts) => console.log(new Date().toISOString(), ...parts);
const short = (sid) => `${sid.slice(0, 6)}…`;
store.on('connect', () => log('store: connected'));
store.on('disconnect', () => log('store: disconnected, requests run without sessions until it is back'));
// With an 'error' listener the store reports failed operations and prune errors here (without one it never emits it).
store.on('error', (error) => log('store: error:', error.message));
store.on('prune', ({ deleted, skipped, ms }) =>
  log(skipped ? 'store: prune skipped (another process holds it)' : `store: pruned ${deleted} expired in ${ms} ms`),
);
store.on('set', ({ sid, expires }) => log(`store: saved ${short(sid)} until ${expires.toISOString()}`));
store.on('destroy', ({ sids, where, deleted }) =>
  log(`store: destroyed ${deleted} session(s)`, where ? `where ${JSON.stringify(where)}` : (sids ?? []).map(short).join(' ')),
);

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(
  session({
    store,
    // Use a long random secret from the environment in a real application.
    secret: process.env.SESSION_SECRET ?? 'example-only-secret',
    resave: false,
    saveUninitialized: false,
    // sameSite 'lax' keeps other sites' forms from posting to /logout-everywhere with this cookie.
    cookie: { maxAge: 7 * 24 * 60 * 60 * 1000, httpOnly: true, sameSite: 'lax' },
  }),
);

const escapeHtml = (text) =>
  String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  const times = req.session.views === 1 ? 'time' : 'times';
  const user = req.session.user;
  const account = user
    ? `<p>Logged in as <strong id="user">${escapeHtml(user)}</strong>.</p>
    <form method="post" action="/logout"><button id="logout">Log out</button></form>
    <form method="post" action="/logout-everywhere"><button id="logout-everywhere">Log out everywhere</button></form>`
    : `<p id="user-none">Not logged in.</p>
    <form method="post" action="/login">
      <label>Name <input name="username" id="username" required maxlength="64" autocomplete="username"></label>
      <button id="login">Log in</button>
    </form>`;
  res.type('html').send(`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>connect-session-knex example</title></head>
  <body>
    <h1>connect-session-knex</h1>
    <p>You have visited this page <strong id="views">${req.session.views}</strong> ${times}.</p>
    ${account}
    <p>Restart the server and reload: the count and the login stay, because the session lives in SQLite. Log in as
    the same name in another browser, then "Log out everywhere" here: the other browser is logged out too.</p>
    <form method="post" action="/reset"><button id="reset">Start a new session</button></form>
  </body>
</html>
`);
});

// A demo login: any name, no password. A real application checks credentials here.
app.post('/login', (req, res, next) => {
  const username = typeof req.body?.username === 'string' ? req.body.username.trim() : '';
  if (username === '' || username.length > 64) {
    res.status(400).type('text').send('A name of 1 to 64 characters is required.');
    return;
  }
  const views = req.session.views;
  // A new session id on login, so that an id planted in the browser before it is worth nothing after it.
  req.session.regenerate((error) => {
    if (error) return next(error);
    req.session.views = views;
    req.session.user = username;
    res.redirect(303, '/');
  });
});

app.post('/logout', (req, res, next) => {
  req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/')));
});

// Every session of this user, in every browser, through the userId column.
app.post('/logout-everywhere', async (req, res) => {
  const user = req.session.user;
  if (user) {
    await store.destroyWhere({ userId: user });
    // This request's own session was one of them: don't let express-session save it back at the end.
    req.session = null;
  }
  res.redirect(303, '/');
});

app.post('/reset', (req, res, next) => {
  req.session.destroy((error) => (error ? next(error) : res.redirect(303, '/')));
});

const server = app.listen(port, () => {
  console.log(`Listening on http://localhost:${server.address().port}`);
});

// Stop accepting requests (Node also drops idle keep-alive connections), let the ones in flight finish, then close
// the store, which destroys the knex it opened. Nothing is left holding the event loop, so the process exits by itself.
let stopping = false;
function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received: shutting down`);
  server.close((serverError) => {
    if (serverError) console.error(serverError);
    store.close().then(
      () => console.log('Session store closed'),
      (error) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  });
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
