// The public API check of one published package (run in its folder): API Extractor compares the built declarations
// (dist/index.d.ts) with the committed report etc/<name>.api.md and fails when they differ; then every name the entry
// point exports must have a doc comment and be listed in the package's README. With --update it rewrites the report instead of failing (`pnpm api:update`
// at the repository root does this for every package; commit the reports with the change that caused them).
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Extractor, ExtractorConfig } from '@microsoft/api-extractor';

const update = process.argv.includes('--update');
const folder = process.cwd();
const configFile = path.join(folder, 'api-extractor.json');
if (!existsSync(path.join(folder, 'dist', 'index.d.ts'))) {
  console.error(`api-report: ${folder}/dist/index.d.ts is missing: build the package first`);
  process.exit(1);
}

const config = ExtractorConfig.loadFileAndPrepare(configFile);
const name = config.packageJson?.name ?? path.basename(folder);
const result = Extractor.invoke(config, { localBuild: update, showVerboseMessages: false });
if (!result.succeeded) {
  console.error(
    result.apiReportChanged && !update
      ? `api-report: the public API of ${name} changed. If that is intended, run \`npx -y pnpm@12.4.2 api:update\` ` +
          `and commit ${path.relative(process.cwd(), config.reportFilePath)}.`
      : `api-report: API Extractor failed for ${name} (${result.errorCount} errors, ${result.warningCount} warnings)`,
  );
  process.exit(1);
}

// An exported declaration is written at the report's top level; API Extractor marks one without a doc comment with
// "// (undocumented)" on the line before it. Members are indented and may inherit their contract's documentation.
const report = readFileSync(config.reportFilePath, 'utf8').split('\n');
const undocumented = report.flatMap((line, i) => (line === '// (undocumented)' ? [report[i + 1]] : []));
if (undocumented.length > 0) {
  console.error(`api-report: ${name} exports names without a doc comment:\n  ${undocumented.join('\n  ')}`);
  process.exit(1);
}
// Every exported name is listed in the package's README (as `name`, or `name(` for a function).
const readme = readFileSync(path.join(folder, 'README.md'), 'utf8');
const exported = report.flatMap((line) => {
  const reexport = /^export \{ (\w+) \}$/.exec(line);
  const declared = /^export (?:declare )?(?:abstract )?(?:class|function|const|let|interface|type|enum|namespace) (\w+)/.exec(line);
  return reexport ? [reexport[1]] : declared ? [declared[1]] : [];
});
const unlisted = [...new Set(exported)].filter((id) => !readme.includes(`\`${id}\``) && !readme.includes(`\`${id}(`));
if (unlisted.length > 0) {
  console.error(`api-report: ${name}'s README does not list these exported names: ${unlisted.join(', ')}`);
  process.exit(1);
}
console.log(`api-report: ${name}: ${update ? 'report written' : 'public API unchanged'}`);
