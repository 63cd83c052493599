// A visit counter on express 5 and express-session, stored by connect-session-knex with no configuration at all:
// sessions go to connect-session-knex.sqlite in the working directory, so the count survives a restart.
//
//   pnpm example            (from the repository root: builds the packages, then runs this)
//   PORT=8080 node server.js
import express from 'express';
import session from 'express-session';
import { ConnectSessionKnexStore } from 'connect-session-knex';

const port = Number(process.env.PORT ?? 3000);
const store = new ConnectSessionKnexStore();

const app = express();
app.use(
  session({
    store,
    // Use a long random secret from the environment in a real application.
    secret: process.env.SESSION_SECRET ?? 'example-only-secret',
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 7 * 24 * 60 * 60 * 1000, httpOnly: true, sameSite: 'lax' },
  }),
);

app.get('/', (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  const times = req.session.views === 1 ? 'time' : 'times';
  res.type('html').send(`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>connect-session-knex example</title></head>
  <body>
    <h1>connect-session-knex</h1>
    <p>You have visited this page <strong id="views">${req.session.views}</strong> ${times}.</p>
    <p>Restart the server and reload: the count goes on, because the session lives in SQLite.</p>
    <form method="post" action="/reset"><button>Start a new session</button></form>
  </body>
</html>
`);
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
