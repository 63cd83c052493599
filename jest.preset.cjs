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
    '^@csk/conformance/(.*)$': path.join(__dirname, 'packages/conformance/src/$1'),
    '^@csk/([a-z]+)$': path.join(__dirname, 'packages/$1/src/index.ts'),
    '^connect-session-knex$': path.join(__dirname, 'packages/connect-session-knex/src/index.ts'),
  },
  testTimeout: 30000,
});
