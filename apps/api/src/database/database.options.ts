import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import type { AppConfig } from '../config/app-config.js';
import { ConversationEntity } from './entities/conversation.entity.js';
import { MessageEntity } from './entities/message.entity.js';
import { UserEntity } from './entities/user.entity.js';
import { migrations } from './migrations/index.js';

export const entities = [UserEntity, ConversationEntity, MessageEntity];

export interface DatabaseTarget {
  url: string;
  /** PGlite serves one session only; more connections fail with `portal "" cannot be run`. */
  embedded: boolean;
}

/** TypeORM options: migrations run at start, never `synchronize`; every wait on the database is bounded. */
export function databaseOptions(config: AppConfig, target: DatabaseTarget): TypeOrmModuleOptions {
  return {
    type: 'postgres',
    url: target.url,
    entities,
    migrations,
    migrationsRun: true,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
    // Nest's TypeORM module would otherwise retry the first connection 9 times, 3 s apart.
    retryAttempts: 2,
    retryDelay: 1000,
    extra: {
      max: target.embedded ? 1 : config.dbPoolMax,
      connectionTimeoutMillis: config.dbConnectTimeoutMs,
      statement_timeout: config.dbStatementTimeoutMs,
      // Client-side guard for a server that stops answering mid-query.
      query_timeout: config.dbStatementTimeoutMs + 1_000,
      idle_in_transaction_session_timeout: config.dbStatementTimeoutMs,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'chat-api',
    },
  };
}
