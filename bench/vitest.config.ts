import { defineConfig } from 'vitest/config';

/**
 * The bench's own specs: pure logic (the mix, stats, metrics parsing, reports, goals), and the mix
 * driver against a loopback server (`*.int-spec.ts`, no other service). The root vitest.config.ts
 * does not list bench/ in its projects yet; until it does, run them with
 * `npx vitest run --config bench/vitest.config.ts`.
 */
export default defineConfig({
  test: {
    name: 'bench-unit',
    root: import.meta.dirname,
    include: ['src/**/*.spec.ts', 'src/**/*.int-spec.ts'],
  },
});
