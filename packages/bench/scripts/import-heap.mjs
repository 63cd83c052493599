// What importing each layer leaves on the V8 heap, counted object by object rather than read off process.memoryUsage():
// the import cost that src/import-cost.mjs measures moves by a few hundred kB from run to run (garbage left by knex, RSS
// pages), while the objects an import adds are the same every time.
//
// Per layer, a fresh Node process imports what comes before it (knex and express-session, which every contender loads
// anyway), takes a heap snapshot, imports the layer, takes another, and sums the self size of the objects present only
// in the second, by kind: the modules' source text, the functions' metadata (bytecode, scopes, feedback), and so on.
//
//   node scripts/import-heap.mjs            prints kB per layer and kind; no database needed
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR } from '../src/config.mjs';
import { SETTLE } from '../src/import-cost.mjs';

const BASE = ['knex', 'express-session'];

/** Each layer: what is already loaded, and what is imported and counted. */
const LAYERS = [
  { label: 'connect-session-knex 5 (published)', before: BASE, imports: ['connect-session-knex-v5'] },
  { label: '@csk/core', before: BASE, imports: ['@csk/core'] },
  { label: 'connect-session-knex (this repository), over @csk/core', before: [...BASE, '@csk/core'], imports: ['connect-session-knex'] },
  { label: 'connect-session-knex (this repository), all of it', before: BASE, imports: ['connect-session-knex'] },
];

// Runs in the fresh process: settle, snapshot, import, settle, snapshot.
const PROBE = `
import v8 from 'node:v8';
const [before, imports, dir] = JSON.parse(process.argv[1]);
${SETTLE}
for (const name of before) await import(name);
await settle();
v8.writeHeapSnapshot(dir + '/before.heapsnapshot');
for (const name of imports) await import(name);
await settle();
v8.writeHeapSnapshot(dir + '/after.heapsnapshot');
`;

/** id → [type, self size] of every object in a snapshot file. */
function objects(file) {
  const snapshot = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields: fields, node_types: [types] } = snapshot.snapshot.meta;
  const [type, id, size] = ['type', 'id', 'self_size'].map((field) => fields.indexOf(field));
  const found = new Map();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    found.set(snapshot.nodes[i + id], [types[snapshot.nodes[i + type]], snapshot.nodes[i + size]]);
  }
  return found;
}

/** The bytes of the objects an import added, by kind, and in all. */
function measure(layer) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'csk-import-heap-'));
  try {
    execFileSync(
      process.execPath,
      ['--expose-gc', '--input-type=module', '-e', PROBE, JSON.stringify([layer.before, layer.imports, dir])],
      { cwd: BENCH_DIR, stdio: 'inherit' },
    );
    const before = objects(path.join(dir, 'before.heapsnapshot'));
    const byKind = new Map();
    let total = 0;
    for (const [id, [type, size]] of objects(path.join(dir, 'after.heapsnapshot'))) {
      if (before.has(id)) continue;
      const kind = type === 'concatenated string' || type === 'sliced string' ? 'string' : type;
      byKind.set(kind, (byKind.get(kind) ?? 0) + size);
      total += size;
    }
    return { total, byKind };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const kB = (bytes) => `${(bytes / 1000).toFixed(0)} kB`;
for (const layer of LAYERS) {
  const { total, byKind } = measure(layer);
  const kinds = [...byKind].sort((a, b) => b[1] - a[1]).slice(0, 5);
  console.log(`${layer.label.padEnd(58)}${kB(total).padStart(8)}   (${kinds.map(([kind, bytes]) => `${kind} ${kB(bytes)}`).join(', ')})`);
}
