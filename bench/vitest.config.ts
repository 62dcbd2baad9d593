import { defineConfig } from 'vitest/config';

/**
 * The bench's own unit specs (pure logic: the mix, stats, metrics parsing, reports, goals). The
 * root vitest.config.ts does not list bench/ in its `unit` project yet; until it does, run them
 * with `npx vitest run --config bench/vitest.config.ts`.
 */
export default defineConfig({
  test: {
    name: 'bench-unit',
    root: import.meta.dirname,
    include: ['src/**/*.spec.ts'],
  },
});
