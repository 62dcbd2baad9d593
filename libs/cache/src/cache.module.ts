import { Module } from '@nestjs/common';

/**
 * Multi-tier caches (in-process L1, Redis L2) for conversations, AI responses and tool results.
 *
 * Empty for now: see README.md for what it will hold and which issue builds it.
 */
@Module({})
export class PerformanceCacheModule {}
