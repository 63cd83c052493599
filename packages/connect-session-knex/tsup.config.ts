import { defineConfig } from 'tsup';
import base from '../../tsup.config.base';

export default defineConfig([
  // The library as every package builds it; its clean leaves the CLI's files to the build below. The five adapters'
  // code is bundled in (only what this package uses of them), @csk/core stays shared: one module instead of six adds
  // about 130 kB less to the heap on import (packages/bench/scripts/import-heap.mjs). The adapter packages stay
  // dependencies, for the type declarations, which still name them.
  {
    ...base,
    clean: ['!cli.cjs', '!cli.cjs.map'],
    noExternal: [/^@csk\/(postgres|mysql|mssql|oracle|sqlite)$/],
  },
  // The `connect-session-knex` command (the package's bin): CommonJS, so that it runs without a loader on every Node
  // the package supports.
  {
    entry: { cli: 'src/cli.ts' },
    format: ['cjs'],
    dts: false,
    clean: false,
    sourcemap: true,
    target: 'node18',
    tsconfig: 'tsconfig.build.json',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
