import fs from 'node:fs';
import path from 'node:path';

// Core owns the rules; adapters own the dialects. No engine, client or driver name may appear in core's source:
// not in code (where it would steer behaviour) and not in comments either (which would document a dialect here).
const NAMES = ['postgres', 'pgnative', 'cockroach', 'redshift', 'mysql', 'mariadb', 'mariasql', 'mssql', 'tedious'];
NAMES.push('sqlserver', 'oracle', 'sqlite');
/** Names too short to look for inside other words: matched as whole words (`isPg`, `'pg'`, `pg_catalog`). */
const SHORT_NAMES = ['pg'];

/** The dialect names in `text`, as the words that contain them. */
function dialectNames(text: string): string[] {
  return text.split(/[^A-Za-z0-9]+/).filter((word) => {
    const lower = word.toLowerCase();
    const parts = word.split(/(?<=[a-z0-9])(?=[A-Z])/).map((part) => part.toLowerCase());
    return NAMES.some((name) => lower.includes(name)) || parts.some((part) => SHORT_NAMES.includes(part));
  });
}

it('finds dialect names in identifiers, strings and comments (the check itself works)', () => {
  const sample = "// MySQL\nconst isPg = client === 'postgresql' || `${x}oracledb` || upgrade || pg_class;";
  expect(dialectNames(sample)).toEqual(['MySQL', 'isPg', 'postgresql', 'oracledb', 'pg']);
});

it('packages/core/src names no dialect', () => {
  const dir = path.join(__dirname, '..', 'src');
  const found = fs
    .readdirSync(dir)
    .filter((file) => file.endsWith('.ts'))
    .flatMap((file) => dialectNames(fs.readFileSync(path.join(dir, file), 'utf8')).map((name) => `${file}: ${name}`));
  expect(found).toEqual([]);
});
