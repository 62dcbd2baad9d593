import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, type AppConfig } from './app-config.js';

/** The ConfigError `loadConfig(env)` throws; fails the test when it loads. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, the configuration loaded');
}

const REMOTE = { AI_BASE_URL: 'https://api.example.com/v1' };

describe('loadConfig', () => {
  it('uses the documented defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual<AppConfig>({
      port: 3000,
      host: '127.0.0.1',
      databaseUrl: null,
      dataDir: './.data',
      redisUrl: null,
      adminToken: null,
      aiBaseUrl: null,
      aiApiKey: null,
      aiModel: 'local',
      aiTimeoutMs: 60_000,
      aiCacheScope: 'user',
      aiMaxRetries: 2,
      role: 'all',
      rateLimitPerMinute: 600,
      logLevel: 'info',
      dbPoolMax: 10,
      dbConnectTimeoutMs: 5_000,
      dbStatementTimeoutMs: 15_000,
      bodyLimitBytes: 1_048_576,
      shutdownTimeoutMs: 10_000,
      toolMaxRounds: 5,
      monitor: { enabled: true, slowQueryMs: 100, alertRules: null, alertWebhookUrl: null },
      tasks: { concurrency: 8, maxPending: 10_000, attempts: 3, timeoutMs: 180_000, backoffMs: 1_000, leaseMs: 30_000, reconcileIntervalMs: 15_000, queue: 'chat-tasks' },
    });
  });

  it('treats blank values as unset and trims the others', () => {
    const config = loadConfig({ PORT: '   ', HOST: '', ADMIN_TOKEN: '  0123456789abcdef  ', DATA_DIR: ' memory ' });
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.adminToken).toBe('0123456789abcdef');
    expect(config.dataDir).toBe('memory');
  });

  it('reads every variable when set', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u:p@db:5432/chat',
      DATA_DIR: 'memory',
      REDIS_URL: 'rediss://cache:6380',
      ADMIN_TOKEN: 'a-very-long-admin-token',
      AI_BASE_URL: 'http://llm.internal:8000/v1',
      AI_API_KEY: 'sk-upstream',
      AI_MODEL: 'gpt-test',
      AI_TIMEOUT_MS: '1000',
      AI_CACHE_SCOPE: 'shared',
      AI_MAX_RETRIES: '0',
      ROLE: 'worker',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'debug',
      DB_POOL_MAX: '50',
      DB_CONNECT_TIMEOUT_MS: '100',
      DB_STATEMENT_TIMEOUT_MS: '600000',
      BODY_LIMIT_BYTES: '1024',
      SHUTDOWN_TIMEOUT_MS: '0',
      TOOL_MAX_ROUNDS: '20',
      TASK_CONCURRENCY: '2',
      TASK_MAX_PENDING: '50',
      TASK_ATTEMPTS: '5',
      TASK_TIMEOUT_MS: '9000',
      TASK_BACKOFF_MS: '10',
      TASK_LEASE_MS: '2000',
      TASK_RECONCILE_INTERVAL_MS: '500',
      TASK_QUEUE: 'tenant-a.tasks',
      MONITOR: 'off',
      MONITOR_SLOW_QUERY_MS: '250',
      ALERT_RULES: '[{"name":"http-latency-p95","forMs":0}]',
      ALERT_WEBHOOK_URL: 'https://hooks.internal/alerts',
    });
    expect(config).toEqual<AppConfig>({
      port: 8080,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u:p@db:5432/chat',
      dataDir: 'memory',
      redisUrl: 'rediss://cache:6380',
      adminToken: 'a-very-long-admin-token',
      aiBaseUrl: 'http://llm.internal:8000/v1',
      aiApiKey: 'sk-upstream',
      aiModel: 'gpt-test',
      aiTimeoutMs: 1000,
      aiCacheScope: 'shared',
      aiMaxRetries: 0,
      role: 'worker',
      rateLimitPerMinute: 0,
      logLevel: 'debug',
      dbPoolMax: 50,
      dbConnectTimeoutMs: 100,
      dbStatementTimeoutMs: 600_000,
      bodyLimitBytes: 1024,
      shutdownTimeoutMs: 0,
      toolMaxRounds: 20,
      monitor: { enabled: false, slowQueryMs: 250, alertRules: [{ name: 'http-latency-p95', forMs: 0 }], alertWebhookUrl: 'https://hooks.internal/alerts' },
      tasks: { concurrency: 2, maxPending: 50, attempts: 5, timeoutMs: 9_000, backoffMs: 10, leaseMs: 2_000, reconcileIntervalMs: 500, queue: 'tenant-a.tasks' },
    });
  });

  describe('integers', () => {
    it.each([
      ['PORT', 0, 65535],
      ['AI_TIMEOUT_MS', 100, 600_000],
      ['AI_MAX_RETRIES', 0, 10],
      ['RATE_LIMIT_PER_MINUTE', 0, 1_000_000],
      ['DB_POOL_MAX', 1, 200],
      ['DB_CONNECT_TIMEOUT_MS', 100, 120_000],
      ['DB_STATEMENT_TIMEOUT_MS', 100, 600_000],
      ['BODY_LIMIT_BYTES', 1_024, 104_857_600],
      ['SHUTDOWN_TIMEOUT_MS', 0, 600_000],
      ['TOOL_MAX_ROUNDS', 1, 20],
    ])('%s accepts %d..%d and names itself outside', (name, min, max) => {
      expect(() => loadConfig({ [name]: String(min) })).not.toThrow();
      expect(() => loadConfig({ [name]: String(max) })).not.toThrow();

      for (const outside of [min - 1, max + 1]) {
        const error = configError({ [name]: String(outside) });
        expect(error.variable).toBe(name);
        expect(error.message).toBe(`${name} must be between ${min} and ${max}, got ${outside}`);
        expect(error.name).toBe('ConfigError');
      }
    });

    it.each(['abc', '1.5', '1e3', '0x10', '12abc', '+5', '3 000'])('PORT rejects the non-integer %j', (value) => {
      const error = configError({ PORT: value });
      expect(error.variable).toBe('PORT');
      expect(error.message).toBe(`PORT must be an integer, got "${value}"`);
    });

    it('accepts a negative-looking integer only when in range', () => {
      expect(configError({ AI_MAX_RETRIES: '-1' }).message).toBe('AI_MAX_RETRIES must be between 0 and 10, got -1');
    });
  });

  describe('enumerations', () => {
    it.each([
      ['ROLE', 'admin', 'all, api, worker'],
      ['ROLE', 'API', 'all, api, worker'],
      ['LOG_LEVEL', 'trace', 'debug, info, warn, error'],
      ['AI_CACHE_SCOPE', 'everyone', 'user, shared'],
    ])('%s rejects %j naming the allowed values', (name, value, allowed) => {
      const error = configError({ [name]: value });
      expect(error.variable).toBe(name);
      expect(error.message).toBe(`${name} must be one of ${allowed}, got "${value}"`);
    });

    it.each(['all', 'api', 'worker'] as const)('ROLE accepts %s (with REDIS_URL)', (role) => {
      expect(loadConfig({ ROLE: role, REDIS_URL: 'redis://cache:6379' }).role).toBe(role);
    });

    it.each(['api', 'worker'])('ROLE=%s without REDIS_URL is refused: the processes could not share the queue', (role) => {
      const error = configError({ ROLE: role });
      expect(error.variable).toBe('ROLE');
      expect(error.message).toBe(`ROLE "${role}" needs REDIS_URL: API and worker processes share the task queue through Redis`);
    });

    it('ROLE=all works without Redis (the in-process queue)', () => {
      expect(loadConfig({ ROLE: 'all' }).role).toBe('all');
    });
  });

  describe('URLs', () => {
    it.each([
      ['DATABASE_URL', 'postgres://localhost/chat'],
      ['DATABASE_URL', 'postgresql://localhost/chat'],
      ['REDIS_URL', 'redis://localhost:6379'],
      ['REDIS_URL', 'rediss://localhost:6380'],
      ['AI_BASE_URL', 'http://localhost:8000/v1'],
      ['AI_BASE_URL', 'https://api.example.com/v1'],
    ])('%s accepts %s', (name, value) => {
      expect(() => loadConfig({ [name]: value })).not.toThrow();
    });

    it.each([
      ['DATABASE_URL', 'mysql://localhost/chat', 'must use postgres: or postgresql:, got "mysql:"'],
      ['DATABASE_URL', 'http://localhost/chat', 'must use postgres: or postgresql:, got "http:"'],
      ['REDIS_URL', 'http://localhost:6379', 'must use redis: or rediss:, got "http:"'],
      ['AI_BASE_URL', 'ftp://example.com', 'must use http: or https:, got "ftp:"'],
      ['AI_BASE_URL', 'file:///etc/passwd', 'must use http: or https:, got "file:"'],
    ])('%s rejects the protocol of %s', (name, value, problem) => {
      const error = configError({ [name]: value });
      expect(error.variable).toBe(name);
      expect(error.message).toBe(`${name} ${problem}`);
    });

    it.each(['DATABASE_URL', 'REDIS_URL', 'AI_BASE_URL'])('%s rejects a value that is not a URL', (name) => {
      const error = configError({ [name]: 'not a url' });
      expect(error.variable).toBe(name);
      expect(error.message).toBe(`${name} must be a URL, got "not a url"`);
    });

    it('reads a host without scheme as a wrong protocol, naming the variable', () => {
      const error = configError({ REDIS_URL: 'localhost:6379' });
      expect(error.variable).toBe('REDIS_URL');
      expect(error.message).toBe('REDIS_URL must use redis: or rediss:, got "localhost:"');
    });
  });

  describe('AI model', () => {
    it('must be "local" without AI_BASE_URL', () => {
      const error = configError({ AI_MODEL: 'gpt-4o' });
      expect(error.variable).toBe('AI_MODEL');
      expect(error.message).toBe('AI_MODEL must be "local" when AI_BASE_URL is unset, got "gpt-4o"');
    });

    it('may be any name up to 100 characters with AI_BASE_URL', () => {
      expect(loadConfig({ ...REMOTE, AI_MODEL: 'm'.repeat(100) }).aiModel).toHaveLength(100);
      const error = configError({ ...REMOTE, AI_MODEL: 'm'.repeat(101) });
      expect(error.variable).toBe('AI_MODEL');
      expect(error.message).toBe('AI_MODEL must be at most 100 characters');
    });

    it('defaults to "local" with AI_BASE_URL too', () => {
      expect(loadConfig(REMOTE).aiModel).toBe('local');
    });
  });

  describe('ADMIN_TOKEN', () => {
    it('accepts 16 characters and refuses 15', () => {
      expect(loadConfig({ ADMIN_TOKEN: 'x'.repeat(16) }).adminToken).toBe('x'.repeat(16));
      const error = configError({ ADMIN_TOKEN: 'x'.repeat(15) });
      expect(error.variable).toBe('ADMIN_TOKEN');
      expect(error.message).toBe('ADMIN_TOKEN must be at least 16 characters');
    });

    it('counts the trimmed length', () => {
      expect(configError({ ADMIN_TOKEN: `   ${'x'.repeat(15)}   ` }).variable).toBe('ADMIN_TOKEN');
    });
  });

  it.each(['local host', 'a\tb'])('HOST rejects %j with whitespace inside', (host) => {
    const error = configError({ HOST: host });
    expect(error.variable).toBe('HOST');
    expect(error.message).toBe(`HOST must be an address, got "${host}"`);
  });

  describe('without an argument', () => {
    const names = ['PORT', 'HOST', 'DATABASE_URL', 'DATA_DIR', 'REDIS_URL', 'ADMIN_TOKEN', 'AI_BASE_URL', 'AI_API_KEY', 'AI_MODEL',
      'AI_TIMEOUT_MS', 'AI_MAX_RETRIES', 'ROLE', 'RATE_LIMIT_PER_MINUTE', 'LOG_LEVEL', 'DB_POOL_MAX', 'DB_CONNECT_TIMEOUT_MS',
      'DB_STATEMENT_TIMEOUT_MS', 'BODY_LIMIT_BYTES', 'SHUTDOWN_TIMEOUT_MS', 'TOOL_MAX_ROUNDS', 'TASK_CONCURRENCY', 'TASK_MAX_PENDING',
      'TASK_ATTEMPTS', 'TASK_TIMEOUT_MS', 'TASK_BACKOFF_MS', 'TASK_LEASE_MS', 'TASK_RECONCILE_INTERVAL_MS', 'TASK_QUEUE',
      'MONITOR', 'MONITOR_SLOW_QUERY_MS', 'ALERT_RULES', 'ALERT_WEBHOOK_URL'];
    beforeEach(() => {
      for (const name of names) vi.stubEnv(name, undefined);
    });
    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('reads process.env', () => {
      vi.stubEnv('PORT', '4321');
      vi.stubEnv('ROLE', 'api');
      vi.stubEnv('REDIS_URL', 'redis://cache:6379');
      const config = loadConfig();
      expect(config.port).toBe(4321);
      expect(config.role).toBe('api');
      expect(config.logLevel).toBe('info');
    });
  });
});
