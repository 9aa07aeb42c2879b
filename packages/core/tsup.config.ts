import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // optional-peer.ts resolves the database clients with createRequire(import.meta.url): shimmed in the CJS build
  shims: true,
});
