import { Module } from '@nestjs/common';

/**
 * Durable async task processor on BullMQ, with PostgreSQL as the source of truth for tasks.
 *
 * Empty for now: see README.md for what it will hold and which issue builds it.
 */
@Module({})
export class AsyncProcessorModule {}
