import { defineConfig } from 'tsup';

export default defineConfig({
  // one entry per public entry point; splitting keeps one copy of each class shared by both (ESM and CJS)
  entry: { index: 'src/index.ts', 'driver-kit': 'src/driver-kit.ts' },
  splitting: true,
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // optional-peer.ts resolves the database clients with createRequire(import.meta.url): shimmed in the CJS build
  shims: true,
});
