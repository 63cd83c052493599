// Figures from the trials: medians, the ratios to the floor and to ours, the targets, and the table, JSON, Markdown
// and SVG charts they are published as. Run as a script, it writes latest.md and the charts again from a saved
// latest.json (see the end of this file).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESULTS_DIR } from './config.mjs';
import { median } from './stats.mjs';
import { MET_COLOURS, escape, svgDocument } from './svg.mjs';
import { targetsChart } from './targets-chart.mjs';

/** The database a contender's dialect runs on, as people read it. */
export const DATABASE_LABELS = {
  memory: 'memory',
  postgresql: 'PostgreSQL',
  mysql: 'MariaDB',
  sqlite: 'SQLite (better-sqlite3)',
  'sqlite-default': 'SQLite (store-owned file)',
  redis: 'Redis',
};

/** The median over rounds of `a[r] / b[r]`: ratios taken within a round, where both ran under the same load. */
function pairedRatio(a, b) {
  if (!a || !b) return Number.NaN;
  const rounds = Math.min(a.trials.length, b.trials.length);
  return median(Array.from({ length: rounds }, (_, r) => a.trials[r].rps / b.trials[r].rps));
}

/**
 * One row per contender of a scenario: median req/s, p50 and p99 (ms), peak RSS, and the paired ratios to the floor
 * and to ours on the same database.
 */
export function summarise(scenario, contenders, results) {
  const of = (dialect, role) => contenders.find((c) => c.dialect === dialect && c.role === role && results.has(c.id));
  return contenders
    .filter((c) => results.has(c.id))
    .map((c) => {
      const result = results.get(c.id);
      const floor = of(c.dialect, 'floor');
      const ours = of(c.dialect, 'ours');
      return {
        scenario: scenario.id,
        contender: c.id,
        label: c.label,
        database: DATABASE_LABELS[c.dialect],
        dialect: c.dialect,
        role: c.role,
        rps: median(result.trials.map((t) => t.rps)),
        p50Ms: median(result.trials.map((t) => t.p50)),
        p99Ms: median(result.trials.map((t) => t.p99)),
        peakRssBytes: result.rssBytes,
        cpuUsPerRequest: median(result.trials.map((t) => t.cpuUs)),
        // HTTP trials only (a store-level trial's time includes its warm-up); older results have none.
        databaseCpuUsPerRequest: median(result.trials.map((t) => t.databaseCpuUs ?? Number.NaN)),
        sequentialUs: Number.isFinite(result.sequentialUs) ? result.sequentialUs : Number.NaN,
        failures: result.trials.reduce((sum, t) => sum + t.failures, 0),
        rounds: result.trials.map((t) => Math.round(t.rps)),
        toFloor: floor ? pairedRatio(result, results.get(floor.id)) : Number.NaN,
        toOurs: ours ? pairedRatio(result, results.get(ours.id)) : Number.NaN,
      };
    });
}

/** The ratio of contender `a` to contender `b` in `scenario` (paired by round), or NaN when either is missing. */
export function ratio(raw, scenario, a, b) {
  const results = raw[scenario];
  return results ? pairedRatio(results.get(a), results.get(b)) : Number.NaN;
}

/** How many times faster `a` served one request at a time than `b` (their best batches), or NaN. */
export function uncontendedRatio(raw, a, b) {
  const x = raw.store?.get(a)?.sequentialUs;
  const y = raw.store?.get(b)?.sequentialUs;
  return Number.isFinite(x) && Number.isFinite(y) ? y / x : Number.NaN;
}

const MB = 1024 * 1024;

/**
 * Every target, each with its measured value: `kind` 'ratio' (req/s of one contender over another's, paired by round;
 * met when at least `goal`), or 'mb' (megabytes more than the reference; met when at most `goal`). The HTTP targets
 * are taken on loopback and, where the latency pass ran, with the databases a round trip away (`@latency`).
 */
export function targets(raw, { scenarios = [], importCost } = {}) {
  const list = [];
  const ran = (scenario) => Boolean(raw[scenario]);
  const t = (scenario, name, a, b, goal) => {
    const value = ratio(raw, scenario, a, b);
    const uncontended = scenario === 'store' ? uncontendedRatio(raw, a, b) : Number.NaN;
    list.push({ kind: 'ratio', scenario, name, ratio: value, value, goal, met: Number.isFinite(value) ? value >= goal : null, uncontended });
  };
  const mb = (scenario, name, bytes, goalMb) => {
    const value = bytes / MB;
    list.push({ kind: 'mb', scenario, name, value, goal: goalMb, met: Number.isFinite(value) ? value <= goalMb : null });
  };
  for (const scenario of ['write', 'read', 'write@latency', 'read@latency']) {
    if (scenario.endsWith('@latency') && !ran(scenario)) continue;
    const route = `/${scenario.replace('@latency', '')}`;
    t(scenario, `${route}: @csk/mysql ÷ express-mysql-session`, 'my-ours', 'my-session', 1.2);
    t(scenario, `${route}: @csk/mysql with coalesce: false ÷ express-mysql-session`, 'my-ours-single', 'my-session', 1.2);
    t(scenario, `${route}: @csk/postgres ÷ connect-pg-simple`, 'pg-ours', 'pg-simple', 1.3);
    t(scenario, `${route}: @csk/postgres with coalesce: false ÷ connect-pg-simple`, 'pg-ours-single', 'pg-simple', 1.3);
    if (!scenario.endsWith('@latency')) t(scenario, `${route}: @csk/sqlite ÷ better-sqlite3 raw floor`, 'sq-ours', 'sq-floor', 0.9);
    if (scenario.startsWith('write')) {
      t(scenario, `${route}: @csk/postgres ÷ connect-redis`, 'pg-ours', 'redis', 0.6);
      t(scenario, `${route}: @csk/postgres with coalesce: false ÷ connect-redis`, 'pg-ours-single', 'redis', 0.6);
    }
  }
  // Peak RSS of the HTTP server process over the whole HTTP phase, ours against the raw floor on the same database.
  const write = scenarios.find((s) => s.id === 'write');
  for (const dialect of ['postgresql', 'mysql', 'sqlite']) {
    const ours = write?.rows.find((r) => r.dialect === dialect && r.role === 'ours');
    const floor = write?.rows.find((r) => r.dialect === dialect && r.role === 'floor');
    const label = ours ? `${ours.label}` : dialect;
    mb('memory', `peak RSS over HTTP: ${label} − its raw floor`, ours && floor ? ours.peakRssBytes - floor.peakRssBytes : Number.NaN, 15);
  }
  const meta = importCost?.find((entry) => entry.id === 'meta');
  const v5 = importCost?.find((entry) => entry.id === 'v5');
  mb('import', 'import: connect-session-knex + knex − connect-session-knex 5 + knex (heap + RSS growth)', meta && v5 ? meta.totalBytes - v5.totalBytes : Number.NaN, 0);
  // Earlier issues' targets, still measured.
  t('store', '@csk/postgres ÷ pg raw floor', 'pg-ours', 'pg-floor', 0.9);
  t('store', '@csk/mysql ÷ mysql2 raw floor (MariaDB)', 'my-ours', 'my-floor', 0.9);
  t('store', '@csk/sqlite ÷ better-sqlite3 raw floor', 'sq-ours', 'sq-floor', 0.9);
  t('store', '@csk/postgres ÷ connect-pg-simple', 'pg-ours', 'pg-simple', 1.5);
  t('store', '@csk/mysql ÷ express-mysql-session', 'my-ours', 'my-session', 1.2);
  t('store', '@csk/postgres ÷ connect-session-knex 5', 'pg-ours', 'pg-v5', 2);
  t('store', '@csk/mysql ÷ connect-session-knex 5 (MariaDB)', 'my-ours', 'my-v5', 2);
  t('store', '@csk/sqlite ÷ connect-session-knex 5, each owning its file', 'sq-ours-default', 'sq-v5-default', 15);
  t('store', '@csk/sqlite ÷ connect-session-knex 5, same better-sqlite3 knex', 'sq-ours', 'sq-v5', 15);
  t('read-touch-after', '/read with touchAfter: @csk/postgres ÷ MemoryStore', 'pg-ours', 'memory', 0.75);
  t('read-touch-after', '/read with touchAfter: @csk/mysql ÷ MemoryStore', 'my-ours', 'memory', 0.75);
  t('read-touch-after', '/read with touchAfter: @csk/sqlite ÷ MemoryStore', 'sq-ours', 'memory', 0.75);
  return list;
}

/** A target's measured value and its goal, as people read them. */
function targetFigures(target) {
  if (target.kind === 'mb') {
    const signed = (v) => (Number.isFinite(v) ? `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(1)} MB` : '–');
    return { measured: signed(target.value), goal: `≤ ${target.goal >= 0 ? '+' : '−'}${Math.abs(target.goal)} MB` };
  }
  return { measured: times(target.value), goal: `≥ ${target.goal}×` };
}

const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const times = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '–');
const mb = (bytes) => (Number.isFinite(bytes) ? (bytes / 1024 / 1024).toFixed(0) : '–');

/** The results as a Markdown table per scenario, and the targets. */
export function markdown(report) {
  const lines = [];
  for (const scenario of report.scenarios) {
    lines.push(`**${scenario.label}**`, '');
    lines.push('| database | contender | req/s | p50 ms | p99 ms | server CPU µs/req | database CPU µs/req | peak RSS MB | × floor | × ours |');
    lines.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|');
    for (const row of scenario.rows) {
      const name = row.role === 'ours' ? `**${row.label}**` : row.label;
      lines.push(
        `| ${row.database} | ${name}${row.failures ? ` (${row.failures} failed)` : ''} | ${fixed(row.rps, 0)} | ` +
          `${fixed(row.p50Ms, 2)} | ${fixed(row.p99Ms, 2)} | ${fixed(row.cpuUsPerRequest, 0)} | ` +
          `${fixed(row.databaseCpuUsPerRequest, 0)} | ${mb(row.peakRssBytes)} | ` +
          `${times(row.toFloor)} | ` +
          `${times(row.toOurs)} |`,
      );
    }
    lines.push('');
  }
  const store = report.scenarios.find((s) => s.id === 'store');
  if (store) {
    lines.push('**Uncontended** (store level, one request at a time: each contender\'s best batch)', '');
    lines.push('| database | contender | µs per get + set | × floor | × ours |');
    lines.push('|---|---|--:|--:|--:|');
    for (const row of store.rows) {
      const floor = store.rows.find((r) => r.dialect === row.dialect && r.role === 'floor');
      const ours = store.rows.find((r) => r.dialect === row.dialect && r.role === 'ours');
      const speed = (other) => (other ? other.sequentialUs / row.sequentialUs : Number.NaN);
      lines.push(
        `| ${row.database} | ${row.role === 'ours' ? `**${row.label}**` : row.label} | ${fixed(row.sequentialUs, 0)} | ` +
          `${times(speed(floor))} | ${times(speed(ours))} |`,
      );
    }
    lines.push('');
  }
  if (report.importCost) {
    lines.push('**Import cost** (growth of a fresh process on import, after a full GC; median of the runs)', '');
    lines.push('| import | heap MB | RSS MB | heap + RSS MB |');
    lines.push('|---|--:|--:|--:|');
    for (const entry of report.importCost) {
      lines.push(`| ${entry.label} | ${(entry.heapBytes / MB).toFixed(1)} | ${(entry.rssBytes / MB).toFixed(1)} | ${(entry.totalBytes / MB).toFixed(1)} |`);
    }
    lines.push('');
  }
  if (report.latency?.skipped) lines.push(`(The latency pass did not run: ${report.latency.skipped}.)`, '');
  lines.push('**Targets** (ratios of req/s, each the median of the per-round ratios; uncontended: of the best batches)', '');
  lines.push('| scenario | target | measured | goal | met | uncontended |');
  lines.push('|---|---|--:|--:|---|--:|');
  for (const target of report.targets) {
    const met = target.met === null ? 'not run' : target.met ? 'yes' : '**no**';
    const { measured, goal } = targetFigures(target);
    lines.push(`| ${target.scenario} | ${target.name} | ${measured} | ${goal} | ${met} | ${times(target.uncontended)} |`);
  }
  return `${lines.join('\n')}\n`;
}

/** The results as plain-text tables for the terminal. */
export function text(report) {
  const lines = [];
  for (const scenario of report.scenarios) {
    lines.push('', scenario.label);
    lines.push(
      `  ${'database'.padEnd(26)}${'contender'.padEnd(36)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}` +
        `${'p99 ms'.padStart(9)}${'CPU µs'.padStart(8)}${'DB µs'.padStart(8)}${'RSS MB'.padStart(8)}${'×floor'.padStart(8)}${'×ours'.padStart(8)}`,
    );
    for (const row of scenario.rows) {
      lines.push(
        `  ${row.database.padEnd(26)}${(row.label + (row.failures ? ` (${row.failures} failed)` : '')).padEnd(36)}` +
          `${fixed(row.rps, 0).padStart(9)}${fixed(row.p50Ms, 2).padStart(9)}${fixed(row.p99Ms, 2).padStart(9)}` +
          `${fixed(row.cpuUsPerRequest, 0).padStart(8)}${fixed(row.databaseCpuUsPerRequest, 0).padStart(8)}` +
          `${mb(row.peakRssBytes).padStart(8)}${times(row.toFloor).padStart(8)}${times(row.toOurs).padStart(8)}`,
      );
    }
  }
  if (report.importCost) {
    lines.push('', 'Import cost (heap + RSS growth of a fresh process)');
    for (const entry of report.importCost) {
      lines.push(
        `  ${entry.label.padEnd(62)}heap ${(entry.heapBytes / MB).toFixed(1).padStart(5)} MB  RSS ${(entry.rssBytes / MB).toFixed(1).padStart(5)} MB`,
      );
    }
  }
  if (report.latency?.skipped) lines.push('', `Latency pass skipped: ${report.latency.skipped}`);
  lines.push('', 'Targets');
  for (const target of report.targets) {
    const met = target.met === null ? 'not run' : target.met ? 'met' : 'NOT MET';
    const alone = Number.isFinite(target.uncontended) ? `   (uncontended ${times(target.uncontended)})` : '';
    const { measured, goal } = targetFigures(target);
    lines.push(`  ${target.scenario.padEnd(17)}${target.name.padEnd(72)}${measured.padStart(9)}  ${goal.padEnd(10)}${met.padEnd(7)}${alone}`);
  }
  return lines.join('\n');
}

const COLOURS = { ours: '#2563eb', floor: '#6b7280', peer: '#f59e0b', v5: '#dc2626', memory: '#10b981', redis: '#7c3aed', 'ours-option': '#60a5fa' };

/**
 * A horizontal bar chart of req/s, one panel per scenario, on a logarithmic axis (MemoryStore and the databases are
 * orders of magnitude apart), each bar labelled with its figure and its ratio to ours.
 */
export function chart(report) {
  const width = 900;
  const left = 300;
  const right = 150;
  const barHeight = 16;
  const gap = 4;
  const plotWidth = width - left - right;
  const all = report.scenarios.flatMap((s) => s.rows.map((r) => r.rps)).filter((v) => v > 0);
  const low = 10 ** Math.floor(Math.log10(Math.min(...all)));
  const high = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const x = (value) => (Math.log10(Math.max(value, low)) - Math.log10(low)) / (Math.log10(high) - Math.log10(low)) * plotWidth;
  const parts = [];
  let y = 56;
  for (const scenario of report.scenarios) {
    parts.push(`<text x="12" y="${y + 12}" class="panel">${escape(scenario.label)}</text>`);
    y += 22;
    const top = y;
    for (const row of scenario.rows) {
      const w = Math.max(1, x(row.rps));
      const ratio = Number.isFinite(row.toOurs) && row.role !== 'ours' ? `  ${row.toOurs.toFixed(2)}× ours` : '';
      parts.push(
        `<text x="${left - 8}" y="${y + 12}" class="label" text-anchor="end">${escape(row.database)} · ${escape(row.label)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLOURS[row.role]}"/>`,
        `<text x="${left + w + 6}" y="${y + 12}" class="value">${Math.round(row.rps).toLocaleString('en-US')}${ratio}</text>`,
      );
      y += barHeight + gap;
    }
    for (let tick = low; tick <= high; tick *= 10) {
      const tx = left + x(tick);
      parts.push(`<line x1="${tx}" y1="${top - 2}" x2="${tx}" y2="${y}" class="grid"/>`);
    }
    y += 18;
  }
  const ticks = [];
  for (let tick = low; tick <= high; tick *= 10) {
    ticks.push(`<text x="${left + x(tick)}" y="${y + 4}" class="tick" text-anchor="middle">${tick.toLocaleString('en-US')}</text>`);
  }
  ticks.push(`<text x="${left + plotWidth / 2}" y="${y + 22}" class="tick" text-anchor="middle">req/s</text>`);
  // The targets, each with its measured figure, met or not.
  y += 44;
  parts.push(`<text x="12" y="${y}" class="panel">Targets: measured (goal)</text>`);
  y += 6;
  for (const target of report.targets) {
    const { measured, goal } = targetFigures(target);
    const mark = target.met === null ? '·' : target.met ? '✓' : '✗';
    const colour = MET_COLOURS[target.met === null ? 'none' : target.met ? 'met' : 'missed'];
    y += 16;
    parts.push(
      `<text x="12" y="${y}" class="label" fill="${colour}">${mark} ${escape(target.scenario)}: ${escape(target.name)}</text>`,
      `<text x="${width - 12}" y="${y}" class="label" fill="${colour}" text-anchor="end">${escape(measured)} (${escape(goal)})${target.met === null ? ' not run' : ''}</text>`,
    );
  }
  const legend = Object.entries({ ours: 'ours', floor: 'raw driver (floor)', peer: 'peer store', v5: 'connect-session-knex 5', 'ours-option': 'ours, coalesce: false', memory: 'MemoryStore', redis: 'connect-redis' })
    .map(([role, name], i) => `<rect x="${12 + i * 128}" y="30" width="12" height="12" fill="${COLOURS[role]}"/><text x="${30 + i * 128}" y="40" class="label">${name}</text>`)
    .join('');
  const height = y + 20;
  const title = `<text x="12" y="20" class="panel">requests per second (log scale), median of ${report.machine.roundsNote}; ${escape(report.machine.date)}</text>`;
  return svgDocument(width, height, [title, legend, ...parts, ...ticks]);
}

/**
 * Writes what a full run renders from its report into `dir`, beside latest.json: the Markdown tables, the chart of
 * req/s and the chart of the targets.
 * The report may be the one just measured or one read back from latest.json (where NaN was saved as null).
 */
export function saveRenderings(report, dir) {
  const files = { 'latest.md': markdown(report), 'chart.svg': chart(report), 'targets.svg': targetsChart(report) };
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  return Object.keys(files);
}

// `node src/report.mjs [results/latest.json]`: latest.md and the charts again from a saved run, written beside it,
// without measuring anything (after a change to how the results are presented).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = path.resolve(process.argv[2] ?? path.join(RESULTS_DIR, 'latest.json'));
  const written = saveRenderings(JSON.parse(readFileSync(file, 'utf8')), path.dirname(file));
  console.log(`Wrote ${written.join(', ')} from ${path.relative(process.cwd(), file)}`);
}
