'use strict';
// Runs one TypeScript file in a plain Node process, outside jest, for tests that watch a process of its own: its
// uncaught exceptions, unhandled rejections, crashes and exit (core's callback tests, the reliability fault tests). Workspace packages (@csk/*) load from
// their TypeScript sources, as in jest, so that no build is needed and no stale build is tested.
// Usage: node run-ts.cjs <file.ts>
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
// typescript is a root devDependency, resolved from here.
const ts = require('typescript');

const packagesDir = path.resolve(__dirname, '..', 'packages');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const workspace = /^@csk\/([a-z-]+)$/.exec(request);
  if (workspace) {
    const source = path.join(packagesDir, workspace[1], 'src', 'index.ts');
    if (fs.existsSync(source)) return source;
  }
  // Sources import siblings as './x.js' (what Node's ESM needs); here that means the .ts file.
  if (request.startsWith('.') && request.endsWith('.js') && parent && parent.filename.endsWith('.ts')) {
    const candidate = path.resolve(path.dirname(parent.filename), `${request.slice(0, -3)}.ts`);
    if (fs.existsSync(candidate)) return candidate;
  }
  return resolveFilename.call(this, request, parent, ...rest);
};

Module._extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  });
  module._compile(outputText, filename);
};

require(path.resolve(process.argv[2]));
