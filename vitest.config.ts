import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      // before '@stratus/core', which would also match this subpath
      '@stratus/core/driver-kit': fileURLToPath(new URL('./packages/core/src/driver-kit.ts', import.meta.url)),
      '@stratus/core': src('core'),
      '@stratus/allocator': src('allocator'),
      '@stratus/driver-simulator': src('driver-simulator'),
      '@stratus/driver-kvm': src('driver-kvm'),
      '@stratus/driver-vsphere': src('driver-vsphere'),
      '@stratus/driver-xen': src('driver-xen'),
      '@stratus/driver-srx': src('driver-srx'),
      // before '@stratus/testkit', which would also match this subpath
      '@stratus/testkit/libvirt-test-daemon': fileURLToPath(
        new URL('./packages/testkit/src/harness/libvirt-test-daemon.ts', import.meta.url),
      ),
      '@stratus/testkit/fake-xapi': fileURLToPath(
        new URL('./packages/testkit/src/fake-xapi/index.ts', import.meta.url),
      ),
      '@stratus/testkit/fake-junos': fileURLToPath(
        new URL('./packages/testkit/src/fake-junos/index.ts', import.meta.url),
      ),
      '@stratus/testkit': src('testkit'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    globalSetup: ['packages/testkit/src/harness/global-setup.ts'],
  },
});
