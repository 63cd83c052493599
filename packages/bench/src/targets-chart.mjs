// The targets as a chart (results/targets.svg): a row per HTTP /write and /read target and per megabyte target, with a
// bar for the loopback figure, a thinner bar for the latency pass where it ran, the goal as a line across the row, and
// met or not in colour and in words. Ratios and megabytes are drawn in sections of their own, each on its own scale.
import { MET_COLOURS, escape, svgDocument } from './svg.mjs';

/** The HTTP scenarios whose targets are charted: the ones the latency pass runs again (`write@latency`, …). */
const ROUTES = ['write', 'read'];
/** A target for ours with an option set (`/write: @csk/mysql with coalesce: false ÷ …`): in latest.md, not here. */
const withOption = (name) => /^[^÷]* with [^÷]*÷/.test(name);

const WIDTH = 900;
const LABEL_RIGHT = 336;
const PLOT_LEFT = 348;
const PLOT_WIDTH = 280;
const VALUE_LEFT = PLOT_LEFT + PLOT_WIDTH + 14;
const STATUS_LEFT = VALUE_LEFT + 100;
const BAR = 14;
const THIN = 8;
const LINE = 14;
const COLOURS = { loopback: '#2563eb', latency: '#93c5fd', goal: '#111' };

/** The charted targets: ratio rows (each with its latency-pass twin, if any), /write and /read of a pair together. */
function rowsOf(report) {
  const all = report.targets ?? [];
  const twin = (t) => all.find((o) => o.scenario === `${t.scenario}@latency` && o.name === t.name);
  const ratios = all.filter((t) => t.kind === 'ratio' && ROUTES.includes(t.scenario) && !withOption(t.name));
  const pair = (t) => t.name.slice(t.name.indexOf(':') + 1);
  const pairs = [...new Set(ratios.map(pair))];
  return {
    ratios: ratios.map((t) => ({ ...t, latency: twin(t) })).sort((a, b) => pairs.indexOf(pair(a)) - pairs.indexOf(pair(b))),
    leftOut: all.filter((t) => ROUTES.includes(t.scenario) && withOption(t.name)).length,
    mbs: all.filter((t) => t.kind === 'mb'),
  };
}

/** `value` with enough digits that a miss never prints as its goal (1.2994 is short of 1.3: "1.299", not "1.30"). */
function digits(value, goal, fewest) {
  let n = fewest;
  while (n < 4 && Number(value.toFixed(n)) === goal && value !== goal) n += 1;
  return value.toFixed(n);
}

/** A target's figure and verdict, as people read them: "1.27×", "✗ not met, 0.03× short". */
function verdict(target) {
  const { kind, value, goal, met } = target;
  if (!Number.isFinite(value) || met === null) return { figure: '–', status: '· not run', colour: MET_COLOURS.none };
  const figure = kind === 'mb' ? `${value < 0 ? '−' : '+'}${digits(Math.abs(value), goal, 1)} MB` : `${digits(value, goal, 2)}×`;
  if (met) return { figure, status: '✓ met', colour: MET_COLOURS.met };
  const gap = Math.abs(value - goal);
  const by = kind === 'mb' ? `${digits(gap, 0, 1)} MB over` : `${digits(gap, 0, 2)}× short`;
  return { figure, status: `✗ not met, ${by}`, colour: MET_COLOURS.missed };
}

/**
 * `text` in lines of at most `max` characters: broken where its parts meet (after a colon, before −, ÷ or a bracket)
 * when that fits, else at spaces.
 */
function wrap(text, max) {
  const lines = [''];
  const add = (piece) => {
    const last = lines.length - 1;
    if (lines[last] && lines[last].length + 1 + piece.length > max) lines.push(piece);
    else lines[last] = lines[last] ? `${lines[last]} ${piece}` : piece;
  };
  for (const part of text.split(/(?<=:) | (?=[−÷(])/)) {
    if (part.length <= max) add(part);
    else part.split(' ').forEach(add);
  }
  return lines;
}

/** Round numbers for an axis from `low` to `high`: about five steps of 1, 2 or 5 times a power of ten. */
function ticksOf(low, high) {
  const raw = (high - low) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const first = Math.ceil(low / step) * step;
  return Array.from({ length: Math.floor((high - first) / step + 1e-9) + 1 }, (_, i) => Number((first + i * step).toFixed(6)));
}

/**
 * One section: its title, a row per target (label, bars from `origin`, goal line and its label, figure and verdict
 * per pass), and its axis. Returns the SVG lines and the y below it.
 */
function section({ title, note, rows, low, high, origin, unit, tickLabel, goalLabel, passLabel }, top) {
  const x = (v) => PLOT_LEFT + ((Math.min(Math.max(v, low), high) - low) / (high - low)) * PLOT_WIDTH;
  const grid = []; // drawn first, under the bars
  const parts = [`<text x="12" y="${top + 14}" class="panel">${escape(title)}</text>`];
  let y = top + 26;
  const start = y;
  for (const row of rows) {
    y += LINE; // room for the goal's label above the row
    const passes = [{ target: row, height: BAR, fill: COLOURS.loopback }];
    if (row.latency) passes.push({ target: row.latency, height: THIN, fill: COLOURS.latency });
    const lines = wrap(row.name, 50);
    lines.forEach((line, i) => {
      parts.push(`<text x="${LABEL_RIGHT}" y="${y + 11 + i * LINE}" class="label" text-anchor="end">${escape(line)}</text>`);
    });
    let barTop = y;
    passes.forEach(({ target, height, fill }, i) => {
      const { figure, status, colour } = verdict(target);
      const textY = i === 0 ? y + 11 : barTop + height / 2 + 4;
      if (Number.isFinite(target.value)) {
        const [a, b] = [x(origin), x(target.value)].sort((p, q) => p - q);
        parts.push(`<rect x="${a.toFixed(1)}" y="${barTop}" width="${Math.max(1, b - a).toFixed(1)}" height="${height}" fill="${fill}"/>`);
      }
      const pass = i === 0 ? '' : ` ${passLabel}`;
      parts.push(
        `<text x="${VALUE_LEFT}" y="${textY}" class="value" fill="${colour}">${escape(figure + pass)}</text>`,
        `<text x="${STATUS_LEFT}" y="${textY}" class="value status" fill="${colour}">${escape(status)}</text>`,
      );
      barTop += height + 2;
    });
    const bottom = Math.max(barTop - 2, y + BAR);
    const gx = x(row.goal).toFixed(1);
    parts.push(
      `<line x1="${gx}" y1="${y - 3}" x2="${gx}" y2="${bottom + 3}" class="goal"/>`,
      `<text x="${gx}" y="${y - 5}" class="value" text-anchor="middle">${escape(goalLabel(row.goal))}</text>`,
    );
    y = Math.max(bottom, y + (lines.length - 1) * LINE + 12) + 10;
  }
  const ticks = ticksOf(low, high);
  for (const tick of ticks) {
    const tx = x(tick).toFixed(1);
    grid.push(`<line x1="${tx}" y1="${start}" x2="${tx}" y2="${y}" class="${tick === origin ? 'origin' : 'grid'}"/>`);
    parts.push(`<text x="${tx}" y="${y + 14}" class="tick" text-anchor="middle">${escape(tickLabel(tick))}</text>`);
  }
  parts.push(`<text x="${PLOT_LEFT + PLOT_WIDTH / 2}" y="${y + 30}" class="tick" text-anchor="middle">${escape(unit)}</text>`);
  if (note) parts.push(`<text x="12" y="${y + 48}" class="tick">${escape(note)}</text>`);
  return { parts: [...grid, ...parts], y: y + (note ? 66 : 48) };
}

/** The scale of a section: from `floor` (or lower) to past its largest figure or goal, in round steps of `step`. */
function scale(rows, floor, step) {
  const figures = rows.flatMap((r) => [r.goal, r.value, r.latency?.value]).filter(Number.isFinite);
  const low = Math.min(floor, Math.floor((Math.min(...figures) - step / 5) / step) * step);
  const high = Math.ceil((Math.max(...figures) + step / 5) / step) * step;
  return { low, high };
}

/** The targets chart of a report (as measured, or read back from latest.json). */
export function targetsChart(report) {
  const { ratios, leftOut, mbs } = rowsOf(report);
  const rtt = report.latency?.roundTripMs;
  const passLabel = rtt ? `at ${rtt} ms` : 'latency pass';
  const legend = [
    { mark: (x) => `<rect x="${x}" y="30" width="22" height="${BAR}" fill="${COLOURS.loopback}"/>`, text: 'loopback' },
    rtt && { mark: (x) => `<rect x="${x}" y="33" width="22" height="${THIN}" fill="${COLOURS.latency}"/>`, text: `databases ${rtt} ms away (where run)` },
    { mark: (x) => `<line x1="${x + 11}" y1="28" x2="${x + 11}" y2="46" class="goal"/>`, text: 'goal' },
    { text: '✓ met', colour: MET_COLOURS.met },
    { text: '✗ not met, and by how much', colour: MET_COLOURS.missed },
  ].filter(Boolean);
  const body = [
    `<text x="12" y="20" class="panel">Targets: measured against goal, median of ${escape(report.machine.roundsNote)}; ${escape(report.machine.date)}</text>`,
  ];
  let x = 12;
  for (const { mark, text, colour } of legend) {
    if (mark) body.push(mark(x));
    const tx = mark ? x + 28 : x;
    body.push(`<text x="${tx}" y="41" class="label"${colour ? ` fill="${colour}"` : ''}>${escape(text)}</text>`);
    x = tx + text.length * 7 + 18; // about 7 px a character at 12 px
  }
  let y = 56;
  const times = (v) => `${v}×`;
  if (ratios.length) {
    const out = section(
      {
        title: 'HTTP req/s of ours (defaults) ÷ the other store or the raw floor: at least the goal',
        note: leftOut ? `Ours with an option set (${leftOut} more targets, such as coalesce: false): results/latest.md.` : '',
        rows: ratios,
        ...scale(ratios, 0, 0.5),
        origin: 0,
        unit: 'ours ÷ the other, median of the per-round ratios',
        tickLabel: times,
        goalLabel: (g) => `≥ ${g}×`,
        passLabel,
      },
      y,
    );
    body.push(...out.parts);
    y = out.y;
  }
  if (mbs.length) {
    const mb = (v) => `${v > 0 ? '+' : v < 0 ? '−' : ''}${Math.abs(v)}`;
    const out = section(
      {
        title: 'Megabytes over the reference: at most the goal',
        rows: mbs,
        ...scale(mbs, 0, 5),
        origin: 0,
        unit: 'MB more than the reference (negative: less)',
        tickLabel: mb,
        goalLabel: (g) => `≤ ${mb(g)} MB`,
        passLabel,
      },
      y,
    );
    body.push(...out.parts);
    y = out.y;
  }
  const style = `.goal{stroke:${COLOURS.goal};stroke-width:2}.origin{stroke:#888}.status{font-weight:600}`;
  return svgDocument(WIDTH, y, body, style);
}
