import { spawn } from 'node:child_process';
import path from 'node:path';

/** What scale.mjs prints on its last line, as far as this test reads it. */
interface ScaleResult {
  small: boolean;
  config: { sizes: number[]; samples: number; pruneRows: number; requests: number };
  engines: Record<
    string,
    {
      get: { figures: Array<{ rows: number; n: number; p50: number; p99: number }> };
      prune: {
        rowsExpired: number;
        withoutPrune: { n: number; errors: number };
        duringPrune: { n: number; errors: number };
        prune: { deleted: number; seconds: number; rowsLeft: number };
      };
    }
  >;
  memory: {
    requests: number;
    rssGrowthMb: number;
    gcExposed: boolean;
    resourcesLeftAfterClose: Record<string, number>;
  };
}

const packageDir = path.resolve(__dirname, '..');
/** The live rows scale.mjs keeps beside the expired ones during the prune. */
const LIVE_ROWS = 10_000;

function runScale(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', 'scale.mjs', '--small'], {
      cwd: packageDir,
      env: process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The benchmark at CI sizes: it must run to the end on every engine here and print its figures. Nothing here judges
// a figure's speed (that is the benchmark's job, read by people); only counts and leftovers are checked.
it('runs at CI sizes on every engine available, and prints the figures', async () => {
  const { code, stdout, stderr } = await runScale();
  console.log(
    stdout
      .split('\n')
      .filter((line) => !line.startsWith('SCALE_RESULT'))
      .join('\n'),
  );
  expect({ code, stderr: stderr.slice(0, 2000) }).toEqual({ code: 0, stderr: '' });

  const line = stdout.split('\n').find((text) => text.startsWith('SCALE_RESULT '));
  expect(line).toBeDefined();
  const result = JSON.parse(line!.slice('SCALE_RESULT '.length)) as ScaleResult;

  const expected = ['sqlite'];
  if (process.env.CSK_PG_URL || process.env.CI) expected.push('postgres');
  if (process.env.CSK_MYSQL_URL || process.env.CI) expected.push('mysql');
  expect(Object.keys(result.engines).sort()).toEqual(expected.sort());

  for (const [name, engine] of Object.entries(result.engines)) {
    expect({ name, sizes: engine.get.figures.map((figure) => figure.rows) }).toEqual({
      name,
      sizes: result.config.sizes,
    });
    for (const figure of engine.get.figures) {
      expect(figure.n).toBe(result.config.samples);
      expect(Number.isFinite(figure.p50) && Number.isFinite(figure.p99)).toBe(true);
    }
    const { prune } = engine;
    expect({ name, deleted: prune.prune.deleted, left: prune.prune.rowsLeft }).toEqual({
      name,
      deleted: result.config.pruneRows,
      left: LIVE_ROWS,
    });
    expect(prune.withoutPrune.errors + prune.duringPrune.errors).toBe(0);
    expect(prune.duringPrune.n).toBeGreaterThan(0);
  }

  expect(result.memory.requests).toBe(result.config.requests);
  expect(result.memory.gcExposed).toBe(true);
  expect(result.memory.resourcesLeftAfterClose).toEqual({});
}, 300_000);
