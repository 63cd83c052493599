// `pnpm bench`: the store-level and HTTP scenarios over every contender whose database is reachable, the import cost,
// then /write and /read again with the databases behind a link with real latency; then the table (printed),
// results/latest.json, results/latest.md, results/chart.svg (req/s) and results/targets.svg (each target against its goal).
//
//   node src/main.mjs [--quick] [--only=id,id] [--skip-store] [--skip-http] [--skip-import]
//                     [--latency=MS | --no-latency | --latency-only] [--scenarios=write,read] [--rounds=N]
//
// --quick shrinks every size and duration (a smoke run, figures meaningless); --only keeps the named contenders.
// --latency sets the round trip to the servers in the latency pass (whole ms, default 1; see src/latency.mjs);
// --no-latency skips that pass, --latency-only runs only it. Only a full run (--latency and --rounds allowed) saves.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MYSQL_URL, PG_SERVER_URL, REDIS_URL, RESULTS_DIR, WORK_DIR, sizes } from './config.mjs';
import { CONTENDERS } from './contenders.mjs';
import { probeDatabases, resetDatabases } from './databases.mjs';
import { SCENARIOS, runHttpPhase } from './http-phase.mjs';
import { measureImportCost } from './import-cost.mjs';
import { runBehindLatency } from './latency.mjs';
import { saveRenderings, summarise, targets, text } from './report.mjs';
import { runStorePhase } from './store-phase.mjs';

const args = process.argv.slice(2);
const option = (name) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const quick = args.includes('--quick');
const only = option('only')?.split(',');
/** Set in the child of the latency pass: where to write its results, and which scenarios to run. */
const inner = option('inner');
const latencyOnly = args.includes('--latency-only');
const roundTripMs = Math.max(1, Math.round(Number(option('latency') ?? 1)));
const size = sizes(quick);
/** --scenarios=write,read keeps those HTTP scenarios; --rounds=N sets the rounds of every phase. */
const scenarioIds = option('scenarios')?.split(',');
const httpScenarios = SCENARIOS.filter((s) => !scenarioIds || scenarioIds.includes(s.id));
if (option('rounds')) size.store.rounds = size.http.rounds = Number(option('rounds'));
const started = Date.now();
const log = (line) => console.log(line.replace(/^(\n*)/, `$1[${String(Math.round((Date.now() - started) / 1000)).padStart(3)} s] `));

/** The scenarios and contenders of the latency pass: the network databases' stores, /write and /read. */
const LATENCY_SCENARIOS = ['write', 'read'];
const LATENCY_CONTENDERS = ['redis', 'pg-floor', 'pg-ours', 'pg-ours-single', 'pg-simple', 'my-floor', 'my-ours', 'my-ours-single', 'my-session'];

const STORE_SCENARIO = {
  id: 'store',
  label: `Store level: get then set, ${size.store.inFlight} in flight, ${size.store.sids} sessions`,
};

const available = await probeDatabases();
const reachable = (c) => (c.dialect in available ? Boolean(available[c.dialect]) : true);
const chosen = CONTENDERS.filter((c) => reachable(c) && (!only || only.includes(c.id)));
for (const [name, version] of Object.entries(available)) {
  log(version ? `${name}: ${version}` : `${name}: not reachable, its contenders are skipped`);
}

const about = (scenario, http) =>
  `HTTP ${scenario.label}: express 5, ${http.connections} connections` + (scenario.login ? `, ${http.users} logged-in users` : '');

/** The HTTP phase over `contenders` and `scenarios`: per scenario id, the raw results and the summary rows. */
async function http(contenders, scenarios) {
  log(`\nHTTP: ${contenders.length} contenders behind express 5 + express-session, loaded by autocannon`);
  const results = await runHttpPhase(contenders, size.http, log, scenarios);
  return scenarios.map((scenario) => {
    const ran = contenders.filter((c) => results[scenario.id].has(c.id));
    return { scenario, results: results[scenario.id], rows: summarise(scenario, ran, results[scenario.id]) };
  });
}

// The child of the latency pass: the HTTP scenarios only, its results to a file for the parent.
if (inner) {
  const scenarios = SCENARIOS.filter((s) => LATENCY_SCENARIOS.includes(s.id));
  try {
    await resetDatabases(available);
    const done = await http(chosen, scenarios);
    const out = done.map(({ scenario, results, rows }) => ({ id: scenario.id, rows, results: [...results] }));
    writeFileSync(inner, JSON.stringify(out));
  } finally {
    await resetDatabases(available).catch(() => undefined);
  }
  process.exit(0);
}

/** The latency pass: this script again, its database connections through a relay that delays every reply. */
async function latencyPass() {
  const ids = LATENCY_CONTENDERS.filter((id) => chosen.some((c) => c.id === id));
  if (ids.length === 0) return { skipped: 'none of its contenders was chosen', scenarios: [] };
  log(`\nLatency pass: the databases a ${roundTripMs} ms round trip away, ${ids.join(', ')}`);
  const file = path.join(os.tmpdir(), `csk-bench-latency-${process.pid}.json`);
  const servers = [
    { name: 'PostgreSQL', url: PG_SERVER_URL, defaultPort: 5432, env: 'CSK_PG_URL' },
    { name: 'MariaDB', url: MYSQL_URL, defaultPort: 3306, env: 'CSK_MYSQL_URL' },
    { name: 'Redis', url: REDIS_URL, defaultPort: 6379, env: 'CSK_REDIS_URL' },
  ].filter((server) => available[{ CSK_PG_URL: 'postgresql', CSK_MYSQL_URL: 'mysql', CSK_REDIS_URL: 'redis' }[server.env]]);
  const argv = [fileURLToPath(import.meta.url), `--inner=${file}`, `--only=${ids.join(',')}`, ...args.filter((a) => /^--(quick|rounds=)/.test(a))];
  try {
    const code = await runBehindLatency({ roundTripMs, servers, argv });
    if (code !== 0) throw new Error(`the latency pass exited with ${code}`);
    const out = JSON.parse(readFileSync(file, 'utf8'));
    const scenarios = out.map(({ id, rows, results }) => {
      const scenario = SCENARIOS.find((s) => s.id === id);
      const label = `${about(scenario, size.http)}; databases ${roundTripMs} ms round trip away`;
      return { id: `${id}@latency`, label, rows: rows.map((row) => ({ ...row, scenario: `${id}@latency` })), results: new Map(results) };
    });
    return { roundTripMs, scenarios };
  } finally {
    rmSync(file, { force: true });
  }
}

const machine = {
  date: new Date().toISOString().slice(0, 10),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  postgresql: available.postgresql,
  mysql: available.mysql,
  redis: available.redis,
  loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  quick,
  sizes: size,
  roundsNote: `${size.store.rounds} rounds`,
};

const raw = {};
const scenarios = [];
let importCost;
let latency;
const reset = () => resetDatabases(available);
try {
  if (!args.includes('--skip-store') && !latencyOnly) {
    log(`\n${STORE_SCENARIO.label}`);
    await reset();
    raw.store = await runStorePhase(chosen, size.store, log);
    scenarios.push({ ...STORE_SCENARIO, rows: summarise(STORE_SCENARIO, chosen, raw.store) });
  }
  if (!args.includes('--skip-http') && !latencyOnly) {
    // The store-owned SQLite files are a store-level comparison; over HTTP each database runs once, on its knex.
    await reset();
    for (const { scenario, results, rows } of await http(chosen.filter((c) => c.dialect !== 'sqlite-default'), httpScenarios)) {
      raw[scenario.id] = results;
      scenarios.push({ id: scenario.id, label: about(scenario, size.http), rows });
    }
  }
  if (!args.includes('--skip-import') && !latencyOnly) {
    log('\nImport cost: heap and RSS growth of a fresh process importing each store (and knex)');
    importCost = measureImportCost(quick ? 1 : 5);
  }
  if (!args.includes('--no-latency')) {
    await reset();
    latency = await latencyPass();
    for (const { id, label, rows, results } of latency.scenarios) {
      raw[id] = results;
      scenarios.push({ id, label, rows });
    }
    latency.scenarios = latency.scenarios.map((s) => s.id);
  }
} finally {
  await reset().catch(() => undefined);
  rmSync(WORK_DIR, { recursive: true, force: true });
}

machine.loadAverageAtEnd = os.loadavg().map((v) => Number(v.toFixed(2)));
machine.durationS = Math.round((Date.now() - started) / 1000);
const report = { machine, scenarios, importCost, latency, targets: targets(raw, { scenarios, importCost }) };

console.log(text(report));
console.log(
  `\n${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.postgresql ?? 'no PostgreSQL'}, ` +
    `MariaDB ${machine.mysql ?? 'not reachable'}, ${machine.redis ?? 'no Redis'}; load average ` +
    `${machine.loadAverageAtStart.join(' ')} at the start, ${machine.loadAverageAtEnd.join(' ')} at the end; ` +
    `${machine.durationS} s in all.`,
);

// Only a full run replaces the saved one: a run that skipped a phase, a scenario or a contender would leave
// results/latest.* with holes (and the README's figures without their source). --latency and --rounds change what
// is measured, not what is there, and the report names both.
const skipping = ['--skip-store', '--skip-http', '--skip-import', '--no-latency'].some((flag) => args.includes(flag));
if (quick || only || latencyOnly || scenarioIds || skipping) {
  console.log('\n(a partial run: --quick, --only, --scenarios, --skip-*, --no-latency or --latency-only; not saved)');
} else {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(report, (key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${json}\n`);
  const written = saveRenderings(report, RESULTS_DIR);
  console.log(`\nSaved ${path.relative(process.cwd(), RESULTS_DIR)}/latest.json, ${written.join(', ')}`);
}
