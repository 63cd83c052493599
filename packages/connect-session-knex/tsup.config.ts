import { defineConfig } from 'tsup';
import base from '../../tsup.config.base';

export default defineConfig([
  // The library as every package builds it; its clean leaves the CLI's files to the build below.
  { ...base, clean: ['!cli.cjs', '!cli.cjs.map'] },
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
