// What importing a store costs a process before it does anything: the growth of the V8 heap (after a full GC) and of
// the resident set, measured in a fresh Node process per import so that nothing is shared or cached between them.
// Every contender imports knex too, as an application using it does; the published connect-session-knex 5 imports
// it itself. @csk/core + knex is there to split the meta-package's cost between core and the adapters.
//
//   node src/import-cost.mjs [rounds]    this measurement alone (default 5 rounds), no database needed
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_DIR } from './config.mjs';
import { median } from './stats.mjs';

/** What is imported, per contender. */
export const IMPORTS = [
  { id: 'meta', label: 'connect-session-knex (this repository) + knex', modules: ['connect-session-knex', 'knex'] },
  { id: 'v5', label: 'connect-session-knex 5 (published) + knex', modules: ['connect-session-knex-v5', 'knex'] },
  { id: 'core', label: '@csk/core + knex (for reference)', modules: ['@csk/core', 'knex'] },
  { id: 'knex', label: 'knex alone (for reference)', modules: ['knex'] },
];

/** Source for a fresh process (run with --expose-gc): `settle()` collects until the heap holds only what is live. */
export const SETTLE =
  'const settle = async () => { for (let i = 0; i < 3; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); } };';

// Runs in the fresh process: settle the heap, import, settle again, print the growth.
const PROBE = `
${SETTLE}
await settle();
const before = process.memoryUsage();
for (const name of JSON.parse(process.argv[1])) await import(name);
await settle();
const after = process.memoryUsage();
console.log(JSON.stringify({ heapBytes: after.heapUsed - before.heapUsed, rssBytes: after.rss - before.rss }));
`;

function measureOnce(modules) {
  const output = execFileSync(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', PROBE, JSON.stringify(modules)],
    { cwd: BENCH_DIR, encoding: 'utf8' },
  );
  return JSON.parse(output.trim().split('\n').pop());
}

/**
 * Measure every import `rounds` times, in alternation; resolve per import id the medians of heap and RSS growth and
 * their sum (what the target compares).
 */
export function measureImportCost(rounds) {
  const samples = new Map(IMPORTS.map((entry) => [entry.id, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...IMPORTS].reverse() : IMPORTS;
    for (const entry of order) samples.get(entry.id).push(measureOnce(entry.modules));
  }
  return IMPORTS.map((entry) => {
    const all = samples.get(entry.id);
    const heapBytes = median(all.map((s) => s.heapBytes));
    const rssBytes = median(all.map((s) => s.rssBytes));
    return { id: entry.id, label: entry.label, heapBytes, rssBytes, totalBytes: median(all.map((s) => s.heapBytes + s.rssBytes)) };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const MB = (bytes) => (bytes / 1e6).toFixed(2).padStart(6);
  for (const entry of measureImportCost(Number(process.argv[2] ?? 5))) {
    console.log(`${entry.label.padEnd(50)}heap ${MB(entry.heapBytes)} MB  RSS ${MB(entry.rssBytes)} MB  heap + RSS ${MB(entry.totalBytes)} MB`);
  }
}
