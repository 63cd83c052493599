'use strict';
/**
 * A store in a process of its own, driven over IPC by `workers.ts`: the multi-process scenarios (concurrent first
 * writes, boot races, time zones) start several of these and tell them what to do, all at the same moment.
 *
 * Each request is `{ id, op, args }`; each reply `{ id, ok: true, value }` or `{ id, ok: false, error }`. The process
 * runs with the environment its parent chose (TZ above all) and exits once its parent disconnects.
 */
const path = require('node:path');
const { createRequire } = require('node:module');

const realNow = Date.now;
let knex;
let Store;
let store;

/** The operations a parent may ask for. */
const ops = {
  /**
   * Load knex and the store class from the package under test, open a knex, run `sessionSql` on each of its
   * connections (the database session's time zone, say), and hold one connection open so a later race is a race of
   * statements, not of connects.
   */
  async load({ packageDir, storeModule, storeExport, knexConfig, clientModule, sessionSql = [] }) {
    const load = createRequire(path.join(packageDir, 'package.json'));
    const knexModule = load('knex');
    const createKnex = knexModule.knex || knexModule.default || knexModule;
    Store = load(storeModule)[storeExport];
    if (typeof Store !== 'function') throw new Error(`${storeModule} has no export ${storeExport}`);
    const config = { ...knexConfig };
    if (clientModule) {
      // A Client class (PGlite's) cannot travel as JSON: load it here. Such clients own a single connection.
      const client = load(clientModule);
      config.client = client.default || client;
      knex = createKnex(config);
      for (const sql of sessionSql) await knex.raw(sql);
    } else {
      config.pool = {
        ...config.pool,
        afterCreate(connection, done) {
          // Every driver knex speaks (pg, mysql, mysql2, mariadb's callback API) has query(sql, callback).
          sessionSql.reduce(
            (chain, sql) => chain.then(() => new Promise((resolve, reject) => connection.query(sql, (e) => (e ? reject(e) : resolve())))),
            Promise.resolve(),
          ).then(() => done(null, connection), (error) => done(error, connection));
        },
      };
      knex = createKnex(config);
    }
    await knex.raw('select 1');
    return { pid: process.pid, timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone };
  },

  /** Build the store and wait until its table is ready. */
  async boot({ storeOptions }) {
    store = new Store({ cleanupInterval: 0, ...storeOptions, knex });
    await store.ready;
    return true;
  },

  /** Close the store (the knex stays open for the next boot). */
  async unboot() {
    if (store) await store.close();
    store = undefined;
    return true;
  },

  /** Call one store method; resolves what it resolved. */
  async call({ method, args = [] }) {
    return store[method](...args);
  },

  /** Write every session at once; resolves the messages of the writes that failed. */
  async sets({ writes }) {
    const results = await Promise.allSettled(writes.map(({ sid, session }) => store.set(sid, session)));
    return results.filter((result) => result.status === 'rejected').map((result) => describe(result.reason));
  },

  /** Freeze the clock the store reads ("now") at `now`, or let it run again with `null`. */
  async clock({ now }) {
    Date.now = now === null ? realNow : () => now;
    return true;
  },

  /** The value of one SQL expression (bindings through knex), e.g. the session's time zone. */
  async scalar({ expression, bindings = [] }) {
    const row = await knex.select(knex.raw(`${expression} as ??`, [...bindings, 'value'])).first();
    return row ? row.value : undefined;
  },

  /** The value of `expression` (with `??` for `column`) in the row of `sid`, or null without such a row. */
  async cell({ tableName, sidColumn, sid, expression, column }) {
    const row = await knex(tableName).select(knex.raw(`${expression} as ??`, [column, 'value'])).where(sidColumn, sid).first();
    return row ? row.value : null;
  },

  /** Drop a table (the worker's own database may be the only one that has it). */
  async drop({ tableName }) {
    await knex.schema.dropTableIfExists(tableName);
    return true;
  },

  async close() {
    if (store) await store.close();
    if (knex) await knex.destroy();
    store = undefined;
    knex = undefined;
    return true;
  },
};

function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : `non-error: ${String(error)}`;
}

process.on('message', (message) => {
  const { id, op, args } = message;
  Promise.resolve()
    .then(() => {
      if (!ops[op]) throw new Error(`unknown operation ${op}`);
      return ops[op](args || {});
    })
    .then(
      (value) => process.send({ id, ok: true, value: value === undefined ? null : value }),
      (error) => process.send({ id, ok: false, error: { message: describe(error), stack: error && error.stack } }),
    );
});
process.on('disconnect', () => {
  Promise.resolve(ops.close()).finally(() => process.exit(0));
});
