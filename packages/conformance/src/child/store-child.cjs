'use strict';
/**
 * A process of its own for the conformance checks that watch process-wide events: uncaught exceptions, unhandled
 * rejections, and whether the process exits by itself once the store is closed.
 *
 * Configured by JSON in the CSK_CONFORMANCE_CHILD environment variable:
 *   { scenario, packageDir, storeModule, storeExport, knexConfig, clientModule?, tables: string[] }
 * Prints one line `CSK_CHILD_RESULT <json>` and then must exit on its own: it never calls process.exit.
 */
const path = require('node:path');
const { createRequire } = require('node:module');

const RESULT_PREFIX = 'CSK_CHILD_RESULT ';
const config = JSON.parse(process.env.CSK_CONFORMANCE_CHILD || '{}');
const load = createRequire(path.join(config.packageDir, 'package.json'));
const knexModule = load('knex');
const createKnex = knexModule.knex || knexModule.default || knexModule;
const Store = load(config.storeModule)[config.storeExport];
if (typeof Store !== 'function') throw new Error(`${config.storeModule} has no export ${config.storeExport}`);
if (config.clientModule) {
  // A Client class (PGlite's) cannot travel as JSON: load it here.
  const client = load(config.clientModule);
  config.knexConfig = { ...config.knexConfig, client: client.default || client };
}

const uncaught = [];
const unhandled = [];
process.on('uncaughtException', (error) => uncaught.push(describe(error)));
process.on('unhandledRejection', (reason) => unhandled.push(describe(reason)));

function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : `non-error: ${String(error)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function liveSession(data) {
  const expires = new Date(Date.now() + 3_600_000);
  return { cookie: { originalMaxAge: 3_600_000, expires, httpOnly: true, path: '/' }, ...data };
}

/**
 * Call every store method with a callback built by `makeCallback(method)`. Records how each returned promise settled.
 */
async function callEveryMethod(store, makeCallback, sid = 'child-sid') {
  const promises = {
    set: store.set(sid, liveSession({ n: 1 }), makeCallback('set')),
    get: store.get(sid, makeCallback('get')),
    touch: store.touch(sid, liveSession({ n: 1 }), makeCallback('touch')),
    all: store.all(makeCallback('all')),
    allById: store.allById(makeCallback('allById')),
    length: store.length(makeCallback('length')),
    ids: store.ids(makeCallback('ids')),
    prune: store.prune(makeCallback('prune')),
    destroy: store.destroy(sid, makeCallback('destroy')),
    clear: store.clear(makeCallback('clear')),
  };
  const settled = {};
  for (const [method, promise] of Object.entries(promises)) {
    settled[method] = await promise.then(
      () => 'resolved',
      () => 'rejected',
    );
  }
  return settled;
}

/** Callbacks that record every call and the error they got. */
function recorder(label) {
  const calls = {};
  const make = (method) => (error) => {
    const key = `${label}.${method}`;
    (calls[key] ??= []).push(error ? error.name || 'non-error' : null);
  };
  return { calls, make };
}

const scenarios = {
  /** Every callback throws: each must run once, and each throw must surface once as an uncaught exception. */
  async 'throwing-callbacks'() {
    const knex = createKnex(config.knexConfig);
    const store = new Store({ knex, tableName: config.tables[0], cleanupInterval: 0 });
    await store.ready;
    const calls = {};
    const thrower = (label) => (method) => () => {
      const key = `${label}.${method}`;
      calls[key] = (calls[key] || 0) + 1;
      throw new Error(`thrown by ${key}`);
    };
    const ok = await callEveryMethod(store, thrower('ok'));
    // The same on the error path: an invalid sid fails every sid-taking method.
    const failing = {
      get: store.get('', thrower('error')('get')),
      set: store.set('', liveSession(), thrower('error')('set')),
      touch: store.touch('', liveSession(), thrower('error')('touch')),
      destroy: store.destroy('', thrower('error')('destroy')),
    };
    const failed = {};
    for (const [method, promise] of Object.entries(failing)) {
      failed[method] = await promise.then(
        () => 'resolved',
        () => 'rejected',
      );
    }
    await sleep(200);
    await store.close();
    await knex.destroy();
    return { calls, promises: { ok, error: failed } };
  },

  /** Database failures with callbacks: every callback gets the error once and nothing is left unhandled. */
  async 'database-errors'() {
    const [dropped, missing, destroyed, aborted, pruned] = config.tables;
    const knex = createKnex(config.knexConfig);
    const results = {};

    // The table disappears under a ready store.
    const a = new Store({ knex, tableName: dropped, cleanupInterval: 0 });
    await a.ready;
    await a.set('child-sid', liveSession({}));
    await knex.schema.dropTable(dropped);
    const droppedLog = recorder('dropped');
    results.dropped = { promises: await callEveryMethod(a, droppedLog.make), calls: droppedLog.calls };
    // touch on its own too: it is what express-session calls on most requests.
    const touchLog = recorder('dropped-touch');
    await a.touch('child-sid', liveSession({}), touchLog.make('touch'));
    results.droppedTouch = { calls: touchLog.calls };

    // createTable: false on a missing table, used before anyone awaited ready.
    const b = new Store({ knex, tableName: missing, createTable: false, cleanupInterval: 0 });
    const missingLog = recorder('missing');
    results.missing = { promises: await callEveryMethod(b, missingLog.make), calls: missingLog.calls };

    // knex destroyed under a ready store.
    const knex2 = createKnex(config.knexConfig);
    const c = new Store({ knex: knex2, tableName: destroyed, cleanupInterval: 0 });
    await c.ready;
    await knex2.destroy();
    const destroyedLog = recorder('destroyed');
    results.destroyed = { promises: await callEveryMethod(c, destroyedLog.make), calls: destroyedLog.calls };

    // knex destroyed while the store is still starting.
    const knex3 = createKnex(config.knexConfig);
    const d = new Store({ knex: knex3, tableName: aborted, cleanupInterval: 0 });
    await knex3.destroy();
    const abortedLog = recorder('aborted');
    results.aborted = { promises: await callEveryMethod(d, abortedLog.make), calls: abortedLog.calls };

    // The background prune failing: its errors go to onDbCleanupError, not to an unhandled rejection.
    const pruneErrors = [];
    const e = new Store({
      knex,
      tableName: pruned,
      createTable: false,
      cleanupInterval: 20,
      onDbCleanupError: (error) => pruneErrors.push(describe(error)),
    });
    for (let waited = 0; pruneErrors.length < 2 && waited < 5000; waited += 20) await sleep(20);
    results.pruneErrors = pruneErrors.length;

    await sleep(200);
    await Promise.all([a, b, c, d, e].map((store) => store.close()));
    await knex.destroy();
    return results;
  },

  /** close() waits for operations in flight, refuses later ones, and leaves nothing that keeps the process alive. */
  async lifecycle() {
    const knex = createKnex(config.knexConfig);
    const store = new Store({ knex, tableName: config.tables[0], cleanupInterval: 50 });
    await store.ready;
    const inflight = Array.from({ length: 10 }, (_, i) => store.set(`life-${i}`, liveSession({ i })));
    const closing = store.close();
    const settled = await Promise.allSettled(inflight);
    await closing;
    const log = recorder('closed');
    const afterClose = await callEveryMethod(store, log.make);
    const rows = await knex.table(config.tables[0]).count({ n: '*' }).first();
    await store.close();
    await knex.destroy();
    return {
      inflight: settled.map((result) => result.status),
      rows: Number(rows && rows.n),
      afterClose: { promises: afterClose, calls: log.calls },
    };
  },
};

async function main() {
  const scenario = scenarios[config.scenario];
  if (!scenario) throw new Error(`unknown scenario ${config.scenario}`);
  const result = await scenario();
  // Let any late callback, second call or stray rejection show up before reporting.
  await sleep(100);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ result, uncaught, unhandled })}\n`);
}

main().catch((error) => {
  const failed = error && error.stack ? error.stack : String(error);
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify({ failed, uncaught, unhandled })}\n`);
  process.exitCode = 1;
});
