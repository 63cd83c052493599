// Shared jest settings: tests import workspace sources directly (no build needed for unit tests).
const path = require('node:path');

/** @param {string} dir the package directory */
module.exports = (dir) => ({
  rootDir: dir,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(dir, 'tsconfig.json'), diagnostics: { warnOnly: false } }],
  },
  moduleNameMapper: {
    // Sources import siblings as './x.js' (what Node's ESM needs); jest resolves the .ts file.
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // The published packages resolve to their sources; @csk/conformance (private, TypeScript only) resolves through
    // its own package.json "exports", as any workspace dependency does.
    '^@csk/(core|sqlite|postgres|mysql|mssql|oracle)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^connect-session-knex$': path.join(__dirname, 'packages/connect-session-knex/src/index.ts'),
  },
  testTimeout: 30000,
});
