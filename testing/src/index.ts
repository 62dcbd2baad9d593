export { TEST_PG_URL, TEST_REDIS_URL } from './config.constants.js';
export { freePort } from './port.util.js';
export { createTestDatabase, type TestDatabase } from './database.fixture.js';
export { startApi, DEFAULT_API_ENTRY, type StartApiOptions, type StartedApi } from './api.launcher.js';
export { createUser, type CreatedUser } from './api.client.js';
export { spawnNode, type SpawnedNode, type SpawnNodeOptions } from './process.spawn.js';
export {
  startFakeUpstream,
  type FakeUpstream,
  type FakeUpstreamOptions,
  type RecordedRequest,
  type ScriptedReply,
} from './upstream.fake.js';
export { startPrivateRedis, redisAnswers, type PrivateRedis } from './private-redis.js';
export {
  parsePrometheusText,
  histogramSeries,
  summarySeries,
  sample,
  PrometheusTextError,
  type PrometheusFamilies,
  type PrometheusFamily,
  type PrometheusSample,
  type PrometheusMetricType,
  type HistogramSeries,
  type SummarySeries,
} from './prometheus-text.js';
