import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: e2e suites each start emulators and some a real etcd.
    maxWorkers: 2,
    globalSetup: ['test/helpers/global-setup.ts'],
  },
});
