// Runs one TypeScript file in a plain Node process (outside jest), for tests that need the process itself:
// uncaught exceptions, unhandled rejections, whether the process exits. Usage: node run-ts.cjs <file.ts>
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const ts = require('typescript');

// Sources import siblings as './x.js' (what Node's ESM needs); here that means the .ts file.
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
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
