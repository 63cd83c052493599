// `pnpm bench`: the store-level and HTTP scenarios over every contender whose database is reachable, then the table
// (printed), results/latest.json, results/latest.md and results/chart.svg.
//
//   node src/main.mjs [--quick] [--only=id,id] [--skip-store] [--skip-http]
//
// --quick shrinks every size and duration (a smoke run, figures meaningless); --only keeps the named contenders.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RESULTS_DIR, WORK_DIR, sizes } from './config.mjs';
import { CONTENDERS } from './contenders.mjs';
import { probeDatabases, resetDatabases } from './databases.mjs';
import { SCENARIOS, runHttpPhase } from './http-phase.mjs';
import { chart, markdown, summarise, targets, text } from './report.mjs';
import { runStorePhase } from './store-phase.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length).split(',');
const size = sizes(quick);
const started = Date.now();
const log = (line) => console.log(line.replace(/^(\n*)/, `$1[${String(Math.round((Date.now() - started) / 1000)).padStart(3)} s] `));

const STORE_SCENARIO = {
  id: 'store',
  label: `Store level: get then set, ${size.store.inFlight} in flight, ${size.store.sids} sessions`,
};

const available = await probeDatabases();
const reachable = (c) =>
  c.dialect === 'postgresql' ? Boolean(available.postgresql) : c.dialect === 'mysql' ? Boolean(available.mysql) : true;
const chosen = CONTENDERS.filter((c) => reachable(c) && (!only || only.includes(c.id)));
for (const [name, version] of Object.entries(available)) {
  log(version ? `${name}: ${version}` : `${name}: not reachable, its contenders are skipped`);
}

const machine = {
  date: new Date().toISOString().slice(0, 10),
  cpus: os.cpus().length,
  cpuModel: os.cpus()[0]?.model ?? 'unknown',
  memoryGb: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  platform: `${os.type()} ${os.release()}`,
  postgresql: available.postgresql?.split(' on ')[0],
  mysql: available.mysql,
  loadAverageAtStart: os.loadavg().map((v) => Number(v.toFixed(2))),
  quick,
  sizes: size,
  roundsNote: `${size.store.rounds} rounds`,
};

const raw = {};
const scenarios = [];
const reset = () => resetDatabases(available);
try {
  if (!args.includes('--skip-store')) {
    log(`\n${STORE_SCENARIO.label}`);
    await reset();
    raw.store = await runStorePhase(chosen, size.store, log);
    scenarios.push({ ...STORE_SCENARIO, rows: summarise(STORE_SCENARIO, chosen, raw.store) });
  }
  if (!args.includes('--skip-http')) {
    // The store-owned SQLite files are a store-level comparison; over HTTP each database runs once, on its knex.
    const contenders = chosen.filter((c) => c.dialect !== 'sqlite-default');
    const http = size.http;
    const about = (scenario) =>
      `HTTP ${scenario.label}: express 5, ${http.connections} connections` +
      (scenario.login ? `, ${http.users} logged-in users` : '');
    log(`\nHTTP: ${contenders.length} contenders behind express 5 + express-session, loaded by autocannon`);
    await reset();
    const results = await runHttpPhase(contenders, http, log);
    for (const scenario of SCENARIOS) {
      raw[scenario.id] = results[scenario.id];
      const ran = contenders.filter((c) => results[scenario.id].has(c.id));
      scenarios.push({ id: scenario.id, label: about(scenario), rows: summarise(scenario, ran, results[scenario.id]) });
    }
  }
} finally {
  await reset().catch(() => undefined);
  rmSync(WORK_DIR, { recursive: true, force: true });
}

machine.loadAverageAtEnd = os.loadavg().map((v) => Number(v.toFixed(2)));
machine.durationS = Math.round((Date.now() - started) / 1000);
const report = { machine, scenarios, targets: targets(raw) };

console.log(text(report));
console.log(
  `\n${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.postgresql ?? 'no PostgreSQL'}, ` +
    `MariaDB ${machine.mysql ?? 'not reachable'}; load average ${machine.loadAverageAtStart.join(' ')} at the start, ` +
    `${machine.loadAverageAtEnd.join(' ')} at the end; ${machine.durationS} s in all.`,
);

if (quick || only) {
  console.log('\n(--quick or --only: results not saved)');
} else {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify(report, (key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2);
  writeFileSync(path.join(RESULTS_DIR, 'latest.json'), `${json}\n`);
  writeFileSync(path.join(RESULTS_DIR, 'latest.md'), markdown(report));
  writeFileSync(path.join(RESULTS_DIR, 'chart.svg'), chart(report));
  console.log(`\nSaved ${path.relative(process.cwd(), RESULTS_DIR)}/latest.json, latest.md and chart.svg`);
}
