import { defineConfig } from 'vitest/config';

/**
 * Three tiers, each with its own suffix:
 * - unit:        `*.spec.ts` beside the code, no I/O;
 * - integration: `*.int-spec.ts`, against the real PostgreSQL / Redis (see scripts/ensure-services.sh);
 * - e2e:         `e2e/src/**\/*.e2e-spec.ts`, black-box HTTP against the built API process.
 */
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['apps/*/src/**/*.spec.ts', 'libs/*/src/**/*.spec.ts', 'testing/src/**/*.spec.ts', 'bench/src/**/*.spec.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['apps/*/src/**/*.int-spec.ts', 'libs/*/src/**/*.int-spec.ts', 'bench/src/**/*.int-spec.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/src/**/*.e2e-spec.ts'],
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
    ],
  },
});
