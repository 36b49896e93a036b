import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'client/**/*.test.ts',
      'common/**/*.test.ts',
      'gateway/**/*.test.ts',
      'scheduler/**/*.test.ts',
      'worker/**/*.test.ts',
      'cli/**/*.test.ts',
      'test/**/*.test.ts',
      'web/**/*.test.ts',
    ],
    exclude: ['node_modules', 'dist', 'test/chaos/**', 'bench/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration tests start real process trees; two cores cannot run many at once.
    maxWorkers: 2,
  },
});
