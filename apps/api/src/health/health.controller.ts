import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { HealthCheckService, TypeOrmHealthIndicator, type HealthIndicatorResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/auth.decorators.js';
import { RedisHealthIndicator } from './redis.health.js';

export interface ReadinessBody {
  statusCode: number;
  status: 'ok' | 'error';
  /** One entry per component: `{ status: "up" | "down", ... }`. */
  components: HealthIndicatorResult;
  error?: string;
  message?: string;
}

@ApiTags('health')
@Public()
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly db: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
  ) {}

  /** 200 while the process runs: for a liveness probe that restarts a wedged process. */
  @Get('live')
  @ApiOkResponse()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when the database (and Redis, if configured) answer, else 503 listing each component. */
  @Get('ready')
  @ApiOkResponse()
  @ApiServiceUnavailableResponse()
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessBody> {
    try {
      const result = await this.health.check([
        () => this.db.pingCheck('database', { timeout: 1_500 }),
        () => this.redis.isHealthy('redis'),
      ]);
      return { statusCode: 200, status: 'ok', components: result.details };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const details = (error.getResponse() as { details?: HealthIndicatorResult }).details ?? {};
      const down = Object.entries(details)
        .filter(([, v]) => v.status === 'down')
        .map(([k]) => k);
      void reply.status(503).header('retry-after', '5');
      return {
        statusCode: 503,
        status: 'error',
        error: 'Service Unavailable',
        message: `not ready: ${down.join(', ') || 'a component'} is down`,
        components: details,
      };
    }
  }
}
