import { Module } from '@nestjs/common';

/**
 * Configures and combines the cache, async and monitoring libraries for an app.
 *
 * Empty for now: see README.md for what it will hold and which issue builds it.
 */
@Module({})
export class PerformanceIntegrationModule {}
