// The release check of one published package (run in its folder, after its build): packs it as `pnpm publish` would,
// then checks that the tarball holds only what users need (package.json, README.md, LICENSE, CHANGELOG.md, dist/),
// that publint finds nothing (strict), and that @arethetypeswrong/cli resolves its ESM, CommonJS and types for
// node10, node16 (from CJS and from ESM) and bundler consumers.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

const require = createRequire(import.meta.url);
const folder = process.cwd();
const pkg = JSON.parse(readFileSync(path.join(folder, 'package.json'), 'utf8'));
const ALLOWED = /^package\/(package\.json|README\.md|LICENSE|CHANGELOG\.md|dist\/.+)$/;
const REQUIRED = ['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.cjs', 'dist/index.d.ts', 'dist/index.d.cts'];

const problems = [];
const out = mkdtempSync(path.join(os.tmpdir(), 'csk-pack-'));
try {
  // pnpm is on PATH inside every `pnpm run`; it rewrites workspace: ranges as publishing does.
  execFileSync('pnpm', ['pack', '--pack-destination', out], { cwd: folder, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = path.join(out, execFileSync('ls', [out], { encoding: 'utf8' }).trim());
  const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);

  for (const file of files) if (!ALLOWED.test(file)) problems.push(`the tarball holds ${file}, which users do not need`);
  for (const file of REQUIRED) if (!files.includes(`package/${file}`)) problems.push(`the tarball lacks ${file}`);

  const data = readFileSync(tarball);
  const { messages, pkg: packed } = await publint({
    pack: { tarball: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) },
    strict: true,
  });
  for (const message of messages) problems.push(`publint ${message.type}: ${formatMessage(message, packed)}`);

  const attw = path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist', 'index.js');
  try {
    execFileSync(process.execPath, [attw, tarball, '--format', 'table-flipped'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (error) {
    problems.push(`@arethetypeswrong/cli found problems:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  }
  console.log(`check-package: ${pkg.name}: ${files.length} files packed`);
} finally {
  rmSync(out, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(`check-package: ${pkg.name}:\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log(`check-package: ${pkg.name}: tarball contents, publint and attw (node10, node16, bundler) pass`);
