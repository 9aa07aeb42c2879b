import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'libvirt-test-daemon': 'src/harness/libvirt-test-daemon.ts',
    'fake-xapi': 'src/fake-xapi/index.ts',
    'fake-junos': 'src/fake-junos/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
