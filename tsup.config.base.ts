import { defineConfig } from 'tsup';

/**
 * Every published package builds the same way: ESM + CJS + types from src/index.ts into dist/.
 *
 * The bundles drop whitespace and comments (names and syntax stay as written; the source maps beside them map back to
 * src/): V8 keeps an ES module's whole source text on the heap for the life of the process, as a two-byte string as
 * soon as one character of it (a comment's "→", say) is not ASCII. Unminified, @csk/core's source alone held 226 kB of
 * every process that imported it; see packages/bench/src/import-cost.mjs.
 */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  minifyWhitespace: true,
  target: 'node18',
  tsconfig: 'tsconfig.build.json',
});
