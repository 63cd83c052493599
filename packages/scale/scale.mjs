// The scale benchmark of the store. It prints figures and asserts no timing: speed targets live here, never in a test.
//
//   pnpm --filter @csk/scale scale              full sizes: 10k, 100k and 1M rows; prune 1M rows; 1M requests
//   pnpm --filter @csk/scale scale -- --small   the CI sizes (what test/scale.test.ts runs)
//
// Engines: SQLite always (a temporary file, WAL, like the store's default database), PostgreSQL when CSK_PG_URL is
// set, MySQL/MariaDB when CSK_MYSQL_URL is set. Knobs (environment):
//   CSK_SCALE_ENGINES        comma list of sqlite, postgres, mysql (default: those available)
//   CSK_SCALE_SIZES          table sizes for the get latency (default 10000,100000,1000000)
//   CSK_SCALE_SAMPLES        gets timed at each size (default 5000)
//   CSK_SCALE_PRUNE_ROWS     expired rows pruned under load (default 1000000)
//   CSK_SCALE_CLIENTS        concurrent clients doing get/set during the prune (default 50)
//   CSK_SCALE_PHASE_MS       length of the load phase without the prune (default 10000)
//   CSK_SCALE_REQUESTS       requests of the memory and handle check (default 1000000)
//   CSK_SCALE_MEMORY_ENGINE  engine of that check (default sqlite)
//   CSK_SCALE_SQLITE_CLIENT  sqlite3 (default, the store's own default driver) or better-sqlite3
// The last line of output is `SCALE_RESULT <json>` with every figure, for tools.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { SqliteStore } from '@csk/sqlite';
import { PostgresStore } from '@csk/postgres';
import { MysqlStore } from '@csk/mysql';

const small = process.argv.includes('--small');
const env = (name, full, smallValue) => process.env[name] ?? String(small ? smallValue : full);
const int = (name, full, smallValue) => {
  const value = Number(env(name, full, smallValue));
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};

const config = {
  sizes: env('CSK_SCALE_SIZES', '10000,100000,1000000', '2000,10000').split(',').map(Number),
  samples: int('CSK_SCALE_SAMPLES', 5000, 500),
  pruneRows: int('CSK_SCALE_PRUNE_ROWS', 1_000_000, 10_000),
  clients: int('CSK_SCALE_CLIENTS', 50, 50),
  phaseMs: int('CSK_SCALE_PHASE_MS', 10_000, 1500),
  requests: int('CSK_SCALE_REQUESTS', 1_000_000, 20_000),
  memoryEngine: env('CSK_SCALE_MEMORY_ENGINE', 'sqlite', 'sqlite'),
  sqliteClient: env('CSK_SCALE_SQLITE_CLIENT', 'sqlite3', 'sqlite3'),
};
const HOUR = 3_600_000;
const LIVE_ROWS = 10_000;
const tempDir = mkdtempSync(path.join(tmpdir(), 'csk-scale-'));

/** Every engine the run can reach, each with its knex config, store class and ANALYZE statement. */
const ENGINES = {
  sqlite: {
    available: true,
    knexConfig: () => ({
      client: config.sqliteClient,
      connection: { filename: path.join(tempDir, `scale-${randomBytes(3).toString('hex')}.sqlite`) },
      useNullAsDefault: true,
      pool: {
        afterCreate(connection, done) {
          if (typeof connection.pragma !== 'function') {
            connection.run('PRAGMA journal_mode = WAL', (error) => done(error, connection));
            return;
          }
          connection.pragma('journal_mode = WAL');
          done(null, connection);
        },
      },
    }),
    Store: SqliteStore,
    analyze: (knex) => knex.raw('analyze'),
    label: () => `SQLite (${config.sqliteClient}, file, WAL)`,
  },
  postgres: {
    available: Boolean(process.env.CSK_PG_URL),
    knexConfig: () => ({ client: 'pg', connection: process.env.CSK_PG_URL, pool: { min: 0, max: 10 } }),
    Store: PostgresStore,
    analyze: (knex, table) => knex.raw('analyze ??', [table]),
    label: () => 'PostgreSQL (pg)',
  },
  mysql: {
    available: Boolean(process.env.CSK_MYSQL_URL),
    knexConfig: () => {
      const url = new URL(process.env.CSK_MYSQL_URL);
      return {
        client: 'mysql2',
        connection: {
          host: url.hostname,
          port: Number(url.port || 3306),
          user: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
          database: url.pathname.slice(1),
          charset: 'utf8mb4',
        },
        pool: { min: 0, max: 10 },
      };
    },
    Store: MysqlStore,
    analyze: (knex, table) => knex.raw('analyze table ??', [table]),
    label: () => 'MySQL/MariaDB (mysql2)',
  },
};

const engines = (
  process.env.CSK_SCALE_ENGINES ??
  Object.keys(ENGINES)
    .filter((name) => ENGINES[name].available)
    .join(',')
)
  .split(',')
  .filter(Boolean);
for (const name of engines) {
  if (!ENGINES[name]) throw new Error(`unknown engine ${name}: use sqlite, postgres or mysql`);
  if (!ENGINES[name].available) throw new Error(`engine ${name} needs its URL (CSK_PG_URL or CSK_MYSQL_URL)`);
}

const ms = (value) => Math.round(value * 1000) / 1000;
function percentiles(samples) {
  const sorted = Float64Array.from(samples).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
  return { n: sorted.length, p50: ms(at(50)), p99: ms(at(99)), max: ms(sorted[sorted.length - 1] ?? Number.NaN) };
}
const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const session = (n, lifetime = HOUR) => ({
  cookie: { originalMaxAge: lifetime, expires: new Date(Date.now() + lifetime), httpOnly: true, path: '/' },
  user: { id: n, name: `user ${n}` },
  views: n % 100,
});
const tableName = (engine, what) => `csk_scale_${engine}_${what}_${randomBytes(3).toString('hex')}`;

/**
 * Insert rows `from` to `to` (exclusive) of `prefix`, `expiresMs` each, in multi-row statements (400 rows on SQLite,
 * where knex writes them as a compound SELECT of at most 500 terms; 1000 elsewhere), in one transaction per 50.
 */
async function load(knex, store, table, prefix, from, to, expiresMs) {
  const expired = store.adapter.encodeExpiry(expiresMs, knex);
  const sess = JSON.stringify(session(0));
  const chunk = store.adapter.name === 'sqlite' ? 400 : 1000;
  for (let start = from; start < to; start += chunk * 50) {
    await knex.transaction(async (trx) => {
      for (let first = start; first < Math.min(to, start + chunk * 50); first += chunk) {
        const rows = [];
        for (let n = first; n < Math.min(to, first + chunk); n += 1) rows.push({ sid: `${prefix}${n}`, sess, expired });
        await trx.table(table).insert(rows);
      }
    });
  }
}

/** get latency by table size: the same table grown from size to size, analysed, then gets of random live sids. */
async function getLatency(name) {
  const engine = ENGINES[name];
  const knex = knexFactory(engine.knexConfig());
  const table = tableName(name, 'get');
  const store = new engine.Store({ knex, tableName: table, cleanupInterval: 0 });
  const figures = [];
  try {
    await store.ready;
    let loaded = 0;
    for (const size of config.sizes) {
      const started = performance.now();
      await load(knex, store, table, 's', loaded, size, Date.now() + 24 * HOUR);
      loaded = size;
      await engine.analyze(knex, table);
      const loadSeconds = (performance.now() - started) / 1000;
      for (let i = 0; i < 200; i += 1) await store.get(`s${Math.floor(Math.random() * size)}`);
      const samples = [];
      for (let i = 0; i < config.samples; i += 1) {
        const sid = `s${Math.floor(Math.random() * size)}`;
        const begin = performance.now();
        const found = await store.get(sid);
        samples.push(performance.now() - begin);
        if (!found) throw new Error(`get(${sid}) found nothing in a table of ${size} live rows`);
      }
      const figure = { rows: size, ...percentiles(samples), loadSeconds: Math.round(loadSeconds * 10) / 10 };
      figures.push(figure);
      console.log(
        `  ${engine.label()}: get at ${size} rows: p50 ${figure.p50} ms, p99 ${figure.p99} ms (${figure.n} gets)`,
      );
    }
  } finally {
    await store.close();
    await knex.schema.dropTableIfExists(table);
    await knex.destroy();
  }
  const first = figures[0];
  const last = figures[figures.length - 1];
  return { figures, p50Ratio: ms(last.p50 / first.p50), p99Ratio: ms(last.p99 / first.p99) };
}

/**
 * `clients` loops of get then set on live sids, until `until()` says stop. Resolves the latency of each operation
 * that `counts(begin)` accepts (by its start time), as percentiles.
 */
async function clientLoad(store, clients, until, counts = () => true) {
  const samples = [];
  let errors = 0;
  const record = (begin) => {
    if (counts(begin)) samples.push(performance.now() - begin);
  };
  const client = async () => {
    while (!until()) {
      const n = Math.floor(Math.random() * LIVE_ROWS);
      const sid = `live${n}`;
      let begin = performance.now();
      try {
        const found = await store.get(sid);
        record(begin);
        begin = performance.now();
        await store.set(sid, { ...(found ?? session(n, 24 * HOUR)), views: (found?.views ?? 0) + 1 });
        record(begin);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { ...percentiles(samples), errors };
}

/** Prune many expired rows in batches while clients do get/set: their latency with and without the prune. */
async function pruneUnderLoad(name) {
  const engine = ENGINES[name];
  const knex = knexFactory(engine.knexConfig());
  const table = tableName(name, 'prune');
  const store = new engine.Store({ knex, tableName: table, cleanupInterval: 0 });
  try {
    await store.ready;
    const started = performance.now();
    await load(knex, store, table, 'live', 0, LIVE_ROWS, Date.now() + 24 * HOUR);
    await load(knex, store, table, 'old', 0, config.pruneRows, Date.now() - HOUR);
    await engine.analyze(knex, table);
    const loadSeconds = Math.round((performance.now() - started) / 100) / 10;

    const quietEnd = performance.now() + config.phaseMs;
    const quiet = await clientLoad(store, config.clients, () => performance.now() > quietEnd);

    // Only operations that started while the prune ran count as "during".
    let pruneEnd = Infinity;
    const pruneStart = performance.now();
    const pruning = store.prune().then((deleted) => {
      pruneEnd = performance.now();
      return { deleted, seconds: Math.round((pruneEnd - pruneStart) / 10) / 100 };
    });
    const busy = await clientLoad(
      store,
      config.clients,
      () => performance.now() > pruneEnd,
      (begin) => begin < pruneEnd,
    );
    const prune = await pruning;
    const left = Number((await knex.table(table).count({ n: '*' }).first()).n);
    const result = {
      rowsExpired: config.pruneRows,
      loadSeconds,
      withoutPrune: quiet,
      duringPrune: busy,
      prune: { ...prune, rowsPerSecond: Math.round(prune.deleted / Math.max(prune.seconds, 0.001)), rowsLeft: left },
      p99Ratio: ms(busy.p99 / quiet.p99),
    };
    console.log(
      `  ${engine.label()}: prune of ${prune.deleted} expired rows took ${prune.seconds} s ` +
        `(${result.prune.rowsPerSecond} rows/s) under ${config.clients} clients; client p99 ${busy.p99} ms during, ` +
        `${quiet.p99} ms without (x${result.p99Ratio}); p50 ${busy.p50} / ${quiet.p50} ms; errors ${
          busy.errors + quiet.errors
        }`,
    );
    return result;
  } finally {
    await store.close();
    await knex.schema.dropTableIfExists(table);
    await knex.destroy();
  }
}

/** The kinds of active handles and requests, counted. */
function resources() {
  const counts = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}
function leftOver(before, after) {
  const left = {};
  for (const [kind, count] of Object.entries(after))
    if (count > (before[kind] ?? 0)) left[kind] = count - (before[kind] ?? 0);
  return left;
}
function settledRss() {
  for (let i = 0; i < 3; i += 1) global.gc?.();
  return process.memoryUsage();
}

/** Many requests through one store (default prune on): RSS growth, and what is left running after close(). */
async function memoryAndHandles(name) {
  const engine = ENGINES[name];
  const before = resources();
  const knex = knexFactory(engine.knexConfig());
  const table = tableName(name, 'mem');
  const store = new engine.Store({ knex, tableName: table });
  const sids = 1000;
  const concurrency = 16;
  let issued = 0;
  const worker = async (limit) => {
    while (issued < limit) {
      const n = issued % sids;
      issued += 1;
      const sid = `m${n}`;
      switch (issued % 4) {
        case 0:
          await store.set(sid, session(n));
          break;
        case 1:
          await store.get(sid);
          break;
        case 2:
          await store.touch(sid, session(n));
          break;
        default:
          if (n % 10 === 0) await store.destroy(sid);
          else await store.get(sid);
      }
    }
  };
  const run = (limit) => Promise.all(Array.from({ length: concurrency }, () => worker(limit)));
  const warmup = Math.min(50_000, Math.floor(config.requests / 10));
  const started = performance.now();
  await run(warmup);
  const baseline = settledRss();
  await run(config.requests);
  const seconds = (performance.now() - started) / 1000;
  const final = settledRss();
  await store.close();
  await knex.schema.dropTableIfExists(table);
  await knex.destroy();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const left = leftOver(before, resources());
  const result = {
    engine: name,
    requests: issued,
    seconds: Math.round(seconds * 10) / 10,
    requestsPerSecond: Math.round(issued / seconds),
    rssBaselineMb: mb(baseline.rss),
    rssGrowthMb: mb(final.rss - baseline.rss),
    heapGrowthMb: mb(final.heapUsed - baseline.heapUsed),
    gcExposed: typeof global.gc === 'function',
    resourcesLeftAfterClose: left,
  };
  console.log(
    `  ${engine.label()}: ${issued} requests in ${result.seconds} s; RSS growth after warm-up ${
      result.rssGrowthMb
    } MB ` + `(heap ${result.heapGrowthMb} MB); left after close(): ${JSON.stringify(left)}`,
  );
  return result;
}

const results = { small, config, engines: {}, memory: undefined };
try {
  console.log(`scale benchmark (${small ? 'CI sizes' : 'full sizes'}), engines: ${engines.join(', ')}`);
  for (const name of engines) {
    console.log(`${ENGINES[name].label()}`);
    results.engines[name] = { label: ENGINES[name].label(), get: await getLatency(name) };
    results.engines[name].prune = await pruneUnderLoad(name);
  }
  if (!engines.includes(config.memoryEngine)) throw new Error(`memory engine ${config.memoryEngine} is not in the run`);
  console.log(`memory and handles (${ENGINES[config.memoryEngine].label()})`);
  results.memory = await memoryAndHandles(config.memoryEngine);
} catch (error) {
  // A failed multi-row insert's message holds its whole SQL: the first lines say enough.
  console.error(`scale benchmark failed: ${String(error?.message ?? error).slice(0, 600)}`);
  process.exitCode = 1;
} finally {
  rmSync(tempDir, { recursive: true, force: true });
}
if (process.exitCode) process.exit();
console.log(`SCALE_RESULT ${JSON.stringify(results)}`);
