import { Module } from '@nestjs/common';

/**
 * Request, query, cache and queue measurements, query analysis, alerts and Prometheus export.
 *
 * Empty for now: see README.md for what it will hold and which issue builds it.
 */
@Module({})
export class PerformanceMonitoringModule {}
