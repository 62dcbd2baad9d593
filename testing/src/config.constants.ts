/**
 * Where the test helpers find the shared services. Environment overrides let CI
 * point the suites at other servers without touching the tests.
 */

/** Admin connection used only to create and drop temporary databases. */
export const TEST_PG_URL: string = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const TEST_REDIS_URL: string = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
