/** The bench suite's own unit tests (`make bench-test`), kept out of the product's `make test`. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['bench/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // The floor tests start real process trees; two cores cannot run many at once.
    maxWorkers: 2,
  },
});
