import { defineConfig } from 'tsup';

/** Every published package builds the same way: ESM + CJS + types from src/index.ts into dist/. */
export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node18',
  tsconfig: 'tsconfig.build.json',
});
